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
#include "buf.h"
#include "config.h"
#include "textesc.h"
#include "timeutil.h"
#include "banned.h"

struct cli_globals g_cli;

#define CLI_MAX_TIMEOUT_S (30L * 86400)

/* Messages carry text from outside (S3 keys, file names, AWS answers):
 * shown with visible escapes (textesc.h); a very long one is cut visibly. */
static void vmsg(const char *cmd, const char *fmt, va_list ap)
{
	static const char cut[] = "...(truncated)";
	enum { MAX_MSG = 8192 };
	char *m = xmalloc(MAX_MSG);
	struct buf b;
	int n;

	fflush(stdout);
	if (cmd)
		fprintf(stderr, "trailkeep: %s: ", cmd);
	else
		fputs("trailkeep: ", stderr);
	n = vsnprintf(m, MAX_MSG, fmt, ap);
	if (n < 0)
		m[0] = '\0';
	else if (n >= MAX_MSG)
		memcpy(m + MAX_MSG - sizeof(cut), cut, sizeof(cut));
	buf_init(&b, 4 * MAX_MSG);   /* at most 4 bytes out per byte in: it fits */
	fputs(tk_text_escape(&b, m) ? "(message cannot be shown)" : buf_cstr(&b), stderr);
	fputc('\n', stderr);
	buf_release(&b);
	free(m);
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
	"  --allow-http         allow a plain http:// endpoint URL to a non-loopback host (warned)\n"
	"  --timeout DURATION   stop the run after DURATION (default 30m; 0: no limit); what\n"
	"                       was not done then is unchecked or an error (exit 3)\n"
	"  -q, --quiet          no progress or informational output\n"
	"  -v, --verbose        more detail on stderr (never secrets)\n";

const char *cli_global_help(void)
{
	return global_help;
}

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
	if (!strcmp(a, "--allow-http")) {
		g_cli.allow_http = true;
		return 1;
	}
	eq = strchr(a, '=');
	n = eq ? (size_t)(eq - a) : strlen(a);
	if (n == 9 && !strncmp(a, "--timeout", n)) {
		const char *v;
		long secs;

		if (eq) {
			v = eq + 1;
		} else if (*i + 1 < argc) {
			v = argv[++*i];
		} else {
			cli_usage(cmd, "option '%s' needs a value", a);
			return -1;
		}
		if (tk_parse_duration(v, &secs) || secs > CLI_MAX_TIMEOUT_S) {
			cli_usage(cmd, "--timeout '%s' is not a duration up to 30d (e.g. 30m, 2h; 0: no limit)", v);
			return -1;
		}
		g_cli.timeout_s = secs ? secs : -1;
		return 1;
	}
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

void cli_list_release(struct cli_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

static int list_add(const char *cmd, const char *name, struct cli_list *l, const char *v, bool dedup)
{
	size_t i;

	for (i = 0; dedup && i < l->n; i++)
		if (!strcmp(l->v[i], v))
			return 0;
	if (l->n >= CLI_MAX_LIST)
		return cli_usage(cmd, "too many '%s' options", name);
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = v;
	return 0;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *a, size_t n)
{
	for (; opts && opts->name; opts++)
		if ((strlen(opts->name) == n && !strncmp(opts->name, a, n)) ||
		    (opts->alias && strlen(opts->alias) == n && !strncmp(opts->alias, a, n)))
			return opts;
	return NULL;
}

static int parse_one(const char *cmd, int argc, char **argv, int *i, const struct cli_opt *opts,
		     struct cli_list *pos)
{
	const char *a = argv[*i];
	const char *eq = !strncmp(a, "--", 2) ? strchr(a, '=') : NULL;
	const struct cli_opt *o = find_opt(opts, a, eq ? (size_t)(eq - a) : strlen(a));
	const char *v;
	int g;

	if (!strcmp(a, "-h") || !strcmp(a, "--help"))
		return cli_help(cmd);
	if (o && o->kind == CLI_FLAG && !eq) {
		*(bool *)o->dest = true;
		return -1;
	}
	if (o && o->kind != CLI_FLAG) {
		if (eq) {
			v = eq + 1;
		} else if (*i + 1 < argc) {
			v = argv[++*i];
		} else {
			return cli_usage(cmd, "option '%s' needs a value", a);
		}
		if (o->kind == CLI_VALUE) {
			*(const char **)o->dest = v;
			return -1;
		}
		return list_add(cmd, o->name, o->dest, v, true) ? TK_EXIT_USAGE : -1;
	}
	g = cli_global_option(cmd, argc, argv, i);
	if (g < 0)
		return TK_EXIT_USAGE;
	if (g > 0)
		return -1;
	if (a[0] == '-' && a[1])
		return cli_usage(cmd, "unknown option '%s'", a);
	return list_add(cmd, "argument", pos, a, false) ? TK_EXIT_USAGE : -1;
}

int cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts, struct cli_list *pos)
{
	int i, rc;

	memset(pos, 0, sizeof(*pos));
	for (i = 1; i < argc; i++) {
		rc = parse_one(cmd, argc, argv, &i, opts, pos);
		if (rc >= 0) {
			cli_list_release(pos);
			return rc;
		}
	}
	return -1;
}

int cli_window(const char *cmd, const char *start_s, const char *end_s, time_t *start, time_t *end)
{
	if (start_s && tk_parse_time(start_s, start))
		return cli_usage(cmd, "--start '%s' is not a time (YYYY-MM-DDTHH:MM:SSZ)", start_s);
	if (end_s && tk_parse_time(end_s, end))
		return cli_usage(cmd, "--end '%s' is not a time (YYYY-MM-DDTHH:MM:SSZ)", end_s);
	if (!tk_time_sane(*start, cli_now()) || !tk_time_sane(*end, cli_now())) {
		char a[32], b[32];

		return cli_usage(cmd, "the window %s .. %s is out of range: times from 2013-01-01T00:00:00Z "
				 "(CloudTrail did not exist before) to a day after now (check --start, --end, --since)",
				 tk_format_iso(*start, a, sizeof(a)), tk_format_iso(*end, b, sizeof(b)));
	}
	if (*end <= *start)
		return cli_usage(cmd, "--end must be after --start");
	return -1;
}

int cli_jobs(const char *cmd, const char *s, int *jobs)
{
	char *e;
	long v;

	if (!s)
		return -1;
	v = strtol(s, &e, 10);
	if (e == s || *e || v < 1 || v > 1024)
		return cli_usage(cmd, "--jobs '%s' is not 1..1024", s);
	*jobs = (int)v;
	return -1;
}

const char *cli_config_arg(const char *cmd, const struct cli_list *pos, int *ret)
{
	if (pos->n == 1)
		return pos->v[0];
	if (!pos->n)
		*ret = cli_usage(cmd, "missing CONFIG (an INI file such as examples/org.ini)");
	else
		*ret = cli_usage(cmd, "too many arguments: '%s'", pos->v[1]);
	return NULL;
}

static long long start_ms;

long long cli_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_start(void)
{
	start_ms = cli_mono_ms();
}

long long cli_deadline_ms(void)
{
	long t = g_cli.timeout_s ? g_cli.timeout_s : CLI_DEFAULT_TIMEOUT_S;

	if (t < 0)
		return 0;
	if (!start_ms)
		cli_start();
	return start_ms + (long long)t * 1000;
}

/* Test settings (TRAILKEEP_NOW, TRAILKEEP_SEED, TRAILKEEP_BACKOFF_SCALE,
 * TRAILKEEP_DOCTOR_SELECT) move the clock, the seed, the retry waits or
 * doctor's cell selection.  Only builds made with TEST_KNOBS=1 (the default
 * development build that `make test`, `make demo` and `make bench` run) honour
 * them; a release build (`make release`, what `make install` installs)
 * refuses to run when one is set, so a production binary's clock cannot be
 * moved by the environment. */
const char *cli_test_knob(const char *name)
{
	const char *s = getenv(name);

#ifdef TK_TEST_KNOBS
	return s;
#else
	if (s) {
		fprintf(stderr, "trailkeep: %s is a test setting; this release build does not honour it: "
			"unset it (development builds, make TEST_KNOBS=1, do)\n", name);
		exit(TK_EXIT_USAGE);
	}
	return NULL;
#endif
}

/* every test setting (cli_test_knob's names): a release build refuses to
 * start with any of them set, whatever the command reads */
static const char *const test_knobs[] = { "TRAILKEEP_NOW", "TRAILKEEP_SEED", "TRAILKEEP_BACKOFF_SCALE",
					  "TRAILKEEP_DOCTOR_SELECT" };

void cli_check_test_knobs(void)
{
	size_t i;

	for (i = 0; i < sizeof(test_knobs) / sizeof(test_knobs[0]); i++)
		(void)cli_test_knob(test_knobs[i]);
}

time_t cli_now(void)
{
	const char *s = cli_test_knob("TRAILKEEP_NOW");
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

int cli_load_config(const char *cmd, const char *path, struct tk_config *cfg)
{
	struct tk_diags diags = { NULL, 0 };
	struct errbuf err;
	size_t k;
	int rc;

	err_clear(&err);
	rc = config_load(cfg, path, &diags, &err);
	if (rc) {
		for (k = 0; k < diags.n; k++)
			cli_error(cmd, 0, "%s", diags.v[k]);
		cli_error(cmd, 0, "%s", err.msg);
	}
	diags_release(&diags);
	return rc ? TK_EXIT_USAGE : 0;
}

int cli_check_selection(const char *cmd, const struct tk_config *cfg, const char *path,
			const char *const *accounts, size_t naccounts, const char *const *regions, size_t nregions)
{
	size_t i, a, r;

	for (i = 0; i < naccounts; i++)
		if (!config_find_account(cfg, accounts[i]))
			return cli_usage(cmd, "account '%s' is not in '%s'", accounts[i], path);
	for (i = 0; i < nregions; i++) {
		bool found = false;

		if (!tk_region_known(regions[i]))
			return cli_usage(cmd, "unknown region '%s'", regions[i]);
		for (a = 0; a < cfg->naccounts && !found; a++)
			for (r = 0; r < cfg->accounts[a].regions.n && !found; r++)
				found = !strcmp(cfg->accounts[a].regions.v[r], regions[i]);
		if (!found)
			return cli_usage(cmd, "region '%s' is not configured in '%s'", regions[i], path);
	}
	return 0;
}
