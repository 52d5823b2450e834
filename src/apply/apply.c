/* apply.c: converge AWS to a plan (see apply.h): the run (sessions, account
 * credentials, the preflight, the central part and its read-back, the trail
 * workers).  The parts: apply_int.h.  Library code: no printing, no clock,
 * no environment. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apply.h"
#include "apply_int.h"
#include "apply_org.h"
#include "buf.h"
#include "cloudtrail.h"
#include "diff.h"
#include "kms.h"
#include "policy.h"
#include "s3.h"
#include "sts.h"
#include "timeutil.h"
#include "trail_drift.h"
#include "workers.h"
#include "xml.h"
#include "banned.h"

/* ---- results ---- */

struct apply_change *ap_add_change(struct changes *c, const char *account, const char *subject,
				   const char *verb, const json_t *before, const json_t *after, bool policy)
{
	struct apply_change *ch;

	ALLOC_GROW(c->v, c->n + 1, c->alloc);
	ch = &c->v[c->n++];
	memset(ch, 0, sizeof(*ch));
	ch->account = xstrdup(account);
	ch->subject = xstrdup(subject);
	ch->verb = xstrdup(verb);
	ch->before = before ? diff_json_text(before, policy) : NULL;
	ch->after = after ? diff_json_text(after, policy) : NULL;
	return ch;
}

void ap_add_warning(struct changes *c, char *msg)
{
	ALLOC_GROW(c->warn, c->nwarn + 1, c->alloc_warn);
	c->warn[c->nwarn++] = msg;   /* owned now */
}

static void change_free(struct apply_change *ch)
{
	free(ch->account);
	free(ch->subject);
	free(ch->verb);
	free(ch->before);
	free(ch->after);
}

void ap_changes_release(struct changes *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		change_free(&c->v[i]);
	for (i = 0; i < c->nwarn; i++)
		free(c->warn[i]);
	free(c->v);
	free(c->warn);
	memset(c, 0, sizeof(*c));
}

/* Move c's changes and warnings to the end of r. */
static void changes_move(struct apply_result *r, struct changes *c)
{
	size_t i;

	if (c->n) {
		ALLOC_GROW(r->changes, r->nchanges + c->n, r->alloc_changes);
		for (i = 0; i < c->n; i++)
			r->changes[r->nchanges++] = c->v[i];
	}
	if (c->nwarn) {
		ALLOC_GROW(r->warnings, r->nwarnings + c->nwarn, r->alloc_warnings);
		for (i = 0; i < c->nwarn; i++)
			r->warnings[r->nwarnings++] = c->warn[i];
	}
	free(c->v);
	free(c->warn);
	memset(c, 0, sizeof(*c));
}

void apply_result_release(struct apply_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nchanges; i++)
		change_free(&r->changes[i]);
	for (i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->changes);
	free(r->warnings);
	free(r->outcomes);
	memset(r, 0, sizeof(*r));
}

/* ---- sessions and account credentials ---- */

static int session_init(struct session *s, struct run *r, int seq, struct errbuf *err)
{
	struct aws_ctx_options co = *r->o->aws;
	struct http_pool_options ho;
	int rc;

	memset(s, 0, sizeof(*s));
	if (r->o->http_opts)
		ho = *r->o->http_opts;
	else
		memset(&ho, 0, sizeof(ho));
	rc = http_pool_new(&s->pool, &ho, err);
	if (rc)
		return rc;
	co.http = s->pool;
	co.region = r->cfg->home_region;
	co.seed = r->o->aws->seed + (uint64_t)seq * 7919u;
	rc = aws_ctx_init(&s->base, &co, err);
	if (rc) {
		http_pool_free(s->pool);
		s->pool = NULL;
		return rc;
	}
	s->ready = true;
	return 0;
}

static void session_release(struct session *s)
{
	if (s->ready)
		aws_ctx_release(&s->base);
	if (s->pool)
		http_pool_free(s->pool);
	memset(s, 0, sizeof(*s));
}

void ap_write_done(struct run *r, struct apply_change *ch)
{
	pthread_mutex_lock(&r->lock);
	r->writes++;
	pthread_mutex_unlock(&r->lock);
	if (ch)
		ch->done = true;
}

/* A context for account in the home region: the caller's credentials for
 * the caller's own account, else AssumeRole (cached per account). */
