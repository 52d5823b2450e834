/* doctor_check_store.c: the checks of one cell on where the trail writes:
 * the bucket policy, the KMS key (state, region, policy), the bucket
 * (existence, owner, region), the region's opt-in (see doctor.h). */
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

static void add_trail_ctx(struct policy_context *pc, struct cellctx *x, bool s3)
{
	struct errbuf e;

	policy_context_add(pc, "aws:SourceArn", x->t->arn, &e);
	policy_context_add(pc, "aws:SourceAccount", x->t->owner, &e);
	policy_context_add(pc, "aws:SecureTransport", "true", &e);
	if (s3)
		policy_context_add(pc, "s3:x-amz-acl", "bucket-owner-full-control", &e);
	else
		policy_context_add(pc, "kms:EncryptionContext:aws:cloudtrail:arn", x->t->arn, &e);
}

/* A denying statement apply does not own (apply keeps those): it has to go
 * by hand.  The fix diff without it and the command (what: "bucket 'B'" or
 * "key 'K'").  1 when so, 0 when apply can fix the policy. */
static int fix_foreign_deny(struct doctor_cell *c, const json_t *doc, const struct policy_result *res,
			    const char *file, const char *what, const char *command)
{
	json_t *m, *sts;

	if (res->decision != POLICY_DENY || res->statement < 0 ||
	    dr_sid_owned(json_array_get(json_object_get(doc, "Statement"), (size_t)res->statement)))
		return 0;
	m = json_deep_copy(doc);
	sts = json_object_get(m, "Statement");
	if (json_is_array(sts))
		json_array_remove(sts, (size_t)res->statement);
	dr_fix_diff_docs(c, doc, m, true, file);
	json_decref(m);
	dr_set_fix(c, "remove statement %s%s%s from the policy of %s (trailkeep apply keeps statements it does not "
		   "own): %s", res->sid[0] ? "'" : "", res->sid[0] ? res->sid : "without Sid", res->sid[0] ? "'" : "",
		   what, command);
	return 1;
}

/* The fix is apply: with the plan's policy (plan_path) and when with_diff,
 * the diff of what apply would make of the current policy. */
static void fix_by_apply(struct dstate *st, struct doctor_cell *c, const json_t *cur, const char *plan_path,
			 bool with_diff)
{
	const json_t *want = dr_plan_doc(st, plan_path);

	if (want && with_diff) {
		json_t *m = dr_merge_policy(cur, want);

		if (m)
			dr_fix_diff_docs(c, cur, m, true, plan_path);
		json_decref(m);
	}
	dr_fix_apply(st, c, NULL);
}

