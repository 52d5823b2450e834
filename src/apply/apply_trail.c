/* apply_trail.c: one account's trail (apply.h): create or update it to the
 * plan, its event selectors, logging last, and the read-back of what was
 * written. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "apply_int.h"
#include "cloudtrail.h"
#include "trail_drift.h"
#include "banned.h"

static bool json_bool_of(const json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static json_t *trail_state(const struct ct_trail *t)
{
	json_t *o = json_pack("{s:s, s:b, s:b, s:b, s:b}", "S3BucketName", t->s3_bucket ? t->s3_bucket : "",
			      "IsMultiRegionTrail", t->multi_region == 1, "IncludeGlobalServiceEvents",
			      t->global_events == 1, "EnableLogFileValidation", t->log_file_validation == 1,
			      "IsOrganizationTrail", t->organization == 1);

	if (t->s3_prefix && *t->s3_prefix)
		json_object_set_new(o, "S3KeyPrefix", json_string(t->s3_prefix));
	if (t->kms_key_id && *t->kms_key_id)
		json_object_set_new(o, "KmsKeyId", json_string(t->kms_key_id));
	return o;
}

static json_t *trail_wanted(const json_t *create, const char *key_arn)
{
	const char *prefix = json_string_value(json_object_get(create, "S3KeyPrefix"));
	json_t *o = json_pack("{s:s, s:b, s:b, s:b, s:b}",
			      "S3BucketName", json_string_value(json_object_get(create, "S3BucketName")) ?
			      json_string_value(json_object_get(create, "S3BucketName")) : "",
			      "IsMultiRegionTrail", json_bool_of(create, "IsMultiRegionTrail"),
			      "IncludeGlobalServiceEvents", json_bool_of(create, "IncludeGlobalServiceEvents"),
			      "EnableLogFileValidation", json_bool_of(create, "EnableLogFileValidation"),
			      "IsOrganizationTrail", json_bool_of(create, "IsOrganizationTrail"));

	if (prefix && *prefix)
		json_object_set_new(o, "S3KeyPrefix", json_string(prefix));
	if (json_object_get(create, "KmsKeyId") && key_arn)
		json_object_set_new(o, "KmsKeyId", json_string(key_arn));
	return o;
}

/* CreateTrail / UpdateTrail, retrying InsufficientS3BucketPolicyException
 * for a bounded time when this run changed the bucket policy. */
static int trail_write(struct run *r, struct aws_ctx *ctx, bool create, const struct ct_trail_params *tp,
		       struct errbuf *err)
{
	long limit = r->o->policy_retry_ms > 0 ? r->o->policy_retry_ms : APPLY_POLICY_RETRY_MS;
	long waited = 0, delay = 1000;
	int rc;

	for (;;) {
		rc = create ? ct_create_trail(ctx, tp, NULL, err) : ct_update_trail(ctx, tp, NULL, err);
		if (rc == 0 || !r->bucket_policy_changed ||
		    !aws_error_is(&ctx->last_error, "InsufficientS3BucketPolicyException") || waited >= limit)
			return rc;
		if (delay > limit - waited)
			delay = limit - waited;
		ap_sleep_ms(ctx, delay);
		waited += delay;
		delay = delay * 2 > 16000 ? 16000 : delay * 2;
	}
}

/* The trail as it is: DescribeTrails, and GetEventSelectors when asked
 * and the trail exists. */
struct trail_read {
	struct ct_trail *trails;
	size_t ntrails;
	json_t *sel;
};

static void trail_read_release(struct trail_read *t)
{
	ct_trails_free(t->trails, t->ntrails);
	json_decref(t->sel);
	memset(t, 0, sizeof(*t));
}

static int read_trail(struct aws_ctx *ctx, const char *name, const char *arn, bool want_sel, struct trail_read *out,
		      struct errbuf *err)
{
	int rc;

	trail_read_release(out);
	rc = ct_describe_trails(ctx, &name, 1, false, &out->trails, &out->ntrails, err);
	if (rc == 0 && out->ntrails && want_sel)
		rc = ct_get_event_selectors(ctx, arn, &out->sel, err);
	return rc;
}

