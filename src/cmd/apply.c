/* apply.c: `trailkeep apply CONFIG [--dry-run] [--yes] [--account ID]...
 *                          [--templates DIR]`
 *
 * Renders the plan of CONFIG in memory (like `plan`), then converges AWS to
 * it (src/apply/apply.h).  Output on stdout: one line per change ("+ create",
 * "~ update/set", "> start logging"), with --dry-run (and before the
 * interactive question) the unified diff of each; then one summary line per
 * account and a total.  Diagnostics (errors, warnings) on stderr.
 *
 * Without --yes: when stdin and stdout are terminals, apply first reads
 * everything, shows the diff and asks "apply these changes? [y/N]";
 * otherwise it refuses before contacting anything (exit 2).
 *
 * Exit status: 0 applied, or nothing to do; 2 usage, config or template
 * error, a key policy that would lock out the account root, or no --yes
 * without a terminal (nothing was contacted); 3 an AWS, network or
 * credentials error, a preflight safety check that failed (bucket owned by
 * another account or in another region, unusable access-log bucket,
 * key in a state apply cannot converge: nothing was written), or any
 * account that failed;
 * 4 --dry-run found changes pending. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "awsenv.h"
#include "apply.h"
#include "buf.h"
#include "config.h"
#include "creds_net.h"
#include "diff.h"
#include "plan.h"
#include "banned.h"

#define CMD "apply"
#define MAX_DIFF_TEXT (4u << 20)


struct acreds {
	struct creds_net *net;
	const struct aws_creds *source;
	const char *partition, *role, *external_id, *region;
};

/* apply_options.account_creds: the per-account AssumeRole cache. */
static int account_creds(void *ud, const char *account, struct aws_creds *out, struct errbuf *err)
{
	struct acreds *a = ud;
	int rc = aws_account_creds(a->net, a->source, a->partition, account, a->role, a->external_id, a->region,
				   out, err);

	if (rc)
		err_prefix(err, rc, "account %s: cannot assume role 'arn:%s:iam::%s:role/%s'", account,
			   a->partition, account, a->role);
	return rc;
}

static const char *account_name(const struct tk_config *c, const char *id)
{
	const struct tk_account *a = config_find_account(c, id);

	return a ? a->name : NULL;
}

static char mark(const char *verb)
{
	if (!strcmp(verb, "create"))
		return '+';
	if (!strcmp(verb, "start logging"))
		return '>';
	return '~';
}

/* Print the changes; with diffs the unified diff of each. */
static int print_changes(const struct apply_result *res, bool diffs)
{
	struct buf d = BUF_INIT_LIMIT(MAX_DIFF_TEXT);
	size_t i;
	int rc = 0;

	for (i = 0; i < res->nchanges; i++) {
		const struct apply_change *c = &res->changes[i];
		char *a, *b;

		/* after a real run: a change whose write failed says so */
		printf("%c %s %s (account %s)%s\n", mark(c->verb), c->verb, c->subject, c->account,
		       !diffs && !c->done ? ": not made, the write failed" : "");
		if (!diffs || (!c->before && !c->after))
			continue;
		a = xasprintf("%s (current)", c->subject);
		b = xasprintf("%s (planned)", c->subject);
		buf_reset(&d);
		rc = diff_unified(&d, c->before ? c->before : "", c->after ? c->after : "",
				  c->before ? a : "(absent)", b, DIFF_CONTEXT);
		free(a);
		free(b);
		if (rc < 0) {
			printf("  (diff too large to show)\n");
			rc = 0;
			continue;
		}
		fputs(buf_cstr(&d), stdout);
	}
	buf_release(&d);
	return rc;
}

