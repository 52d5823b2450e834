/* apply_bucket.c: the central bucket and the access-log bucket (apply.h):
 * where they are and who owns them, creation, one function per setting
 * (versioning, default encryption, public access block, ownership controls,
 * lifecycle), object lock, access logging, and the warning when the
 * planned bucket policy would lock out whoever runs apply. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "apply_int.h"
#include "policy.h"
#include "s3.h"
#include "xml.h"
#include "banned.h"

/* Where is bucket, and who owns it?  0 = missing (*exists false) or ours in
 * home_region; an error otherwise. */
int ap_check_bucket(struct central *ce, struct run *r, const char *bucket, const char *what, bool *exists,
		    struct errbuf *err)
{
	char *region = NULL;
	int rc;

	*exists = false;
	rc = s3_get_bucket_location(&ce->ctx, bucket, &region, err);
	if (rc == TK_ENOTFOUND)
		return 0;
	if (rc == TK_EAUTH)
		return err_set(err, TK_EAUTH, "%s '%s' exists but is not owned by the central account %s "
			       "(GetBucketLocation from that account was denied): choose another bucket name",
			       what, bucket, ce->account);
	if (rc)
		return rc;
	*exists = true;
	if (strcmp(region, r->cfg->home_region)) {
		rc = err_set(err, TK_EFAIL, "%s '%s' is in region '%s', not in the home region '%s': "
			     "refusing to use it", what, bucket, region, r->cfg->home_region);
	}
	free(region);
	return rc;
}

/* DeleteBucketLifecycle (the last rule of a configuration cannot be put
 * away otherwise). */
static int delete_lifecycle(struct aws_ctx *ctx, const char *bucket, struct errbuf *err)
{
	struct aws_s3_request q = { .method = "DELETE", .operation = "DeleteBucketLifecycle", .bucket = bucket,
				    .query = "lifecycle=" };
	struct http_response resp;
	int rc = aws_s3_call(ctx, &q, &resp, err);

	if (!rc)
		http_response_release(&resp);
	return rc;
}

/* One bucket's settings: what every setting's function needs. */
struct bucket_job {
	struct central *ce;
	struct run *r;
	struct changes *ch;
	const char *bucket;
	bool exists;
};

/* Add the change "bucket 'B' WHAT" (cur and want are copied). */
static struct apply_change *bucket_change(const struct bucket_job *b, const char *what, const char *verb,
					  const json_t *cur, const json_t *want)
{
	char *subject = xasprintf("bucket '%s' %s", b->bucket, what);
	struct apply_change *chg = ap_add_change(b->ch, b->ce->account, subject, verb, cur, want, false);

	free(subject);
	return chg;
}

static int bucket_versioning(const struct bucket_job *b, bool new_locked, const json_t *v, struct errbuf *err)
{
	const char *ws = json_string_value(json_object_get(v, "Status"));
	struct apply_change *chg;
	json_t *cur, *want;
	char *st = NULL;
	int rc = 0;

	if (b->exists && (rc = s3_get_versioning(&b->ce->ctx, b->bucket, &st, NULL, err)))
		return rc;
	if (!b->exists && new_locked)
		st = xstrdup("Enabled");
	if (ws && (!st || strcmp(st, ws))) {
		cur = st && *st ? json_pack("{s:s}", "Status", st) : NULL;
		want = json_pack("{s:s}", "Status", ws);
		chg = bucket_change(b, "versioning", "set", cur, want);
		json_decref(cur);
		json_decref(want);
		if (!DRY(b->r, b->ch) && !(rc = s3_put_versioning(&b->ce->ctx, b->bucket, ws, err)))
			ap_write_done(b->r, chg);
	}
	free(st);
	return rc;
}

/* rule: the first rule of the planned ServerSideEncryptionConfiguration */
static int bucket_encryption(const struct bucket_job *b, const json_t *rule, const char *kms_key_arn,
			     struct errbuf *err)
{
	const json_t *d = json_object_get(rule, "ApplyServerSideEncryptionByDefault");
	const char *alg = json_string_value(json_object_get(d, "SSEAlgorithm"));
	bool bk = json_is_true(json_object_get(rule, "BucketKeyEnabled"));
	const char *kid = alg && !strcmp(alg, SSE_KMS) ? kms_key_arn : NULL;
	struct apply_change *chg;
	struct s3_encryption e;
	json_t *cur = NULL, *want;
	bool same;
	int rc = 0;