int ap_account_ctx(struct aws_ctx *out, struct session *s, struct run *r, const char *account,
		   struct errbuf *err)
{
	const struct tk_config *c = r->cfg;
	struct cred_entry *e = NULL;
	struct aws_creds creds;
	char *role = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!strcmp(account, r->caller))
		return aws_ctx_clone(out, &s->base, NULL, NULL, err);
	if (r->o->account_creds) {
		memset(&creds, 0, sizeof(creds));
		pthread_mutex_lock(&r->lock);
		rc = r->o->account_creds(r->o->account_creds_ud, account, &creds, err);
		pthread_mutex_unlock(&r->lock);
		if (rc == 0)
			rc = aws_ctx_clone(out, &s->base, NULL, &creds, err);
		aws_creds_release(&creds);
		return rc;
	}
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->ncreds; i++)
		if (!strcmp(r->creds[i].account, account))
			e = &r->creds[i];
	if (e && e->rc == 0)
		rc = aws_creds_copy(&creds, &e->creds);
	else if (e)
		rc = err_set(err, e->rc, "%s", e->msg);
	pthread_mutex_unlock(&r->lock);
	if (e) {
		if (rc)
			return rc;
		rc = aws_ctx_clone(out, &s->base, NULL, &creds, err);
		aws_creds_release(&creds);
		return rc;
	}
	role = config_role_arn(c, account, c->assume_role);
	memset(&creds, 0, sizeof(creds));
	rc = sts_assume_role(&s->base, role, r->o->session_name ? r->o->session_name : "trailkeep-apply",
			     c->external_id, 0, &creds, NULL, err);
	if (rc)
		err_prefix(err, rc, "cannot assume role '%s'", role);
	pthread_mutex_lock(&r->lock);
	ALLOC_GROW(r->creds, r->ncreds + 1, r->alloc_creds);
	e = &r->creds[r->ncreds++];
	memset(e, 0, sizeof(*e));
	snprintf(e->account, sizeof(e->account), "%s", account);
	e->rc = rc;
	if (rc)
		snprintf(e->msg, sizeof(e->msg), "%s", err->msg);
	else
		aws_creds_copy(&e->creds, &creds);
	pthread_mutex_unlock(&r->lock);
	if (!rc)
		rc = aws_ctx_clone(out, &s->base, NULL, &creds, err);
	aws_creds_release(&creds);
	free(role);
	return rc;
}

void ap_sleep_ms(struct aws_ctx *ctx, long ms)
{
	if (ctx->sleep_ms)
		ctx->sleep_ms(ctx->sleep_ud, ms);
}

/* The read-back delays: AWS reads are read-after-write consistent for
 * these settings, but a short grace avoids calling a slow propagation a
 * failed write (scaled like the retry backoff). */
static const long readback_delay_ms[] = { 1000, 2000, 4000, 8000 };
_Static_assert(READBACK_TRIES == 1 + sizeof(readback_delay_ms) / sizeof(readback_delay_ms[0]),
	       "READBACK_TRIES (apply_int.h) is one more than the delays");

void ap_readback_sleep(struct aws_ctx *ctx, size_t attempt)
{
	double scale = ctx->backoff_scale > 0 ? ctx->backoff_scale : 1.0;

	ap_sleep_ms(ctx, (long)((double)readback_delay_ms[attempt] * scale));
}

/* ---- the central part ---- */

