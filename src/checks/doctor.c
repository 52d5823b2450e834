/* doctor.c: see doctor.h.  The run: each cell diagnosed (the checks in
 * order, the first that explains it wins), evidence and fix lines, fix
 * diffs, delivery errors linked; the parts: doctor_int.h. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "doctor_int.h"
#include "account.h"
#include "apply.h"
#include "aws.h"
#include "buf.h"
#include "cloudtrail.h"
#include "diff.h"
#include "endpoint.h"
#include "http.h"
#include "kms.h"
#include "org_check.h"
#include "policy.h"
#include "s3.h"
#include "sts.h"
#include "timeutil.h"
#include "workers.h"
#include "trail_drift.h"
#include "digest.h"
#include "banned.h"

/* ---- cells ---------------------------------------------------------------- */

/* Evidence and fix lines are for people: a line longer than LINE_LIMIT keeps
 * what fits and ends with " [truncated]" (tk_format_cut; issue 14: they
 * were empty strings). */
void dr_ev(struct doctor_cell *c, const char *fmt, ...)
{
	va_list ap;
	char *line;

	if (c->nevidence >= DOCTOR_MAX_EVIDENCE)
		return;
	va_start(ap, fmt);
	line = tk_vformat_cut(LINE_LIMIT, fmt, ap);
	va_end(ap);
	ALLOC_GROW(c->evidence, c->nevidence + 1, c->alloc_evidence);
	c->evidence[c->nevidence++] = line;
}

void dr_set_fix(struct doctor_cell *c, const char *fmt, ...)
{
	va_list ap;

	free(c->fix);
	va_start(ap, fmt);
	c->fix = tk_vformat_cut(LINE_LIMIT, fmt, ap);   /* too long: cut, " [truncated]" */
	va_end(ap);
}

void dr_culprit_release(struct doctor_culprit *k)
{
	free(k->who);
	free(k->when);
	free(k->source_ip);
	free(k->event);
	free(k->event_id);
	memset(k, 0, sizeof(*k));
}

static void cell_free(struct doctor_cell *c)
{
	size_t i;

	free(c->account);
	free(c->region);
	free(c->symptom);
	for (i = 0; i < c->nevidence; i++)
		free(c->evidence[i]);
	free(c->evidence);
	free(c->fix);
	free(c->fix_diff);
	free(c->error);
	dr_culprit_release(&c->culprit);
}

void doctor_report_release(struct doctor_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->ncells; i++)
		cell_free(&r->cells[i]);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

/* "trailkeep apply CONFIG" (with --account for per-account trails). */
void dr_fix_apply(struct dstate *st, struct doctor_cell *c, const char *before)
{
	const struct tk_config *cfg = st->o->cfg;
	const char *path = st->o->config_path ? st->o->config_path : cfg->path;

	if (cfg->mode == TK_MODE_PER_ACCOUNT)
		dr_set_fix(c, "%s%strailkeep apply %s --account %s", before ? before : "",
			before ? ", then " : "", path, c->account);
	else
		dr_set_fix(c, "%s%strailkeep apply %s", before ? before : "", before ? ", then " : "", path);
}

/* Append "(what it does)" to the fix line. */
void dr_set_fix_note(struct doctor_cell *c, const char *note)
{
	char *f;

	if (!c->fix)
		return;
	f = xasprintf("%s (%s)", c->fix, note);
	free(c->fix);
	c->fix = f;
}

/* ---- fix diffs ------------------------------------------------------------- */

bool dr_sid_owned(const json_t *st)
{
	return apply_sid_owned(json_string_value(json_object_get(st, "Sid")));
}

/* What apply would make of the current policy (apply.h: trailkeep's
 * statements replaced by the plan's, every other statement kept in place);
 * NULL when the current document is not a policy. */
json_t *dr_merge_policy(const json_t *current, const json_t *desired)
{
	json_t *out = NULL;
	struct errbuf e;

	if (apply_merge_policy(&out, current, desired, "policy", &e))
		return NULL;
	return out;
}