static void print_summary(const struct tk_config *cfg, const struct apply_result *res, bool dry)
{
	size_t i, failed = 0;

	for (i = 0; i < res->nwarnings; i++)
		cli_warn(CMD, "warning: %s", res->warnings[i]);
	for (i = 0; i < res->noutcomes; i++) {
		const struct apply_outcome *o = &res->outcomes[i];
		const char *name = account_name(cfg, o->account);
		char label[128];

		snprintf(label, sizeof(label), "%s%s%s%s", o->account, name ? " (" : "", name ? name : "",
			 name ? ")" : "");
		if (o->rc < 0) {
			failed++;
			printf("account %s %s: failed%s\n", label, o->scope == APPLY_SCOPE_CENTRAL ? "central" : "trail",
			       o->skipped ? " (skipped)" : "");
			cli_error(CMD, 0, "account %s: %s", o->account, o->msg);
		} else if (o->nchanges == 0) {
			printf("account %s %s: ok, no changes\n", label,
			       o->scope == APPLY_SCOPE_CENTRAL ? "central" : "trail");
		} else {
			printf("account %s %s: ok, %zu change%s%s\n", label,
			       o->scope == APPLY_SCOPE_CENTRAL ? "central" : "trail", o->nchanges,
			       o->nchanges == 1 ? "" : "s", dry ? " pending" : "");
		}
	}
	if (res->nchanges == 0 && !failed)
		printf("nothing to do\n");
	else if (dry)
		printf("%zu change%s pending%s\n", res->nchanges, res->nchanges == 1 ? "" : "s",
		       failed ? ", some accounts could not be read" : "");
	else {
		/* only changes whose write succeeded count as made (a refused
		 * write is never reported as done) */
		size_t made = 0;

		for (i = 0; i < res->nchanges; i++)
			made += res->changes[i].done;
		printf("%zu change%s made (%zu write call%s)", made, made == 1 ? "" : "s", res->writes,
		       res->writes == 1 ? "" : "s");
		if (made < res->nchanges)
			printf(", %zu not made", res->nchanges - made);
		printf("%s\n", failed ? ", some accounts failed" : "");
	}
}

/* The apply lock: one apply at a time for a central account and bucket on
 * this machine.  A POSIX record lock (fcntl F_SETLK) on
 * $XDG_RUNTIME_DIR/trailkeep-apply-ACCOUNT-BUCKET[-ENDPOINT].lock (else
 * /tmp; ENDPOINT: a hash of a custom endpoint URL), opened
 * O_NOFOLLOW, mode 0600, refused unless it is a regular file owned by this
 * user; the holder's pid is written into it (and F_GETLK names it).  The
 * kernel drops the lock when the process ends, however it ends.  Applies
 * on different machines are not serialized (see README).  Returns the open
 * descriptor (keep it open for the run) or -1 after printing the error;
 * *ret is the exit code then. */
static int take_lock(const struct tk_config *cfg, const struct endpoint_config *ec, int *ret)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	struct endpoint ep;
	struct errbuf e;
	struct flock fl;
	struct stat st;
	char *path, pidtext[32], tag[24] = "";
	int fd, n;

	if (!dir || dir[0] != '/' || stat(dir, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		dir = "/tmp";
	/* a custom endpoint (--endpoint-url, AWS_ENDPOINT_URL...) is another
	 * AWS: its lock is another one (FNV-1a of scheme://host/path) */
	memset(&ep, 0, sizeof(ep));
	if (endpoint_resolve(&ep, "s3", cfg->home_region, ec, &e) == 0 && ep.custom) {
		unsigned long long h = 1469598103934665603ULL;
		char *u = xasprintf("%s://%s%s", ep.scheme, ep.host, ep.base_path ? ep.base_path : "");
		const char *c;

		for (c = u; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
		snprintf(tag, sizeof(tag), "-%016llx", h);
		free(u);
	}
	endpoint_release(&ep);
	path = xasprintf("%s/trailkeep-apply-%s-%s%s.lock", dir, config_central_account(cfg), cfg->bucket, tag);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0) {
		*ret = cli_error(CMD, TK_EXIT_RUNTIME, "cannot open the apply lock '%s': %s%s", path, strerror(errno),
				 errno == ELOOP ? " (a symbolic link: refusing to follow it)" : "");
		free(path);
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		*ret = cli_error(CMD, TK_EXIT_RUNTIME, "cannot use the apply lock '%s': not a regular file owned by "
				 "this user", path);
		close(fd);
		free(path);
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int en = errno;
		long pid = 0;

		if (en == EACCES || en == EAGAIN) {
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_WRLCK;
			fl.l_whence = SEEK_SET;
			if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
				pid = (long)fl.l_pid;
			*ret = cli_error(CMD, TK_EXIT_RUNTIME, "another apply (pid %ld) is running for account %s, bucket "
					 "'%s' (lock '%s'): wait until it has finished, then run apply again", pid,
					 config_central_account(cfg), cfg->bucket, path);
		} else {
			*ret = cli_error(CMD, TK_EXIT_RUNTIME, "cannot lock '%s': %s", path, strerror(en));
		}
		close(fd);
		free(path);
		return -1;
	}
	n = snprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && n > 0)
		(void)!write(fd, pidtext, (size_t)n);
	free(path);
	return fd;
}

