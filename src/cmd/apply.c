/* apply.c: `trailkeep apply` (not built yet). */
#include "cmd.h"
#include "../banned.h"

int cmd_apply(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("apply", TK_EXIT_USAGE, "not built yet in this version");
}
