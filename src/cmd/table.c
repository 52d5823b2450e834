/* table.c: the one command table.  `trailkeep help`, `help CMD` and
 * `CMD --help` all print from it. */
#include <string.h>

#include "cmd.h"
#include "banned.h"

static const struct cmd commands[] = {
	{ "plan", cmd_plan, "render the bucket policy, key policy and trails from a config (no credentials)",
	  "trailkeep plan CONFIG [-o DIR] [--templates DIR] [--detailed-exitcode]", true,
	  "  -o DIR               write the rendered files here, atomically (default: plan)\n"
	  "  --templates DIR      templates to render (default: $TRAILKEEP_TEMPLATES, else the\n"
	  "                       templates/ next to the executable)\n"
	  "  --detailed-exitcode  exit 4 when the rendered files differ from what DIR held\n" },
	{ "apply", cmd_apply, "create or converge the bucket, key, policies and trails",
	  "trailkeep apply CONFIG [--dry-run] [--yes] [--account ID]...", true,
	  "  --dry-run            read everything, write nothing, print a diff of each change\n"
	  "                       (exit 4 when something would change)\n"
	  "  --yes                apply without asking (required without a terminal)\n"
	  "  --account ID         only this account's trail (repeatable); the central bucket\n"
	  "                       and key are always converged\n"
	  "  --templates DIR      templates to render (as plan)\n" },
	{ "verify", cmd_verify, "check every account x region delivers fresh, intact logs",
	  "trailkeep verify CONFIG [--since DURATION | --start T [--end T]] [--account ID]... [--region R]...\n"
	  "                        [--jobs N] [--json] [--metrics FILE] [--html FILE] [--no-integrity]\n"
	  "                        [--shard K/N] [--state FILE]\n"
	  "trailkeep verify CONFIG --merge FILE... [--json] [--metrics FILE] [--html FILE]", true,
	  "  --since DURATION     integrity window ending now: 30m, 6h, 2d (default 24h)\n"
	  "  --start T, --end T   integrity window (ISO-8601 UTC)\n"
	  "  --account ID, --region R\n"
	  "                       only these cells (repeatable)\n"
	  "  --jobs N             requests in flight (default 64)\n"
	  "  --json               one JSON document on stdout\n"
	  "  --metrics FILE       Prometheus text exposition for node_exporter's textfile collector\n"
	  "  --html FILE          also write the HTML page of 'trailkeep report' (atomically)\n"
	  "  --no-integrity       control plane and freshness only (no digests or log files)\n"
	  "  --shard K/N          only shard K of N of the account x region cells\n"
	  "  --merge FILE...      combine the --json documents of the N shards of one run\n"
	  "  --state FILE         incremental: validate only what is new since the digests\n"
	  "                       FILE recorded; FILE is updated atomically\n"
	  "  --templates DIR      the templates apply uses (as plan): trail drift is what\n"
	  "                       apply would change\n" },
	{ "doctor", cmd_doctor, "explain why an account x region is silent, and what fixes it",
	  "trailkeep doctor CONFIG [--account ID]... [--region R]... [--json]", true,
	  "  --account ID, --region R\n"
	  "                       only these cells (repeatable)\n"
	  "  --json               one JSON document: per cell the cause, evidence, culprit, fix\n"
	  "  --templates DIR      the templates apply uses (as plan)\n" },
	{ "validate", cmd_validate, "validate the digest chain of a trail (like aws cloudtrail validate-logs)",
	  "trailkeep validate --bucket B [--prefix P] --account ID --region R --trail NAME [--org-id O]\n"
	  "                   [--home-region R] --start T [--end T] [--local DIR] [--save DIR] [--json]", true,
	  "  --bucket B, --prefix P\n"
	  "                       where the trail delivers (P: its S3KeyPrefix)\n"
	  "  --account ID, --region R\n"
	  "                       the cells (repeatable; --account-id is the same)\n"
	  "  --trail NAME         the trail's name or ARN\n"
	  "  --org-id O           organization trail: logs under AWSLogs/O/ID/\n"
	  "  --home-region R      the trail's home region (default: from the trail ARN, else\n"
	  "                       the first --region)\n"
	  "  --start T, --end T   the window (ISO-8601 UTC; --end defaults to now)\n"
	  "  --local DIR          offline, from a copy saved with --save\n"
	  "  --save DIR           also save everything fetched, for --local\n"
	  "  --jobs N             requests in flight (default 64)\n"
	  "  --max-log-size SIZE  largest inflated log file read (e.g. 512M)\n"
	  "  --json               one JSON document on stdout\n" },
	{ "report", cmd_report, "render a verify --json document as one static HTML page",
	  "trailkeep report VERIFY.json -o FILE", true,
	  "  -o FILE, --output FILE\n"
	  "                       the HTML page, written atomically ('-': stdout); the page\n"
	  "                       needs no other file and no JavaScript\n" },
	{ "sign", cmd_sign, "debug: print the SigV4 canonical request, string to sign and headers",
	  "trailkeep sign --service S --region R --method M --url URL [--header 'N: v']...\n"
	  "               [--body-file F] [--date YYYYMMDDTHHMMSSZ] [--json]", true, NULL },
	{ "help", cmd_help, "show help for trailkeep or one command",
	  "trailkeep help [COMMAND]", true, NULL },
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