void dr_fix_diff_docs(struct doctor_cell *c, const json_t *before, const json_t *after, bool policy,
		      const char *name)
{
	char *a = before ? diff_json_text(before, policy) : NULL;
	char *b = diff_json_text(after, policy);
	char *na = xasprintf("a/%s", name), *nb = xasprintf("b/%s", name);
	struct buf out;

	buf_init(&out, FIX_DIFF_LIMIT);
	switch (diff_unified(&out, a, b, na, nb, DIFF_CONTEXT)) {
	case 1:
		free(c->fix_diff);
		c->fix_diff = buf_detach(&out);
		break;
	case 0:   /* no difference */
		break;
	default:   /* as apply says it: never a fix without its diff, silently */
		free(c->fix_diff);
		c->fix_diff = xstrdup("(diff too large to show)");
		break;
	}
	buf_release(&out);
	free(a);
	free(b);
	free(na);
	free(nb);
}

const json_t *dr_plan_doc(struct dstate *st, const char *path)
{
	const struct plan_file *f;

	if (!st->o->plan)
		return NULL;
	f = plan_find(st->o->plan, path);
	return f ? f->doc : NULL;
}

const json_t *dr_plan_trail(struct dstate *st, const char *account)
{
	char *p = xasprintf("accounts/%s/trail.json", dr_trail_owner(st->o->cfg, account));
	const json_t *d = dr_plan_doc(st, p);

	free(p);
	return d;
}

/* Every walk starts with the trail: -1 the cell is unexamined, 1 the trail
 * explains it, 0 go on (c is then DOCTOR_CAUSE, its cause still to find). */
static int walk_begin(struct cellctx *x, struct dstate *st, struct doctor_cell *c)
{
	int rc;

	memset(x, 0, sizeof(*x));
	x->st = st;
	x->c = c;
	x->bucket = st->o->cfg->bucket;
	rc = dr_check_trail(x);
	c->status = rc < 0 ? DOCTOR_UNEXAMINED : DOCTOR_CAUSE;
	return rc;
}

static void diagnose(struct dstate *st, const struct doctor_cell_in *in, struct doctor_cell *c, bool *deferred)
{
	struct cellctx x;
	int rc = walk_begin(&x, st, c);

	if (rc < 0)
		return;
	if (rc > 0)
		return;
	/* organization membership and trusted access (org_check.h) */
	if (dr_check_org(&x, in))
		goto found;
	if (dr_check_delivery_error(&x) || dr_check_bucket(&x) || dr_check_bucket_policy(&x) || dr_check_kms(&x) ||
	    dr_check_prefix(&x) || dr_check_region(&x) || dr_check_selectors(&x) || dr_check_global(&x) ||
	    dr_check_validation(&x) || dr_check_monitoring(&x, in))
		goto found;
	if (x.deferred_error) {
		*deferred = true;
		c->cause = DC_DELIVERY_ERROR;
		dr_set_fix(c, "%s: %s; after fixing it, trailkeep apply %s", x.deferred_error,
			doctor_delivery_error_meaning(x.deferred_error),
			st->o->config_path ? st->o->config_path : st->o->cfg->path);
		return;
	}
	if (x.incomplete) {
		c->status = DOCTOR_UNEXAMINED;
		c->error = xasprintf("some checks could not be made: %s", x.incomplete_msg);
		return;
	}
	if (in->symptom && strstr(in->symptom, "cell_unchecked")) {
		/* verify could not check the cell (a failed call, a listing past
		 * its bound, the --timeout): nothing to explain, never "unknown" */
		c->status = DOCTOR_UNEXAMINED;
		c->error = xasprintf("verify could not check this cell: %s", in->symptom);
		return;
	}
	c->cause = DC_UNKNOWN;
	dr_set_fix(c, "none known: every check above passed%s%s%s; trailkeep apply %s converges what trailkeep owns",
		in->symptom ? " (verify saw: " : "", in->symptom ? in->symptom : "", in->symptom ? ")" : "",
		st->o->config_path ? st->o->config_path : st->o->cfg->path);
	return;
found:
	if (x.deferred_error && c->cause != DC_DELIVERY_ERROR)
		dr_ev(c, "this explains CloudTrail's delivery error '%s'", x.deferred_error);
}

/* A trail-level problem that stops or hides this cell's delivery (verify
 * reports those once per trail, in the trail owner's home-region cell). */