static int preflight(struct central *ce, struct run *r, struct errbuf *err)
{
	struct s3_object_lock lock;
	struct s3_encryption enc;
	int rc;

	rc = kms_describe_key(&ce->ctx, r->cfg->kms_alias, &ce->key, err);
	if (rc == 0) {
		ce->key_exists = true;
		if (apply_key_state_step(ce->key.state) == APPLY_KEY_REFUSE)
			return err_set(err, TK_EFAIL, "kms key '%s' (%s) is in state '%s': apply converges only "
				       "Disabled and PendingDeletion keys; %s", r->cfg->kms_alias,
				       ce->key.arn ? ce->key.arn : "?", ce->key.state ? ce->key.state : "unknown",
				       ap_key_state_hint(ce->key.state));
	} else if (rc != TK_ENOTFOUND) {
		return rc;
	}
	if ((rc = ap_check_bucket(ce, r, ce->bucket, "bucket", &ce->bucket_exists, err)))
		return rc;
	if (!ce->alog)
		return 0;
	if ((rc = ap_check_bucket(ce, r, ce->alog, "access-log bucket", &ce->alog_exists, err)))
		return rc;
	if (!ce->alog_exists)
		return 0;
	memset(&lock, 0, sizeof(lock));
	rc = s3_get_object_lock(&ce->ctx, ce->alog, &lock, err);
	if (rc == 0 && lock.enabled) {
		s3_object_lock_release(&lock);
		return err_set(err, TK_EFAIL, "access-log bucket '%s' has object lock enabled: S3 server access "
			       "logs cannot be delivered to it; use another access_log_bucket", ce->alog);
	}
	s3_object_lock_release(&lock);
	if (rc && rc != TK_ENOTFOUND)
		return rc;
	memset(&enc, 0, sizeof(enc));
	rc = s3_get_encryption(&ce->ctx, ce->alog, &enc, err);
	if (rc == 0 && enc.algorithm && strncmp(enc.algorithm, SSE_KMS, strlen(SSE_KMS)) == 0) {
		s3_encryption_release(&enc);
		return err_set(err, TK_EFAIL, "access-log bucket '%s' has default encryption SSE-KMS: S3 server "
			       "access logs need SSE-S3 (AES256) on the target; change it or use another "
			       "access_log_bucket", ce->alog);
	}
	s3_encryption_release(&enc);
	if (rc && rc != TK_ENOTFOUND)
		return rc;
	return 0;
}

/* Read-merge-compare-write one resource policy.  get/put are the S3 or KMS
 * calls. */
typedef int (*get_policy_fn)(struct aws_ctx *ctx, const char *id, char **policy, struct errbuf *err);
typedef int (*put_policy_fn)(struct aws_ctx *ctx, const char *id, const char *policy, struct errbuf *err);

int ap_converge_policy(struct run *r, struct aws_ctx *ctx, struct changes *ch, const char *account,
		       const char *id, bool exists, const json_t *desired, const char *subject,
		       get_policy_fn get, put_policy_fn put, bool key_policy, bool *changed, struct errbuf *err)
{
	json_t *cur = NULL, *merged = NULL;
	char *text = NULL, *body = NULL;
	struct apply_change *c;
	int rc = 0;

	if (changed)
		*changed = false;
	if (exists) {
		rc = get(ctx, id, &text, err);
		if (rc == TK_ENOTFOUND)
			rc = 0;
		else if (rc)
			goto done;
		if (text && (rc = ap_parse_json_text(&cur, text, subject, err)))
			goto done;
	}
	if ((rc = apply_merge_policy(&merged, cur, desired, subject, err)))
		goto done;
	if (cur && diff_policy_equal(cur, merged))
		goto done;
	if (key_policy &&
	    (rc = apply_check_key_policy(merged, r->partition, account, subject, err)))
		goto done;
	c = ap_add_change(ch, account, subject, cur ? "update" : "set", cur, merged, true);
	if (changed)
		*changed = true;
	if (DRY(r, ch))
		goto done;
	body = ap_dump_compact(merged);
	if ((rc = put(ctx, id, body, err)))
		goto done;
	ap_write_done(r, c);
done:
	json_decref(cur);
	json_decref(merged);
	free(text);
	free(body);
	return rc;
}

