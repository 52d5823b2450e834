/* verify.c: `trailkeep verify CONFIG`: control plane, delivery freshness
 * from S3, prefixes and digest-chain integrity for every configured account
 * x region (verify.h), with the report of validate.c.  Also the scale-out
 * modes of README "verify and validate": --shard K/N (one of N copies), --merge
 * FILE... (the N shards' --json documents -> one run's report, no AWS call)
 * and --state FILE (incremental integrity, verify_state.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cmd.h"
#include "awsenv.h"
#include "buf.h"
#include "config.h"
#include "findings.h"
#include "textesc.h"
#include "plan.h"
#include "report_html.h"
#include "timeutil.h"
#include "verify.h"
#include "verify_merge.h"
#include "verify_state.h"
#include "banned.h"

#define CMD "verify"
#define DEFAULT_SINCE (24 * 3600L)

static bool parse_uint(const char *s, size_t n, unsigned *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 7)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = (unsigned)v;
	return true;
}

/* "K/N" with 1 <= K <= N <= VERIFY_MAX_SHARDS */
static bool parse_shard(const char *s, unsigned *k, unsigned *n)
{
	const char *slash = strchr(s, '/');

	if (!slash || !parse_uint(s, (size_t)(slash - s), k) ||
	    !parse_uint(slash + 1, strlen(slash + 1), n))
		return false;
	return *k >= 1 && *k <= *n && *n <= VERIFY_MAX_SHARDS;
}

/* ---------------------------------------------------------------- output */

/* The report with the shard noted: text "shard K/N: X of Y cells" first;
 * --json gets "shard": {"index", "count"}.  Returns the exit code. */
static int report_shard(struct findings *f, struct cell_stats *cells, size_t ncells,
			bool json, const char *metrics, time_t now, unsigned k, unsigned n,
			size_t total)
{
	json_t *doc, *sh;
	char *s;

	if (!json) {
		printf("shard %u/%u: %zu of %zu cells\n", k, n, ncells, total);
		return report_findings(CMD, f, cells, ncells, false, metrics, now);
	}
	findings_sort(f);
	cells_tally(cells, ncells, f);
	doc = findings_to_json(f, cells, ncells);
	sh = json_object();
	json_object_set_new(sh, "index", json_integer(k));
	json_object_set_new(sh, "count", json_integer(n));
	json_object_set_new(doc, "shard", sh);
	report_attach_run(doc);
	s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (s)
		printf("%s\n", s);
	free(s);
	if (fflush(stdout) || ferror(stdout))
		return cli_error(CMD, TK_EXIT_RUNTIME, "cannot write to stdout: %s", strerror(errno));
	if (metrics) {
		int rc = report_metrics(CMD, metrics, f, cells, ncells, now);

		if (rc)
			return rc;
	}
	return report_exit_code(cells, ncells, f);
}

/* ---------------------------------------------------------------- --merge */

/* The shards' --json documents -> one run's report (verify_merge.h). */
static int merge(const char *config, const struct tk_config *cfg, const char *const *files,
		 size_t nfiles, bool json, const char *metrics, const char *html, time_t now)
{
	struct verify_merged m;
	struct errbuf err;
	int rc;

	err_clear(&err);
	if (verify_merge_files(&m, cfg, config, files, nfiles, &err))
		return cli_error(CMD, TK_EXIT_USAGE, "%s", err.msg);
	/* the run the shards are of (config, time, window), kept when it is
	 * valid and the same in every shard */
	report_set_run(report_run_copy(m.run));
	rc = report_findings(CMD, &m.f, m.cells, m.ncells, json, metrics, now);
	if (html && rc != TK_EXIT_USAGE && report_html_file(CMD, html, &m.f, m.cells, m.ncells, now))
		rc = TK_EXIT_RUNTIME;
	verify_merged_release(&m);
	return rc;
}

/* ---------------------------------------------------------------- the command */

/* verify's command line */
struct verify_args {
	const char *config, *since_s, *start_s, *end_s, *jobs_s, *metrics, *html, *shard_s;
	const char *state_path, *templates;
	const char **accounts, **regions, **files;
	size_t naccounts, nregions, nfiles;
	bool json, integrity, merging;
	unsigned shard_k, shard_n;
	time_t now, start, end;
	int jobs;
};