int dr_check_bucket_policy(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	struct res_cache *r = dr_bucket_policy(st, x->bucket);
	const char *names[] = { "PutBucketPolicy", "DeleteBucketPolicy" };
	const char *match[] = { x->bucket };
	int which;

	if (r->rc == TK_ENOTFOUND && r->region && !strcmp(r->region, "NoSuchBucketPolicy")) {
		dr_ev(c, "s3 GetBucketPolicy '%s': NoSuchBucketPolicy: the bucket has no policy, so CloudTrail may not write",
		   x->bucket);
		dr_find_culprit(st, c, config_central_account(cfg), cfg->home_region, names + 1, 1, match, 1);
		c->cause = DC_BUCKET_POLICY_DENIES;
		if (dr_plan_doc(st, "central/bucket-policy.json"))
			dr_fix_diff_docs(c, NULL, dr_plan_doc(st, "central/bucket-policy.json"), true,
				      "central/bucket-policy.json");
		dr_fix_apply(st, c, NULL);
		return 1;
	}
	if (r->rc) {
		/* a missing or foreign bucket was explained by check_bucket before
		 * this; any other failure (denied included) leaves the policy
		 * unchecked: never "every check passed" */
		dr_ev(c, "s3 GetBucketPolicy '%s': not checked: %s", x->bucket, r->msg);
		dr_incomplete(x, r->msg);
		return 0;
	}
	for (which = 0; which < 2; which++) {
		struct policy_context *pc = policy_context_new();
		struct policy_request req;
		struct policy_result res;
		struct errbuf e;
		char *key = dr_cell_key(x, which == 1);
		char *resource = xasprintf("arn:%s:s3:::%s/%s", cfg->partition ? cfg->partition : "aws",
					   x->bucket, key);
		int rc;

		if (which == 1 && !cfg->log_file_validation) {
			policy_context_free(pc);
			free(key);
			free(resource);
			break;
		}
		add_trail_ctx(pc, x, true);
		memset(&req, 0, sizeof(req));
		req.principal.kind = PRINCIPAL_SERVICE;
		req.principal.arn = "cloudtrail.amazonaws.com";
		req.action = "s3:PutObject";
		req.resource = resource;
		req.context = pc;
		err_clear(&e);
		rc = policy_eval(&res, r->doc, &req, &e);
		policy_context_free(pc);
		if (rc) {
			dr_ev(c, "bucket policy of '%s' cannot be evaluated: %s", x->bucket, e.msg);
			dr_incomplete(x, e.msg);
			free(key);
			free(resource);
			return 0;
		}
		if (res.decision == POLICY_ALLOW) {
			dr_ev(c, "bucket policy of '%s' allows cloudtrail.amazonaws.com s3:PutObject on '%s' (%s)",
			   x->bucket, resource, res.explain);
			free(key);
			free(resource);
			continue;
		}
		dr_ev(c, "bucket policy of '%s' %s cloudtrail.amazonaws.com s3:PutObject on '%s' with aws:SourceArn '%s': %s",
		   x->bucket, res.decision == POLICY_DENY ? "explicitly denies" : "does not allow", resource,
		   x->t->arn, res.explain);
		if (res.decision == POLICY_DENY)
			dr_ev(c, "denying statement: %s%s%s (index %d)", res.sid[0] ? "'" : "",
			   res.sid[0] ? res.sid : "without Sid", res.sid[0] ? "'" : "", res.statement);
		else if (res.statement >= 0)
			dr_ev(c, "missing allow: the closest statement is %s%s%s (index %d)", res.sid[0] ? "'" : "",
			   res.sid[0] ? res.sid : "without Sid", res.sid[0] ? "'" : "", res.statement);
		else
			dr_ev(c, "missing allow: no statement allows CloudTrail to write this prefix");
		free(key);
		free(resource);
		/* a policy exists: its last change was a PutBucketPolicy */
		dr_find_culprit(st, c, config_central_account(cfg), cfg->home_region, names, 1, match, 1);
		c->cause = DC_BUCKET_POLICY_DENIES;
		{
			char *what = xasprintf("bucket '%s'", x->bucket);
			char *cmd = xasprintf("aws s3api put-bucket-policy --bucket %s --policy file://FIXED.json",
					      x->bucket);
			int hand = fix_foreign_deny(c, r->doc, &res, "bucket-policy.json", what, cmd);

			free(what);
			free(cmd);
			if (hand)
				return 1;
		}
		fix_by_apply(st, c, r->doc, "central/bucket-policy.json", !strcmp(x->bucket, cfg->bucket));
		return 1;
	}
	return 0;
}

static int key_bucket_regions(struct cellctx *x, const char *kid, const char *kregion);
/* The trail's key is not the one the config's alias names (have: the
 * trail's key ARN, NULL for SSE-S3).  1 when that is the cause. */
static int key_changed(struct cellctx *x, const char *have)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	const char *names[] = { "UpdateTrail", "CreateTrail" };
	const char *match[2];
	struct res_cache *want;

	if (!cfg->kms_alias || !*cfg->kms_alias)
		return 0;
	want = dr_key_desc(st, cfg->kms_alias);
	if (want->rc < 0 || !want->key.arn) {
		dr_ev(c, "kms DescribeKey '%s' (the configured key): %s", cfg->kms_alias,
		   want->rc == TK_ENOTFOUND ? "NotFoundException" : want->msg);
		return 0;
	}
	if (have && !strcmp(have, want->key.arn))
		return 0;
	if (have)
		dr_ev(c, "the trail encrypts with key '%s', but the config's %s is key '%s': logs written since the "
		   "change need Decrypt on the other key (decrypt_principals have it on the configured one)", have,
		   cfg->kms_alias, want->key.arn);
	else
		dr_ev(c, "the trail writes without a KMS key (SSE-S3), but the config asks for %s ('%s')", cfg->kms_alias,
		   want->key.arn);
	match[0] = x->t->arn;
	match[1] = cfg->trail_name;
	dr_find_culprit(st, c, x->t->owner, x->t->home, names, 2, match, 2);
	c->cause = DC_KMS_KEY_CHANGED;
	dr_trail_settings_diff(x, want->key.arn);
	dr_fix_apply(st, c, NULL);
	return 1;
}

