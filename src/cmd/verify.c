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
#include "verify_state.h"
#include "banned.h"

#define CMD "verify"
#define DEFAULT_SINCE (24 * 3600L)
#define MERGE_MAX_BYTES (1024u << 20)   /* one shard's --json document */

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

struct shard_doc {
	const char *path;
	json_t *doc;
};

static const char *opt_str(json_t *o, const char *name, bool *bad)
{
	json_t *v = json_object_get(o, name);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

/* Bounds of a shard document's values (hostile input, issue 13 item 10) */
#define MERGE_MAX_COUNT 1000000000LL    /* digests or logs of one cell */
#define MERGE_MIN_TIME 1356998400LL     /* 2013-01-01: before CloudTrail digests */
#define MERGE_MAX_TIME 4102444800LL     /* 2100-01-01 */
#define MERGE_MAX_MESSAGE 8192

static bool merge_account_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return i == TK_ACCOUNT_ID_LEN;
}

static json_t *load_doc(const char *path)
{
	struct stat sb;
	json_error_t je;
	json_t *doc;

	if (stat(path, &sb)) {
		cli_error(CMD, 0, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode) || (unsigned long long)sb.st_size > MERGE_MAX_BYTES) {
		cli_error(CMD, 0, "'%s' is not a verify --json document (not a regular file of at "
			  "most %u MiB)", path, MERGE_MAX_BYTES >> 20);
		return NULL;
	}
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		cli_error(CMD, 0, "'%s' is not a verify --json document: line %d: %s", path, je.line,
			  je.text);
	return doc;
}

/* The config's cells, sorted by (account, region), with their position in
 * config order: the merged report lists cells as an unsharded run does. */
struct cpos {
	const char *account, *region;
	size_t pos;
};

static int cmp_cpos(const void *a, const void *b)
{
	const struct cpos *x = a, *y = b;
	int r = strcmp(x->account, y->account);

	return r ? r : strcmp(x->region, y->region);
}

static struct cpos *config_cells(const struct tk_config *cfg, size_t *n)
{
	struct cpos *v;
	size_t i, k, total = 0;

	for (i = 0; i < cfg->naccounts; i++)
		total += cfg->accounts[i].regions.n;
	v = xcalloc(total + 1, sizeof(*v));
	*n = 0;
	for (i = 0; i < cfg->naccounts; i++)
		for (k = 0; k < cfg->accounts[i].regions.n; k++) {
			v[*n].account = cfg->accounts[i].id;
			v[*n].region = cfg->accounts[i].regions.v[k];
			v[*n].pos = *n;
			(*n)++;
		}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_cpos);
	return v;
}

/* position in config order, or (size_t)-1 */
static size_t config_pos(const struct cpos *v, size_t n, const char *account, const char *region)
{
	struct cpos k = { account, region, 0 };
	const struct cpos *c = n ? bsearch(&k, v, n, sizeof(*v), cmp_cpos) : NULL;

	return c ? c->pos : (size_t)-1;
}

struct mcell {
	struct cell_stats c;
	size_t pos, file;
};

