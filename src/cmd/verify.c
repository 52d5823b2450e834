/* verify.c: `trailkeep verify` (not built yet). */
#include "cmd.h"
#include "../banned.h"

int cmd_verify(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("verify", TK_EXIT_USAGE, "not built yet in this version");
}