/* The key policy (doc) against CloudTrail's kms:GenerateDataKey for this
 * trail; r: the key as described. */
static int key_policy_check(struct cellctx *x, struct res_cache *r, struct res_cache *pol, const char *kid,
			    const char *kregion, const char *const *match, size_t nmatch)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	struct policy_context *pc = policy_context_new();
	struct policy_request req;
	struct policy_result res;
	struct errbuf e;
	int rc;

	add_trail_ctx(pc, x, false);
	memset(&req, 0, sizeof(req));
	req.principal.kind = PRINCIPAL_SERVICE;
	req.principal.arn = "cloudtrail.amazonaws.com";
	req.action = "kms:GenerateDataKey";
	req.resource = r->key.arn ? r->key.arn : kid;
	req.context = pc;
	err_clear(&e);
	rc = policy_eval(&res, pol->doc, &req, &e);
	policy_context_free(pc);
	if (rc) {
		dr_ev(c, "key policy of '%s' cannot be evaluated: %s", kid, e.msg);
		dr_incomplete(x, e.msg);
		return 0;
	}
	if (res.decision == POLICY_ALLOW) {
		dr_ev(c, "key policy allows cloudtrail.amazonaws.com kms:GenerateDataKey with encryption context "
		   "aws:cloudtrail:arn '%s' (%s)", x->t->arn, res.explain);
		return 0;
	}
	dr_ev(c, "key policy of '%s' %s cloudtrail.amazonaws.com kms:GenerateDataKey with encryption context "
	   "aws:cloudtrail:arn '%s': %s", r->key.arn ? r->key.arn : kid,
	   res.decision == POLICY_DENY ? "explicitly denies" : "does not allow", x->t->arn, res.explain);
	if (res.statement >= 0)
		dr_ev(c, "%s statement: %s%s%s (index %d)", res.decision == POLICY_DENY ? "denying" : "closest",
		   res.sid[0] ? "'" : "", res.sid[0] ? res.sid : "without Sid", res.sid[0] ? "'" : "",
		   res.statement);
	{
		const char *names[] = { "PutKeyPolicy" };

		dr_find_culprit(st, c, config_central_account(cfg), kregion, names, 1, match, nmatch);
	}
	c->cause = DC_KMS_POLICY_DENIES;
	{
		const char *karn = r->key.arn ? r->key.arn : kid;
		char *what = xasprintf("key '%s'", karn);
		char *cmd = xasprintf("aws kms put-key-policy --key-id %s --policy-name default "
				      "--policy file://FIXED.json", karn);
		int hand = fix_foreign_deny(c, pol->doc, &res, "kms-key-policy.json", what, cmd);

		free(what);
		free(cmd);
		if (hand)
			return 1;
	}
	fix_by_apply(st, c, pol->doc, "central/kms-key-policy.json", true);
	return 1;
}