static int cmp_mcell(const void *a, const void *b)
{
	const struct mcell *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int merge(const char *config, const struct tk_config *cfg, const char *const *files,
		 size_t nfiles, bool json, const char *metrics, time_t now)
{
	struct shard_doc *docs = xcalloc(nfiles + 1, sizeof(*docs));
	const char **by_index = NULL;
	struct cell_stats *cells = NULL;
	struct mcell *mc = NULL;
	struct cpos *cpos = NULL;
	struct findings f;
	size_t i, j, ncells = 0, total = 0, ncpos = 0;
	json_int_t count = 0;
	int rc = TK_EXIT_USAGE;

	findings_init(&f);
	for (i = 0; i < nfiles; i++) {
		json_t *d, *ver, *sh, *fs, *cs, *ix, *cn;

		docs[i].path = files[i];
		d = docs[i].doc = load_doc(files[i]);
		if (!d)
			goto done;
		ver = json_object_get(d, "version");
		fs = json_object_get(d, "findings");
		cs = json_object_get(d, "cells");
		if (!json_is_object(d) || !json_is_integer(ver) || json_integer_value(ver) != 1 ||
		    !json_is_array(fs) || !json_is_array(cs)) {
			cli_error(CMD, 0, "'%s' is not a verify --json document (version 1 with "
				  "\"findings\" and \"cells\")", files[i]);
			goto done;
		}
		sh = json_object_get(d, "shard");
		ix = json_object_get(sh, "index");
		cn = json_object_get(sh, "count");
		if (!json_is_object(sh) || !json_is_integer(ix) || !json_is_integer(cn) ||
		    json_integer_value(cn) < 1 || json_integer_value(cn) > VERIFY_MAX_SHARDS ||
		    json_integer_value(ix) < 1 || json_integer_value(ix) > json_integer_value(cn)) {
			cli_error(CMD, 0, "'%s' is not the output of 'verify --shard K/N --json' (no valid "
				  "\"shard\")", files[i]);
			goto done;
		}
		if (i == 0) {
			count = json_integer_value(cn);
			by_index = xcalloc((size_t)count + 1, sizeof(*by_index));
		} else if (json_integer_value(cn) != count) {
			cli_error(CMD, 0, "'%s' is shard %lld of %lld, but '%s' is of %lld shards",
				  files[i], (long long)json_integer_value(ix),
				  (long long)json_integer_value(cn), files[0], (long long)count);
			goto done;
		}
		j = (size_t)json_integer_value(ix);
		if (by_index[j]) {
			cli_error(CMD, 0, "'%s' and '%s' are both shard %zu/%lld", by_index[j], files[i],
				  j, (long long)count);
			goto done;
		}
		by_index[j] = files[i];
		total += json_array_size(cs);
	}
	for (j = 1; j <= (size_t)count; j++)
		if (!by_index[j]) {
			cli_error(CMD, 0, "shard %zu/%lld is missing (%zu file%s given)", j,
				  (long long)count, nfiles, nfiles == 1 ? "" : "s");
			goto done;
		}
	cpos = config_cells(cfg, &ncpos);
	mc = xcalloc(total + 1, sizeof(*mc));
	for (i = 0; i < nfiles; i++) {
		json_t *d = docs[i].doc, *x;
		size_t k;

		json_array_foreach(json_object_get(d, "cells"), k, x) {
			bool bad = !json_is_object(x);
			const char *acct = bad ? NULL : opt_str(x, "account", &bad);
			const char *reg = bad ? NULL : opt_str(x, "region", &bad);
			json_t *nd = json_object_get(x, "newest_delivery");
			json_t *dc = json_object_get(x, "digests_checked");
			json_t *lc = json_object_get(x, "logs_checked");
			struct cell_stats *c;
			size_t pos;

			if (bad || !acct || !reg || !json_is_integer(dc) || !json_is_integer(lc) ||
			    json_integer_value(dc) < 0 || json_integer_value(lc) < 0 ||
			    json_integer_value(dc) > MERGE_MAX_COUNT || json_integer_value(lc) > MERGE_MAX_COUNT ||
			    (nd && !json_is_null(nd) && !json_is_integer(nd))) {
				cli_error(CMD, 0, "'%s': cell %zu is not a verify cell (counts from 0 to %lld)",
					  docs[i].path, k, (long long)MERGE_MAX_COUNT);
				goto done;
			}
			/* a hostile newest_delivery (INT64_MIN, far future) must not
			 * overflow an age and pass as fresh */
			if (json_is_integer(nd) && (json_integer_value(nd) < MERGE_MIN_TIME ||
						    json_integer_value(nd) > MERGE_MAX_TIME)) {
				cli_error(CMD, 0, "'%s': cell %zu: newest_delivery %lld is not a time from 2013 "
					  "to 2100", docs[i].path, k, (long long)json_integer_value(nd));
				goto done;
			}
			pos = config_pos(cpos, ncpos, acct, reg);
			if (pos == (size_t)-1) {
				char *ea = tk_text_escaped(acct), *er = tk_text_escaped(reg);

				cli_error(CMD, 0, "'%s': cell %.20s %.40s is not in '%s'", docs[i].path,
					  ea, er, config);
				free(ea);
				free(er);
				goto done;
			}
			mc[ncells].pos = pos;
			mc[ncells].file = i;
			c = &mc[ncells++].c;
			cell_init(c, acct, reg);
			if (json_is_integer(nd)) {
				c->has_newest = 1;
				c->newest_delivery = (time_t)json_integer_value(nd);
			}
			c->digests_checked = (size_t)json_integer_value(dc);
			c->logs_checked = (size_t)json_integer_value(lc);
		}
		json_array_foreach(json_object_get(d, "findings"), k, x) {
			bool bad = !json_is_object(x);
			const char *code = bad ? NULL : opt_str(x, "code", &bad);
			const char *acct = bad ? NULL : opt_str(x, "account", &bad);
			const char *reg = bad ? NULL : opt_str(x, "region", &bad);
			const char *bucket = bad ? NULL : opt_str(x, "bucket", &bad);
			const char *key = bad ? NULL : opt_str(x, "key", &bad);
			const char *msg = bad ? NULL : opt_str(x, "message", &bad);
			int fc = code ? finding_code_from_name(code) : -1;

			if (bad || fc < 0 || !msg) {
				cli_error(CMD, 0, "'%s': finding %zu is not a verify finding", docs[i].path,
					  k);
				goto done;
			}
			/* hostile input: ids and regions as verify writes them,
			 * every string bounded */
			if ((acct && !merge_account_ok(acct)) || (reg && !tk_region_known(reg)) ||
			    (bucket && strlen(bucket) > 63) || (key && strlen(key) > 1024) ||
			    strlen(msg) > MERGE_MAX_MESSAGE) {
				cli_error(CMD, 0, "'%s': finding %zu is not a verify finding (account of 12 digits, "
					  "a known region, bucket up to 63, key up to 1024, message up to %d bytes)",
					  docs[i].path, k, MERGE_MAX_MESSAGE);
				goto done;
			}
			findings_add(&f, (enum finding_code)fc, acct, reg, bucket, key, "%s", msg);
		}
	}
	if (ncells > 1)
		qsort(mc, ncells, sizeof(*mc), cmp_mcell);
	for (i = 1; i < ncells; i++)
		if (mc[i].pos == mc[i - 1].pos) {
			cli_error(CMD, 0, "'%s': cell %s %s is in '%s' too", docs[mc[i].file].path,
				  mc[i].c.account, mc[i].c.region, docs[mc[i - 1].file].path);
			goto done;
		}
	cells = xcalloc(ncells + 1, sizeof(*cells));
	for (i = 0; i < ncells; i++)
		cells[i] = mc[i].c;     /* moved: owned by cells now */
	{
		/* the run the shards are of (config, time, window), kept when it is
		 * valid and the same in every shard */
		json_t *run = report_run_copy(json_object_get(docs[0].doc, "run"));

		for (i = 1; run && i < nfiles; i++)
			if (!json_equal(json_object_get(docs[0].doc, "run"),
					json_object_get(docs[i].doc, "run"))) {
				json_decref(run);
				run = NULL;
			}
		report_set_run(run);
	}
	rc = report_findings(CMD, &f, cells, ncells, json, metrics, now);
done:
	for (i = 0; i < ncells; i++)
		cell_release(cells ? &cells[i] : &mc[i].c);
	free(cells);
	free(mc);
	free(cpos);
	for (i = 0; i < nfiles; i++)
		json_decref(docs[i].doc);
	free(docs);
	free(by_index);
	findings_release(&f);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	/* static: they live for the process, like the argv they point into */
	static struct cli_list acc, reg, pos;
	const char **accounts, **regions, **files;
	size_t naccounts, nregions, nfiles, i, k, ncells = 0;
	const char *config = NULL, *since_s = NULL, *start_s = NULL, *end_s = NULL;
	const char *jobs_s = NULL, *metrics = NULL, *shard_s = NULL, *state_path = NULL;
	const char *templates = NULL;
	struct plan plan;
	bool plan_loaded = false;
	bool json = false, integrity, no_integrity = false, env_open = false, merging = false;
	bool state_loaded = false;
	unsigned shard_k = 0, shard_n = 0;
	struct verify_state state;
	struct tk_config cfg;
	struct tk_diags diags = { NULL, 0 };
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
			return cli_usage(CMD, "--merge takes only CONFIG, the files, --json and --metrics");
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
	rc = config_load(&cfg, config, &diags, &err);
	if (rc < 0) {
		for (i = 0; i < diags.n; i++)
			cli_error(CMD, 0, "%s", diags.v[i]);
		rc = cli_error(CMD, TK_EXIT_USAGE, "%s", err.msg);
		goto done;
	}
	cfg_loaded = true;
	if (merging) {
		rc = merge(config, &cfg, files, nfiles, json, metrics, now);
		goto done;
	}
	for (i = 0; i < naccounts; i++)
		if (!config_find_account(&cfg, accounts[i])) {
			rc = cli_usage(CMD, "account '%s' is not in '%s'", accounts[i], config);
			goto done;
		}
	for (i = 0; i < nregions; i++) {
		bool found = false;

		for (k = 0; k < cfg.naccounts && !found; k++) {
			size_t r;

			for (r = 0; r < cfg.accounts[k].regions.n; r++)
				if (!strcmp(cfg.accounts[k].regions.v[r], regions[i]))
					found = true;
		}
		if (!found) {
			rc = cli_usage(CMD, "region '%s' is not configured in '%s'", regions[i], config);
			goto done;
		}
	}
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
	diags_release(&diags);
	findings_release(&f);
	return rc;
}
