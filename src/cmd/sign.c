/* sign.c: `trailkeep sign` (not built yet). */
#include "cmd.h"
#include "../banned.h"

int cmd_sign(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("sign", TK_EXIT_USAGE, "not built yet in this version");
}