	memset(&e, 0, sizeof(e));
	if (!b->exists) {
		e.algorithm = xstrdup("AES256");
		e.bucket_key_enabled = 0;
	} else {
		rc = s3_get_encryption(&b->ce->ctx, b->bucket, &e, err);
		if (rc == TK_ENOTFOUND)
			rc = 0;
		else if (rc)
			goto done;
	}
	same = e.algorithm && alg && !strcmp(e.algorithm, alg) &&
	       ((!kid && !e.kms_key_id) || (kid && e.kms_key_id && !strcmp(kid, e.kms_key_id))) &&
	       (e.bucket_key_enabled == 1) == bk;
	if (!alg || same)
		goto done;
	if (e.algorithm) {
		cur = json_pack("{s:s}", "SSEAlgorithm", e.algorithm);
		if (e.kms_key_id)
			json_object_set_new(cur, "KMSMasterKeyID", json_string(e.kms_key_id));
		json_object_set_new(cur, "BucketKeyEnabled", json_boolean(e.bucket_key_enabled == 1));
	}
	want = json_pack("{s:s, s:b}", "SSEAlgorithm", alg, "BucketKeyEnabled", bk);
	if (kid)
		json_object_set_new(want, "KMSMasterKeyID", json_string(kid));
	chg = bucket_change(b, "default encryption", "set", cur, want);
	json_decref(cur);
	json_decref(want);
	if (!DRY(b->r, b->ch) && !(rc = s3_put_encryption(&b->ce->ctx, b->bucket, alg, kid, bk, err)))
		ap_write_done(b->r, chg);
done:
	s3_encryption_release(&e);
	return rc;
}

static int bucket_public_access(const struct bucket_job *b, const json_t *v, struct errbuf *err)
{
	struct s3_pab p = { -1, -1, -1, -1 }, w;
	struct apply_change *chg;
	json_t *cur = NULL, *want;
	int rc;

	if (!b->exists)
		p.block_public_acls = p.ignore_public_acls = p.block_public_policy = p.restrict_public_buckets = 1;
	w.block_public_acls = json_is_true(json_object_get(v, "BlockPublicAcls"));
	w.ignore_public_acls = json_is_true(json_object_get(v, "IgnorePublicAcls"));
	w.block_public_policy = json_is_true(json_object_get(v, "BlockPublicPolicy"));
	w.restrict_public_buckets = json_is_true(json_object_get(v, "RestrictPublicBuckets"));
	if (b->exists) {
		rc = s3_get_public_access_block(&b->ce->ctx, b->bucket, &p, err);
		if (rc && rc != TK_ENOTFOUND)
			return rc;
	}
	if (p.block_public_acls == w.block_public_acls && p.ignore_public_acls == w.ignore_public_acls &&
	    p.block_public_policy == w.block_public_policy && p.restrict_public_buckets == w.restrict_public_buckets)
		return 0;
	if (p.block_public_acls >= 0)
		cur = json_pack("{s:b, s:b, s:b, s:b}", "BlockPublicAcls", p.block_public_acls == 1,
				"IgnorePublicAcls", p.ignore_public_acls == 1, "BlockPublicPolicy",
				p.block_public_policy == 1, "RestrictPublicBuckets", p.restrict_public_buckets == 1);
	want = json_deep_copy(v);
	chg = bucket_change(b, "public access block", "set", cur, want);
	json_decref(cur);
	json_decref(want);
	if (DRY(b->r, b->ch))
		return 0;
	if ((rc = s3_put_public_access_block(&b->ce->ctx, b->bucket, &w, err)))
		return rc;
	ap_write_done(b->r, chg);
	return 0;
}

/* wo: the planned ObjectOwnership */
static int bucket_ownership(const struct bucket_job *b, const char *wo, struct errbuf *err)
{
	struct apply_change *chg;
	json_t *cur, *want;
	char *o = NULL;
	int rc = 0;

	if (!b->exists) {
		o = xstrdup("BucketOwnerEnforced");
	} else {
		rc = s3_get_ownership_controls(&b->ce->ctx, b->bucket, &o, err);
		if (rc == TK_ENOTFOUND)
			rc = 0;
		else if (rc)
			return rc;
	}
	if (!o || strcmp(o, wo)) {
		cur = o ? json_pack("{s:s}", "ObjectOwnership", o) : NULL;
		want = json_pack("{s:s}", "ObjectOwnership", wo);
		chg = bucket_change(b, "ownership controls", "set", cur, want);
		json_decref(cur);
		json_decref(want);
		if (!DRY(b->r, b->ch) && !(rc = s3_put_ownership_controls(&b->ce->ctx, b->bucket, wo, err)))
			ap_write_done(b->r, chg);
	}
	free(o);
	return rc;
}