static char *trail_symptom(struct dstate *st, const char *account, const char *region)
{
	struct trail_cache *t = dr_trail_get(st, account);

	if (t->rc == TK_ENOTFOUND)
		return xasprintf("trail_missing: trail '%s' does not exist", t->arn);
	/* fail closed: a trail doctor cannot read is a cell it cannot call healthy */
	if (t->rc)
		return xasprintf("cell_unchecked: cannot read trail '%s': %s", t->arn, t->msg);
	if (dr_trail_status(st, t))
		return xasprintf("cell_unchecked: cannot read the status of trail '%s': %s", t->arn,
				 t->status_l.msg);
	if (!t->status.is_logging)
		return xasprintf("trail_not_logging: trail '%s' is not logging", t->arn);
	if (t->trail.multi_region != 1 && strcmp(region, t->home))
		return xasprintf("trail_config_drift: trail '%s' is not multi-region", t->arn);
	return dr_control_plane_drift(st, t);
}

static bool resource_cause(enum doctor_cause c)
{
	return c == DC_BUCKET_POLICY_DENIES || c == DC_KMS_KEY_MISSING || c == DC_KMS_KEY_DISABLED ||
	       c == DC_KMS_KEY_PENDING_DELETION || c == DC_KMS_KEY_WRONG_REGION || c == DC_KMS_POLICY_DENIES ||
	       c == DC_KMS_KEY_CHANGED ||
	       c == DC_BUCKET_MISSING || c == DC_BUCKET_WRONG_REGION || c == DC_BUCKET_FOREIGN_OWNER;
}

/* An org trail has one LatestDeliveryError for every member: a cell whose
 * only problem is that error points at the cells that cause it. */
static void link_delivery_errors(const struct doctor_opts *o, struct doctor_report *out, const bool *deferred)
{
	size_t i, j;

	for (i = 0; i < out->ncells; i++) {
		struct doctor_cell *c = &out->cells[i];
		char *arn;
		size_t named = 0;

		if (!deferred[i])
			continue;
		arn = config_trail_arn(o->cfg, c->account);
		for (j = 0; j < out->ncells; j++) {
			struct doctor_cell *d = &out->cells[j];
			char *arn2;

			if (j == i || d->status != DOCTOR_CAUSE || !resource_cause(d->cause))
				continue;
			arn2 = config_trail_arn(o->cfg, d->account);
			if (!strcmp(arn, arn2)) {
				if (named < 5)
					dr_ev(c, "the trail's delivery error comes from %s %s: %s", d->account, d->region,
					   doctor_cause_name(d->cause));
				if (!named && d->fix)
					dr_set_fix(c, "fix %s %s (%s): %s", d->account, d->region,
						doctor_cause_name(d->cause), d->fix);
				named++;
			}
			free(arn2);
		}
		free(arn);
	}
}

/* Has another cell of this cell's trail a cause that makes CloudTrail
 * report a delivery error? */
static bool explained_elsewhere(const struct doctor_opts *o, const struct doctor_report *out, size_t i)
{
	char *arn = config_trail_arn(o->cfg, out->cells[i].account);
	bool yes = false;
	size_t j;

	for (j = 0; j < out->ncells && !yes; j++) {
		const struct doctor_cell *d = &out->cells[j];
		char *arn2;

		if (j == i || d->status != DOCTOR_CAUSE || !resource_cause(d->cause))
			continue;
		arn2 = config_trail_arn(o->cfg, d->account);
		yes = !strcmp(arn, arn2);
		free(arn2);
	}
	free(arn);
	return yes;
}

/* The trail and its delivery error only (the rest is another cell's). */
static void diagnose_light(struct dstate *st, struct doctor_cell *c, bool *deferred)
{
	struct cellctx x;
	int rc = walk_begin(&x, st, c);

	if (rc < 0)
		return;
	if (rc > 0 || dr_check_delivery_error(&x))
		return;
	c->cause = DC_DELIVERY_ERROR;
	if (x.deferred_error) {
		*deferred = true;
		return;
	}
	dr_set_fix(c, "none needed here: CloudTrail no longer reports a delivery error");
}

/* ---- the run: cells one after another, or accounts in parallel ---------- */

/* What one cell needs in phase 0 (the trail checks of a cell that looks
 * healthy, then the cells with a problem of their own) or phase 1 (the cells
 * that only show the trail's delivery error, which phase 0's cells may
 * already explain). */