static bool ask(void)
{
	char line[64];

	printf("apply these changes? [y/N] ");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return !strcmp(line, "y\n") || !strcmp(line, "Y\n") || !strcmp(line, "yes\n") || !strcmp(line, "y") ||
	       !strcmp(line, "yes");
}

/* apply's command line: -1 to go on, else the exit code.  *accounts (from
 * --account) is the caller's to free, also on a non-negative return. */
static int apply_parse(int argc, char **argv, const char **config_path, const char **templates,
		       struct cli_list *acc, bool *dry, bool *yes)
{
	const struct cli_opt copts[] = {
		{ "--dry-run", NULL, CLI_FLAG, dry },
		{ "--yes", "-y", CLI_FLAG, yes },
		{ "--account", NULL, CLI_LIST, acc },
		{ "--templates", NULL, CLI_VALUE, templates },
		{ NULL, NULL, CLI_FLAG, NULL },
	};
	struct cli_list pos;
	int rc, ret = TK_EXIT_USAGE;

	rc = cli_parse(CMD, argc, argv, copts, &pos);
	if (rc >= 0)
		return rc;
	*config_path = cli_config_arg(CMD, &pos, &ret);
	cli_list_release(&pos);
	if (!*config_path)
		return ret;
	if (!*dry && !*yes && !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)))
		return cli_usage(CMD, "refusing to change AWS without confirmation: pass --yes "
				 "(or --dry-run to see what would change)");
	return -1;
}

/* What apply talks to AWS with: the environment, the options of every
 * worker's AWS context and HTTP pool, and the per-account AssumeRole cache
 * (creds_net.h) on a pool of its own.  Does not move once opened. */
struct apply_aws {
	struct awsenv env;
	bool env_open;
	struct aws_ctx_options ao;
	struct http_pool_options ho;
	struct http_pool *net_pool;
	struct acreds ac;
};

/* 0 or the exit code (a is then for apply_aws_close) */
static int apply_aws_open(struct apply_aws *a, const struct tk_config *cfg)
{
	struct awsenv_options eo;
	struct creds_net_config nc;
	struct errbuf err;
	int rc;

	memset(a, 0, sizeof(*a));
	memset(&eo, 0, sizeof(eo));
	eo.region = cfg->home_region;
	eo.need_creds = true;
	eo.max_attempts = 5;   /* like botocore legacy mode: apply is a one-shot writer */
	rc = awsenv_open(&a->env, CMD, &eo);
	if (rc)
		return rc;
	a->env_open = true;

	/* every worker makes its own HTTP pool with these options */
	awsenv_pool_options(&a->ho, 4);
	a->ao.creds = &a->env.creds;
	a->ao.region = cfg->home_region;
	a->ao.endpoints = &a->env.endpoints;
	a->ao.clock = a->env.ctx.clock;
	a->ao.clock_ud = a->env.ctx.clock_ud;
	a->ao.max_attempts = a->env.ctx.max_attempts;
	a->ao.backoff_scale = a->env.ctx.backoff_scale;
	a->ao.seed = a->env.ctx.rng;

	err_clear(&err);
	rc = http_pool_new(&a->net_pool, &a->ho, &err);
	if (rc)
		return cli_error(CMD, cli_exit_for(rc), "%s", err.msg);
	memset(&nc, 0, sizeof(nc));
	nc.http = a->net_pool;
	nc.endpoints = &a->env.endpoints;
	nc.clock = a->env.ctx.clock;
	nc.clock_ud = a->env.ctx.clock_ud;
	nc.backoff_scale = a->env.ctx.backoff_scale;
	a->ac.net = creds_net_new(&nc);
	a->ac.source = &a->env.creds;
	a->ac.partition = cfg->partition ? cfg->partition : "aws";
	a->ac.role = cfg->assume_role;
	a->ac.external_id = cfg->external_id;
	a->ac.region = cfg->home_region;
	return 0;
}

static void apply_aws_close(struct apply_aws *a)
{
	creds_net_free(a->ac.net);
	if (a->net_pool)
		http_pool_free(a->net_pool);
	if (a->env_open)
		awsenv_close(&a->env);
	memset(a, 0, sizeof(*a));
}

/* Interactive: show what would change, then ask.  -1 to go on (the answer
 * was yes), else the exit code. */
