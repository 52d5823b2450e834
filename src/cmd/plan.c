/* plan.c: `trailkeep plan` (not built yet). */
#include "cmd.h"
#include "../banned.h"

int cmd_plan(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("plan", TK_EXIT_USAGE, "not built yet in this version");
}