static int run_central(struct central *ce, struct run *r, struct changes *ch, struct errbuf *err)
{
	const struct plan *p = r->o->plan;
	const json_t *settings = ap_plan_doc(p, "central/bucket-settings.json");
	const json_t *bpol = ap_plan_doc(p, "central/bucket-policy.json");
	const json_t *apol = ap_plan_doc(p, "central/access-log-bucket-policy.json");
	char *subject = NULL;
	bool lock = r->cfg->object_lock != TK_LOCK_NONE;
	int rc;

	if (!settings || !bpol)
		return err_set(err, TK_EUSAGE, "the plan lacks central/bucket-settings.json or central/bucket-policy.json");
	if ((rc = ap_converge_key(ce, r, ch, err)))
		return rc;
	/* the central bucket */
	if (!ce->bucket_exists) {
		if ((rc = ap_create_bucket(ce, r, ch, ce->bucket, lock, err)))
			return rc;
		ce->bucket_created = !DRY(r, ch);
		ce->bucket_exists = !DRY(r, ch);
	}
	if ((rc = ap_converge_bucket_settings(ce, r, ch, ce->bucket, ce->bucket_exists, lock, settings,
					    r->key_arn, err)))
		return rc;
	if ((rc = ap_converge_object_lock(ce, r, ch, err)))
		return rc;
	/* the access-log bucket and logging into it */
	if (ce->alog) {
		const json_t *as = json_object_get(settings, "AccessLogBucket");

		if (!ce->alog_exists) {
			if ((rc = ap_create_bucket(ce, r, ch, ce->alog, false, err)))
				return rc;
			ce->alog_exists = !DRY(r, ch);
		}
		if (as && (rc = ap_converge_bucket_settings(ce, r, ch, ce->alog, ce->alog_exists, false, as, NULL, err)))
			return rc;
		if (apol) {
			subject = xasprintf("access-log bucket '%s' policy", ce->alog);
			rc = ap_converge_policy(r, &ce->ctx, ch, ce->account, ce->alog, ce->alog_exists, apol, subject,
					     s3_get_bucket_policy, s3_put_bucket_policy, false, NULL, err);
			free(subject);
			if (rc)
				return rc;
		}
	}
	/* logging of the central bucket into the access-log bucket (or none) */
	if ((rc = ap_converge_logging(ce, r, ch, settings, err)))
		return rc;
	/* the bucket policy last: everything it protects is in place */
	ap_warn_lockout(ce, r, ch, bpol);
	subject = xasprintf("bucket '%s' policy", ce->bucket);
	rc = ap_converge_policy(r, &ce->ctx, ch, ce->account, ce->bucket, ce->bucket_exists, bpol, subject,
			     s3_get_bucket_policy, s3_put_bucket_policy, false, &r->bucket_policy_changed, err);
	free(subject);
	return rc;
}

/* After the central part wrote: run it again reading and comparing only;
 * anything it would still change is a write that did not take, an error
 * naming the resource and setting (the read that decides "nothing to do"
 * next time must agree with what was written). */
static int readback_central(struct central *ce, struct run *r, struct errbuf *err)
{
	bool policy_changed = r->bucket_policy_changed;
	struct buf msg = BUF_INIT_LIMIT(4 * ERRBUF_LEN);
	struct changes chk;
	size_t attempt, i;
	int rc = 0;

	memset(&chk, 0, sizeof(chk));
	for (attempt = 0; attempt < READBACK_TRIES; attempt++) {
		if (attempt)
			ap_readback_sleep(&ce->ctx, attempt - 1);
		ap_changes_release(&chk);
		chk.readback = true;
		kms_key_release(&ce->key);
		rc = kms_describe_key(&ce->ctx, r->cfg->kms_alias, &ce->key, err);
		if (rc == TK_ENOTFOUND && attempt + 1 < READBACK_TRIES)
			continue;
		if (rc == TK_ENOTFOUND)
			rc = err_set(err, TK_EFAIL, "a write did not take: read back after the writes, kms key '%s' "
				     "is not found", r->cfg->kms_alias);
		if (rc)
			break;
		ce->key_exists = true;
		ce->bucket_exists = true;
		ce->bucket_created = false;
		ce->alog_exists = ce->alog != NULL;
		if ((rc = run_central(ce, r, &chk, err)) || !chk.n)
			break;
	}
	if (rc == 0 && chk.n) {
		char *list;

		for (i = 0; i < chk.n; i++)
			buf_addf(&msg, "%s%s (%s)", i ? "; " : "", chk.v[i].subject, chk.v[i].verb);
		list = buf_detach_marked(&msg);   /* too many: what fits, then " [truncated]" */
		rc = err_set(err, TK_EFAIL, "a write did not take: read back after the writes, these still differ "
			     "from the plan: %s", list);
		free(list);
	}
	ap_changes_release(&chk);
	buf_release(&msg);
	r->bucket_policy_changed = policy_changed;
	return rc;
}

/* ---- trails ---- */