static int apply_confirm(struct apply_options *opts, const struct tk_config *cfg)
{
	struct apply_result res;
	struct errbuf err;
	int rc, ret = -1;

	memset(&res, 0, sizeof(res));
	err_clear(&err);
	opts->dry_run = true;
	rc = apply_run(&res, opts, &err);
	if (rc) {
		ret = cli_error(CMD, cli_exit_for(rc), "%s", err.msg);
	} else {
		print_changes(&res, true);
		if (res.nchanges == 0 || res.failed) {
			print_summary(cfg, &res, true);
			ret = res.failed ? TK_EXIT_RUNTIME : TK_EXIT_OK;
		} else if (!ask()) {
			printf("nothing changed\n");
			ret = TK_EXIT_OK;
		}
	}
	apply_result_release(&res);
	return ret;
}

/* The run itself, its changes and summary: the exit code. */
static int apply_execute(struct apply_options *opts, const struct tk_config *cfg, bool dry)
{
	struct apply_result res;
	struct errbuf err;
	int rc, ret;

	memset(&res, 0, sizeof(res));
	err_clear(&err);
	opts->dry_run = dry;
	rc = apply_run(&res, opts, &err);
	if (rc) {
		ret = cli_error(CMD, cli_exit_for(rc), "%s", err.msg);
	} else {
		print_changes(&res, dry);
		print_summary(cfg, &res, dry);
		if (res.failed)
			ret = TK_EXIT_RUNTIME;
		else if (dry && res.nchanges)
			ret = TK_EXIT_CHANGES;
		else
			ret = TK_EXIT_OK;
	}
	apply_result_release(&res);
	return ret;
}

int cmd_apply(int argc, char **argv)
{
	const char *config_path = NULL, *templates = NULL;
	struct cli_list acc = { NULL, 0, 0 };
	bool dry = false, yes = false;
	struct tk_config cfg;
	struct plan plan;
	struct plan_opts popts;
	struct apply_aws aws;
	struct apply_options opts;
	struct errbuf err;
	char *tdir = NULL;
	bool cfg_loaded = false, plan_built = false;
	int lock_fd = -1;
	int rc, ret;

	memset(&cfg, 0, sizeof(cfg));
	memset(&plan, 0, sizeof(plan));
	memset(&aws, 0, sizeof(aws));
	err_clear(&err);
	ret = apply_parse(argc, argv, &config_path, &templates, &acc, &dry, &yes);
	if (ret >= 0) {
		cli_list_release(&acc);
		return ret;
	}

	ret = cli_load_config(CMD, config_path, &cfg);
	if (ret)
		goto done;
	cfg_loaded = true;
	ret = cli_check_selection(CMD, &cfg, config_path, acc.v, acc.n, NULL, 0);
	if (ret)
		goto done;
	tdir = templates ? xstrdup(templates) : cli_default_templates();
	memset(&popts, 0, sizeof(popts));
	popts.templates_dir = tdir;
	rc = plan_build(&plan, &cfg, &popts, &err);
	if (rc) {
		ret = cli_error(CMD, rc == TK_EUSAGE || rc == TK_ELIMIT ? TK_EXIT_USAGE : TK_EXIT_RUNTIME, "%s",
				err.msg);
		goto done;
	}
	plan_built = true;

	ret = apply_aws_open(&aws, &cfg);
	if (ret)
		goto done;
	memset(&opts, 0, sizeof(opts));
	opts.cfg = &cfg;
	opts.plan = &plan;
	opts.accounts = acc.n ? acc.v : NULL;
	opts.naccounts = acc.n;
	opts.aws = &aws.ao;
	opts.http_opts = &aws.ho;
	opts.account_creds = account_creds;
	opts.account_creds_ud = &aws.ac;

	/* one apply at a time for this central account and bucket (a dry run
	 * writes nothing and takes no lock) */
	if (!dry && (lock_fd = take_lock(&cfg, &aws.env.endpoints, &ret)) < 0)
		goto done;
	if (!dry && !yes && (ret = apply_confirm(&opts, &cfg)) >= 0)
		goto done;
	ret = apply_execute(&opts, &cfg, dry);
done:
	if (lock_fd >= 0)
		close(lock_fd);   /* releases the lock */
	apply_aws_close(&aws);
	if (plan_built)
		plan_release(&plan);
	if (cfg_loaded)
		config_release(&cfg);
	free(tdir);
	cli_list_release(&acc);
	return ret;
}
