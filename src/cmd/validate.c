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

int cmd_validate(int argc, char **argv)
{
	/* static: they live for the process, like the argv they point into */
	static struct cli_list accounts, regions, pos;
	const char *bucket = NULL, *prefix = NULL, *trail = NULL, *org = NULL, *home = NULL;
	const char *start_s = NULL, *end_s = NULL, *local = NULL, *save = NULL, *jobs_s = NULL;
	const char *maxlog_s = NULL;
	unsigned long long max_log = 0;
	char *trail_name = NULL, *home_from_arn = NULL;
	bool json = false;
	struct validate_opts vo;
	struct validate_cell *cells = NULL;
	struct cell_stats *stats = NULL;
	struct findings f;
	struct awsenv env;
	struct report_progress pud = { CMD, 0, false };
	struct errbuf err;
	time_t start, end, now = cli_now();
	bool env_open = false;
	int rc, jobs = 64;
	size_t a, r, n = 0;

	findings_init(&f);
	memset(&env, 0, sizeof(env));
	{
		const struct cli_opt copts[] = {
			{ "--json", NULL, CLI_FLAG, &json },
			{ "--bucket", NULL, CLI_VALUE, &bucket },
			{ "--prefix", NULL, CLI_VALUE, &prefix },
			{ "--trail", "--trail-arn", CLI_VALUE, &trail },
			{ "--org-id", NULL, CLI_VALUE, &org },
			{ "--home-region", NULL, CLI_VALUE, &home },
			{ "--start", "--start-time", CLI_VALUE, &start_s },
			{ "--end", "--end-time", CLI_VALUE, &end_s },
			{ "--local", NULL, CLI_VALUE, &local },
			{ "--save", NULL, CLI_VALUE, &save },
			{ "--jobs", NULL, CLI_VALUE, &jobs_s },
			{ "--max-log-size", NULL, CLI_VALUE, &maxlog_s },
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
	if (!bucket || !trail || !accounts.n || !regions.n || !start_s)
		return cli_usage(CMD, "--bucket, --account, --region, --trail and --start are required");
	if (!valid_bucket(bucket))
		return cli_usage(CMD, "'%s' is not a valid bucket name", bucket);
	for (a = 0; a < accounts.n; a++)
		if (!valid_account(accounts.v[a]))
			return cli_usage(CMD, "account id '%s' is not 12 digits", accounts.v[a]);
	for (r = 0; r < regions.n; r++)
		if (!valid_region(regions.v[r]))
			return cli_usage(CMD, "'%s' is not a region name", regions.v[r]);
	if (home && !valid_region(home))
		return cli_usage(CMD, "'%s' is not a region name", home);
	if (org && (strncmp(org, "o-", 2) || strlen(org) < 12 || strlen(org) > 34))
		return cli_usage(CMD, "'%s' is not an organization id (o-...)", org);
	if (prefix && strlen(prefix) > VALIDATE_MAX_KEY)
		return cli_usage(CMD, "--prefix is longer than %d bytes (the longest S3 key)", VALIDATE_MAX_KEY);
	if (prefix && (prefix[0] == '/' || (prefix[0] && prefix[strlen(prefix) - 1] == '/')))
		return cli_usage(CMD, "--prefix '%s' must not start or end with '/'", prefix);
	start = 0;
	end = now;
	if ((rc = cli_window(CMD, start_s, end_s, &start, &end)) >= 0)
		return rc;
	if (local && save)
		return cli_usage(CMD, "--local and --save cannot be used together");
	if ((rc = cli_jobs(CMD, jobs_s, &jobs)) >= 0)
		return rc;
	if (maxlog_s) {
		char *e;
		unsigned long long v = strtoull(maxlog_s, &e, 10);
		int shift = 0;

		if (*e == 'K' || *e == 'k')
			shift = 10;
		else if (*e == 'M' || *e == 'm')
			shift = 20;
		else if (*e == 'G' || *e == 'g')
			shift = 30;
		if (shift)
			e++;
		if (e == maxlog_s || *e || v == 0 || v > (1ULL << 40) >> shift || maxlog_s[0] == '-')
			return cli_usage(CMD, "--max-log-size '%s' is not a size (e.g. 512M)", maxlog_s);
		max_log = v << shift;
	}
	/* --trail may be an ARN: arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME */
	if (!strncmp(trail, "arn:", 4)) {
		const char *t = strstr(trail, ":trail/");
		const char *p = trail;
		int k;

		for (k = 0; k < 3 && p; k++) {
			p = strchr(p, ':');
			if (p)
				p++;
		}
		if (!t || !p || !t[7])
			return cli_usage(CMD, "'%s' is not a trail ARN", trail);
		trail_name = xstrdup(t + 7);
		home_from_arn = xstrndup(p, strcspn(p, ":"));
	} else {
		trail_name = xstrdup(trail);
	}
	if (!home)
		home = home_from_arn && *home_from_arn ? home_from_arn : regions.v[0];

	cells = xcalloc(accounts.n * regions.n + 1, sizeof(*cells));
	for (a = 0; a < accounts.n; a++)
		for (r = 0; r < regions.n; r++) {
			cells[n].account = accounts.v[a];
			cells[n].region = regions.v[r];
			n++;
		}
	memset(&vo, 0, sizeof(vo));
	vo.bucket = bucket;
	vo.prefix = prefix;
	vo.trail = trail_name;
	vo.org_id = org;
	vo.home_region = home;
	vo.cells = cells;
	vo.ncells = n;
	vo.start = start;
	vo.end = end;
	vo.local_dir = local;
	vo.save_dir = save;
	vo.max_inflated = max_log;
	{
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		vo.threads = ncpu > 0 ? (int)(ncpu < VALIDATE_MAX_THREADS ? ncpu : VALIDATE_MAX_THREADS) : 1;
	}
	if (cli_progress_enabled()) {
		vo.progress = report_progress;
		vo.progress_ud = &pud;
	}
	if (!local) {
		struct awsenv_options eo = { home, jobs, 8, true };

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
	rc = report_findings(CMD, &f, stats, n, json, NULL, now);
done:
	if (stats) {
		for (a = 0; a < n; a++)
			cell_release(&stats[a]);
		free(stats);
	}
	if (env_open)
		awsenv_close(&env);
	findings_release(&f);
	free(cells);
	free(trail_name);
	free(home_from_arn);
	return rc;
}
