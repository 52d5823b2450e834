/* doctor_cache.c: what one doctor run reads once: credentials per account
 * (AssumeRole, cached), a context per account and region, the trails and
 * their status and selectors, bucket policies and locations, keys and key
 * policies (see doctor.h).  The trails of the examined cells and their
 * owners' credentials are read together first (dr_prefetch_trails). */
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
#include "kms.h"
#include "org_check.h"
#include "policy.h"
#include "s3.h"
#include "sts.h"
#include "timeutil.h"
#include "trail_drift.h"
#include "digest.h"
#include "banned.h"

/* ---- state ---------------------------------------------------------------- */


/* Entries are allocated one by one: a pointer handed out stays valid while
 * later lookups add entries (a check may hold the trail's key while it
 * looks up the configured one). */
static struct res_cache *res_find(struct res_cache ***v, size_t *n, size_t *alloc, const char *name, bool *fresh)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i]->name, name)) {
			*fresh = false;
			return (*v)[i];
		}
	ALLOC_GROW(*v, *n + 1, *alloc);
	(*v)[*n] = xcalloc(1, sizeof(***v));
	(*v)[*n]->name = xstrdup(name);
	*fresh = true;
	return (*v)[(*n)++];
}

static void res_free(struct res_cache **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i]->name);
		free(v[i]->text);
		json_decref(v[i]->doc);
		free(v[i]->region);
		kms_key_release(&v[i]->key);
		free(v[i]);
	}
	free(v);
}

void dr_state_release(struct dstate *st)
{
	size_t i;

	free(st->self_account);
	for (i = 0; i < st->ncreds; i++)
		aws_creds_release(&st->creds[i].creds);
	free(st->creds);
	for (i = 0; i < st->nctxs; i++) {
		if (!st->ctxs[i]->rc)
			aws_ctx_release(&st->ctxs[i]->ctx);
		free(st->ctxs[i]->region);
		free(st->ctxs[i]);
	}
	free(st->ctxs);
	for (i = 0; i < st->ntrails; i++) {
		struct trail_cache *t = st->trails[i];

		free(t->arn);
		free(t->owner);
		free(t->home);
		ct_trail_release(&t->trail);
		ct_status_release(&t->status);
		json_decref(t->selectors);
		free(t);
	}
	free(st->trails);
	res_free(st->bpol, st->nbpol);
	res_free(st->bloc, st->nbloc);
	res_free(st->keys, st->nkeys);
	res_free(st->kpol, st->nkpol);
	for (i = 0; i < st->nevc; i++) {
		free(st->evc[i].key);
		json_decref(st->evc[i].doc);
	}
	free(st->evc);
	org_view_release(&st->org);
	if (st->pre_owner) {
		for (i = 0; i < st->npre; i++) {
			trail_read_release(&st->pre[i]);
			free(st->pre_strs[2 * i]);
			free(st->pre_strs[2 * i + 1]);
		}
		free(st->pre);
		free(st->pre_strs);
	}
}

int dr_self_account(struct dstate *st, struct errbuf *err)
{
	struct sts_identity id;
	int rc;

	if (st->self_account)
		return 0;
	memset(&id, 0, sizeof(id));
	st->calls++;
	rc = sts_get_caller_identity(st->o->aws, &id, err);
	if (rc)
		return rc;
	st->self_account = id.account ? xstrdup(id.account) : xstrdup("");
	sts_identity_release(&id);
	return 0;
}

/* the role doctor assumes in account */
static char *role_arn_for(const struct tk_config *cfg, const char *account)
{
	return config_role_arn(cfg, account, cfg->assume_role ? cfg->assume_role : "OrganizationAccountAccessRole");
}

static const char *session_name(const struct dstate *st)
{
	return st->o->session_name ? st->o->session_name : "trailkeep-doctor";
}

static const struct trail_read *pre_find(const struct dstate *st, const char *account)
{
	size_t i;

	for (i = 0; i < st->npre; i++)
		if (!strcmp(st->pre[i].account, account))
			return &st->pre[i];
	return NULL;
}

/* The trails of the owners of the cells to examine, and the owners'
 * credentials, read together on the async scheduler (trail_reads.h) before
 * any cell is examined; dr_ctx_for and dr_trail_get take what they would
 * have read one call at a time from there. */