/* The UpdateTrail/CreateTrail parameters that converge cur (NULL: create)
 * to the plan: every planned setting, and "" for S3KeyPrefix and KmsKeyId
 * that are set but planned unset (an empty string clears them). */
static void trail_params_for(struct ct_trail_params *tp, const char *name, const json_t *want,
			     const struct ct_trail *cur)
{
	memset(tp, 0, sizeof(*tp));
	tp->name = name;
	tp->s3_bucket = json_string_value(json_object_get(want, "S3BucketName"));
	tp->s3_prefix = json_string_value(json_object_get(want, "S3KeyPrefix"));
	if (!tp->s3_prefix && cur && cur->s3_prefix && *cur->s3_prefix)
		tp->s3_prefix = "";
	tp->kms_key_id = json_string_value(json_object_get(want, "KmsKeyId"));
	if (!tp->kms_key_id && cur && cur->kms_key_id && *cur->kms_key_id)
		tp->kms_key_id = "";
	tp->multi_region = json_bool_of(want, "IsMultiRegionTrail");
	tp->global_events = json_bool_of(want, "IncludeGlobalServiceEvents");
	tp->log_file_validation = json_bool_of(want, "EnableLogFileValidation");
	tp->organization = json_bool_of(want, "IsOrganizationTrail");
}

/* After this run wrote to the trail: read again what decides "nothing to
 * do" next time; a difference is an error naming the trail and setting. */
static int readback_trail(struct run *r, struct aws_ctx *ctx, const json_t *doc, const char *name, const char *arn,
			  bool want_sel, bool started, struct errbuf *err)
{
	struct trail_read tr;
	struct trail_drift d;
	struct ct_status st;
	struct buf msg = BUF_INIT_LIMIT(4 * ERRBUF_LEN);
	size_t attempt, i;
	bool bad = false;
	int rc = 0;

	memset(&tr, 0, sizeof(tr));
	memset(&d, 0, sizeof(d));
	memset(&st, 0, sizeof(st));
	for (attempt = 0; attempt < READBACK_TRIES; attempt++) {
		if (attempt)
			ap_readback_sleep(ctx, attempt - 1);
		buf_reset(&msg);
		bad = false;
		trail_drift_release(&d);
		ct_status_release(&st);
		if ((rc = read_trail(ctx, name, arn, want_sel, &tr, err)))
			goto done;
		if (!tr.ntrails) {
			buf_adds(&msg, "it does not exist");
			bad = true;
			continue;
		}
		if ((rc = trail_drift_compute(doc, &tr.trails[0], tr.sel, r->key_arn, &d, err)))
			goto done;
		bad = d.n || d.key_unknown;
		for (i = 0; i < d.n; i++) {
			char *line = trail_drift_describe(&d.v[i]);

			buf_addf(&msg, "%s%s", msg.len ? "; " : "", line);
			free(line);
		}
		if (d.key_unknown)
			buf_addf(&msg, "%sKmsKeyId cannot be compared", msg.len ? "; " : "");
		if (started) {
			if ((rc = ct_get_trail_status(ctx, arn, &st, err)))
				goto done;
			if (st.is_logging != 1) {
				buf_addf(&msg, "%sit is not logging", msg.len ? "; " : "");
				bad = true;
			}
		}
		if (!bad)
			goto done;
	}
	{
		char *what = buf_detach_marked(&msg);   /* too long: what fits, then " [truncated]" */

		rc = err_set(err, TK_EFAIL, "trail '%s': a write did not take: read back after the write, %s",
			     arn, what);
		free(what);
	}
done:
	trail_read_release(&tr);
	trail_drift_release(&d);
	ct_status_release(&st);
	buf_release(&msg);
	return rc;
}

