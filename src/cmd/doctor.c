/* doctor.c: `trailkeep doctor CONFIG [--account ID]... [--region R]... [--json]`
 *
 * 1. which cells are red: verify's control-plane and freshness checks
 *    (verify_run without integrity); a cell with any finding is red, its
 *    findings are the symptom;
 * 2. for each red cell, the cause, its evidence and the fix (doctor_run);
 * 3. text or --json on stdout.  Exit 0: every cell healthy; 1: a cause was
 *    found; 3: a cell could not be examined (or a runtime failure); 2: usage.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "awsenv.h"
#include "buf.h"
#include "config.h"
#include "doctor.h"
#include "doctor_accounts.h"
#include "findings.h"
#include "http.h"
#include "plan.h"
#include "textesc.h"
#include "verify.h"
#include "banned.h"



/* verify's account-level warnings (account_unconfigured, prefix_unexpected)
 * as doctor_accounts inputs; the strings point into f. */
static struct doctor_account_in *account_inputs(const struct findings *f, size_t *n, char ***symptoms)
{
	struct doctor_account_in *v = NULL;
	char **sym = NULL;
	size_t alloc = 0, salloc = 0, i, k;

	*n = 0;
	for (i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];

		if (!x->account || x->region ||
		    (x->code != F_ACCOUNT_UNCONFIGURED && x->code != F_PREFIX_UNEXPECTED))
			continue;
		for (k = 0; k < *n && strcmp(v[k].account, x->account); k++)
			;
		if (k == *n) {
			ALLOC_GROW(v, *n + 1, alloc);
			ALLOC_GROW(sym, *n + 1, salloc);
			memset(&v[k], 0, sizeof(v[k]));
			v[k].account = x->account;
			sym[k] = NULL;
			(*n)++;
		}
		if (x->code == F_ACCOUNT_UNCONFIGURED)
			v[k].unconfigured = true;
		else
			v[k].prefix_unexpected = true;
		{
			char *old = sym[k];

			sym[k] = xasprintf("%s%s%s: %s", old ? old : "", old ? "; " : "", finding_code_name(x->code),
					   x->message ? x->message : "");
			free(old);
		}
	}
	for (k = 0; k < *n; k++)
		v[k].symptom = sym[k];
	*symptoms = sym;
	return v;
}

/* Text from outside (AWS answers, CloudTrail events, policies) is printed
 * with visible escapes (textesc.h): before, s escaped, after. */
static void put(const char *before, const char *s, const char *after)
{
	char *e = tk_text_escaped(s ? s : "?");

	printf("%s%s%s", before, e, after);
	free(e);
}

static void print_indented(const char *text, const char *indent)
{
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, "\n");
		struct buf b;

		buf_init(&b, n * 4 + 1);   /* at most 4 bytes out per byte in */
		(void)!tk_text_escape_n(&b, p, n);
		printf("%s%s\n", indent, buf_error(&b) ? "?" : buf_cstr(&b));
		buf_release(&b);
		p += n;
		if (*p == '\n')
			p++;
	}
}

static void print_accounts(const struct doctor_account *v, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		put("", v[i].account, " (the account, no region): ");
		printf("%s (warning)\n", doctor_cause_name(v[i].cause));
		if (v[i].symptom)
			put("  symptom: ", v[i].symptom, "\n");
		printf("  cause: %s\n", doctor_cause_hint(v[i].cause));
		printf("  evidence:\n");
		for (j = 0; j < v[i].nevidence; j++)
			put("    - ", v[i].evidence[j], "\n");
		put("  fix: ", v[i].fix, "\n");
		printf("\n");
	}
}