/* the options and their combinations: -1 to go on, else the exit code */
static int verify_parse(struct verify_args *a, int argc, char **argv)
{
	/* static: they live for the process, like the argv they point into */
	static struct cli_list acc, reg, pos;
	bool no_integrity = false;
	int rc;

	memset(a, 0, sizeof(*a));
	a->now = cli_now();
	a->jobs = 64;
	{
		const struct cli_opt copts[] = {
			{ "--merge", NULL, CLI_FLAG, &a->merging },
			{ "--json", NULL, CLI_FLAG, &a->json },
			{ "--no-integrity", NULL, CLI_FLAG, &no_integrity },
			{ "--since", NULL, CLI_VALUE, &a->since_s },
			{ "--start", NULL, CLI_VALUE, &a->start_s },
			{ "--end", NULL, CLI_VALUE, &a->end_s },
			{ "--jobs", NULL, CLI_VALUE, &a->jobs_s },
			{ "--metrics", NULL, CLI_VALUE, &a->metrics },
			{ "--html", NULL, CLI_VALUE, &a->html },
			{ "--shard", NULL, CLI_VALUE, &a->shard_s },
			{ "--state", NULL, CLI_VALUE, &a->state_path },
			{ "--account", NULL, CLI_LIST, &acc },
			{ "--region", NULL, CLI_LIST, &reg },
			{ "--templates", NULL, CLI_VALUE, &a->templates },
			{ NULL, NULL, CLI_FLAG, NULL },
		};

		rc = cli_parse(CMD, argc, argv, copts, &pos);
		if (rc >= 0)
			return rc;
	}
	a->integrity = !no_integrity;
	a->accounts = acc.v;
	a->naccounts = acc.n;
	a->regions = reg.v;
	a->nregions = reg.n;
	a->config = pos.n ? pos.v[0] : NULL;
	a->files = pos.n ? pos.v + 1 : NULL;
	a->nfiles = pos.n ? pos.n - 1 : 0;
	if (!a->config)
		return cli_usage(CMD, "missing CONFIG (an INI file such as examples/org.ini)");
	if (a->nfiles && !a->merging)
		return cli_usage(CMD, "too many arguments: '%s'", a->files[0]);
	if (a->merging) {
		if (!a->nfiles)
			return cli_usage(CMD, "--merge needs the --json files of the shards");
		if (a->shard_s || a->state_path || a->since_s || a->start_s || a->end_s || a->jobs_s ||
		    a->naccounts || a->nregions || !a->integrity)
			return cli_usage(CMD, "--merge takes only CONFIG, the files, --json and --metrics (and --html)");
	}
	if (a->shard_s && !parse_shard(a->shard_s, &a->shard_k, &a->shard_n))
		return cli_usage(CMD, "--shard '%s' is not K/N with 1 <= K <= N <= %d", a->shard_s,
				 VERIFY_MAX_SHARDS);
	if (a->state_path && !a->integrity)
		return cli_usage(CMD, "--state needs the integrity checks (drop --no-integrity)");
	if (a->since_s && (a->start_s || a->end_s))
		return cli_usage(CMD, "--since cannot be combined with --start/--end");
	if (a->end_s && !a->start_s)
		return cli_usage(CMD, "--end needs --start");
	a->end = a->now;
	a->start = a->now - DEFAULT_SINCE;
	if (a->since_s) {
		long s;

		if (tk_parse_duration(a->since_s, &s) || s <= 0)
			return cli_usage(CMD, "--since '%s' is not a duration (e.g. 6h, 2d)", a->since_s);
		a->start = a->now - s;
	}
	if ((rc = cli_window(CMD, a->start_s, a->end_s, &a->start, &a->end)) >= 0)
		return rc;
	return cli_jobs(CMD, a->jobs_s, &a->jobs);
}

/* the planned trails: trail_config_drift is what apply would change.  0 or
 * the exit code. */
static int verify_plan(struct plan *plan, const struct tk_config *cfg, const char *templates)
{
	struct plan_opts po;
	struct errbuf err;
	char *tdir = templates ? xstrdup(templates) : cli_default_templates();
	int rc;

	memset(&po, 0, sizeof(po));
	po.templates_dir = tdir;
	po.no_limits = true;    /* only the trails are compared */
	err_clear(&err);
	rc = plan_build(plan, cfg, &po, &err);
	free(tdir);
	return rc ? cli_error(CMD, TK_EXIT_USAGE, "%s", err.msg) : 0;
}