/* Lifecycle: trailkeep's rules (ID starting with "Trailkeep") are replaced
 * by the planned ones (a rule the plan no longer has, such as
 * TrailkeepRetention with retention_days = 0, is removed); every other rule
 * is kept as it is. */
static int bucket_lifecycle(const struct bucket_job *b, const json_t *v, struct errbuf *err)
{
	struct buf xml = BUF_INIT_LIMIT(MAX_XML_DOC);
	struct apply_change *chg;
	struct xml_doc d;
	json_t *cur = NULL, *want = NULL, *merged;
	int rc = 0;

	memset(&d, 0, sizeof(d));
	if (b->exists) {
		rc = s3_get_lifecycle(&b->ce->ctx, b->bucket, &d, err);
		if (rc && rc != TK_ENOTFOUND)
			return rc;
		rc = 0;
		if (d.root)
			cur = ap_xml_canon(d.root);
		xml_doc_release(&d);
	}
	merged = apply_lifecycle_merge(cur, json_object_get(v, "Rules"));
	if (!json_array_size(json_object_get(merged, "Rules"))) {
		/* nothing planned and nothing foreign: no configuration at all */
		if (cur && ap_lifecycle_rules_of(cur) > 0) {
			chg = bucket_change(b, "lifecycle", "remove", cur, NULL);
			if (!DRY(b->r, b->ch) && !(rc = delete_lifecycle(&b->ce->ctx, b->bucket, err)))
				ap_write_done(b->r, chg);
		}
		goto done;
	}
	if ((rc = ap_config_xml(&xml, "LifecycleConfiguration", merged))) {
		err_set(err, rc, "bucket '%s' lifecycle configuration is too large", b->bucket);
		goto done;
	}
	if (!(want = ap_xml_text_canon(buf_cstr(&xml), err))) {
		rc = TK_EFAIL;
		goto done;
	}
	if (!cur || !json_equal(cur, want)) {
		chg = bucket_change(b, "lifecycle", "set", cur, want);
		if (!DRY(b->r, b->ch) && !(rc = s3_put_lifecycle(&b->ce->ctx, b->bucket, buf_cstr(&xml), err)))
			ap_write_done(b->r, chg);
	}
done:
	json_decref(merged);
	json_decref(cur);
	json_decref(want);
	buf_release(&xml);
	return rc;
}

/* The settings of one bucket from a plan settings object.  A bucket that
 * does not exist yet (dry run) is compared with what S3 gives a new bucket:
 * versioning on only with object lock, public access block on, ACLs
 * disabled (BucketOwnerEnforced), SSE-S3 default encryption. */
int ap_converge_bucket_settings(struct central *ce, struct run *r, struct changes *ch, const char *bucket,
				bool exists, bool new_locked, const json_t *settings, const char *kms_key_arn,
				struct errbuf *err)
{
	const struct bucket_job b = { ce, r, ch, bucket, exists };
	const json_t *v;
	const char *wo;
	int rc;

	if ((v = json_object_get(settings, "Versioning")) && (rc = bucket_versioning(&b, new_locked, v, err)))
		return rc;
	v = json_array_get(json_object_get(json_object_get(settings, "ServerSideEncryptionConfiguration"),
					   "Rules"), 0);
	if (v && (rc = bucket_encryption(&b, v, kms_key_arn, err)))
		return rc;
	if ((v = json_object_get(settings, "PublicAccessBlockConfiguration")) &&
	    (rc = bucket_public_access(&b, v, err)))
		return rc;
	v = json_array_get(json_object_get(json_object_get(settings, "OwnershipControls"), "Rules"), 0);
	wo = json_string_value(json_object_get(v, "ObjectOwnership"));
	if (wo && (rc = bucket_ownership(&b, wo, err)))
		return rc;
	if ((v = json_object_get(settings, "LifecycleConfiguration")))
		return bucket_lifecycle(&b, v, err);
	return 0;
}