static void *trail_worker(void *arg)
{
	struct run *r = arg;
	struct session s;
	struct errbuf err;
	int seq, rc;
	size_t i;

	pthread_mutex_lock(&r->lock);
	seq = ++r->worker_seq;
	pthread_mutex_unlock(&r->lock);
	err_clear(&err);
	rc = session_init(&s, r, seq, &err);
	for (;;) {
		pthread_mutex_lock(&r->lock);
		i = r->next < r->ntrails ? r->next++ : SIZE_MAX;
		pthread_mutex_unlock(&r->lock);
		if (i == SIZE_MAX)
			break;
		if (rc == 0) {
			struct errbuf e;

			err_clear(&e);
			r->outcomes[i].rc = ap_run_trail(r, &s, r->trail_accounts[i], &r->trail_changes[i], &e);
			if (r->outcomes[i].rc)
				snprintf(r->outcomes[i].msg, sizeof(r->outcomes[i].msg), "%s", e.msg);
		} else {
			r->outcomes[i].rc = rc;
			snprintf(r->outcomes[i].msg, sizeof(r->outcomes[i].msg), "%s", err.msg);
		}
		r->outcomes[i].nchanges = r->trail_changes[i].n;
	}
	if (rc == 0)
		session_release(&s);
	return NULL;
}

static bool account_selected(const struct apply_options *o, const char *id)
{
	size_t i;

	if (!o->accounts)
		return true;
	for (i = 0; i < o->naccounts; i++)
		if (!strcmp(o->accounts[i], id))
			return true;
	return false;
}

/* Organization mode: CloudTrail's trusted access in Organizations, in the
 * management account, after the preflight reads and before any other write
 * (apply_org.h).  The change is listed with the central account's. */
static int org_trusted_access(struct run *r, struct session *s, struct changes *ch, struct errbuf *err)
{
	const struct tk_config *c = r->cfg;
	json_t *before = NULL, *after = NULL;
	struct aws_ctx ctx;
	bool written = false;
	int rc;

	if (c->mode != TK_MODE_ORGANIZATION || !account_selected(r->o, c->management_account))
		return 0;
	if ((rc = ap_account_ctx(&ctx, s, r, c->management_account, err)))
		return rc;
	rc = apply_org_trusted_access(&ctx, r->o->dry_run, &before, &after, &written, err);
	if (after) {
		struct apply_change *chg = ap_add_change(ch, c->management_account,
						      "organizations trusted access 'cloudtrail.amazonaws.com'",
						      "enable", before, after, false);

		if (written)
			ap_write_done(r, chg);
	}
	json_decref(before);
	json_decref(after);
	aws_ctx_release(&ctx);
	return rc;
}

/* ---- the run ---- */

static void add_outcome(struct apply_result *res, const char *account, enum apply_scope scope, int rc,
			const char *msg, size_t nchanges, bool skipped)
{
	struct apply_outcome *oc;

	ALLOC_GROW(res->outcomes, res->noutcomes + 1, res->alloc_outcomes);
	oc = &res->outcomes[res->noutcomes++];
	memset(oc, 0, sizeof(*oc));
	snprintf(oc->account, sizeof(oc->account), "%s", account);
	oc->scope = scope;
	oc->rc = rc;
	if (msg)
		snprintf(oc->msg, sizeof(oc->msg), "%s", msg);
	oc->nchanges = nchanges;
	oc->skipped = skipped;
	if (rc < 0)
		res->failed = true;
}

/* The trails, one worker per account in parallel (at most jobs); skipped
 * when the central part failed (crc). */