int dr_prefetch_trails(struct dstate *st, const bool *examine, struct errbuf *err)
{
	const struct doctor_opts *o = st->o;
	const struct tk_config *cfg = o->cfg;
	struct trail_reads_opts to;
	struct aws_sched *s = NULL;
	struct trail_read *v = xcalloc(o->ncells + 1, sizeof(*v));
	size_t i, k, n = 0;
	int rc;

	for (i = 0; i < o->ncells; i++) {
		const char *owner = dr_trail_owner(cfg, o->cells[i].account);

		if (!examine[i] || (n && !strcmp(v[n - 1].account, owner)))
			continue;
		for (k = 0; k < n && strcmp(v[k].account, owner); k++)
			;
		if (k == n)
			v[n++].account = owner;
	}
	if (!n || (rc = dr_self_account(st, err)) != 0) {
		free(v);
		return n ? rc : 0;
	}
	st->pre_strs = xcalloc(2 * n, sizeof(*st->pre_strs));
	for (k = 0; k < n; k++) {
		v[k].arn = st->pre_strs[2 * k] = config_trail_arn(cfg, v[k].account);
		if (strcmp(st->self_account, v[k].account))
			v[k].role_arn = st->pre_strs[2 * k + 1] = role_arn_for(cfg, v[k].account);
	}
	memset(&to, 0, sizeof(to));
	aws_sched_new(&s, o->aws->http);
	to.sched = s;
	to.base = o->aws;
	to.region = cfg->home_region;
	to.session_name = session_name(st);
	to.external_id = cfg->external_id;
	rc = trail_reads_run(&to, v, n, err);
	aws_sched_free(s);
	st->calls += to.calls;
	st->pre = v;
	st->npre = n;
	st->pre_owner = true;
	return rc;
}

/* account's credentials: from the prefetch when it assumed the role */
static void creds_get(struct dstate *st, struct acct_creds *ac, const char *account)
{
	const struct trail_read *p = pre_find(st, account);
	char *role = role_arn_for(st->o->cfg, account);
	struct errbuf e2;

	err_clear(&e2);
	if (p && p->role_arn && p->creds.access_key_id) {
		ac->rc = aws_creds_copy(&ac->creds, &p->creds) ? TK_EFAIL : 0;
		if (ac->rc)
			snprintf(ac->msg, sizeof(ac->msg), "cannot assume '%.200s': out of memory", role);
	} else if (p && p->role_arn) {
		ac->rc = p->ctx_r.rc;
		snprintf(ac->msg, sizeof(ac->msg), "cannot assume '%.200s': %.700s", role, p->ctx_r.msg);
	} else {
		st->calls++;
		ac->rc = sts_assume_role(st->o->aws, role, session_name(st), st->o->cfg->external_id, 0,
					 &ac->creds, NULL, &e2);
		if (ac->rc)
			snprintf(ac->msg, sizeof(ac->msg), "cannot assume '%.200s': %.700s", role, e2.msg);
	}
	free(role);
}

/* An AWS context for account x region (cached; creds by AssumeRole). */
struct aws_ctx *dr_ctx_for(struct dstate *st, const char *account, const char *region,
			   struct errbuf *err)
{
	struct acct_creds *ac = NULL;
	struct rctx *r;
	size_t i;
	int rc;

	for (i = 0; i < st->nctxs; i++) {
		r = st->ctxs[i];
		if (!strcmp(r->account, account) && !strcmp(r->region, region)) {
			if (r->rc) {
				err_set(err, r->rc, "%s", r->msg);
				return NULL;
			}
			return &r->ctx;
		}
	}
	r = xcalloc(1, sizeof(*r));
	snprintf(r->account, sizeof(r->account), "%s", account);
	r->region = xstrdup(region);
	ALLOC_GROW(st->ctxs, st->nctxs + 1, st->alloc_ctxs);
	st->ctxs[st->nctxs++] = r;

	if (dr_self_account(st, err)) {
		r->rc = TK_EAUTH;
		snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
		return NULL;
	}
	if (!strcmp(st->self_account, account)) {
		rc = aws_ctx_clone(&r->ctx, st->o->aws, region, NULL, err);
	} else {
		for (i = 0; i < st->ncreds; i++)
			if (!strcmp(st->creds[i].account, account))
				ac = &st->creds[i];
		if (!ac) {
			ALLOC_GROW(st->creds, st->ncreds + 1, st->alloc_creds);
			ac = &st->creds[st->ncreds++];
			memset(ac, 0, sizeof(*ac));
			snprintf(ac->account, sizeof(ac->account), "%s", account);
			creds_get(st, ac, account);
		}
		if (ac->rc) {
			rc = err_set(err, ac->rc, "%s", ac->msg);
		} else {
			rc = aws_ctx_clone(&r->ctx, st->o->aws, region, &ac->creds, err);
		}
	}
	if (rc) {
		r->rc = rc;
		snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
		return NULL;
	}
	return &r->ctx;
}