/* The checks on AWS and their report (state: NULL without --state).
 * Returns the exit code. */
static int verify_execute(const struct verify_args *a, const struct tk_config *cfg,
			  const struct plan *plan, struct verify_state *state)
{
	struct verify_opts vo;
	struct http_pool_options ho;
	struct cell_stats *cells = NULL;
	size_t ncells = 0, i;
	struct findings f;
	struct awsenv env;
	struct awsenv_options eo = { cfg->home_region, a->jobs, 8, true };
	struct report_progress pud = { CMD, 0, false };
	struct errbuf err;
	int rc;

	rc = awsenv_open(&env, CMD, &eo);
	if (rc)
		return rc;
	findings_init(&f);
	memset(&vo, 0, sizeof(vo));
	vo.cfg = cfg;
	vo.plan = plan;
	vo.accounts = a->accounts;
	vo.naccounts = a->naccounts;
	vo.regions = a->regions;
	vo.nregions = a->nregions;
	vo.now = a->now;
	vo.start = a->start;
	vo.end = a->end;
	vo.integrity = a->integrity;
	vo.shard_index = a->shard_k;
	vo.shard_count = a->shard_n;
	vo.state = state;
	vo.start_explicit = a->start_s != NULL;
	vo.aws = &env.ctx;
	vo.sched = env.sched;
	/* the control plane's own thread: the trail reads of many accounts at once */
	awsenv_pool_options(&ho, a->jobs);
	vo.http_opts = &ho;
	if (cli_progress_enabled()) {
		vo.progress = report_progress;
		vo.progress_ud = &pud;
	}
	report_set_run(report_run_json(a->config, a->now, a->start, a->end));   /* --json: "run" */
	err_clear(&err);
	rc = verify_run(&vo, &f, &cells, &ncells, &err);
	if (pud.shown)
		fputs("\n", stderr);
	if (rc) {
		rc = cli_error(CMD, cli_exit_for(rc), "%s", err.msg);
		goto done;
	}
	if (a->shard_n)
		rc = report_shard(&f, cells, ncells, a->json, a->metrics, a->now, a->shard_k, a->shard_n,
				  verify_cell_count(&vo));
	else
		rc = report_findings(CMD, &f, cells, ncells, a->json, a->metrics, a->now);
	if (a->html && report_html_file(CMD, a->html, &f, cells, ncells, a->now))
		rc = TK_EXIT_RUNTIME;   /* the page of `trailkeep report` (report.c) */
	if (state) {
		err_clear(&err);
		if (verify_state_save(state, a->state_path, &err))
			rc = cli_error(CMD, TK_EXIT_RUNTIME, "%s", err.msg);
	}
done:
	if (cells) {
		for (i = 0; i < ncells; i++)
			cell_release(&cells[i]);
		free(cells);
	}
	awsenv_close(&env);
	findings_release(&f);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	struct verify_args a;
	struct verify_state state;
	struct tk_config cfg;
	struct plan plan;
	struct errbuf err;
	bool state_loaded = false, plan_loaded = false;
	int rc;

	rc = verify_parse(&a, argc, argv);
	if (rc >= 0)
		return rc;
	memset(&plan, 0, sizeof(plan));
	memset(&cfg, 0, sizeof(cfg));
	rc = cli_load_config(CMD, a.config, &cfg);
	if (rc)
		return rc;
	if (a.merging) {
		rc = merge(a.config, &cfg, a.files, a.nfiles, a.json, a.metrics, a.html, a.now);
		goto done;
	}
	rc = cli_check_selection(CMD, &cfg, a.config, a.accounts, a.naccounts, a.regions, a.nregions);
	if (rc)
		goto done;
	if (a.state_path) {
		err_clear(&err);
		state_loaded = true;
		if (verify_state_load(&state, a.state_path, &cfg, &err)) {
			rc = cli_error(CMD, TK_EXIT_USAGE, "%s", err.msg);
			goto done;
		}
	}
	rc = verify_plan(&plan, &cfg, a.templates);
	if (rc)
		goto done;
	plan_loaded = true;
	rc = verify_execute(&a, &cfg, &plan, a.state_path ? &state : NULL);
done:
	if (state_loaded)
		verify_state_release(&state);
	if (plan_loaded)
		plan_release(&plan);
	config_release(&cfg);
	return rc;
}
