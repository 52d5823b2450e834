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

int cmd_verify(int argc, char **argv)
{
	/* static: they live for the process, like the argv they point into */
	static struct cli_list acc, reg, pos;
	const char **accounts, **regions, **files;
	size_t naccounts, nregions, nfiles, i, ncells = 0;
	const char *config = NULL, *since_s = NULL, *start_s = NULL, *end_s = NULL;
	const char *jobs_s = NULL, *metrics = NULL, *html = NULL, *shard_s = NULL, *state_path = NULL;
	const char *templates = NULL;
	struct plan plan;
	bool plan_loaded = false;
	bool json = false, integrity, no_integrity = false, env_open = false, merging = false;
	bool state_loaded = false;
	unsigned shard_k = 0, shard_n = 0;
	struct verify_state state;
	struct tk_config cfg;
	struct verify_opts vo;
	struct cell_stats *cells = NULL;
	struct findings f;
	struct awsenv env;
	struct report_progress pud = { CMD, 0, false };
	struct errbuf err;
	time_t now = cli_now(), start, end;
	bool cfg_loaded = false;
	int rc, jobs = 64;

	findings_init(&f);
	memset(&plan, 0, sizeof(plan));
	memset(&cfg, 0, sizeof(cfg));
	{
		const struct cli_opt copts[] = {
			{ "--merge", NULL, CLI_FLAG, &merging },
			{ "--json", NULL, CLI_FLAG, &json },
			{ "--no-integrity", NULL, CLI_FLAG, &no_integrity },
			{ "--since", NULL, CLI_VALUE, &since_s },
			{ "--start", NULL, CLI_VALUE, &start_s },
			{ "--end", NULL, CLI_VALUE, &end_s },
			{ "--jobs", NULL, CLI_VALUE, &jobs_s },
			{ "--metrics", NULL, CLI_VALUE, &metrics },
			{ "--html", NULL, CLI_VALUE, &html },
			{ "--shard", NULL, CLI_VALUE, &shard_s },
			{ "--state", NULL, CLI_VALUE, &state_path },
			{ "--account", NULL, CLI_LIST, &acc },
			{ "--region", NULL, CLI_LIST, &reg },
			{ "--templates", NULL, CLI_VALUE, &templates },
			{ NULL, NULL, CLI_FLAG, NULL },
		};

		rc = cli_parse(CMD, argc, argv, copts, &pos);
		if (rc >= 0)
			return rc;
	}
	integrity = !no_integrity;
	accounts = acc.v;
	naccounts = acc.n;
	regions = reg.v;
	nregions = reg.n;
	config = pos.n ? pos.v[0] : NULL;
	files = pos.n ? pos.v + 1 : NULL;
	nfiles = pos.n ? pos.n - 1 : 0;
	if (!config)
		return cli_usage(CMD, "missing CONFIG (an INI file such as examples/org.ini)");
	if (nfiles && !merging)
		return cli_usage(CMD, "too many arguments: '%s'", files[0]);
	if (merging) {
		if (!nfiles)
			return cli_usage(CMD, "--merge needs the --json files of the shards");
		if (shard_s || state_path || since_s || start_s || end_s || jobs_s || naccounts ||
		    nregions || !integrity)
			return cli_usage(CMD, "--merge takes only CONFIG, the files, --json and --metrics (and --html)");
	}
	if (shard_s && !parse_shard(shard_s, &shard_k, &shard_n))
		return cli_usage(CMD, "--shard '%s' is not K/N with 1 <= K <= N <= %d", shard_s,
				 VERIFY_MAX_SHARDS);
	if (state_path && !integrity)
		return cli_usage(CMD, "--state needs the integrity checks (drop --no-integrity)");
	if (since_s && (start_s || end_s))
		return cli_usage(CMD, "--since cannot be combined with --start/--end");
	if (end_s && !start_s)
		return cli_usage(CMD, "--end needs --start");
	end = now;
	start = now - DEFAULT_SINCE;
	if (since_s) {
		long s;

		if (tk_parse_duration(since_s, &s) || s <= 0)
			return cli_usage(CMD, "--since '%s' is not a duration (e.g. 6h, 2d)", since_s);
		start = now - s;
	}
	if ((rc = cli_window(CMD, start_s, end_s, &start, &end)) >= 0)
		return rc;
	if ((rc = cli_jobs(CMD, jobs_s, &jobs)) >= 0)
		return rc;
	err_clear(&err);
	rc = cli_load_config(CMD, config, &cfg);
	if (rc)
		goto done;
	cfg_loaded = true;
	if (merging) {
		rc = merge(config, &cfg, files, nfiles, json, metrics, html, now);
		goto done;
	}
	rc = cli_check_selection(CMD, &cfg, config, accounts, naccounts, regions, nregions);
	if (rc)
		goto done;
	if (state_path) {
		err_clear(&err);
		state_loaded = true;
		if (verify_state_load(&state, state_path, &cfg, &err)) {
			rc = cli_error(CMD, TK_EXIT_USAGE, "%s", err.msg);
			goto done;
		}
	}
	{
		/* the planned trails: trail_config_drift is what apply would change */
		struct plan_opts po;
		char *tdir = templates ? xstrdup(templates) : cli_default_templates();

		memset(&po, 0, sizeof(po));
		po.templates_dir = tdir;
		po.no_limits = true;    /* only the trails are compared */
		err_clear(&err);
		rc = plan_build(&plan, &cfg, &po, &err);
		free(tdir);
		if (rc) {
			rc = cli_error(CMD, TK_EXIT_USAGE, "%s", err.msg);
			goto done;
		}
		plan_loaded = true;
	}
	{
		struct awsenv_options eo = { cfg.home_region, jobs, 8, true };

		rc = awsenv_open(&env, CMD, &eo);
		if (rc)
			goto done;
		env_open = true;
	}
	memset(&vo, 0, sizeof(vo));
	vo.cfg = &cfg;
	vo.plan = &plan;
	vo.accounts = accounts;
	vo.naccounts = naccounts;
	vo.regions = regions;
	vo.nregions = nregions;
	vo.now = now;
	vo.start = start;
	vo.end = end;
	vo.integrity = integrity;
	vo.shard_index = shard_k;
	vo.shard_count = shard_n;
	vo.state = state_path ? &state : NULL;
	vo.start_explicit = start_s != NULL;
	vo.aws = &env.ctx;
	vo.sched = env.sched;
	if (cli_progress_enabled()) {
		vo.progress = report_progress;
		vo.progress_ud = &pud;
	}
	report_set_run(report_run_json(config, now, start, end));   /* --json: "run" */
	rc = verify_run(&vo, &f, &cells, &ncells, &err);
	if (pud.shown)
		fputs("\n", stderr);
	if (rc) {
		rc = cli_error(CMD, cli_exit_for(rc), "%s", err.msg);
		goto done;
	}
	if (shard_n)
		rc = report_shard(&f, cells, ncells, json, metrics, now, shard_k, shard_n,
				  verify_cell_count(&vo));
	else
		rc = report_findings(CMD, &f, cells, ncells, json, metrics, now);
	if (html && report_html_file(CMD, html, &f, cells, ncells, now))
		rc = TK_EXIT_RUNTIME;   /* the page of `trailkeep report` (report.c) */
	if (state_path) {
		err_clear(&err);
		if (verify_state_save(&state, state_path, &err))
			rc = cli_error(CMD, TK_EXIT_RUNTIME, "%s", err.msg);
	}
done:
	if (state_loaded)
		verify_state_release(&state);
	if (cells) {
		for (i = 0; i < ncells; i++)
			cell_release(&cells[i]);
		free(cells);
	}
	if (env_open)
		awsenv_close(&env);
	if (plan_loaded)
		plan_release(&plan);
	if (cfg_loaded)
		config_release(&cfg);
	findings_release(&f);
	return rc;
}
