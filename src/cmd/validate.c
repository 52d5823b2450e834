/* validate.c: `trailkeep validate`: the digest-chain validation of one trail
 * for one or more accounts x regions (validate.h), online or from a saved
 * copy (--local), and the findings report shared with verify. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "awsenv.h"
#include "buf.h"
#include "findings.h"
#include "timeutil.h"
#include "validate.h"
#include "fileutil.h"
#include "textesc.h"
#include "banned.h"

#define CMD "validate"

/* ---------------------------------------------------------------- report */

static void format_age(char *out, size_t n, const struct cell_stats *c, time_t now)
{
	if (!c->has_newest) {
		snprintf(out, n, "-");
		return;
	}
	tk_format_age(now, c->newest_delivery, out, n);   /* no overflow on hostile --merge input */
}

static const char *status_name(enum cell_status s)
{
	return s == CELL_OK ? "ok" : s == CELL_FINDINGS ? "findings" : "unchecked";
}

int report_exit_code(const struct cell_stats *cells, size_t ncells, const struct findings *f)
{
	size_t i;

	for (i = 0; i < ncells; i++)
		if (cells[i].status == CELL_UNCHECKED)
			return TK_EXIT_RUNTIME;
	if (findings_count(f, F_CELL_UNCHECKED))
		return TK_EXIT_RUNTIME;
	/* warnings alone are reported, not failures (findings.h severity) */
	return findings_count_severity(f, SEV_ERROR) ? TK_EXIT_FINDINGS : TK_EXIT_OK;
}

int report_metrics(const char *cmd, const char *path, const struct findings *f,
		   const struct cell_stats *cells, size_t ncells, time_t now)
{
	struct buf b = BUF_INIT_LIMIT(64u << 20);
	struct errbuf err;
	int rc = 0;

	if (findings_to_prometheus(&b, f, cells, ncells, now)) {
		rc = cli_error(cmd, TK_EXIT_RUNTIME, "cannot render metrics: too large");
	} else {
		err_clear(&err);
		if (tk_write_file_atomic(path, b.data ? b.data : "", b.len, 0644, &err))
			rc = cli_error(cmd, TK_EXIT_RUNTIME, "%s", err.msg);
	}
	buf_release(&b);
	return rc;
}

int report_findings(const char *cmd, struct findings *f, struct cell_stats *cells, size_t ncells,
		    bool json, const char *metrics, time_t now)
{
	size_t i, nerr = 0;
	int rc;

	findings_sort(f);
	cells_tally(cells, ncells, f);
	if (json) {
		json_t *doc = findings_to_json(f, cells, ncells);
		char *s;

		report_attach_run(doc);   /* verify: "run" (config, time, window) */
		s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(doc);
	} else {
		char age[32];

		printf("%-14s %-16s %8s %8s %8s %9s  %s\n", "ACCOUNT", "REGION", "NEWEST", "DIGESTS",
		       "LOGS", "FINDINGS", "STATUS");
		/* text from outside (S3 keys, AWS messages, --merge documents)
		 * is shown with visible escapes (textesc.h) */
		for (i = 0; i < ncells; i++) {
			char *acct = tk_text_escaped(cells[i].account), *reg = tk_text_escaped(cells[i].region);

			format_age(age, sizeof(age), &cells[i], now);
			printf("%-14s %-16s %8s %8zu %8zu %9zu  %s\n", acct, reg, age,
			       cells[i].digests_checked, cells[i].logs_checked, cells[i].findings,
			       status_name(cells[i].status));
			free(acct);
			free(reg);
		}
		for (i = 0; i < f->n; i++) {
			const struct finding *x = &f->v[i];
			enum severity sev = finding_severity(x->code);
			char *acct = tk_text_escaped(x->account), *reg = tk_text_escaped(x->region);
			char *bucket = tk_text_escaped(x->bucket), *key = tk_text_escaped(x->key);
			char *msg = tk_text_escaped(x->message);

			if (sev == SEV_ERROR)
				nerr++;
			printf("\n%s %s", severity_name(sev), finding_code_name(x->code));
			if (acct)
				printf(" %s", acct);
			if (reg)
				printf(" %s", reg);
			printf("\n");
			if (key)
				printf("  s3://%s/%s\n", bucket ? bucket : "", key);
			else if (bucket)
				printf("  s3://%s\n", bucket);
			printf("  %s\n  hint: %s\n", msg ? msg : "", finding_hint(x->code));
			free(acct);
			free(reg);
			free(bucket);
			free(key);
			free(msg);
		}
		if (f->n)
			printf("\n%zu finding%s (%zu error%s)\n", f->n, f->n == 1 ? "" : "s", nerr,
			       nerr == 1 ? "" : "s");
		else
			printf("\nno findings\n");
	}
	if (fflush(stdout) || ferror(stdout))
		return cli_error(cmd, TK_EXIT_RUNTIME, "cannot write to stdout: %s", strerror(errno));
	if (metrics) {
		rc = report_metrics(cmd, metrics, f, cells, ncells, now);
		if (rc)
			return rc;
	}
	return report_exit_code(cells, ncells, f);
}