/* ---- the trail ------------------------------------------------------------ */

const char *dr_trail_owner(const struct tk_config *c, const char *account)
{
	return c->mode == TK_MODE_ORGANIZATION ? c->management_account : account;
}

static void lazy_from(struct lazy *l, const struct tr_result *r)
{
	l->loaded = true;
	l->rc = r->rc;
	snprintf(l->msg, sizeof(l->msg), "%s", r->msg);
}

/* t's trail, status and selectors from the prefetch (false: not there) */
static bool pre_take(struct dstate *st, struct trail_cache *t)
{
	const struct trail_read *p = pre_find(st, t->owner);

	if (!p || p->ctx_r.rc || strcmp(p->arn, t->arn))
		return false;
	t->rc = p->trail_r.rc;
	snprintf(t->msg, sizeof(t->msg), "%s", p->trail_r.msg);
	if (!t->rc)
		ct_trail_copy(&t->trail, &p->trail);
	lazy_from(&t->status_l, &p->status_r);
	if (!p->status_r.rc)
		ct_status_copy(&t->status, &p->status);
	lazy_from(&t->sel_l, &p->sel_r);
	if (!p->sel_r.rc)
		t->selectors = json_deep_copy(p->selectors);
	return true;
}

struct trail_cache *dr_trail_get(struct dstate *st, const char *account)
{
	const struct tk_config *cfg = st->o->cfg;
	char *arn = config_trail_arn(cfg, account);
	struct trail_cache *t;
	struct aws_ctx *ctx;
	struct errbuf e;
	size_t i;

	for (i = 0; i < st->ntrails; i++)
		if (!strcmp(st->trails[i]->arn, arn)) {
			free(arn);
			return st->trails[i];
		}
	ALLOC_GROW(st->trails, st->ntrails + 1, st->alloc_trails);
	t = st->trails[st->ntrails++] = xcalloc(1, sizeof(*t));
	t->arn = arn;
	t->owner = xstrdup(dr_trail_owner(cfg, account));
	t->home = xstrdup(cfg->home_region);
	err_clear(&e);
	ctx = dr_ctx_for(st, t->owner, t->home, &e);
	t->loaded = true;
	if (!ctx) {
		t->rc = TK_EAUTH;
		snprintf(t->msg, sizeof(t->msg), "%s", e.msg);
		return t;
	}
	if (pre_take(st, t))
		return t;
	st->calls++;
	t->rc = ct_get_trail(ctx, t->arn, &t->trail, &e);
	if (t->rc)
		snprintf(t->msg, sizeof(t->msg), "%s", e.msg);
	return t;
}

/* Make a per-trail call once, in the trail owner's home region. */
static int trail_once(struct dstate *st, struct trail_cache *t, struct lazy *l, trail_fetch fetch)
{
	struct aws_ctx *ctx;
	struct errbuf e;

	if (l->loaded)
		return l->rc;
	l->loaded = true;
	err_clear(&e);
	ctx = dr_ctx_for(st, t->owner, t->home, &e);
	if (!ctx) {
		l->rc = TK_EAUTH;
	} else {
		st->calls++;
		l->rc = fetch(ctx, t, &e);
	}
	if (l->rc)
		snprintf(l->msg, sizeof(l->msg), "%s", e.msg);
	return l->rc;
}

static int fetch_status(struct aws_ctx *ctx, struct trail_cache *t, struct errbuf *e)
{
	return ct_get_trail_status(ctx, t->arn, &t->status, e);
}

static int fetch_selectors(struct aws_ctx *ctx, struct trail_cache *t, struct errbuf *e)
{
	return ct_get_event_selectors(ctx, t->arn, &t->selectors, e);
}

int dr_trail_status(struct dstate *st, struct trail_cache *t)
{
	return trail_once(st, t, &t->status_l, fetch_status);
}

int dr_trail_selectors(struct dstate *st, struct trail_cache *t)
{
	return trail_once(st, t, &t->sel_l, fetch_selectors);
}