static int run_cell(struct dstate *st, const struct doctor_opts *o, struct doctor_report *out, bool *red,
		    bool *deferred, size_t i, int phase, struct errbuf *err)
{
	int rc;

	if (phase == 0 && o->trail_checks && !red[i]) {
		char *sym;

		if (!st->self_account && (rc = dr_self_account(st, err)) != 0)
			return rc;
		sym = trail_symptom(st, out->cells[i].account, out->cells[i].region);
		if (sym) {
			red[i] = true;
			free(out->cells[i].symptom);
			out->cells[i].symptom = sym;
		}
	}
	if (!red[i] || (phase == 0) == o->cells[i].delivery_error_only)
		return 0;
	if (!st->self_account && (rc = dr_self_account(st, err)) != 0)
		return rc;
	if (phase == 1 && explained_elsewhere(o, out, i))
		diagnose_light(st, &out->cells[i], &deferred[i]);
	else
		diagnose(st, &o->cells[i], &out->cells[i], &deferred[i]);
	return 0;
}

struct workers {
	const struct doctor_opts *o;
	struct doctor_report *out;
	bool *red, *deferred;
	const struct org_view *org;   /* read once before the workers start */
	const struct dstate *main;    /* the run's state: its prefetched trails (read-only) */
	size_t *order;                /* cell indices, an account's cells together */
	size_t *gstart, ngroups;      /* group g: order[gstart[g] .. gstart[g + 1]) */
	int phase;
	pthread_mutex_t lock;
	size_t next;                  /* the next group to take */
	size_t calls;
	int rc;
	struct errbuf err;
	int seq;
};

/* the run stops at the first worker's failure; it is the one reported */
static void first_failure(struct workers *w, int rc, const struct errbuf *e)
{
	pthread_mutex_lock(&w->lock);
	if (!w->rc) {
		w->rc = rc;
		w->err = *e;
	}
	pthread_mutex_unlock(&w->lock);
}

static void *worker(void *arg)
{
	struct workers *w = arg;
	const struct aws_ctx *src = w->o->aws;
	struct doctor_opts wo = *w->o;
	struct http_pool *pool = NULL;
	struct aws_ctx ctx;
	struct dstate st;
	struct errbuf e;
	int rc, seq;

	err_clear(&e);
	pthread_mutex_lock(&w->lock);
	seq = ++w->seq;
	pthread_mutex_unlock(&w->lock);
	/* a context of its own: its pool, its endpoint cache; the credentials
	 * as they are now (if they expire during the run, the calls fail and
	 * the cells are unexamined, never healthy) */
	rc = aws_ctx_fork(&ctx, &pool, src, w->o->http_opts, (unsigned)seq, &e);
	if (rc) {
		first_failure(w, rc, &e);
		return NULL;
	}
	wo.aws = &ctx;
	memset(&st, 0, sizeof(st));
	st.o = &wo;
	st.shared_org = w->org;
	st.pre = w->main->pre;
	st.npre = w->main->npre;
	for (;;) {
		size_t g, k;

		pthread_mutex_lock(&w->lock);
		g = w->rc ? w->ngroups : w->next++;
		pthread_mutex_unlock(&w->lock);
		if (g >= w->ngroups)
			break;
		for (k = w->gstart[g]; k < w->gstart[g + 1] && !rc; k++)
			rc = run_cell(&st, w->o, w->out, w->red, w->deferred, w->order[k], w->phase, &e);
		if (rc) {
			first_failure(w, rc, &e);
			break;
		}
	}
	pthread_mutex_lock(&w->lock);
	w->calls += st.calls;
	pthread_mutex_unlock(&w->lock);
	dr_state_release(&st);
	aws_ctx_release(&ctx);
	http_pool_free(pool);
	return NULL;
}

struct acct_idx {
	const char *account;
	size_t i;
};

/* by account, then input order (the sort is stable through i) */
static int cmp_acct_idx(const void *a, const void *b)
{
	const struct acct_idx *x = a, *y = b;
	int r = strcmp(x->account, y->account);

	return r ? r : (x->i > y->i) - (x->i < y->i);
}

/* order[]: the cell indices with an account's cells together, O(n log n)
 * (an organization has 17,000 cells and more) */
static void order_by_account(size_t *order, size_t n, const struct doctor_cell_in *cells)
{
	struct acct_idx *v = xmallocarray(n ? n : 1, sizeof(*v));
	size_t i;

	for (i = 0; i < n; i++) {
		v[i].account = cells[i].account;
		v[i].i = i;
	}
	qsort(v, n, sizeof(*v), cmp_acct_idx);
	for (i = 0; i < n; i++)
		order[i] = v[i].i;
	free(v);
}


