/* cli.c: message, help, clock and global-option helpers for commands. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "../buf.h"
#include "../timeutil.h"
#include "../banned.h"

struct cli_globals g_cli;

static void vmsg(const char *cmd, const char *fmt, va_list ap)
{
	fflush(stdout);
	if (cmd)
		fprintf(stderr, "trailkeep: %s: ", cmd);
	else
		fputs("trailkeep: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_error(const char *cmd, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(cmd, fmt, ap);
	va_end(ap);
	return code;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(cmd, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "trailkeep: see 'trailkeep %s --help'\n", cmd);
	else
		fputs("trailkeep: see 'trailkeep help'\n", stderr);
	return TK_EXIT_USAGE;
}

void cli_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(cmd, fmt, ap);
	va_end(ap);
}

void cli_info(const char *fmt, ...)
{
	va_list ap;

	if (g_cli.quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int cli_exit_for(int err)
{
	if (err == 0)
		return TK_EXIT_OK;
	if (err == TK_EUSAGE)
		return TK_EXIT_USAGE;
	return TK_EXIT_RUNTIME;
}

static const char global_help[] =
	"Global options (before or after the command):\n"
	"  --profile NAME       AWS profile (also AWS_PROFILE)\n"
	"  --region R           default region (also AWS_REGION, AWS_DEFAULT_REGION)\n"
	"  --endpoint-url URL   send every request to URL (also AWS_ENDPOINT_URL,\n"
	"                       AWS_ENDPOINT_URL_<SERVICE>); S3 uses path-style\n"
	"  --ca-bundle FILE     CA certificates (also AWS_CA_BUNDLE)\n"
	"  --no-verify-ssl      skip TLS verification (refused unless the endpoint is loopback)\n"
	"  -q, --quiet          no progress or informational output\n"
	"  -v, --verbose        more detail on stderr (never secrets)\n";

int cli_help(const char *name)
{
	const struct cmd *c = cmd_lookup(name);

	if (!c)
		return cli_usage(NULL, "'%s' is not a trailkeep command", name);
	printf("usage: %s\n\n%s%s.\n\n%s%s%s", c->usage, c->summary, c->ready ? "" : " (not built yet)",
	       c->options ? "Options:\n" : "", c->options ? c->options : "", c->options ? "\n" : "");
	fputs(global_help, stdout);
	return TK_EXIT_OK;
}

int cli_global_option(const char *cmd, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char **slot = NULL;
	const char *eq;
	size_t n;

	if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
		g_cli.quiet = true;
		return 1;
	}
	if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
		g_cli.verbose++;
		return 1;
	}
	if (!strcmp(a, "--no-verify-ssl")) {
		g_cli.no_verify_ssl = true;
		return 1;
	}
	eq = strchr(a, '=');
	n = eq ? (size_t)(eq - a) : strlen(a);
	if (n == 9 && !strncmp(a, "--profile", n))
		slot = &g_cli.profile;
	else if (n == 8 && !strncmp(a, "--region", n))
		slot = &g_cli.region;
	else if (n == 14 && !strncmp(a, "--endpoint-url", n))
		slot = &g_cli.endpoint_url;
	else if (n == 11 && !strncmp(a, "--ca-bundle", n))
		slot = &g_cli.ca_bundle;
	if (!slot)
		return 0;
	if (eq) {
		*slot = eq + 1;
		return 1;
	}
	if (*i + 1 >= argc) {
		cli_usage(cmd, "option '%s' needs a value", a);
		return -1;
	}
	*slot = argv[++*i];
	return 1;
}

time_t cli_now(void)
{
	const char *s = getenv("TRAILKEEP_NOW");
	time_t t;

	if (s && *s && tk_parse_time(s, &t) == 0)
		return t;
	return time(NULL);
}

bool cli_progress_enabled(void)
{
	return !g_cli.quiet && isatty(STDERR_FILENO);
}

static bool is_dir(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

char *cli_default_templates(void)
{
	const char *env = getenv("TRAILKEEP_TEMPLATES");
	static const char *const rel[] = { "../share/trailkeep/templates", "../../templates", "../templates" };
	char exe[PATH_MAX];
	ssize_t n;
	size_t i;

	if (env && *env)
		return xstrdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				char *cand = xasprintf("%s/%s", exe, rel[i]);

				if (is_dir(cand))
					return cand;
				free(cand);
			}
		}
	}
	return xstrdup("templates");
}