/* ---------------------------------------------------------------- progress */

void report_progress(void *ud, const struct validate_progress *p)
{
	struct report_progress *u = ud;
	time_t now = time(NULL);

	if (now == u->last && p->cells_done != p->cells)
		return;
	u->last = now;
	u->shown = true;
	fprintf(stderr, "\rtrailkeep: %s: %zu/%zu cells, %zu digests, %zu logs, %.1f MiB   ", u->cmd,
		p->cells_done, p->cells, p->digests, p->logs, (double)p->bytes / (1024.0 * 1024.0));
	fflush(stderr);
}

/* ---------------------------------------------------------------- argv */

static bool valid_account(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return i == 12;
}

static bool valid_region(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return i > 0 && i < 64;
}

static bool valid_bucket(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 3 || n > 63)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '.'))
			return false;
	return true;
}

/* validate's command line */
struct validate_args {
	const char *bucket, *prefix, *trail, *org, *home, *start_s, *end_s, *local, *save;
	const char *jobs_s, *maxlog_s;
	const struct cli_list *accounts, *regions;
	unsigned long long max_log;
	char *trail_name, *home_from_arn;   /* owned */
	bool json;
	time_t now, start, end;
	int jobs;
};

/* --max-log-size: "512M" and the like.  0 or -1. */
static int parse_size(const char *s, unsigned long long *out)
{
	char *e;
	unsigned long long v = strtoull(s, &e, 10);
	int shift = 0;

	if (*e == 'K' || *e == 'k')
		shift = 10;
	else if (*e == 'M' || *e == 'm')
		shift = 20;
	else if (*e == 'G' || *e == 'g')
		shift = 30;
	if (shift)
		e++;
	if (e == s || *e || v == 0 || v > (1ULL << 40) >> shift || s[0] == '-')
		return -1;
	*out = v << shift;
	return 0;
}

/* --trail may be an ARN: arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME.
 * -1 to go on, else the exit code. */
static int parse_trail(struct validate_args *a)
{
	if (!strncmp(a->trail, "arn:", 4)) {
		const char *t = strstr(a->trail, ":trail/");
		const char *p = a->trail;
		int k;

		for (k = 0; k < 3 && p; k++) {
			p = strchr(p, ':');
			if (p)
				p++;
		}
		if (!t || !p || !t[7])
			return cli_usage(CMD, "'%s' is not a trail ARN", a->trail);
		a->trail_name = xstrdup(t + 7);
		a->home_from_arn = xstrndup(p, strcspn(p, ":"));
	} else {
		a->trail_name = xstrdup(a->trail);
	}
	if (!a->home)
		a->home = a->home_from_arn && *a->home_from_arn ? a->home_from_arn : a->regions->v[0];
	return -1;
}

/* the values one by one: -1 to go on, else the exit code */
static int validate_check_args(struct validate_args *a)
{
	size_t i;
	int rc;

	if (!a->bucket || !a->trail || !a->accounts->n || !a->regions->n || !a->start_s)
		return cli_usage(CMD, "--bucket, --account, --region, --trail and --start are required");
	if (!valid_bucket(a->bucket))
		return cli_usage(CMD, "'%s' is not a valid bucket name", a->bucket);
	for (i = 0; i < a->accounts->n; i++)
		if (!valid_account(a->accounts->v[i]))
			return cli_usage(CMD, "account id '%s' is not 12 digits", a->accounts->v[i]);
	for (i = 0; i < a->regions->n; i++)
		if (!valid_region(a->regions->v[i]))
			return cli_usage(CMD, "'%s' is not a region name", a->regions->v[i]);
	if (a->home && !valid_region(a->home))
		return cli_usage(CMD, "'%s' is not a region name", a->home);
	if (a->org && (strncmp(a->org, "o-", 2) || strlen(a->org) < 12 || strlen(a->org) > 34))
		return cli_usage(CMD, "'%s' is not an organization id (o-...)", a->org);
	if (a->prefix && strlen(a->prefix) > VALIDATE_MAX_KEY)
		return cli_usage(CMD, "--prefix is longer than %d bytes (the longest S3 key)", VALIDATE_MAX_KEY);
	if (a->prefix && (a->prefix[0] == '/' || (a->prefix[0] && a->prefix[strlen(a->prefix) - 1] == '/')))
		return cli_usage(CMD, "--prefix '%s' must not start or end with '/'", a->prefix);
	a->start = 0;
	a->end = a->now;
	if ((rc = cli_window(CMD, a->start_s, a->end_s, &a->start, &a->end)) >= 0)
		return rc;
	if (a->local && a->save)
		return cli_usage(CMD, "--local and --save cannot be used together");
	if ((rc = cli_jobs(CMD, a->jobs_s, &a->jobs)) >= 0)
		return rc;
	if (a->maxlog_s && parse_size(a->maxlog_s, &a->max_log))
		return cli_usage(CMD, "--max-log-size '%s' is not a size (e.g. 512M)", a->maxlog_s);
	return parse_trail(a);
}

