/* verify.c: see verify.h. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "verify.h"
#include "verify_int.h"
#include "aws.h"
#include "aws_async.h"
#include "buf.h"
#include "cloudtrail.h"
#include "digest.h"
#include "kms.h"
#include "monitoring.h"
#include "org_check.h"
#include "s3.h"
#include "sts.h"
#include "plan.h"
#include "timeutil.h"
#include "trail_drift.h"
#include "trail_reads.h"
#include "verify_state.h"
#include "workers.h"
#include "banned.h"

#define VERIFY_SESSION "trailkeep-verify"
#define MAX_PREFIX_PAGES 100   /* 100,000 account prefixes; more: the listing fails (unchecked) */

static bool selected(const char *const *list, size_t n, const char *s)
{
	size_t i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static struct acct_ctx *acct_find(struct vstate *v, const char *account)
{
	size_t i;

	for (i = 0; i < v->nac; i++)
		if (!strcmp(v->ac[i]->account, account))
			return v->ac[i];
	return NULL;
}

struct acct_ctx *verify_acct_add(struct vstate *v, const char *account)
{
	struct acct_ctx *a = xcalloc(1, sizeof(*a));

	ALLOC_GROW(v->ac, v->nac + 1, v->alloc_ac);
	v->ac[v->nac++] = a;
	a->account = account;
	return a;
}

void vstate_release(struct vstate *v)
{
	size_t i;

	for (i = 0; i < v->nac; i++) {
		if (!v->ac[i]->rc)
			aws_ctx_release(&v->ac[i]->ctx);
		free(v->ac[i]);
	}
	free(v->ac);
	free(v->caller);
	free(v->key_arn);
}

/* How to reach account: *role NULL for the caller's own credentials, else
 * the role to assume (caller frees); an error when there is no way in. */
static int acct_role(struct vstate *v, const char *account, char **role, struct errbuf *err)
{
	const struct tk_config *cfg = v->cfg;

	*role = NULL;
	if (v->caller && !strcmp(v->caller, account))
		return 0;
	if (!cfg->assume_role)
		return err_set(err, TK_EUSAGE,
			       "the credentials are for account '%s', not '%s', and [organization] "
			       "assume_role is not set", v->caller ? v->caller : "?", account);
	*role = config_role_arn(cfg, account, cfg->assume_role);
	return 0;
}

/* An aws_ctx for account, in the home region: the caller's own credentials
 * when it is that account, else STS AssumeRole of [organization] assume_role. */
struct acct_ctx *verify_ctx_for(struct vstate *v, const char *account)
{
	struct acct_ctx *a = acct_find(v, account);
	struct errbuf err;
	char *role = NULL;

	if (a)
		return a;
	a = verify_acct_add(v, account);
	err_clear(&err);
	a->rc = acct_role(v, account, &role, &err);
	if (!a->rc && !role) {
		a->rc = aws_ctx_clone(&a->ctx, v->o->aws, v->cfg->home_region, NULL, &err);
	} else if (!a->rc) {
		struct aws_creds creds;

		memset(&creds, 0, sizeof(creds));
		a->rc = sts_assume_role(v->o->aws, role, VERIFY_SESSION, v->cfg->external_id, 0, &creds, NULL,
					&err);
		if (!a->rc)
			a->rc = aws_ctx_clone(&a->ctx, v->o->aws, v->cfg->home_region, &creds, &err);
		aws_creds_release(&creds);
	}
	free(role);
	if (a->rc)
		snprintf(a->msg, sizeof(a->msg), "%s", err.msg);
	return a;
}

/* cell_unchecked for every selected cell of account (NULL: every cell) */
void verify_unchecked(struct vstate *v, const char *account, const char *what, const char *msg)
{
	size_t i;

	for (i = 0; i < v->ncells; i++)
		if (!account || !strcmp(v->cells[i].account, account))
			findings_add(v->out, F_CELL_UNCHECKED, v->cells[i].account, v->cells[i].region,
				     NULL, NULL, "%s: %s", what, msg);
}

/* ---------------------------------------------------------------- control plane */

/* A trail-level finding.  Organization mode: once, on the management
 * account's home-region cell (doctor fans it out).  Per-account mode: on
 * every selected cell of the trail's owner, since that account's one
 * (multi-region) trail is what every one of its cells depends on; a cell in
 * another region than home_region, or a --region filter without the home
 * region, would otherwise show "ok" under a stopped or missing trail. */
void verify_trail_finding(struct vstate *v, const char *owner, enum finding_code code, const char *bucket,
			  const char *fmt, ...)
{
	va_list ap, cp;
	char *msg;
	int n;
	size_t i;

	va_start(ap, fmt);
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		n = 0;
	msg = xmalloc((size_t)n + 1);
	if (vsnprintf(msg, (size_t)n + 1, fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	if (v->cfg->mode == TK_MODE_ORGANIZATION) {
		if (v->trail_owner)
			findings_add(v->out, code, owner, v->cfg->home_region, bucket, NULL, "%s",
				     msg);
	} else {
		for (i = 0; i < v->ncells; i++)
			if (!strcmp(v->cells[i].account, owner))
				findings_add(v->out, code, owner, v->cells[i].region, bucket, NULL, "%s",
					     msg);
	}
	free(msg);
}

/* The key ARN the configured alias names (DescribeKey in the central
 * account, once per run).  Returns 0 with *arn set, TK_ENOTFOUND when the
 * alias does not exist (apply would make the key: the trail's key is not the
 * planned one), or another error with the reason in msg: then the key cannot
 * be compared, and the check is unchecked, never passed. */
static int planned_key(struct vstate *v, const char **arn, const char **msg)
{
	const struct tk_config *cfg = v->cfg;
	struct acct_ctx *a;
	struct kms_key key;
	struct errbuf err;

	*arn = NULL;
	*msg = "";
	if (!v->key_loaded) {
		v->key_loaded = true;
		a = verify_ctx_for(v, config_central_account(cfg));
		if (a->rc) {
			v->key_rc = a->rc;
			snprintf(v->key_msg, sizeof(v->key_msg), "%s", a->msg);
		} else {
			memset(&key, 0, sizeof(key));
			err_clear(&err);
			v->key_rc = kms_describe_key(&a->ctx, cfg->kms_alias, &key, &err);
			if (!v->key_rc && key.arn)
				v->key_arn = xstrdup(key.arn);
			else if (!v->key_rc)
				v->key_rc = err_set(&err, TK_EFAIL, "kms DescribeKey '%s': no key ARN in the answer",
						    cfg->kms_alias);
			if (v->key_rc)
				snprintf(v->key_msg, sizeof(v->key_msg), "%s", err.msg);
			kms_key_release(&key);
		}
	}
	*arn = v->key_arn;
	*msg = v->key_msg;
	return v->key_rc;
}

/* The trail's key is compared with the planned one: both name a key */
static bool key_compared(const json_t *create, const struct ct_trail *t)
{
	return json_string_value(json_object_get(create, "KmsKeyId")) && t->kms_key_id && *t->kms_key_id;
}

/* The plan's file of owner's trail (NULL: the plan has none) */
static const struct plan_file *planned_trail(const struct vstate *v, const char *owner)
{
	char *path = xasprintf("accounts/%s/trail.json", owner);
	const struct plan_file *pf = plan_find(v->o->plan, path);

	free(path);
	return pf;
}

/* trail_config_drift / validation_disabled: whatever apply would change on
 * the trail (trail_drift.h).  The planned KmsKeyId is an alias: it is
 * resolved with DescribeKey; a key that cannot be resolved makes the cells
 * unchecked (fail closed), an alias that does not exist is drift. */
static void drift_findings(struct vstate *v, const char *owner, const struct ct_trail *t, const json_t *sel)
{
	const struct tk_config *cfg = v->cfg;
	const char *unit = cfg->mode == TK_MODE_ORGANIZATION ? NULL : owner;
	const struct plan_file *pf = planned_trail(v, owner);
	const json_t *create = pf ? json_object_get(pf->doc, "CreateTrail") : NULL;
	const char *karn = NULL, *kmsg = "";
	struct trail_drift d;
	struct errbuf err;
	size_t i;
	int krc = 0;

	memset(&d, 0, sizeof(d));
	if (!pf) {
		verify_unchecked(v, unit, "cannot compare the trail", "the plan has no trail for this account");
		return;
	}
	if (key_compared(create, t)) {
		krc = planned_key(v, &karn, &kmsg);
		if (krc == TK_ENOTFOUND)
			verify_trail_finding(v, owner, F_TRAIL_CONFIG_DRIFT, NULL,
					     "trail '%s' encrypts with key '%s', planned '%s', which does not exist: "
					     "apply would create it", cfg->trail_name, t->kms_key_id, cfg->kms_alias);
	}
	err_clear(&err);
	if (trail_drift_compute(pf->doc, t, sel, karn, &d, &err)) {
		verify_unchecked(v, unit, "cannot compare the trail with the plan", err.msg);
		goto done;
	}
	if (d.key_unknown && krc != TK_ENOTFOUND)
		/* fail closed: a key that cannot be compared is not "as planned" */
		verify_unchecked(v, unit, "cannot tell which key the trail should use", kmsg);
	for (i = 0; i < d.n; i++) {
		const struct trail_drift_item *it = &d.v[i];
		char *line = trail_drift_describe(it);

		if (!strcmp(it->setting, "EnableLogFileValidation") && it->planned &&
		    !strcmp(it->planned, "true"))
			verify_trail_finding(v, owner, F_VALIDATION_DISABLED, NULL,
					     "log file validation is off for trail '%s'", cfg->trail_name);
		else if (!strcmp(it->setting, "KmsKeyId") && it->current && karn)
			verify_trail_finding(v, owner, F_TRAIL_CONFIG_DRIFT, NULL,
					     "trail '%s' encrypts with key '%s', planned '%s' (key '%s'): readers allowed "
					     "to decrypt the planned key cannot read its new logs", cfg->trail_name,
					     it->current, cfg->kms_alias, karn);
		else
			verify_trail_finding(v, owner, F_TRAIL_CONFIG_DRIFT,
					     !strcmp(it->setting, "S3BucketName") ? it->current : NULL,
					     "trail '%s': %s", cfg->trail_name, line);
		free(line);
	}
done:
	trail_drift_release(&d);
}

/* exactly one trail with global service events (else events are duplicated) */
static void global_events(struct vstate *v, const char *owner, const struct trail_read *r)
{
	size_t i, g = 0;

	if (r->list_r.rc) {
		/* fail closed: duplicates cannot be ruled out */
		verify_unchecked(v, v->cfg->mode == TK_MODE_ORGANIZATION ? NULL : owner,
				 "cannot list the account's trails", r->list_r.msg);
		return;
	}
	for (i = 0; i < r->nall; i++)
		if (r->all[i].global_events == 1)
			g++;
	if (g > 1)
		verify_trail_finding(v, owner, F_GLOBAL_EVENTS_DUPLICATED, NULL,
				     "%zu trails record global service events in account '%s'", g, owner);
}

/* The checks of owner's trail, from its reads (trail_reads.h; NULL when the
 * account could not be reached) */
static void check_trail(struct vstate *v, const char *owner, const struct trail_read *r)
{
	const struct tk_config *cfg = v->cfg;
	struct acct_ctx *a = verify_ctx_for(v, owner);
	const char *who = cfg->mode == TK_MODE_ORGANIZATION ? NULL : owner;

	if (a->rc) {
		verify_unchecked(v, who, "cannot reach the trail's account", a->msg);
		return;
	}
	if (r->trail_r.rc == TK_ENOTFOUND) {
		verify_trail_finding(v, owner, F_TRAIL_MISSING, NULL, "trail '%s' does not exist", r->arn);
		return;
	}
	if (r->trail_r.rc == TK_EAUTH) {
		verify_trail_finding(v, owner, F_ACCESS_DENIED, NULL, "%s", r->trail_r.msg);
		verify_unchecked(v, who, "cannot read the trail", r->trail_r.msg);
		return;
	}
	if (r->trail_r.rc) {
		verify_unchecked(v, who, "cannot read the trail", r->trail_r.msg);
		return;
	}
	/* every difference apply would converge (trail_drift.h: one place for
	 * verify, doctor and apply) */
	if (r->sel_r.rc) {
		verify_unchecked(v, who, "cannot read the event selectors", r->sel_r.msg);
		return;
	}
	drift_findings(v, owner, &r->trail, r->selectors);
	if (r->status_r.rc) {
		verify_unchecked(v, who, "cannot read the trail status", r->status_r.msg);
		return;
	}
	if (r->status.is_logging != 1)
		verify_trail_finding(v, owner, F_TRAIL_NOT_LOGGING, NULL,
				     "trail '%s' is not logging", cfg->trail_name);
	if (r->status.latest_delivery_error)
		verify_trail_finding(v, owner, F_TRAIL_DELIVERY_ERROR, cfg->bucket,
				     "CloudTrail reports a log delivery error: %s", r->status.latest_delivery_error);
	if (r->status.latest_digest_delivery_error)
		verify_trail_finding(v, owner, F_TRAIL_DELIVERY_ERROR, cfg->bucket,
				     "CloudTrail reports a digest delivery error: %s",
				     r->status.latest_digest_delivery_error);
	if (cfg->monitoring)
		verify_monitoring_trail(v, owner, &r->trail, &r->status);
	global_events(v, owner, r);
}

/* check_trail of owners[i] with reads[i], for every i.  With [monitoring],
 * each owner's checks make about seven calls of their own, one depending on
 * the other (log group, topic, its key, subscriptions, metric filters,
 * alarms): the owners are then checked in parallel, VERIFY_OWNER_WORKERS at
 * a time, each worker on a vstate of its own (vfork: its pool, the owner's
 * context from the trail reads), each owner's findings apart, merged in
 * owners' order as one after another would have them.  The planned key
 * (planned_key: one DescribeKey a run) is read first when a check will
 * compare it.  Owners no worker took (no pool for them) are checked here. */
#define VERIFY_OWNER_WORKERS 16

struct owner_jobs {
	struct vstate *v;               /* read-only while the workers run */
	const char *const *owners;
	const struct trail_read *const *reads;
	struct findings *out;           /* per owner */
	bool *done;
	size_t n, next;
	unsigned seq;
	pthread_mutex_t lock;
};

static void *owner_worker(void *arg)
{
	struct owner_jobs *w = arg;
	struct vfork f;
	unsigned seq;
	size_t i;

	pthread_mutex_lock(&w->lock);
	seq = ++w->seq + 1;
	pthread_mutex_unlock(&w->lock);
	if (vfork_init(&f, w->v, NULL, seq))
		return NULL;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		i = w->next < w->n ? w->next++ : w->n;
		pthread_mutex_unlock(&w->lock);
		if (i >= w->n)
			break;
		if (acct_find(w->v, w->owners[i]))
			vfork_adopt(&f, acct_find(w->v, w->owners[i]));
		f.v.out = &w->out[i];
		check_trail(&f.v, w->owners[i], w->reads[i]);
		w->done[i] = true;
	}
	vfork_release(&f);
	return NULL;
}

static void check_owners(struct vstate *v, const char *const *owners, const struct trail_read *const *reads,
			 size_t n)
{
	struct findings *out = v->out;
	struct owner_jobs w;
	const char *arn, *msg;
	size_t i;

	if (!v->cfg->monitoring || n < 2 || !v->o->http_opts) {
		for (i = 0; i < n; i++)
			check_trail(v, owners[i], reads[i]);
		return;
	}
	for (i = 0; i < n; i++) {
		const struct plan_file *pf = planned_trail(v, owners[i]);
		const struct trail_read *r = reads[i];

		if (pf && r && !r->ctx_r.rc && !r->trail_r.rc && !r->sel_r.rc &&
		    key_compared(json_object_get(pf->doc, "CreateTrail"), &r->trail)) {
			planned_key(v, &arn, &msg);
			break;
		}
	}
	memset(&w, 0, sizeof(w));
	w.v = v;
	w.owners = owners;
	w.reads = reads;
	w.n = n;
	w.out = xcalloc(n, sizeof(*w.out));
	w.done = xcalloc(n, sizeof(*w.done));
	for (i = 0; i < n; i++)
		findings_init(&w.out[i]);
	pthread_mutex_init(&w.lock, NULL);
	tk_run_workers(n < VERIFY_OWNER_WORKERS ? (int)n : VERIFY_OWNER_WORKERS, owner_worker, &w);
	pthread_mutex_destroy(&w.lock);
	for (i = 0; i < n; i++) {
		if (!w.done[i]) {
			v->out = &w.out[i];
			check_trail(v, owners[i], reads[i]);
			v->out = out;
		}
		findings_move(out, &w.out[i]);
	}
	free(w.out);
	free(w.done);
}

/* The trails of owners[0..n), read together on the scheduler; each
 * owner's context joins v's (verify_ctx_for finds it), then each trail is
 * checked in order.  An owner with no way in is checked without reads
 * (unchecked). */
static int check_trails(struct vstate *v, const char *const *owners, size_t n, struct errbuf *err)
{
	const struct tk_config *cfg = v->cfg;
	struct trail_read *rd = xcalloc(n ? n : 1, sizeof(*rd));
	char **roles = xcalloc(n ? n : 1, sizeof(*roles)), **arns = xcalloc(n ? n : 1, sizeof(*arns));
	size_t *slot = xcalloc(n ? n : 1, sizeof(*slot));     /* owner i's read: rd[slot[i]] */
	const struct trail_read **reads = xcalloc(n ? n : 1, sizeof(*reads));
	struct trail_reads_opts to = {
		.sched = v->o->sched, .base = v->o->aws, .region = cfg->home_region,
		.session_name = VERIFY_SESSION, .external_id = cfg->external_id, .describe = true,
	};
	size_t i, m = 0;
	int rc = 0;

	for (i = 0; i < n; i++) {
		struct acct_ctx *a = acct_find(v, owners[i]);
		struct errbuf e;

		arns[i] = config_trail_arn(cfg, owners[i]);
		slot[i] = SIZE_MAX;
		err_clear(&e);
		if (!a) {
			int arc = acct_role(v, owners[i], &roles[i], &e);

			if (arc) {
				/* no way in: checked without reads (unchecked) */
				a = verify_acct_add(v, owners[i]);
				a->rc = arc;
				snprintf(a->msg, sizeof(a->msg), "%s", e.msg);
			}
		}
		if (a && a->rc)
			continue;
		rd[m].account = owners[i];
		rd[m].arn = arns[i];
		rd[m].role_arn = roles[i];
		rd[m].ctx_in = a ? &a->ctx : NULL;
		slot[i] = m++;
	}
	if (m)
		rc = trail_reads_run(&to, rd, m, err);
	for (i = 0; i < n && !rc; i++) {
		/* no read: the account could not be reached (check_trail says so first) */
		struct trail_read *r = slot[i] == SIZE_MAX ? NULL : &rd[slot[i]];

		reads[i] = r;
		if (r && !acct_find(v, owners[i])) {
			/* the context the reads made is the account's from now on */
			struct acct_ctx *a = verify_acct_add(v, owners[i]);

			a->rc = r->ctx_r.rc;
			snprintf(a->msg, sizeof(a->msg), "%s", r->ctx_r.msg);
			if (r->has_ctx) {
				a->ctx = r->ctx;
				r->has_ctx = false;
			}
		}
	}
	if (!rc)
		check_owners(v, owners, reads, n);
	for (i = 0; i < m; i++)
		trail_read_release(&rd[i]);
	for (i = 0; i < n; i++) {
		free(roles[i]);
		free(arns[i]);
	}
	free(slot);
	free(reads);
	free(rd);
	free(roles);
	free(arns);
	return rc;
}

/* ---------------------------------------------------------------- prefixes */

struct prefix_list {
	char **v;
	size_t n, alloc;
};

static int on_prefix(void *ud, const char *p)
{
	struct prefix_list *l = ud;

	if (l->n >= 100000)
		return TK_ELIMIT;
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = xstrdup(p);
	return 0;
}

static bool is_account_id(const char *s, size_t n)
{
	size_t i;

	if (n != 12)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* List [P/]AWSLogs/[org/] with delimiter '/'.  Sets *present[i] for the
 * configured accounts that have a prefix; reports prefix_unexpected. */
static int check_prefixes(struct vstate *v, struct aws_ctx *central, bool *present, struct errbuf *err)
{
	const struct tk_config *cfg = v->cfg;
	bool org = cfg->mode == TK_MODE_ORGANIZATION && cfg->org_id;
	char *base = NULL;
	struct prefix_list l = { NULL, 0, 0 };
	struct s3_list_params p;
	size_t i, k;
	int rc;

	rc = s3_logs_base(&base, cfg->key_prefix, org ? cfg->org_id : NULL);
	if (rc) {
		err_set(err, rc, "the key prefix of bucket '%s' is too long to list", cfg->bucket);
		return rc;
	}

	memset(&p, 0, sizeof(p));
	p.prefix = base;
	p.delimiter = "/";
	p.max_pages = MAX_PREFIX_PAGES;
	p.on_prefix = on_prefix;
	p.ud = &l;
	rc = s3_list_objects(central, cfg->bucket, &p, err);
	if (rc)
		goto done;
	for (i = 0; i < l.n; i++) {
		const char *id = l.v[i] + strlen(base);
		size_t n = strcspn(id, "/");
		bool known = false;

		if (!is_account_id(id, n))
			continue;
		for (k = 0; k < cfg->naccounts; k++)
			if (!strncmp(cfg->accounts[k].id, id, n)) {
				known = true;
				present[k] = true;
			}
		if (!known) {
			char acct[13];

			snprintf(acct, sizeof(acct), "%.*s", (int)n, id);
			if (config_account_excluded(cfg, acct))
				continue;   /* [organization] exclude_accounts: on purpose */
			if (!selected(v->o->accounts, v->o->naccounts, acct) && v->o->naccounts)
				continue;
			if (!v->first_shard)
				continue;
			findings_add(v->out, F_PREFIX_UNEXPECTED, acct, NULL, cfg->bucket, l.v[i],
				     "prefix of account '%s', which is not in the configuration", acct);
		}
	}
done:
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	free(base);
	return rc;
}

/* ---------------------------------------------------------------- run */

time_t verify_freshness_window(const struct tk_config *cfg)
{
	time_t w = VERIFY_FRESHNESS_WINDOW;

	if (cfg->max_delivery_age > 0 && cfg->max_delivery_age <= (time_t)100 * 365 * 86400 &&
	    2 * cfg->max_delivery_age > w)
		w = 2 * cfg->max_delivery_age;
	return w;
}

/* The selected cells in config order; returns how many. */
static size_t select_cells(const struct verify_opts *o, struct validate_cell *out)
{
	const struct tk_config *cfg = o->cfg;
	size_t i, k, n = 0;

	for (i = 0; i < cfg->naccounts; i++) {
		const struct tk_account *a = &cfg->accounts[i];

		if (!selected(o->accounts, o->naccounts, a->id))
			continue;
		for (k = 0; k < a->regions.n; k++)
			if (selected(o->regions, o->nregions, a->regions.v[k])) {
				if (out) {
					out[n].account = a->id;
					out[n].region = a->regions.v[k];
				}
				n++;
			}
	}
	return n;
}

size_t verify_cell_count(const struct verify_opts *o)
{
	return select_cells(o, NULL);
}

static int cmp_cell(const void *a, const void *b)
{
	const struct validate_cell *x = a, *y = b;
	int r = strcmp(x->account, y->account);

	return r ? r : strcmp(x->region, y->region);
}

/* Keep the cells of shard K/N: sorted by (account, region), cell i belongs
 * to shard (i mod N) + 1.  Sets trail_owner / first_shard. */
static void shard_cells(struct vstate *v)
{
	const struct verify_opts *o = v->o;
	const struct tk_config *cfg = v->cfg;
	size_t i, n = 0;
	bool found = false;

	v->trail_owner = true;
	v->first_shard = true;
	if (!o->shard_count)
		return;
	v->first_shard = o->shard_index == 1;
	if (v->ncells > 1)
		qsort(v->cells, v->ncells, sizeof(*v->cells), cmp_cell);
	for (i = 0; i < v->ncells; i++) {
		bool mine = i % o->shard_count == o->shard_index - 1;

		if (cfg->mode == TK_MODE_ORGANIZATION &&
		    !strcmp(v->cells[i].account, cfg->management_account) &&
		    !strcmp(v->cells[i].region, cfg->home_region)) {
			found = true;
			v->trail_owner = mine;
		}
		if (mine)
			v->cells[n++] = v->cells[i];
	}
	if (!found)
		v->trail_owner = v->first_shard;
	v->ncells = n;
}

static int cmp_finding_cell(const void *a, const void *b)
{
	const struct finding *x = *(const struct finding *const *)a;
	const struct finding *y = *(const struct finding *const *)b;
	int r = strcmp(x->account, y->account);

	return r ? r : strcmp(x->region, y->region);
}

/* For each cell: does any finding name it?  (sorted + bsearch: big orgs) */
static bool *cells_with_findings(const struct findings *f, const struct validate_cell *cells,
				 size_t ncells)
{
	const struct finding **v = xcalloc(f->n + 1, sizeof(*v));
	bool *has = xcalloc(ncells + 1, sizeof(*has));
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		if (f->v[i].account && f->v[i].region)
			v[n++] = &f->v[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_finding_cell);
	for (i = 0; i < ncells && n; i++) {
		struct finding k;
		const struct finding *kp = &k;

		memset(&k, 0, sizeof(k));
		k.account = (char *)(uintptr_t)cells[i].account;
		k.region = (char *)(uintptr_t)cells[i].region;
		has[i] = bsearch(&kp, v, n, sizeof(*v), cmp_finding_cell) != NULL;
	}
	free(v);
	return has;
}

static void release_cells(struct cell_stats *c, size_t n)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < n; i++)
		cell_release(&c[i]);
	free(c);
}

/* One run's working state (verify_run's steps share it). */
struct vrun {
	struct vstate v;
	struct sts_identity id;
	struct validate_opts vo;
	struct cell_stats *fresh, *integ;
	struct validate_anchor *anchors;
	bool *present;              /* per configured account: has its prefix */
};

/* step results: go on, stop and tally what there is (the cells got
 * cell_unchecked), or an error that stops everything (< 0) */
#define STEP_NEXT 0
#define STEP_TALLY 1

/* Who are we?  GetCallerIdentity needs no permission: when it fails, the
 * credentials or the network are the problem, and its error is the one to
 * show (an AssumeRole tried without knowing who we are would hide it). */
static int identify(struct vrun *r, struct errbuf *err)
{
	struct errbuf e;
	int rc;

	err_clear(&e);
	rc = sts_get_caller_identity(r->v.o->aws, &r->id, &e);
	if (rc == TK_EUSAGE)
		return err_set(err, rc, "%s", e.msg);
	if (rc) {
		/* nothing can be checked without knowing who we are: every cell
		 * unchecked (exit 3), with this error */
		verify_unchecked(&r->v, NULL, "cannot tell whose the credentials are", e.msg);
		return STEP_TALLY;
	}
	r->v.caller = xstrdup(r->id.account);
	return STEP_NEXT;
}

/* 1. control plane: the trail(s), and in organization mode membership and
 * CloudTrail's trusted access (org_check.h) */
static int control_plane(struct vstate *v, struct errbuf *err)
{
	const struct tk_config *cfg = v->cfg;
	const char **owners = xcalloc(cfg->naccounts + 1, sizeof(*owners));
	size_t i, k, n = 0;
	int rc = 0;

	if (cfg->mode == TK_MODE_ORGANIZATION) {
		/* a shard without cells and without the trail's cell has no use for it */
		if (v->ncells || v->trail_owner) {
			owners[0] = cfg->management_account;
			rc = check_trails(v, owners, 1, err);
		}
		if (!rc && (v->ncells || v->trail_owner || v->first_shard)) {
			struct acct_ctx *m = verify_ctx_for(v, cfg->management_account);
			struct org_check_opts oc = { .cfg = cfg, .mgmt = m->rc ? NULL : &m->ctx,
				.cells = v->cells, .ncells = v->ncells, .org_owner = v->trail_owner,
				.first_shard = v->first_shard, .filtered = v->o->naccounts > 0 };

			org_check_verify(&oc, v->out);
		}
		free(owners);
		return rc;
	}
	/* each account's own trail, in its own account; an account none of
	 * whose cells is selected (--region) is not contacted */
	for (i = 0; i < cfg->naccounts; i++) {
		bool any = false;

		for (k = 0; k < v->ncells && !any; k++)
			any = !strcmp(v->cells[k].account, cfg->accounts[i].id);
		if (any)
			owners[n++] = cfg->accounts[i].id;
	}
	rc = check_trails(v, owners, n, err);
	free(owners);
	return rc;
}

/* prefix_missing / delivery_none / delivery_stale from the listing's newest
 * log file per cell (r->fresh) */
static void freshness_findings(struct vrun *r)
{
	const struct verify_opts *o = r->v.o;
	const struct tk_config *cfg = r->v.cfg;
	const struct validate_opts *vo = &r->vo;
	size_t i, k;

	for (i = 0; i < r->v.ncells; i++) {
		const struct validate_cell *c = &r->v.cells[i];
		const struct cell_stats *f = &r->fresh[i];
		bool has_prefix = false;
		char t[32], t2[32];

		for (k = 0; k < cfg->naccounts; k++)
			if (!strcmp(cfg->accounts[k].id, c->account))
				has_prefix = r->present[k];
		if (!has_prefix) {
			findings_add(r->v.out, F_PREFIX_MISSING, c->account, c->region, cfg->bucket, NULL,
				     "no 'AWSLogs/%s%s%s/' prefix in the bucket: nothing was ever delivered "
				     "for this account", vo->org_id ? vo->org_id : "", vo->org_id ? "/" : "",
				     c->account);
		} else if (!f->has_newest || f->newest_delivery < vo->start) {
			/* a key elsewhere in the first day's folder, older than the
			 * window, does not count (README: looked for in the window) */
			if (f->has_newest)
				findings_add(r->v.out, F_DELIVERY_NONE, c->account, c->region, cfg->bucket, NULL,
					     "no log file delivered since %s (the newest is from %s)",
					     tk_format_iso(vo->start, t, sizeof(t)),
					     tk_format_iso(f->newest_delivery, t2, sizeof(t2)));
			else
				findings_add(r->v.out, F_DELIVERY_NONE, c->account, c->region, cfg->bucket, NULL,
					     "no log file delivered since %s", tk_format_iso(vo->start, t, sizeof(t)));
		} else if (o->now - f->newest_delivery > cfg->max_delivery_age) {
			findings_add(r->v.out, F_DELIVERY_STALE, c->account, c->region, cfg->bucket, NULL,
				     "newest log file is from %s, %ld minutes ago (limit %ld)",
				     tk_format_iso(f->newest_delivery, t, sizeof(t)),
				     (long)(o->now - f->newest_delivery) / 60, cfg->max_delivery_age / 60);
		}
	}
}

/* 2. delivery, from the central bucket: the account prefixes, the access
 * logs ([monitoring]), the newest log file of every cell */
static int delivery(struct vrun *r, struct errbuf *err)
{
	struct vstate *v = &r->v;
	const struct verify_opts *o = v->o;
	const struct tk_config *cfg = v->cfg;
	struct validate_opts *vo = &r->vo;
	struct acct_ctx *central = verify_ctx_for(v, config_central_account(cfg));
	struct errbuf e;
	int rc;

	if (central->rc) {
		verify_unchecked(v, NULL, "cannot read the central bucket", central->msg);
		return STEP_TALLY;
	}
	err_clear(&e);
	if (check_prefixes(v, &central->ctx, r->present, &e)) {
		verify_unchecked(v, NULL, "cannot list the central bucket", e.msg);
		return STEP_TALLY;
	}
	if (cfg->monitoring && cfg->access_log_bucket && v->first_shard) {
		err_clear(&e);
		if (verify_access_logs(v, &central->ctx, &e))
			/* fail closed: the access logs could not be looked at */
			findings_add(v->out, F_CELL_UNCHECKED, config_central_account(cfg), verify_access_log_region(v),
				     cfg->access_log_bucket, NULL, "cannot list the S3 server access logs: %s", e.msg);
	}
	memset(vo, 0, sizeof(*vo));
	vo->bucket = cfg->bucket;
	vo->prefix = cfg->key_prefix;
	vo->trail = cfg->trail_name;
	vo->org_id = cfg->mode == TK_MODE_ORGANIZATION ? cfg->org_id : NULL;
	vo->home_region = cfg->home_region;
	vo->cells = v->cells;
	vo->ncells = v->ncells;
	vo->aws = &central->ctx;
	vo->sched = o->sched;
	vo->progress = o->progress;
	vo->progress_ud = o->progress_ud;
	vo->list_only = 1;
	vo->start = o->now - verify_freshness_window(cfg);
	vo->end = o->now;
	rc = validate_run(vo, v->out, &r->fresh, err);
	if (rc)
		return rc;
	freshness_findings(r);
	return STEP_NEXT;
}

/* 3. integrity over the window, from the --state anchors */
static int integrity(struct vrun *r, struct errbuf *err)
{
	struct vstate *v = &r->v;
	const struct verify_opts *o = v->o;
	size_t i;

	r->vo.list_only = 0;
	r->vo.start = o->start;
	r->vo.end = o->end;
	if (o->state) {
		r->anchors = xcalloc(v->ncells + 1, sizeof(*r->anchors));
		for (i = 0; i < v->ncells; i++) {
			const struct verify_state_cell *sc =
				verify_state_find(o->state, v->cells[i].account, v->cells[i].region);

			if (!sc || (o->start_explicit && o->start < sc->end))
				continue;
			r->anchors[i].key = sc->key;
			r->anchors[i].sig = sc->sig;
			r->anchors[i].end = sc->end;
		}
		r->vo.anchors = r->anchors;
	}
	return validate_run(&r->vo, v->out, &r->integ, err);
}

/* After every step: the cells without any finding in this whole run get
 * their new anchor (--state) */
static void new_anchors(struct vrun *r)
{
	struct vstate *v = &r->v;
	bool *has;
	size_t i;

	if (!r->anchors || !r->integ)   /* step 3 did not run, or failed */
		return;
	has = cells_with_findings(v->out, v->cells, v->ncells);
	for (i = 0; i < v->ncells; i++)
		if (r->anchors[i].new_key && !has[i])
			verify_state_set(v->o->state, v->cells[i].account, v->cells[i].region,
					 r->anchors[i].new_key, r->anchors[i].new_sig, r->anchors[i].new_end);
	free(has);
}

/* 2 and 3: the bucket's reads */
static int data_plane(struct vrun *r, struct errbuf *err)
{
	int rc = delivery(r, err);

	if (rc == STEP_NEXT && r->v.o->integrity)
		rc = integrity(r, err);
	return rc;
}

/* Step 1 on a thread of its own while this one does 2 and 3: the control
 * plane's round trips (its accounts' roles, the trails, the key, the
 * organization) wait for nothing the bucket's reads need, nor these for
 * them.  Its own context (aws_ctx_fork: pool, endpoint cache, the caller's
 * credentials as they are now), scheduler, account contexts and findings;
 * the central account's context made before the split is given to it (its
 * credentials: no second AssumeRole).  The findings are merged as a run of
 * one step after another has them: the control plane's first. */
struct side {
	struct vfork f;
	struct findings out;
	pthread_t th;
	int rc;
	struct errbuf err;
};

static void *side_main(void *arg)
{
	struct side *s = arg;

	s->rc = control_plane(&s->f.v, &s->err);
	return NULL;
}

/* 0: the thread runs; else the steps go one after another */
static int side_start(struct side *s, struct vstate *v, const struct acct_ctx *central)
{
	memset(s, 0, sizeof(*s));
	findings_init(&s->out);
	if (vfork_init(&s->f, v, &s->out, 1))
		return -1;
	vfork_adopt(&s->f, central);
	if (pthread_create(&s->th, NULL, side_main, s)) {
		vfork_release(&s->f);
		return -1;
	}
	return 0;
}

/* Steps 1, 2 and 3: the control plane beside the bucket's reads when there
 * is a pool for it (struct side), else one after another */
static int checks(struct vrun *r, struct errbuf *err)
{
	struct vstate *v = &r->v;
	struct findings *out = v->out, data;
	struct side s;
	int rc;

	if (!v->o->http_opts || side_start(&s, v, verify_ctx_for(v, config_central_account(v->cfg)))) {
		rc = control_plane(v, err);
		return rc ? rc : data_plane(r, err);
	}
	findings_init(&data);
	v->out = &data;
	rc = data_plane(r, err);
	pthread_join(s.th, NULL);
	v->out = out;
	findings_move(out, &s.out);
	findings_move(out, &data);
	if (s.rc) {
		/* the control plane's error stops the run, as it would have
		 * before the bucket was read */
		rc = s.rc;
		*err = s.err;
	}
	vfork_release(&s.f);
	return rc;
}

/* the per-cell statistics of the run */
static struct cell_stats *tally(const struct vrun *r)
{
	struct cell_stats *res = xcalloc(r->v.ncells + 1, sizeof(*res));
	size_t i;

	for (i = 0; i < r->v.ncells; i++) {
		cell_init(&res[i], r->v.cells[i].account, r->v.cells[i].region);
		if (r->fresh) {
			res[i].has_newest = r->fresh[i].has_newest;
			res[i].newest_delivery = r->fresh[i].newest_delivery;
		}
		if (r->integ) {
			res[i].digests_checked = r->integ[i].digests_checked;
			res[i].logs_checked = r->integ[i].logs_checked;
		}
	}
	return res;
}

static void vrun_release(struct vrun *r)
{
	struct vstate *v = &r->v;
	size_t i;

	release_cells(r->fresh, v->ncells);
	release_cells(r->integ, v->ncells);
	for (i = 0; r->anchors && i < v->ncells; i++) {
		free(r->anchors[i].new_key);
		free(r->anchors[i].new_sig);
	}
	free(r->anchors);
	vstate_release(v);
	free(v->cells);
	free(r->present);
	sts_identity_release(&r->id);
}

int verify_run(const struct verify_opts *o, struct findings *out, struct cell_stats **cells_out,
	       size_t *ncells, struct errbuf *err)
{
	const struct tk_config *cfg = o->cfg;
	struct vrun r;
	struct vstate *v = &r.v;
	size_t i, n = 0;
	int rc = 0;

	*cells_out = NULL;
	*ncells = 0;
	memset(&r, 0, sizeof(r));
	if (!o->plan)
		return err_set(err, TK_EUSAGE, "verify needs the plan of the config (plan_build)");
	v->o = o;
	v->cfg = cfg;
	v->out = out;
	for (i = 0; i < cfg->naccounts; i++)
		n += cfg->accounts[i].regions.n;
	v->cells = xcalloc(n + 1, sizeof(*v->cells));
	v->ncells = select_cells(o, v->cells);
	if (o->shard_count && (o->shard_index < 1 || o->shard_index > o->shard_count)) {
		rc = err_set(err, TK_EUSAGE, "shard %u/%u does not exist", o->shard_index,
			     o->shard_count);
		goto done;
	}
	shard_cells(v);
	/* a shard with nothing to report makes no call at all */
	if (o->shard_count && !v->ncells && !v->first_shard && !v->trail_owner)
		goto tally;
	r.present = xcalloc(cfg->naccounts + 1, sizeof(*r.present));
	rc = identify(&r, err);
	if (rc == STEP_NEXT)
		rc = checks(&r, err);
	if (rc < 0)
		goto done;
	new_anchors(&r);
tally:
	*cells_out = tally(&r);
	*ncells = v->ncells;
	rc = 0;
done:
	vrun_release(&r);
	return rc;
}