int ap_converge_object_lock(struct central *ce, struct run *r, struct changes *ch, struct errbuf *err)
{
	const struct tk_config *c = r->cfg;
	const char *mode = c->object_lock == TK_LOCK_COMPLIANCE ? "COMPLIANCE" :
			   c->object_lock == TK_LOCK_GOVERNANCE ? "GOVERNANCE" : NULL;
	struct s3_object_lock l;
	struct apply_change *chg;
	json_t *cur, *want;
	char *subject;
	int rc = 0;

	memset(&l, 0, sizeof(l));
	if (ce->bucket_exists && !ce->bucket_created) {
		rc = s3_get_object_lock(&ce->ctx, ce->bucket, &l, err);
		if (rc == TK_ENOTFOUND)
			rc = 0;
		else if (rc)
			return rc;
	} else {
		l.enabled = mode != NULL;   /* created with it (or will be) */
	}
	if (!mode && !l.enabled)
		goto done;
	if (!mode) {
		ap_add_warning(ch, xasprintf("bucket '%s' has object lock enabled but the config says "
							   "object_lock = none: object lock cannot be turned off",
							   ce->bucket));
		if (!l.mode)
			goto done;
		/* the default retention converges to none (objects already
		 * written keep theirs) */
		subject = xasprintf("bucket '%s' object lock retention", ce->bucket);
		cur = json_pack("{s:s, s:I}", "Mode", l.mode, l.days ? "Days" : "Years",
				(json_int_t)(l.days ? l.days : l.years));
		chg = ap_add_change(ch, ce->account, subject, "remove", cur, NULL, false);
		json_decref(cur);
		free(subject);
		if (!DRY(r, ch)) {
			if ((rc = s3_put_object_lock(&ce->ctx, ce->bucket, NULL, 0, err)))
				goto done;
			ap_write_done(r, chg);
		}
		goto done;
	}
	if (!l.enabled) {
		ap_add_warning(ch, xasprintf("bucket '%s' was created without object lock but the config asks for "
					  "%s:%d: object lock can only be chosen when a bucket is created "
					  "(create a new bucket to get it)", ce->bucket, mode, c->object_lock_days));
		goto done;
	}
	if (l.mode && !strcmp(l.mode, mode) && l.days == c->object_lock_days && l.years == 0)
		goto done;
	subject = xasprintf("bucket '%s' object lock retention", ce->bucket);
	cur = l.mode ? json_pack("{s:s, s:I}", "Mode", l.mode, l.days ? "Days" : "Years",
				 (json_int_t)(l.days ? l.days : l.years)) : NULL;
	want = json_pack("{s:s, s:i}", "Mode", mode, "Days", c->object_lock_days);
	chg = ap_add_change(ch, ce->account, subject, "set", cur, want, false);
	json_decref(cur);
	json_decref(want);
	free(subject);
	if (!DRY(r, ch)) {
		if ((rc = s3_put_object_lock(&ce->ctx, ce->bucket, mode, c->object_lock_days, err)))
			goto done;
		ap_write_done(r, chg);
	}
done:
	s3_object_lock_release(&l);
	return rc;
}

int ap_create_bucket(struct central *ce, struct run *r, struct changes *ch, const char *bucket, bool lock,
		     struct errbuf *err)
{
	char *subject = xasprintf("bucket '%s'", bucket);
	json_t *want = json_pack("{s:s, s:s, s:b}", "Account", ce->account, "Region", r->cfg->home_region,
				 "ObjectLockEnabled", lock);
	struct apply_change *chg = ap_add_change(ch, ce->account, subject, "create", NULL, want, false);
	int rc = 0;

	json_decref(want);
	free(subject);
	if (DRY(r, ch))
		return 0;
	rc = s3_create_bucket(&ce->ctx, bucket, r->cfg->home_region, lock, err);
	/* a CreateBucket whose reply was lost: the retry finds the bucket made
	 * (outside us-east-1 S3 says BucketAlreadyOwnedByYou; in us-east-1 it
	 * answers 200).  The preflight found no bucket, so it is this run's (the
	 * read-back compares whatever it is with the plan) */
	if (rc && aws_error_is(&ce->ctx.last_error, "BucketAlreadyOwnedByYou"))
		rc = 0;
	if (rc)
		return rc;
	ap_write_done(r, chg);
	return 0;
}

int ap_converge_logging(struct central *ce, struct run *r, struct changes *ch, const json_t *settings,
			struct errbuf *err)
{
	const json_t *le = json_object_get(json_object_get(settings, "BucketLoggingStatus"), "LoggingEnabled");
	const char *wb = json_string_value(json_object_get(le, "TargetBucket"));
	const char *wp = json_string_value(json_object_get(le, "TargetPrefix"));
	char *tb = NULL, *tp = NULL, *subject = NULL;
	struct apply_change *chg;
	json_t *cur = NULL, *want;
	int rc = 0;

