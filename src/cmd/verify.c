/* verify.c: `trailkeep verify CONFIG`: control plane, delivery freshness
 * from S3, prefixes and digest-chain integrity for every configured account
 * x region (verify.h), with the report of validate.c. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "awsenv.h"
#include "../config.h"
#include "../findings.h"
#include "../timeutil.h"
#include "../verify.h"
#include "../banned.h"

#define CMD "verify"
#define MAX_LIST 10000
#define DEFAULT_SINCE (24 * 3600L)

int cmd_verify(int argc, char **argv)
{
	static const char *accounts[MAX_LIST], *regions[MAX_LIST];
	size_t naccounts = 0, nregions = 0, i, k, ncells = 0;
	const char *config = NULL, *since_s = NULL, *start_s = NULL, *end_s = NULL;
	const char *jobs_s = NULL, *metrics = NULL;
	bool json = false, integrity = true, env_open = false;
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
	int a, rc, jobs = 64;

	findings_init(&f);
	memset(&cfg, 0, sizeof(cfg));
	for (a = 1; a < argc; a++) {
		const char *arg = argv[a];
		const char **slot = NULL;
		int list = 0;
		const char *eq = NULL;
		size_t len;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
			return cli_help(CMD);
		if (!strcmp(arg, "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(arg, "--no-integrity")) {
			integrity = false;
			continue;
		}
		if (!strncmp(arg, "--", 2))
			eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
#define OPT(name) (len == strlen(name) && !strncmp(arg, name, len))
		if (OPT("--since"))
			slot = &since_s;
		else if (OPT("--start"))
			slot = &start_s;
		else if (OPT("--end"))
			slot = &end_s;
		else if (OPT("--jobs"))
			slot = &jobs_s;
		else if (OPT("--metrics"))
			slot = &metrics;
		else if (OPT("--account"))
			list = 1;
		else if (OPT("--region"))
			list = 2;
#undef OPT
		if (slot || list) {
			const char *val;

			if (eq)
				val = eq + 1;
			else if (a + 1 < argc)
				val = argv[++a];
			else
				return cli_usage(CMD, "option '%s' needs a value", arg);
			if (slot) {
				*slot = val;
			} else if (list == 1) {
				if (naccounts >= MAX_LIST)
					return cli_usage(CMD, "too many --account options");
				accounts[naccounts++] = val;
			} else {
				if (nregions >= MAX_LIST)
					return cli_usage(CMD, "too many --region options");
				regions[nregions++] = val;
			}
			continue;
		}
		rc = cli_global_option(CMD, argc, argv, &a);
		if (rc < 0)
			return TK_EXIT_USAGE;
		if (rc > 0)
			continue;
		if (arg[0] == '-' && arg[1])
			return cli_usage(CMD, "unknown option '%s'", arg);
		if (config)
			return cli_usage(CMD, "unexpected argument '%s'", arg);
		config = arg;
	}
	if (!config)
		return cli_usage(CMD, "a CONFIG file is required");
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
	if (start_s && tk_parse_time(start_s, &start))
		return cli_usage(CMD, "--start '%s' is not a time (YYYY-MM-DDTHH:MM:SSZ)", start_s);
	if (end_s && tk_parse_time(end_s, &end))
		return cli_usage(CMD, "--end '%s' is not a time (YYYY-MM-DDTHH:MM:SSZ)", end_s);
	if (end <= start)
		return cli_usage(CMD, "--end must be after --start");
	if (jobs_s) {
		char *e;
		long v = strtol(jobs_s, &e, 10);

		if (*e || v < 1 || v > 1024)
			return cli_usage(CMD, "--jobs '%s' is not 1..1024", jobs_s);
		jobs = (int)v;
	}
	err_clear(&err);
	rc = config_load(&cfg, config, &diags, &err);
	if (rc < 0) {
		for (i = 0; i < diags.n; i++)
			cli_error(CMD, 0, "%s", diags.v[i]);
		rc = cli_error(CMD, TK_EXIT_USAGE, "%s", err.msg);
		goto done;
	}
	cfg_loaded = true;
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
	{
		struct awsenv_options eo = { cfg.home_region, jobs, 8, true };

		rc = awsenv_open(&env, CMD, &eo);
		if (rc)
			goto done;
		env_open = true;
	}
	memset(&vo, 0, sizeof(vo));
	vo.cfg = &cfg;
	vo.accounts = accounts;
	vo.naccounts = naccounts;
	vo.regions = regions;
	vo.nregions = nregions;
	vo.now = now;
	vo.start = start;
	vo.end = end;
	vo.integrity = integrity;
	vo.aws = &env.ctx;
	vo.sched = env.sched;
	if (cli_progress_enabled()) {
		vo.progress = report_progress;
		vo.progress_ud = &pud;
	}
	rc = verify_run(&vo, &f, &cells, &ncells, &err);
	if (pud.shown)
		fputs("\n", stderr);
	if (rc) {
		rc = cli_error(CMD, cli_exit_for(rc), "%s", err.msg);
		goto done;
	}
	rc = report_findings(CMD, &f, cells, ncells, json, metrics, now);
done:
	if (cells) {
		for (i = 0; i < ncells; i++)
			cell_release(&cells[i]);
		free(cells);
	}
	if (env_open)
		awsenv_close(&env);
	if (cfg_loaded)
		config_release(&cfg);
	diags_release(&diags);
	findings_release(&f);
	return rc;
}