/* One account's trail while apply works on it. */
struct trail_job {
	struct run *r;
	struct aws_ctx *ctx;
	struct changes *ch;
	const char *account, *arn, *name;
	const json_t *pes;           /* the planned PutEventSelectors, or NULL */
	struct trail_read tr;        /* the trail as read */
	bool exists, created, started;
	size_t nwrites;
};

static int trail_create(struct trail_job *t, const json_t *want, struct errbuf *err)
{
	char *subject = xasprintf("trail '%s'", t->arn);
	struct apply_change *chg = ap_add_change(t->ch, t->account, subject, "create", NULL, want, false);
	struct ct_trail_params tp;
	int rc;

	free(subject);
	if (DRY(t->r, t->ch))
		return 0;
	trail_params_for(&tp, t->name, want, NULL);
	rc = trail_write(t->r, t->ctx, true, &tp, err);
	if (rc && aws_error_is(&t->ctx->last_error, "TrailAlreadyExistsException")) {
		/* the trail is there: a CreateTrail whose reply was lost (the
		 * retry found it) or one made meanwhile.  Adopt it and compare
		 * it like any existing trail. */
		struct errbuf e2;

		err_clear(&e2);
		if ((rc = read_trail(t->ctx, t->name, t->arn, t->pes != NULL, &t->tr, &e2))) {
			*err = e2;
			return rc;
		}
		if (!t->tr.ntrails)   /* AlreadyExists, yet not found: never success */
			return err_set(err, TK_EFAIL, "trail '%s': CreateTrail answered TrailAlreadyExistsException, "
				       "yet DescribeTrails does not find it: not changing it", t->arn);
		t->exists = true;
	} else if (rc) {
		return rc;
	} else {
		t->created = true;
	}
	ap_write_done(t->r, chg);   /* the trail exists: this run's CreateTrail made it */
	t->nwrites++;
	return 0;
}

static int trail_update(struct trail_job *t, const json_t *want, struct errbuf *err)
{
	json_t *cur = trail_state(&t->tr.trails[0]);
	char *subject = xasprintf("trail '%s'", t->arn);
	struct apply_change *chg = ap_add_change(t->ch, t->account, subject, "update", cur, want, false);
	struct ct_trail_params tp;
	int rc;

	json_decref(cur);
	free(subject);
	if (DRY(t->r, t->ch))
		return 0;
	trail_params_for(&tp, t->name, want, &t->tr.trails[0]);
	if ((rc = trail_write(t->r, t->ctx, false, &tp, err)))
		return rc;
	ap_write_done(t->r, chg);
	t->nwrites++;
	return 0;
}

/* Event selectors: replaced wholly by the planned set. */
static int trail_selectors(struct trail_job *t, struct errbuf *err)
{
	json_t *sel = NULL, *wsel = json_deep_copy(t->pes);
	struct apply_change *chg;
	char *subject;
	int rc = 0;

	json_object_del(wsel, "TrailName");
	if (t->exists && !t->created && t->tr.sel) {
		const char *k = json_object_get(t->tr.sel, "AdvancedEventSelectors") ? "AdvancedEventSelectors" :
				json_object_get(t->tr.sel, "EventSelectors") ? "EventSelectors" : NULL;

		if (k)
			sel = json_pack("{s:O}", k, json_object_get(t->tr.sel, k));
	}
	subject = xasprintf("trail '%s' event selectors", t->arn);
	chg = ap_add_change(t->ch, t->account, subject, "set", sel, wsel, false);
	free(subject);
	if (!DRY(t->r, t->ch) && !(rc = ct_put_event_selectors(t->ctx, t->arn, wsel, NULL, err))) {
		ap_write_done(t->r, chg);
		t->nwrites++;
	}
	json_decref(sel);
	json_decref(wsel);
	return rc;
}

