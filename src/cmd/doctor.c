/* doctor.c: `trailkeep doctor` (not built yet). */
#include "cmd.h"
#include "../banned.h"

int cmd_doctor(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("doctor", TK_EXIT_USAGE, "not built yet in this version");
}
