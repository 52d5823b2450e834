/* table.c: the one command table.  `trailkeep help`, `help CMD` and
 * `CMD --help` all print from it. */
#include <string.h>

#include "cmd.h"
#include "../banned.h"

static const struct cmd commands[] = {
	{ "plan", cmd_plan, "render the bucket policy, key policy and trails from a config (no credentials)",
	  "trailkeep plan CONFIG [-o DIR] [--templates DIR] [--detailed-exitcode]", true },
	{ "apply", cmd_apply, "create or converge the bucket, key, policies and trails",
	  "trailkeep apply CONFIG [--dry-run] [--yes] [--account ID]...", true },
	{ "verify", cmd_verify, "check every account x region delivers fresh, intact logs",
	  "trailkeep verify CONFIG [--since DURATION | --start T [--end T]] [--account ID]... [--region R]...\n"
	  "                        [--jobs N] [--json] [--metrics FILE] [--no-integrity]\n"
	  "                        [--shard K/N] [--state FILE]\n"
	  "trailkeep verify CONFIG --merge FILE... [--json] [--metrics FILE]", true },
	{ "doctor", cmd_doctor, "explain why an account x region is silent, and what fixes it",
	  "trailkeep doctor CONFIG [--account ID]... [--region R]... [--json]", true },
	{ "validate", cmd_validate, "validate the digest chain of a trail (like aws cloudtrail validate-logs)",
	  "trailkeep validate --bucket B [--prefix P] --account ID --region R --trail NAME [--org-id O]\n"
	  "                   [--home-region R] --start T [--end T] [--local DIR] [--save DIR] [--json]", true },
	{ "sign", cmd_sign, "debug: print the SigV4 canonical request, string to sign and headers",
	  "trailkeep sign --service S --region R --method M --url URL [--header 'N: v']...\n"
	  "               [--body-file F] [--date YYYYMMDDTHHMMSSZ] [--json]", true },
	{ "help", cmd_help, "show help for trailkeep or one command",
	  "trailkeep help [COMMAND]", true },
};

const struct cmd *cmd_table(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

const struct cmd *cmd_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}