/* Logging, last. */
static int trail_logging(struct trail_job *t, struct errbuf *err)
{
	bool had = t->exists && !t->created;   /* a trail this run did not make */
	struct apply_change *chg;
	struct ct_status st;
	json_t *b, *a;
	char *subject;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	if (had && (rc = ct_get_trail_status(t->ctx, t->arn, &st, err)))
		goto done;
	if (had && st.is_logging == 1)
		goto done;
	b = had ? json_pack("{s:b}", "IsLogging", 0) : NULL;
	a = json_pack("{s:b}", "IsLogging", 1);
	subject = xasprintf("trail '%s' logging", t->arn);
	chg = ap_add_change(t->ch, t->account, subject, "start logging", b, a, false);
	json_decref(a);
	json_decref(b);
	free(subject);
	if (DRY(t->r, t->ch))
		goto done;
	if ((rc = ct_start_logging(t->ctx, t->arn, err)))
		goto done;
	ap_write_done(t->r, chg);
	t->nwrites++;
	t->started = true;
done:
	ct_status_release(&st);
	return rc;
}

/* Read, compare, write what differs, read back. */
static int trail_steps(struct trail_job *t, const json_t *doc, const json_t *create, struct errbuf *err)
{
	struct trail_drift d;
	json_t *want;
	int rc;

	memset(&d, 0, sizeof(d));
	if ((rc = read_trail(t->ctx, t->name, t->arn, t->pes != NULL, &t->tr, err)))
		goto done_read;
	t->exists = t->tr.ntrails > 0;
	want = trail_wanted(create, t->r->key_arn);
	if (!t->exists && (rc = trail_create(t, want, err)))
		goto done;
	if (t->exists) {
		if ((rc = trail_drift_compute(doc, &t->tr.trails[0], t->tr.sel, t->r->key_arn, &d, err)))
			goto done;
		if (d.key_unknown) {   /* not reached: key_arn is known (checked before) */
			rc = err_set(err, TK_EFAIL, "trail '%s': its KmsKeyId cannot be compared", t->arn);
			goto done;
		}
	}
	if (t->exists && d.trail_differs && (rc = trail_update(t, want, err)))
		goto done;
	if (t->pes && (!t->exists || t->created || d.selectors_differ || d.selectors_unknown) &&
	    (rc = trail_selectors(t, err)))
		goto done;
	if ((rc = trail_logging(t, err)))
		goto done;
	/* read back what decides "nothing to do" next time */
	if (t->nwrites && !DRY(t->r, t->ch))
		rc = readback_trail(t->r, t->ctx, doc, t->name, t->arn, t->pes != NULL, t->started, err);
done:
	json_decref(want);
done_read:
	trail_read_release(&t->tr);
	trail_drift_release(&d);
	return rc;
}

int ap_run_trail(struct run *r, struct session *s, const char *account, struct changes *ch,
		 struct errbuf *err)
{
	char *path = xasprintf("accounts/%s/trail.json", account);
	const json_t *doc = ap_plan_doc(r->o->plan, path);
	const json_t *create = json_object_get(doc, "CreateTrail");
	const char *arn = json_string_value(json_object_get(doc, "TrailARN"));
	const char *name = json_string_value(json_object_get(create, "Name"));
	struct trail_job t;
	struct aws_ctx ctx;
	int rc;

	if (!doc || !create || !arn || !name) {
		rc = err_set(err, TK_EUSAGE, "the plan has no usable %s", path);
		goto done;
	}
	if (json_object_get(create, "KmsKeyId") && !r->key_arn) {
		rc = err_set(err, TK_EFAIL, "trail '%s': the key of '%s' is not known: not changing the trail", arn,
			     r->cfg->kms_alias);
		goto done;
	}
	if ((rc = ap_account_ctx(&ctx, s, r, account, err)))
		goto done;
	memset(&t, 0, sizeof(t));
	t.r = r;
	t.ctx = &ctx;
	t.ch = ch;
	t.account = account;
	t.arn = arn;
	t.name = name;
	t.pes = json_object_get(doc, "PutEventSelectors");
	rc = trail_steps(&t, doc, create, err);
	if (!rc)
		rc = ap_run_monitoring(r, &ctx, account, arn, ch, err);
	aws_ctx_release(&ctx);
done:
	free(path);
	return rc;
}