int dr_check_kms(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	const char *kid = x->t->trail.kms_key_id;
	struct res_cache *r, *pol;
	char kregion[64];
	const char *match[3];
	size_t nmatch = 0;

	if (!kid || !*kid) {
		dr_ev(c, "the trail has no KMS key (SSE-S3)");
		return key_changed(x, NULL);
	}
	r = dr_key_desc(st, kid);
	match[nmatch++] = kid;
	if (r->rc == TK_ENOTFOUND) {
		const char *names[] = { "ScheduleKeyDeletion", "DeleteAlias" };

		dr_ev(c, "kms DescribeKey '%s': NotFoundException: the key is gone; logs it encrypted cannot be "
		   "decrypted any more", kid);
		dr_find_culprit(st, c, config_central_account(cfg), dr_arn_region(kid, kregion, sizeof(kregion))[0]
			     ? kregion : cfg->home_region, names, 2, match, nmatch);
		c->cause = DC_KMS_KEY_MISSING;
		dr_fix_apply(st, c, NULL);
		dr_set_fix_note(c, "creates a new key and alias and points the trail at it");
		return 1;
	}
	if (r->rc < 0) {
		dr_ev(c, "kms DescribeKey '%s': %s", kid, r->msg);
		dr_incomplete(x, r->msg);
		return 0;
	}
	if (r->key.key_id)
		match[nmatch++] = r->key.key_id;
	if (r->key.arn)
		match[nmatch++] = r->key.arn;
	dr_arn_region(r->key.arn ? r->key.arn : kid, kregion, sizeof(kregion));
	dr_ev(c, "kms DescribeKey '%s': KeyState %s", r->key.arn ? r->key.arn : kid, r->key.state ? r->key.state : "?");
	if (r->key.state && !strcmp(r->key.state, "Disabled")) {
		const char *names[] = { "DisableKey" };

		dr_find_culprit(st, c, config_central_account(cfg), kregion, names, 1, match, nmatch);
		c->cause = DC_KMS_KEY_DISABLED;
		dr_fix_apply(st, c, NULL);
		dr_set_fix_note(c, "enables the key");
		return 1;
	}
	if (r->key.state && !strcmp(r->key.state, "PendingDeletion")) {
		const char *names[] = { "ScheduleKeyDeletion" };
		char when[32] = "";

		if (r->key.deletion_date) {
			tk_format_iso(r->key.deletion_date, when, sizeof(when));
			dr_ev(c, "kms DescribeKey '%s': DeletionDate %s (the key and every log it encrypted become unreadable then)",
			   r->key.arn ? r->key.arn : kid, when);
		}
		dr_find_culprit(st, c, config_central_account(cfg), kregion, names, 1, match, nmatch);
		c->cause = DC_KMS_KEY_PENDING_DELETION;
		dr_fix_apply(st, c, NULL);
		dr_set_fix_note(c, "cancels the deletion and enables the key");
		return 1;
	}
	if (r->key.state && strcmp(r->key.state, "Enabled")) {
		dr_ev(c, "the key is not usable in state %s", r->key.state);
		c->cause = DC_KMS_KEY_DISABLED;
		dr_fix_apply(st, c, NULL);
		return 1;
	}
	if (key_bucket_regions(x, r->key.arn ? r->key.arn : kid, kregion))
		return 1;
	if (key_changed(x, r->key.arn ? r->key.arn : kid))
		return 1;
	pol = dr_key_policy(st, r->key.arn ? r->key.arn : kid);
	if (pol->rc || !pol->doc) {
		dr_ev(c, "kms GetKeyPolicy '%s': %s", kid, pol->msg);
		dr_incomplete(x, pol->msg);
		return 0;
	}
	return key_policy_check(x, r, pol, kid, kregion, match, nmatch);
}

/* The bucket the trail writes to exists and belongs to the central account
 * (bucket_missing, bucket_foreign_owner).  Where it is matters only with a
 * KMS key (dr_check_kms): CloudTrail writes to a bucket in any region. */
int dr_check_bucket(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	const char *path = st->o->config_path ? st->o->config_path : cfg->path;
	struct res_cache *r;

	if (strcmp(x->bucket, cfg->bucket)) {
		/* the trail writes elsewhere: that is the cause (bucket_changed), not
		 * who owns the other bucket or where it is */
		dr_ev(c, "the trail's bucket '%s' is not the configured '%s': not checked", x->bucket, cfg->bucket);
		return 0;
	}
	r = dr_bucket_location(st, x->bucket);
	if (r->rc == TK_ENOTFOUND) {
		const char *names[] = { "DeleteBucket" };
		const char *match[] = { x->bucket };

		dr_ev(c, "s3 HeadBucket '%s': 404 Not Found: the bucket does not exist", x->bucket);
		dr_find_culprit(st, c, config_central_account(cfg), cfg->home_region, names, 1, match, 1);
		c->cause = DC_BUCKET_MISSING;
		dr_fix_apply(st, c, NULL);
		return 1;
	}
	if (r->rc == TK_EAUTH) {
		dr_ev(c, "s3 HeadBucket '%s' from the central account %s: 403: the bucket exists but belongs to another account",
		   x->bucket, config_central_account(cfg));
		dr_ev(c, "CloudTrail would write this organization's logs into a bucket someone else owns");
		c->cause = DC_BUCKET_FOREIGN_OWNER;
		dr_set_fix(c, "choose a bucket name the central account owns in [central] bucket of %s, then trailkeep apply %s",
			path, path);
		return 1;
	}
	if (r->rc) {
		dr_ev(c, "s3 HeadBucket '%s': %s", x->bucket, r->msg);
		dr_incomplete(x, r->msg);
		return 0;
	}
	dr_ev(c, "s3 HeadBucket '%s': exists, owned by the central account %s, region %s", x->bucket,
	   config_central_account(cfg), r->region ? r->region : "?");
	return 0;
}