/* Phases 0 and 1 with a worker per account (at most o->jobs at once). */
static int run_parallel(struct dstate *st, const struct doctor_opts *o, struct doctor_report *out, bool *red,
			bool *deferred, struct errbuf *err)
{
	struct workers w;
	size_t i, n = o->ncells, alloc = 0;
	int jobs = o->jobs > TK_MAX_WORKERS ? TK_MAX_WORKERS : o->jobs;

	memset(&w, 0, sizeof(w));
	w.o = o;
	w.out = out;
	w.red = red;
	w.deferred = deferred;
	w.main = st;
	w.order = xmallocarray(n ? n : 1, sizeof(*w.order));
	/* an account's cells on one worker: its credentials and trail are read once */
	order_by_account(w.order, n, o->cells);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(o->cells[w.order[i]].account, o->cells[w.order[i - 1]].account)) {
			ALLOC_GROW(w.gstart, w.ngroups + 2, alloc);
			w.gstart[w.ngroups++] = i;
		}
	ALLOC_GROW(w.gstart, w.ngroups + 1, alloc);
	w.gstart[w.ngroups] = n;
	/* Organizations is read once, here, for every worker */
	if (o->cfg->mode == TK_MODE_ORGANIZATION)
		w.org = dr_org_get(st);
	pthread_mutex_init(&w.lock, NULL);
	err_clear(&w.err);
	for (w.phase = 0; w.phase < 2 && !w.rc; w.phase++) {
		w.next = 0;
		tk_run_workers((size_t)jobs < w.ngroups ? jobs : (int)w.ngroups, worker, &w);
	}
	pthread_mutex_destroy(&w.lock);
	st->calls += w.calls;
	if (w.rc)
		err_set(err, w.rc, "%s", w.err.msg);
	free(w.order);
	free(w.gstart);
	return w.rc;
}

int doctor_run(struct doctor_report *out, const struct doctor_opts *o, struct errbuf *err)
{
	struct dstate st;
	size_t i;
	int rc = 0, phase;
	bool *red, *deferred, *examine;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	st.o = o;
	out->cells = xcalloc(o->ncells ? o->ncells : 1, sizeof(*out->cells));
	out->ncells = o->ncells;
	red = xcalloc(o->ncells ? o->ncells : 1, sizeof(*red));
	deferred = xcalloc(o->ncells ? o->ncells : 1, sizeof(*deferred));
	for (i = 0; i < o->ncells; i++) {
		struct doctor_cell *c = &out->cells[i];

		c->account = xstrdup(o->cells[i].account);
		c->region = xstrdup(o->cells[i].region);
		c->symptom = o->cells[i].symptom ? xstrdup(o->cells[i].symptom) : NULL;
		c->status = DOCTOR_HEALTHY;
		red[i] = o->cells[i].red;
	}
	/* the trails every examined cell needs, and their owners' credentials,
	 * read together on the async scheduler first */
	examine = xcalloc(o->ncells ? o->ncells : 1, sizeof(*examine));
	for (i = 0; i < o->ncells; i++)
		examine[i] = red[i] || o->trail_checks;
	rc = dr_prefetch_trails(&st, examine, err);
	free(examine);
	if (rc)
		goto done;
	if (o->jobs > 1 && o->http_opts && o->ncells > 1) {
		rc = run_parallel(&st, o, out, red, deferred, err);
	} else {
		/* the trail checks and the cells with a problem of their own
		 * first; then the cells that only show the trail's delivery error */
		for (phase = 0; phase < 2 && !rc; phase++)
			for (i = 0; i < o->ncells && !rc; i++)
				rc = run_cell(&st, o, out, red, deferred, i, phase, err);
	}
	if (rc)
		goto done;
	for (i = 0; i < o->ncells; i++) {
		if (out->cells[i].status == DOCTOR_CAUSE) {
			out->ncauses++;
			if (o->cells[i].warning_only) {
				out->cells[i].warning = true;
				out->nwarnings++;
			}
		} else if (out->cells[i].status == DOCTOR_UNEXAMINED) {
			out->nunexamined++;
		}
	}
	link_delivery_errors(o, out, deferred);
done:
	free(red);
	free(deferred);
	out->aws_calls = st.calls;
	dr_state_release(&st);
	return rc;
}