static void print_text(const struct doctor_report *r, const struct doctor_account *accs, size_t nacc)
{
	size_t i, j, red = 0;

	for (i = 0; i < r->ncells; i++) {
		const struct doctor_cell *c = &r->cells[i];

		if (c->status == DOCTOR_HEALTHY)
			continue;
		red++;
		put("", c->account, " ");
		put("", c->region, ": ");
		if (c->status == DOCTOR_UNEXAMINED)
			put("not examined: ", c->error, "\n");
		else
			printf("%s%s\n", doctor_cause_name(c->cause), c->warning ? " (warning)" : "");
		if (c->symptom)
			put("  symptom: ", c->symptom, "\n");
		if (c->status == DOCTOR_CAUSE)
			printf("  cause: %s\n", doctor_cause_hint(c->cause));
		if (c->culprit.who) {
			put("  culprit: ", c->culprit.event, " ");
			put("by ", c->culprit.who, " ");
			put("at ", c->culprit.when, " ");
			put("from ", c->culprit.source_ip, "\n");
		}
		printf("  evidence:\n");
		for (j = 0; j < c->nevidence; j++)
			put("    - ", c->evidence[j], "\n");
		if (c->fix)
			put("  fix: ", c->fix, "\n");
		if (c->fix_diff) {
			printf("  the change that fixes it:\n");
			print_indented(c->fix_diff, "    ");
		}
		printf("\n");
	}
	print_accounts(accs, nacc);
	printf("doctor: %zu cell%s, %zu red, %zu cause%s found (%zu warning%s), %zu not examined\n", r->ncells,
	       r->ncells == 1 ? "" : "s", red, r->ncauses + nacc, r->ncauses + nacc == 1 ? "" : "s",
	       r->nwarnings + nacc, r->nwarnings + nacc == 1 ? "" : "s", r->nunexamined);
}

#define SYMPTOM_LIMIT 2048
#define DOCTOR_JOBS 16   /* accounts examined at once */

/* Red cells from the verify engine (control plane + freshness, no integrity).
 * The findings stay in the caller's f (the account-level ones are doctor's too). */
static int select_with_verify(struct doctor_cell_in **out, size_t *nout, struct findings *fout,
			      const struct tk_config *cfg, const struct plan *plan, struct awsenv *env, time_t now,
			      const char *const *accounts, size_t naccounts, const char *const *regions, size_t nregions,
			      struct errbuf *err)
{
	struct verify_opts vo;
	struct http_pool_options ho;
	struct findings f;
	struct cell_stats *cells = NULL;
	size_t ncells = 0, alloc = 0, i, j;
	struct doctor_cell_in *v;
	int rc;

	*out = NULL;
	*nout = 0;
	findings_init(&f);
	memset(&vo, 0, sizeof(vo));
	vo.cfg = cfg;
	vo.plan = plan;
	vo.accounts = accounts;
	vo.naccounts = naccounts;
	vo.regions = regions;
	vo.nregions = nregions;
	vo.now = now;
	vo.start = now - 3600;
	vo.end = now;
	vo.integrity = false;
	vo.aws = &env->ctx;
	vo.sched = env->sched;
	/* verify's control plane on its own thread, its owners' checks in parallel */
	awsenv_pool_options(&ho, 0);
	vo.http_opts = &ho;
	rc = verify_run(&vo, &f, &cells, &ncells, err);
	if (rc)
		goto done;
	findings_sort(&f);
	cells_tally(cells, ncells, &f);
	/* every cell verify reports on is examined, also one the config does
	 * not declare (a trail-level finding on the trail owner's home cell) */
	{
		size_t extra = 0, n0 = ncells;

		for (j = 0; j < f.n; j++) {
			const struct finding *x = &f.v[j];
			bool known = !x->account || !x->region;

			for (i = 0; i < ncells && !known; i++)
				known = !strcmp(x->account, cells[i].account) && !strcmp(x->region, cells[i].region);
			/* --account / --region still limit the cells */
			for (i = 0; i < naccounts && !known; i++)
				if (!strcmp(accounts[i], x->account))
					break;
			if (naccounts && i == naccounts)
				known = true;
			for (i = 0; i < nregions && !known; i++)
				if (!strcmp(regions[i], x->region))
					break;
			if (nregions && i == nregions)
				known = true;
			if (known)
				continue;
			ALLOC_GROW(cells, ncells + 1, alloc);
			cell_init(&cells[ncells], x->account, x->region);
			ncells++;
			extra++;
		}
		if (extra)
			cells_tally(cells + n0, extra, &f);
	}
	v = xcalloc(ncells ? ncells : 1, sizeof(*v));
	for (i = 0; i < ncells; i++) {
		struct buf b;

		v[i].account = xstrdup(cells[i].account);
		v[i].region = xstrdup(cells[i].region);
		v[i].red = cells[i].status != CELL_OK;
		if (!v[i].red)
			continue;
		buf_init(&b, SYMPTOM_LIMIT);
		v[i].delivery_error_only = cells[i].status == CELL_FINDINGS;
		v[i].warning_only = cells[i].status == CELL_FINDINGS;
		for (j = 0; j < f.n; j++) {
			const struct finding *x = &f.v[j];

			if (!x->account || !x->region || strcmp(x->account, cells[i].account) ||
			    strcmp(x->region, cells[i].region))
				continue;
			if (x->code != F_TRAIL_DELIVERY_ERROR)
				v[i].delivery_error_only = false;
			if (finding_severity(x->code) == SEV_ERROR)
				v[i].warning_only = false;
			if (buf_addf(&b, "%s%s: %s", b.len ? "; " : "", finding_code_name(x->code), x->message))
				break;   /* the limit: what fitted, then " [truncated]" */
		}
		v[i].symptom = buf_detach_marked(&b);
	}
	*out = v;
	*nout = ncells;
done:
	for (i = 0; cells && i < ncells; i++)
		cell_release(&cells[i]);
	free(cells);
	*fout = f;   /* the caller releases it */
	return rc;
}