/* ---- resource caches ------------------------------------------------------- */

/* The cache entry for name.  *ctx_out is NULL when the entry is cached, or
 * when the central account's context in region cannot be had (then r->rc is
 * TK_EAUTH with the message); else the entry is new and *ctx_out is that
 * context. */
static struct res_cache *res_begin(struct dstate *st, struct res_cache ***v, size_t *n, size_t *alloc, const char *name,
				   const char *region, struct aws_ctx **ctx_out)
{
	struct res_cache *r;
	struct errbuf e;
	bool fresh;

	*ctx_out = NULL;
	r = res_find(v, n, alloc, name, &fresh);
	if (!fresh)
		return r;
	err_clear(&e);
	*ctx_out = dr_ctx_for(st, config_central_account(st->o->cfg), region, &e);
	if (!*ctx_out) {
		r->rc = TK_EAUTH;
		snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
	}
	return r;
}

struct res_cache *dr_bucket_policy(struct dstate *st, const char *bucket)
{
	struct aws_ctx *ctx;
	struct errbuf e;
	struct res_cache *r = res_begin(st, &st->bpol, &st->nbpol, &st->abpol, bucket, st->o->cfg->home_region, &ctx);

	if (!ctx)
		return r;
	err_clear(&e);
	st->calls++;
	r->rc = s3_get_bucket_policy(ctx, bucket, &r->text, &e);
	if (!r->rc)
		r->rc = policy_parse(&r->doc, r->text, strlen(r->text), &e);
	if (r->rc) {
		snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
		if (ctx->last_error.code)
			r->region = xstrdup(ctx->last_error.code);   /* the S3 error code */
	}
	return r;
}

struct res_cache *dr_bucket_location(struct dstate *st, const char *bucket)
{
	struct aws_ctx *ctx;
	struct errbuf e;
	struct res_cache *r = res_begin(st, &st->bloc, &st->nbloc, &st->abloc, bucket, st->o->cfg->home_region, &ctx);

	if (!ctx)
		return r;
	err_clear(&e);
	st->calls++;
	r->rc = s3_head_bucket(ctx, bucket, &r->region, &e);
	if (r->rc)
		snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
	return r;
}

const char *dr_arn_region(const char *arn, char *out, size_t n)
{
	/* arn:PARTITION:SERVICE:REGION:... */
	const char *p = arn;
	int i;
	size_t len;

	out[0] = '\0';
	for (i = 0; i < 3 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p || strncmp(arn, "arn:", 4))
		return out;
	len = strcspn(p, ":");
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = '\0';
	return out;
}

/* A cache entry for a key (by id or ARN) in v, with the central account's
 * context in the key's region when the entry is new (see res_begin). */
static struct res_cache *key_begin(struct dstate *st, struct res_cache ***v, size_t *n, size_t *alloc, const char *key,
				   struct aws_ctx **ctx)
{
	char region[64];
	struct res_cache *r;

	dr_arn_region(key, region, sizeof(region));
	r = res_begin(st, v, n, alloc, key, region[0] ? region : st->o->cfg->home_region, ctx);
	if (*ctx)
		st->calls++;
	return r;
}

struct res_cache *dr_key_desc(struct dstate *st, const char *key_id)
{
	struct aws_ctx *ctx;
	struct errbuf e;
	struct res_cache *r = key_begin(st, &st->keys, &st->nkeys, &st->akeys, key_id, &ctx);

	if (!ctx)
		return r;
	err_clear(&e);
	r->rc = kms_describe_key(ctx, key_id, &r->key, &e);
	if (r->rc)
		snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
	return r;
}

/* The key policy of a key DescribeKey found (key_arn), read only when a
 * check needs it: rc 0 with doc, or an error with msg. */
struct res_cache *dr_key_policy(struct dstate *st, const char *key_arn)
{
	struct aws_ctx *ctx;
	struct errbuf e;
	struct res_cache *r = key_begin(st, &st->kpol, &st->nkpol, &st->akpol, key_arn, &ctx);

	if (!ctx)
		return r;
	err_clear(&e);
	r->rc = kms_get_key_policy(ctx, key_arn, &r->text, &e);
	if (!r->rc)
		r->rc = policy_parse(&r->doc, r->text, strlen(r->text), &e);
	if (r->rc)
		snprintf(r->msg, sizeof(r->msg), "key policy: %.1000s", e.msg);
	return r;
}