	if (!wp)
		wp = "";
	if (ce->bucket_exists && !ce->bucket_created &&
	    (rc = s3_get_logging(&ce->ctx, ce->bucket, &tb, &tp, err)))
		return rc;
	if (!wb) {
		/* no access_log_bucket: logging converges to off */
		if (!tb)
			goto done;
		subject = xasprintf("bucket '%s' access logging", ce->bucket);
		cur = json_pack("{s:s, s:s}", "TargetBucket", tb, "TargetPrefix", tp ? tp : "");
		chg = ap_add_change(ch, ce->account, subject, "remove", cur, NULL, false);
		json_decref(cur);
		if (!DRY(r, ch)) {
			if ((rc = s3_put_logging(&ce->ctx, ce->bucket, NULL, NULL, err)))
				goto done;
			ap_write_done(r, chg);
		}
		goto done;
	}
	if (tb && !strcmp(tb, wb) && !strcmp(tp ? tp : "", wp))
		goto done;
	subject = xasprintf("bucket '%s' access logging", ce->bucket);
	if (tb)
		cur = json_pack("{s:s, s:s}", "TargetBucket", tb, "TargetPrefix", tp ? tp : "");
	want = json_pack("{s:s, s:s}", "TargetBucket", wb, "TargetPrefix", wp);
	chg = ap_add_change(ch, ce->account, subject, "set", cur, want, false);
	json_decref(cur);
	json_decref(want);
	if (!DRY(r, ch)) {
		if ((rc = s3_put_logging(&ce->ctx, ce->bucket, wb, wp, err)))
			goto done;
		ap_write_done(r, chg);
	}
done:
	free(tb);
	free(tp);
	free(subject);
	return rc;
}

/* The principal ARN a bucket policy sees for the caller (aws:PrincipalArn):
 * the role behind an assumed-role session, else the ARN itself.  NULL when
 * it cannot be told.  Caller frees. */
static char *principal_arn(const char *partition, const char *arn)
{
	char acct[TK_ACCOUNT_ID_LEN + 1];
	const char *p, *role, *slash;
	size_t n;

	if (!arn)
		return NULL;
	p = strstr(arn, ":sts::");
	if (!p || !(role = strstr(p, ":assumed-role/")))
		return strncmp(arn, "arn:", 4) ? NULL : xstrdup(arn);
	n = (size_t)(role - (p + 6));
	if (n != TK_ACCOUNT_ID_LEN)
		return NULL;
	memcpy(acct, p + 6, n);
	acct[n] = '\0';
	role += strlen(":assumed-role/");
	slash = strchr(role, '/');
	return xasprintf("arn:%s:iam::%s:role/%.*s", partition, acct, (int)(slash ? slash - role : (long)strlen(role)),
			 role);
}

/* Apply in the central account with the caller's own credentials (not the
 * assume role): will the planned bucket policy let the caller change it the
 * next time?  A warning naming the statement and the config key, not an
 * error: this run still works (the current policy decides it). */
void ap_warn_lockout(struct central *ce, struct run *r, struct changes *ch, const json_t *bpol)
{
	struct policy_context *pc;
	struct policy_request req;
	struct policy_result res;
	struct errbuf e;
	char *who, *bucket_arn;

	if (strcmp(r->caller, ce->account) || !(who = principal_arn(r->partition, r->caller_arn)))
		return;
	if (strstr(who, ":root")) {   /* the owner's root may always change the policy */
		free(who);
		return;
	}
	bucket_arn = xasprintf("arn:%s:s3:::%s", r->partition, ce->bucket);
	pc = policy_context_new();
	memset(&req, 0, sizeof(req));
	req.principal.kind = PRINCIPAL_AWS;
	req.principal.arn = who;
	req.principal.account = ce->account;
	req.action = "s3:PutBucketPolicy";
	req.resource = bucket_arn;
	req.context = pc;
	err_clear(&e);
	if (!policy_context_add(pc, "aws:PrincipalArn", who, &e) &&
	    !policy_context_add(pc, "aws:PrincipalAccount", ce->account, &e) &&
	    !policy_context_add(pc, "aws:SecureTransport", "true", &e) &&
	    !policy_eval(&res, bpol, &req, &e) && res.decision == POLICY_DENY)
		ap_add_warning(ch, xasprintf("bucket '%s' policy: statement '%s' denies s3:PutBucketPolicy to '%s', "
					  "who runs this apply: the next apply that changes the policy will fail; add it to "
					  "[central] apply_principals of %s (or run apply as role/%s)",
					  ce->bucket, res.sid[0] ? res.sid : "without Sid", who, r->cfg->path,
					  r->cfg->assume_role));
	policy_context_free(pc);
	free(bucket_arn);
	free(who);
}
