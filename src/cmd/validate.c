/* validate.c: `trailkeep validate` (not built yet). */
#include "cmd.h"
#include "../banned.h"

int cmd_validate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("validate", TK_EXIT_USAGE, "not built yet in this version");
}