static void run_trails(struct run *r, struct apply_result *out, int crc)
{
	const struct apply_options *o = r->o;
	const struct tk_config *c = r->cfg;
	int jobs;
	size_t i;

	if (c->mode == TK_MODE_ORGANIZATION) {
		if (account_selected(o, c->management_account)) {
			r->trail_accounts = xcalloc(1, sizeof(*r->trail_accounts));
			r->trail_accounts[r->ntrails++] = c->management_account;
		}
	} else {
		r->trail_accounts = xcalloc(c->naccounts ? c->naccounts : 1, sizeof(*r->trail_accounts));
		for (i = 0; i < c->naccounts; i++)
			if (account_selected(o, c->accounts[i].id))
				r->trail_accounts[r->ntrails++] = c->accounts[i].id;
	}
	r->outcomes = xcalloc(r->ntrails ? r->ntrails : 1, sizeof(*r->outcomes));
	r->trail_changes = xcalloc(r->ntrails ? r->ntrails : 1, sizeof(*r->trail_changes));
	if (crc == 0 && r->ntrails) {
		jobs = o->jobs > 0 ? o->jobs : 16;
		if (jobs > APPLY_MAX_JOBS)
			jobs = APPLY_MAX_JOBS;
		if ((size_t)jobs > r->ntrails)
			jobs = (int)r->ntrails;
		tk_run_workers(jobs, trail_worker, r);
	}
	for (i = 0; i < r->ntrails; i++) {
		if (crc)
			add_outcome(out, r->trail_accounts[i], APPLY_SCOPE_TRAIL, TK_EFAIL,
				    "skipped: the central bucket and key are not in place", 0, true);
		else
			add_outcome(out, r->trail_accounts[i], APPLY_SCOPE_TRAIL, r->outcomes[i].rc, r->outcomes[i].msg,
				    r->outcomes[i].nchanges, false);
		changes_move(out, &r->trail_changes[i]);
	}
}

int apply_run(struct apply_result *out, const struct apply_options *o, struct errbuf *err)
{
	const struct tk_config *c = o->cfg;
	const json_t *kpol = ap_plan_doc(o->plan, "central/kms-key-policy.json");
	struct run r;
	struct session s;
	struct central ce;
	struct changes ch;
	struct sts_identity id;
	int rc, crc;
	size_t i, w0;
	char *subject;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	memset(&ce, 0, sizeof(ce));
	memset(&ch, 0, sizeof(ch));
	memset(&id, 0, sizeof(id));
	r.o = o;
	r.cfg = c;
	r.partition = c->partition ? c->partition : "aws";
	pthread_mutex_init(&r.lock, NULL);
	ce.account = config_central_account(c);
	ce.bucket = c->bucket;
	ce.alog = c->access_log_bucket;

	/* safety checks that need no AWS call */
	if (!kpol) {
		rc = err_set(err, TK_EUSAGE, "the plan has no central/kms-key-policy.json");
		goto done;
	}
	subject = xasprintf("the planned key policy of '%s'", c->kms_alias);
	rc = apply_check_key_policy(kpol, r.partition, ce.account, subject, err);
	free(subject);
	if (rc)
		goto done;

	if ((rc = session_init(&s, &r, 0, err)))
		goto done;
	if ((rc = sts_get_caller_identity(&s.base, &id, err))) {
		err_prefix(err, rc, "cannot find out who the credentials belong to");
		goto done;
	}
	snprintf(r.caller, sizeof(r.caller), "%s", id.account ? id.account : "");
	r.caller_arn = id.arn;

	/* preflight: reads only */
	if ((rc = ap_account_ctx(&ce.ctx, &s, &r, ce.account, err)))
		goto done;
	ce.ctx_ready = true;
	if ((rc = preflight(&ce, &r, err)))
		goto done;
	if ((rc = org_trusted_access(&r, &s, &ch, err)))
		goto done;

	/* the central account, then the read-back of what it wrote */
	w0 = r.writes;
	crc = run_central(&ce, &r, &ch, err);
	if (crc == 0 && !o->dry_run && r.writes > w0)
		crc = readback_central(&ce, &r, err);
	add_outcome(out, ce.account, APPLY_SCOPE_CENTRAL, crc, crc ? err->msg : NULL, ch.n, false);
	changes_move(out, &ch);

	run_trails(&r, out, crc);
	rc = 0;
done:
	out->writes = r.writes;
	changes_move(out, &ch);
	ap_changes_release(&ch);
	if (ce.ctx_ready)
		aws_ctx_release(&ce.ctx);
	kms_key_release(&ce.key);
	sts_identity_release(&id);
	session_release(&s);
	for (i = 0; i < r.ncreds; i++)
		aws_creds_release(&r.creds[i].creds);
	free(r.creds);
	if (r.trail_changes)
		for (i = 0; i < r.ntrails; i++)
			ap_changes_release(&r.trail_changes[i]);
	free(r.trail_changes);
	free(r.outcomes);
	free(r.trail_accounts);
	free(r.key_arn);
	pthread_mutex_destroy(&r.lock);
	return rc;
}