/* doctor's command line */
struct doctor_args {
	const char *config_path, *templates;
	struct cli_list acc, reg;
	bool json;
};

/* -1 to go on, else the exit code (a->acc and a->reg are the caller's to
 * release either way) */
static int doctor_parse(struct doctor_args *a, int argc, char **argv)
{
	const struct cli_opt opts[] = {
		{ "--account", NULL, CLI_LIST, &a->acc },
		{ "--region", NULL, CLI_LIST, &a->reg },
		{ "--json", NULL, CLI_FLAG, &a->json },
		{ "--templates", NULL, CLI_VALUE, &a->templates },
		{ NULL, NULL, CLI_FLAG, NULL },
	};
	struct cli_list pos;
	int rc, ret = TK_EXIT_USAGE;

	rc = cli_parse("doctor", argc, argv, opts, &pos);
	if (rc >= 0)
		return rc;
	a->config_path = cli_config_arg("doctor", &pos, &ret);
	cli_list_release(&pos);
	return a->config_path ? -1 : ret;
}

/* the report, with the account-level causes: --json or text */
static void doctor_print(const struct doctor_report *rep, const struct doctor_account *accs, size_t nacc,
			 bool json)
{
	json_t *doc, *sum, *counts;
	size_t k;

	if (!json) {
		print_text(rep, accs, nacc);
		return;
	}
	doc = doctor_report_json(rep);
	sum = json_object_get(doc, "summary");
	counts = json_object_get(sum, "causes");
	json_object_set_new(doc, "accounts", doctor_accounts_json(accs, nacc));
	for (k = 0; k < nacc; k++) {
		const char *name = doctor_cause_name(accs[k].cause);

		json_object_set_new(counts, name, json_integer(json_integer_value(json_object_get(counts, name)) + 1));
	}
	json_object_set_new(sum, "warnings", json_integer((json_int_t)(rep->nwarnings + nacc)));

	if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) == 0)
		fputc('\n', stdout);
	json_decref(doc);   /* ours */
}