/* -1 to go on, else the exit code; a->trail_name and a->home_from_arn are
 * the caller's to free either way */
static int validate_parse(struct validate_args *a, int argc, char **argv)
{
	/* static: they live for the process, like the argv they point into */
	static struct cli_list accounts, regions, pos;
	int rc;

	memset(a, 0, sizeof(*a));
	a->now = cli_now();
	a->jobs = 64;
	a->accounts = &accounts;
	a->regions = &regions;
	{
		const struct cli_opt copts[] = {
			{ "--json", NULL, CLI_FLAG, &a->json },
			{ "--bucket", NULL, CLI_VALUE, &a->bucket },
			{ "--prefix", NULL, CLI_VALUE, &a->prefix },
			{ "--trail", "--trail-arn", CLI_VALUE, &a->trail },
			{ "--org-id", NULL, CLI_VALUE, &a->org },
			{ "--home-region", NULL, CLI_VALUE, &a->home },
			{ "--start", "--start-time", CLI_VALUE, &a->start_s },
			{ "--end", "--end-time", CLI_VALUE, &a->end_s },
			{ "--local", NULL, CLI_VALUE, &a->local },
			{ "--save", NULL, CLI_VALUE, &a->save },
			{ "--jobs", NULL, CLI_VALUE, &a->jobs_s },
			{ "--max-log-size", NULL, CLI_VALUE, &a->maxlog_s },
			{ "--account", "--account-id", CLI_LIST, &accounts },
			{ "--region", NULL, CLI_LIST, &regions },
			{ NULL, NULL, CLI_FLAG, NULL },
		};

		rc = cli_parse(CMD, argc, argv, copts, &pos);
		if (rc >= 0)
			return rc;
		if (pos.n)
			return cli_usage(CMD, "unexpected argument '%s'", pos.v[0]);
	}
	return validate_check_args(a);
}

/* The cells (every account x region), the run and its report: the exit
 * code. */
static int validate_execute(const struct validate_args *a)
{
	struct validate_opts vo;
	struct validate_cell *cells = NULL;
	struct cell_stats *stats = NULL;
	struct findings f;
	struct awsenv env;
	struct report_progress pud = { CMD, 0, false };
	struct errbuf err;
	bool env_open = false;
	int rc;
	size_t i, r, n = 0;

	findings_init(&f);
	memset(&env, 0, sizeof(env));
	cells = xcalloc(a->accounts->n * a->regions->n + 1, sizeof(*cells));
	for (i = 0; i < a->accounts->n; i++)
		for (r = 0; r < a->regions->n; r++) {
			cells[n].account = a->accounts->v[i];
			cells[n].region = a->regions->v[r];
			n++;
		}
	memset(&vo, 0, sizeof(vo));
	vo.bucket = a->bucket;
	vo.prefix = a->prefix;
	vo.trail = a->trail_name;
	vo.org_id = a->org;
	vo.home_region = a->home;
	vo.cells = cells;
	vo.ncells = n;
	vo.start = a->start;
	vo.end = a->end;
	vo.local_dir = a->local;
	vo.save_dir = a->save;
	vo.max_inflated = a->max_log;
	{
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		vo.threads = ncpu > 0 ? (int)(ncpu < VALIDATE_MAX_THREADS ? ncpu : VALIDATE_MAX_THREADS) : 1;
	}
	if (cli_progress_enabled()) {
		vo.progress = report_progress;
		vo.progress_ud = &pud;
	}
	if (!a->local) {
		struct awsenv_options eo = { a->home, a->jobs, 8, true };

		rc = awsenv_open(&env, CMD, &eo);
		if (rc)
			goto done;
		env_open = true;
		vo.aws = &env.ctx;
		vo.sched = env.sched;
	}
	err_clear(&err);
	rc = validate_run(&vo, &f, &stats, &err);
	if (pud.shown)
		fputs("\n", stderr);
	if (rc) {
		rc = cli_error(CMD, cli_exit_for(rc), "%s", err.msg);
		goto done;
	}
	rc = report_findings(CMD, &f, stats, n, a->json, NULL, a->now);
done:
	if (stats) {
		for (i = 0; i < n; i++)
			cell_release(&stats[i]);
		free(stats);
	}
	if (env_open)
		awsenv_close(&env);
	findings_release(&f);
	free(cells);
	return rc;
}

int cmd_validate(int argc, char **argv)
{
	struct validate_args a;
	int rc = validate_parse(&a, argc, argv);

	if (rc < 0)
		rc = validate_execute(&a);
	free(a.trail_name);
	free(a.home_from_arn);
	return rc;
}
