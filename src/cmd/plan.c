/* plan.c: `trailkeep plan CONFIG [-o DIR] [--templates DIR] [--detailed-exitcode]`
 *
 * Templates: --templates DIR, else $TRAILKEEP_TEMPLATES, else next to the
 * executable (resolved through /proc/self/exe): BINDIR/../share/trailkeep/templates
 * when installed, else the checkout's templates/ (BINDIR/../../templates for
 * build/<variant>/trailkeep), else ./templates. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "buf.h"
#include "config.h"
#include "plan.h"
#include "banned.h"


int cmd_plan(int argc, char **argv)
{
	const char *config_path = NULL, *outdir = "plan", *templates = NULL;
	bool detailed = false, changed = false;
	struct tk_config cfg;
	struct plan plan;
	struct plan_opts opts;
	struct errbuf err;
	char *tdir = NULL;
	int rc, ret = TK_EXIT_USAGE;

	memset(&plan, 0, sizeof(plan));
	memset(&cfg, 0, sizeof(cfg));
	err_clear(&err);
	{
		const struct cli_opt copts[] = {
			{ "-o", "--output", CLI_VALUE, &outdir },
			{ "--templates", NULL, CLI_VALUE, &templates },
			{ "--detailed-exitcode", NULL, CLI_FLAG, &detailed },
			{ NULL, NULL, CLI_FLAG, NULL },
		};
		struct cli_list pos;

		rc = cli_parse("plan", argc, argv, copts, &pos);
		if (rc >= 0)
			return rc;
		config_path = cli_config_arg("plan", &pos, &ret);
		cli_list_release(&pos);
		if (!config_path)
			return ret;
	}
	if (!*outdir)
		return cli_usage("plan", "'-o' needs a directory name");

	if (cli_load_config("plan", config_path, &cfg))
		goto done;
	tdir = templates ? xstrdup(templates) : cli_default_templates();
	opts.templates_dir = tdir;
	opts.no_limits = false;
	rc = plan_build(&plan, &cfg, &opts, &err);
	if (rc < 0) {
		ret = cli_error("plan", rc == TK_EUSAGE || rc == TK_ELIMIT ? TK_EXIT_USAGE : TK_EXIT_RUNTIME,
				"%s", err.msg);
		goto done;
	}
	{
		/* The signals a person or an orchestrator sends wait until the
		 * plan is written and swapped in and the temporary directory is
		 * gone (milliseconds): killed at any point, plan leaves either
		 * the previous plan or the new one, and no DIR.tmp-* debris.
		 * A pending signal then ends the process as it would have. */
		sigset_t block, old;

		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGHUP);
		sigaddset(&block, SIGQUIT);
		sigprocmask(SIG_BLOCK, &block, &old);
		rc = plan_write(&plan, outdir, &changed, &err);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	if (rc < 0) {
		ret = cli_error("plan", cli_exit_for(rc), "%s", err.msg);
		goto done;
	}
	printf("plan: %s mode, %zu account%s, %zu region%s, %zu trail%s, %zu policy statements\n",
	       cfg.mode == TK_MODE_ORGANIZATION ? "organization" : "per-account",
	       plan.naccounts, plan.naccounts == 1 ? "" : "s", plan.nregions, plan.nregions == 1 ? "" : "s",
	       plan.ntrails, plan.ntrails == 1 ? "" : "s", plan.nstatements);
	printf("  bucket policy      %6zu of %d bytes (%zu%%)\n", plan.bucket_policy_size, TK_BUCKET_POLICY_LIMIT,
	       plan.bucket_policy_size * 100 / TK_BUCKET_POLICY_LIMIT);
	printf("  KMS key policy     %6zu of %d bytes (%zu%%)\n", plan.key_policy_size, TK_KEY_POLICY_LIMIT,
	       plan.key_policy_size * 100 / TK_KEY_POLICY_LIMIT);
	if (cfg.access_log_bucket)
		printf("  access-log policy  %6zu of %d bytes (%zu%%)\n", plan.access_log_policy_size,
		       TK_BUCKET_POLICY_LIMIT, plan.access_log_policy_size * 100 / TK_BUCKET_POLICY_LIMIT);
	printf("wrote %zu files to '%s'%s\n", plan.nfiles, outdir,
	       detailed ? (changed ? " (changed)" : " (no changes)") : "");
	ret = detailed && changed ? TK_EXIT_CHANGES : TK_EXIT_OK;
done:
	plan_release(&plan);
	config_release(&cfg);
	free(tdir);
	return ret;
}