/* The cells to examine, the examination and its report: the exit code. */
static int doctor_execute(const struct doctor_args *a, const struct tk_config *cfg, const struct plan *plan)
{
	const char **accounts = a->acc.n ? a->acc.v : NULL, **regions = a->reg.n ? a->reg.v : NULL;
	const char *knob = cli_test_knob("TRAILKEEP_DOCTOR_SELECT");
	struct awsenv env;
	struct awsenv_options eo;
	struct doctor_opts dopts;
	struct http_pool_options ho;
	struct doctor_report rep;
	struct findings vf;
	struct doctor_account_in *ain = NULL;
	struct doctor_account *accs = NULL;
	char **asym = NULL;
	size_t nain = 0, nacc = 0, k;
	struct doctor_cell_in *cells = NULL;
	size_t ncells = 0;
	struct errbuf err;
	int rc, ret;

	memset(&eo, 0, sizeof(eo));
	eo.region = cfg->home_region;
	eo.need_creds = true;
	rc = awsenv_open(&env, "doctor", &eo);
	if (rc)
		return rc;
	memset(&rep, 0, sizeof(rep));
	findings_init(&vf);
	err_clear(&err);
	memset(&dopts, 0, sizeof(dopts));
	dopts.cfg = cfg;
	dopts.plan = plan;
	dopts.config_path = a->config_path;
	dopts.aws = &env.ctx;
	dopts.now = cli_now();
	dopts.session_name = "trailkeep-doctor";
	dopts.trail_checks = true;
	/* accounts examined in parallel, each worker on a pool of its own */
	awsenv_pool_options(&ho, 4);
	dopts.http_opts = &ho;
	dopts.jobs = DOCTOR_JOBS;

	if (knob && !strcmp(knob, "internal"))
		/* doctor's own, simpler selection (tests and the benchmark compare) */
		rc = doctor_select(&cells, &ncells, &dopts, accounts, a->acc.n, regions, a->reg.n, &err);
	else
		rc = select_with_verify(&cells, &ncells, &vf, cfg, plan, &env, dopts.now, accounts, a->acc.n,
					regions, a->reg.n, &err);
	if (rc) {
		ret = cli_error("doctor", TK_EXIT_RUNTIME, "%s", err.msg);
		goto done;
	}
	dopts.cells = cells;
	dopts.ncells = ncells;
	rc = doctor_run(&rep, &dopts, &err);
	if (rc) {
		ret = cli_error("doctor", TK_EXIT_RUNTIME, "%s", err.msg);
		goto done;
	}
	/* verify's account-level warnings get their cause too (doctor_accounts.h) */
	ain = account_inputs(&vf, &nain, &asym);
	doctor_accounts(&accs, &nacc, ain, nain, cfg, a->config_path);
	doctor_print(&rep, accs, nacc, a->json);
	if (g_cli.verbose)
		cli_info("doctor: %zu AWS calls", rep.aws_calls);
	/* the severity rule of verify: causes of warning-only cells alone exit 0 */
	ret = rep.nunexamined ? TK_EXIT_RUNTIME : rep.ncauses > rep.nwarnings ? TK_EXIT_FINDINGS : TK_EXIT_OK;
done:
	doctor_report_release(&rep);
	doctor_cells_free(cells, ncells);
	doctor_accounts_free(accs, nacc);
	for (k = 0; asym && k < nain; k++)
		free(asym[k]);
	free(asym);
	free(ain);
	findings_release(&vf);
	awsenv_close(&env);
	return ret;
}

int cmd_doctor(int argc, char **argv)
{
	struct doctor_args a;
	struct tk_config cfg;
	struct plan plan;
	bool have_plan = false;
	struct plan_opts popts;
	struct errbuf err;
	char *tdir = NULL;
	int rc, ret;

	memset(&a, 0, sizeof(a));
	memset(&cfg, 0, sizeof(cfg));
	memset(&plan, 0, sizeof(plan));
	err_clear(&err);
	ret = doctor_parse(&a, argc, argv);
	if (ret >= 0)
		goto done;
	ret = cli_load_config("doctor", a.config_path, &cfg);
	if (ret)
		goto done;
	ret = cli_check_selection("doctor", &cfg, a.config_path, a.acc.v, a.acc.n, a.reg.v, a.reg.n);
	if (ret)
		goto done;

	/* the desired state: what drift is measured against, and the fix diffs */
	tdir = a.templates ? xstrdup(a.templates) : cli_default_templates();
	memset(&popts, 0, sizeof(popts));
	popts.templates_dir = tdir;
	popts.no_limits = true;
	rc = plan_build(&plan, &cfg, &popts, &err);
	if (rc < 0) {
		ret = cli_error("doctor", TK_EXIT_USAGE, "%s", err.msg);
		goto done;
	}
	have_plan = true;
	ret = doctor_execute(&a, &cfg, &plan);
done:
	cli_list_release(&a.acc);
	cli_list_release(&a.reg);
	if (have_plan)
		plan_release(&plan);
	config_release(&cfg);
	free(tdir);
	return ret;
}