/* The key and the bucket are in different regions: CloudTrail cannot use the
 * key.  Whose fault depends on which one left home_region. */
static int key_bucket_regions(struct cellctx *x, const char *kid, const char *kregion)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	const char *path = st->o->config_path ? st->o->config_path : cfg->path;
	struct res_cache *loc = dr_bucket_location(st, x->bucket);
	const char *bregion = loc->rc == 0 && loc->region && *loc->region ? loc->region : NULL;

	if (!bregion || !kregion[0] || !strcmp(kregion, bregion))
		return 0;
	dr_ev(c, "the key '%s' is in %s but the bucket '%s' is in %s: CloudTrail needs the key in the bucket's region",
	   kid, kregion, x->bucket, bregion);
	if (strcmp(bregion, cfg->home_region)) {
		const char *names[] = { "CreateBucket" };
		const char *match[] = { x->bucket };

		dr_ev(c, "the bucket is not in home_region %s: it was created again in %s", cfg->home_region, bregion);
		dr_find_culprit(st, c, config_central_account(cfg), bregion, names, 1, match, 1);
		c->cause = DC_BUCKET_WRONG_REGION;
		dr_set_fix(c, "move the bucket back: copy its objects out, delete it, then trailkeep apply %s (creates it in "
			"%s); or set home_region = %s and run trailkeep apply %s (a key in %s)", path, cfg->home_region,
			bregion, path, bregion);
		return 1;
	}
	c->cause = DC_KMS_KEY_WRONG_REGION;
	dr_set_fix(c, "trailkeep apply %s (points the trail at the key '%s' in %s)", path,
		cfg->kms_alias ? cfg->kms_alias : "of [central] kms_alias", cfg->home_region);
	return 1;
}

/* The account has the cell's region enabled (opt-in regions start disabled;
 * CloudTrail does not run in a disabled region, so a multi-region trail
 * simply has nothing there). */
int dr_check_region(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	const char *path = st->o->config_path ? st->o->config_path : cfg->path;
	const char *global = endpoint_global_region(cfg->partition ? cfg->partition : "aws", "account");
	struct aws_ctx *ctx;
	struct errbuf e;
	char *status = NULL;
	int rc;

	err_clear(&e);
	ctx = dr_ctx_for(st, c->account, global, &e);
	if (!ctx) {
		dr_ev(c, "account GetRegionOptStatus '%s' in %s: not checked: %s", c->region, c->account, e.msg);
		dr_incomplete(x, e.msg);
		return 0;
	}
	st->calls++;
	rc = account_region_opt_status(ctx, c->region, &status, &e);
	if (rc) {
		/* the other checks still run (one may explain the cell); if none
		 * does, the cell is unexamined, not "unknown" */
		dr_ev(c, "account GetRegionOptStatus '%s' in %s: not checked: %s", c->region, c->account, e.msg);
		dr_incomplete(x, e.msg);
		return 0;
	}
	dr_ev(c, "account GetRegionOptStatus '%s' in %s: %s", c->region, c->account, status);
	if (account_region_usable(status)) {
		free(status);
		return 0;
	}
	if (!strcmp(status, "ENABLING")) {
		dr_ev(c, "the region is being enabled: CloudTrail starts there when it is ENABLED");
	} else {
		const char *names[] = { "DisableRegion" };
		const char *match[] = { c->region };

		dr_ev(c, "the region is not enabled for account %s: no trail runs there, nothing is delivered",
		   c->account);
		dr_find_culprit(st, c, c->account, global, names, 1, match, 1);
	}
	c->cause = DC_REGION_NOT_ENABLED;
	dr_set_fix(c, "aws account enable-region --region-name %s (as account %s), or remove %s from the regions of %s",
		c->region, c->account, c->region, path);
	free(status);
	return 1;
}
