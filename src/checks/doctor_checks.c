/* doctor_checks.c: the checks of one cell on the trail itself: existence,
 * logging, delivery error, settings, prefix, event selectors, global
 * events, log file validation, organization membership and trusted access
 * (see doctor.h).  Each returns 1 when it explains the cell. */
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

/* ---- the checks ----------------------------------------------------------- */


void dr_incomplete(struct cellctx *x, const char *msg)
{
	if (!x->incomplete)
		snprintf(x->incomplete_msg, sizeof(x->incomplete_msg), "%s", msg);
	x->incomplete = true;
}

char *dr_cell_key(struct cellctx *x, bool digest)
{
	const struct tk_config *cfg = x->st->o->cfg;
	const struct doctor_cell *c = x->c;
	struct digest_loc loc;
	char *p = NULL;
	int rc;

	memset(&loc, 0, sizeof(loc));
	loc.prefix = x->prefix;
	loc.org_id = cfg->mode == TK_MODE_ORGANIZATION ? cfg->org_id : NULL;
	loc.account = c->account;
	loc.region = c->region;
	loc.trail = cfg->trail_name;
	loc.home_region = cfg->home_region;
	/* now is bounded (cli_now), so the calendar time exists */
	rc = digest ? digest_object_key(&p, &loc, x->st->o->now) :
		log_object_key(&p, &loc, x->st->o->now, "doctorcheck0000");
	return rc ? xstrdup("?") : p;
}

/* 1: explained, 0: not, (for the trail step) -1: stop, cell unexamined */
int dr_check_trail(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	struct trail_cache *t = dr_trail_get(st, c->account);
	const char *tn[] = { "DeleteTrail" };
	const char *sn[] = { "StopLogging" };
	const char *match[2];

	x->t = t;
	match[0] = t->arn;
	match[1] = st->o->cfg->trail_name;
	if (t->rc == TK_ENOTFOUND) {
		dr_ev(c, "cloudtrail GetTrail '%s' in %s %s: TrailNotFoundException", t->arn, t->owner, t->home);
		if (dr_find_culprit(st, c, t->owner, t->home, tn, 1, match, 2) > 0)
			c->cause = DC_TRAIL_DELETED;
		else
			c->cause = DC_TRAIL_MISSING;
		if (json_object_get(dr_plan_trail(st, c->account), "CreateTrail"))
			dr_fix_diff_docs(c, NULL, json_object_get(dr_plan_trail(st, c->account), "CreateTrail"), false,
				      "trail.json");
		dr_fix_apply(st, c, NULL);
		return 1;
	}
	if (t->rc) {
		dr_ev(c, "cloudtrail GetTrail '%s': %s", t->arn, t->msg);
		c->error = xasprintf("cannot read trail '%s': %s", t->arn, t->msg);
		return -1;
	}
	dr_ev(c, "cloudtrail GetTrail '%s': bucket '%s', prefix %s%s%s, multi-region %s, kms key %s",
	   t->arn, t->trail.s3_bucket ? t->trail.s3_bucket : "?", t->trail.s3_prefix ? "'" : "",
	   t->trail.s3_prefix ? t->trail.s3_prefix : "none", t->trail.s3_prefix ? "'" : "",
	   t->trail.multi_region == 1 ? "yes" : "no", t->trail.kms_key_id ? t->trail.kms_key_id : "none");
	x->bucket = t->trail.s3_bucket ? t->trail.s3_bucket : st->o->cfg->bucket;
	x->prefix = t->trail.s3_prefix && *t->trail.s3_prefix ? t->trail.s3_prefix : NULL;
	if (dr_trail_status(st, t)) {
		dr_ev(c, "cloudtrail GetTrailStatus '%s': %s", t->arn, t->status_l.msg);
		c->error = xasprintf("cannot read the status of trail '%s': %s", t->arn, t->status_l.msg);
		return -1;
	}
	if (!t->status.is_logging) {
		char when[32] = "";

		if (t->status.stop_logging)
			tk_format_iso(t->status.stop_logging, when, sizeof(when));
		dr_ev(c, "cloudtrail GetTrailStatus '%s': IsLogging false%s%s", t->arn,
		   when[0] ? ", StopLoggingTime " : "", when);
		dr_find_culprit(st, c, t->owner, t->home, sn, 1, match, 2);
		c->cause = DC_TRAIL_NOT_LOGGING;
		dr_fix_apply(st, c, NULL);
		return 1;
	}
	dr_ev(c, "cloudtrail GetTrailStatus '%s': IsLogging true", t->arn);
	if (t->trail.multi_region != 1 && (strcmp(c->region, t->home) || st->o->cfg->multi_region)) {
		const char *un[] = { "UpdateTrail" };

		if (strcmp(c->region, t->home))
			dr_ev(c, "the trail is single-region (home %s): nothing delivers %s", t->home, c->region);
		else
			dr_ev(c, "the trail is single-region (home %s), the config asks for multi-region: no other "
			   "region is logged", t->home);
		dr_find_culprit(st, c, t->owner, t->home, un, 1, match, 2);
		c->cause = DC_TRAIL_REGION_NOT_COVERED;
		dr_fix_apply(st, c, NULL);
		return 1;
	}
	return 0;
}

int dr_check_delivery_error(struct cellctx *x)
{
	struct trail_cache *t = x->t;
	struct doctor_cell *c = x->c;
	const char *v = t->status.latest_delivery_error;
	const char *d = t->status.latest_digest_delivery_error;

	if (v && *v)
		dr_ev(c, "cloudtrail GetTrailStatus '%s': LatestDeliveryError '%s': %s", t->arn, v,
		   doctor_delivery_error_meaning(v));
	if (d && *d)
		dr_ev(c, "cloudtrail GetTrailStatus '%s': LatestDigestDeliveryError '%s': %s", t->arn, d,
		   doctor_delivery_error_meaning(d));
	if (!(v && *v))
		v = d;
	if (!(v && *v)) {
		dr_ev(c, "cloudtrail GetTrailStatus '%s': no LatestDeliveryError, no LatestDigestDeliveryError", t->arn);
		return 0;
	}
	if (dr_delivery_error_deferred(v)) {
		x->deferred_error = v;
		return 0;
	}
	x->c->cause = DC_DELIVERY_ERROR;
	dr_fix_apply(x->st, c, NULL);
	return 1;
}

/* The trail's settings against the plan's.  The plan names the key by its
 * alias ARN: key_arn is what that alias is (NULL: compare as if the trail's
 * own key were the planned one). */
void dr_trail_settings_diff(struct cellctx *x, const char *key_arn)
{
	const json_t *pt = dr_plan_trail(x->st, x->c->account);
	const json_t *want = json_object_get(pt, "CreateTrail");
	json_t *cur;
	const struct ct_trail *t = &x->t->trail;

	if (!want)
		return;
	cur = json_pack("{s:s?, s:s?, s:b, s:b, s:b, s:b, s:s?, s:s?}",
			"Name", t->name, "S3BucketName", t->s3_bucket,
			"IncludeGlobalServiceEvents", t->global_events == 1,
			"IsMultiRegionTrail", t->multi_region == 1,
			"EnableLogFileValidation", t->log_file_validation == 1,
			"IsOrganizationTrail", t->organization == 1,
			"KmsKeyId", t->kms_key_id, "S3KeyPrefix", t->s3_prefix);
	if (!cur)
		return;
	{
		/* compare like with like: the plan's KmsKeyId is an alias ARN */
		json_t *w = json_deep_copy(want);

		if (json_object_get(w, "KmsKeyId") && (key_arn || t->kms_key_id))
			json_object_set_new(w, "KmsKeyId", json_string(key_arn ? key_arn : t->kms_key_id));
		dr_fix_diff_docs(x->c, cur, w, false, "trail.json");
		json_decref(w);
	}
	json_decref(cur);
}

int dr_check_prefix(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	const char *want = cfg->key_prefix && *cfg->key_prefix ? cfg->key_prefix : NULL;
	const char *names[] = { "UpdateTrail", "CreateTrail" };
	const char *match[2];

	match[0] = x->t->arn;
	match[1] = cfg->trail_name;
	if (strcmp(x->bucket, cfg->bucket)) {
		dr_ev(c, "the trail writes to bucket '%s', the config says '%s'", x->bucket, cfg->bucket);
		dr_find_culprit(st, c, x->t->owner, x->t->home, names, 2, match, 2);
		c->cause = DC_BUCKET_CHANGED;
		dr_trail_settings_diff(x, NULL);
		dr_fix_apply(st, c, NULL);
		return 1;
	}
	if ((want == NULL) != (x->prefix == NULL) || (want && strcmp(want, x->prefix))) {
		dr_ev(c, "the trail's S3KeyPrefix is %s%s%s, the config says %s%s%s: logs land under '%s%sAWSLogs/...'",
		   x->prefix ? "'" : "", x->prefix ? x->prefix : "none", x->prefix ? "'" : "",
		   want ? "'" : "", want ? want : "none", want ? "'" : "",
		   x->prefix ? x->prefix : "", x->prefix ? "/" : "");
		dr_find_culprit(st, c, x->t->owner, x->t->home, names, 2, match, 2);
		c->cause = DC_PREFIX_CHANGED;
		dr_trail_settings_diff(x, NULL);
		dr_fix_apply(st, c, NULL);
		return 1;
	}
	dr_ev(c, "the trail's bucket and S3KeyPrefix are as configured");
	if ((cfg->mode == TK_MODE_ORGANIZATION) != (x->t->trail.organization == 1)) {
		if (cfg->mode == TK_MODE_ORGANIZATION)
			dr_ev(c, "the trail is not an organization trail: it logs only its own account, under "
			   "'AWSLogs/%s/', not 'AWSLogs/%s/ACCOUNT/'", x->t->owner, cfg->org_id ? cfg->org_id : "ORG");
		else
			dr_ev(c, "the trail is an organization trail: logs land under 'AWSLogs/ORG-ID/%s/', the "
			   "per-account config expects 'AWSLogs/%s/'", c->account, c->account);
		dr_find_culprit(st, c, x->t->owner, x->t->home, names, 2, match, 2);
		c->cause = DC_ORG_PATH_LAYOUT;
		dr_trail_settings_diff(x, NULL);
		dr_fix_apply(st, c, NULL);
		return 1;
	}
	if (cfg->mode == TK_MODE_ORGANIZATION && cfg->org_id && want) {
		size_t lp = strlen(want), lo = strlen(cfg->org_id);

		if (!strcmp(want, cfg->org_id) || (lp > lo && want[lp - lo - 1] == '/' &&
						   !strcmp(want + lp - lo, cfg->org_id))) {
			dr_ev(c, "key_prefix '%s' ends with the organization id: an organization trail adds it again "
			   "('%s/AWSLogs/%s/%s/'), a layout readers and other tools do not expect", want, want,
			   cfg->org_id, c->account);
			c->cause = DC_ORG_PATH_LAYOUT;
			dr_set_fix(c, "remove '%s' from key_prefix in %s, then trailkeep apply %s", cfg->org_id,
				st->o->config_path ? st->o->config_path : cfg->path,
				st->o->config_path ? st->o->config_path : cfg->path);
			return 1;
		}
	}
	return 0;
}

static bool str_in(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

static bool prefix_in(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		const char *p = json_string_value(v);

		if (p && !strncmp(s, p, strlen(p)))
			return true;
	}
	return false;
}

/* Does the selectors document log management events (all of them) and S3
 * data events of bucket b (b NULL: management)? */
bool doctor_selectors_cover(const json_t *doc, const char *b)
{
	const json_t *adv = json_object_get(doc, "AdvancedEventSelectors");
	const json_t *basic = json_object_get(doc, "EventSelectors");
	char *arn = b ? xasprintf("arn:aws:s3:::%s/", b) : NULL;
	bool ok = false;
	size_t i, j;
	json_t *s, *f;

	if (json_array_size(adv)) {
		json_array_foreach(adv, i, s) {
			const json_t *cat = NULL, *type = NULL, *res = NULL, *ro = NULL;

			json_array_foreach(json_object_get(s, "FieldSelectors"), j, f) {
				const char *field = json_string_value(json_object_get(f, "Field"));

				if (!field)
					continue;
				if (!strcmp(field, "eventCategory"))
					cat = json_object_get(f, "Equals");
				else if (!strcmp(field, "resources.type"))
					type = json_object_get(f, "Equals");
				else if (!strcmp(field, "resources.ARN"))
					res = f;
				else if (!strcmp(field, "readOnly"))
					ro = f;
			}
			if (!b) {
				if (str_in(cat, "Management") && !ro)
					ok = true;
			} else if (str_in(cat, "Data") && str_in(type, "AWS::S3::Object")) {
				if (!res || prefix_in(json_object_get(res, "StartsWith"), arn) ||
				    str_in(json_object_get(res, "Equals"), arn))
					ok = true;
			}
		}
	} else if (json_is_array(basic)) {
		json_array_foreach(basic, i, s) {
			const char *rw = json_string_value(json_object_get(s, "ReadWriteType"));

			if (!b) {
				const json_t *inc = json_object_get(s, "IncludeManagementEvents");

				if ((!inc || json_is_true(inc)) && (!rw || !strcmp(rw, "All")))
					ok = true;
			} else {
				json_array_foreach(json_object_get(s, "DataResources"), j, f) {
					const char *ty = json_string_value(json_object_get(f, "Type"));
					const json_t *vals = json_object_get(f, "Values");

					if (ty && !strcmp(ty, "AWS::S3::Object") &&
					    (str_in(vals, "arn:aws:s3") || prefix_in(vals, arn)))
						ok = true;
				}
			}
		}
	} else {
		ok = b == NULL;   /* no selectors: the default, all management events */
	}
	free(arn);
	return ok;
}

int dr_check_selectors(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	struct trail_cache *t = x->t;
	const char *names[] = { "PutEventSelectors" };
	const char *match[2];
	bool bad = false;
	size_t i;

	match[0] = t->arn;
	match[1] = cfg->trail_name;
	if (dr_trail_selectors(st, t)) {
		dr_ev(c, "cloudtrail GetEventSelectors '%s': %s", t->arn, t->sel_l.msg);
		dr_incomplete(x, t->sel_l.msg);
		return 0;
	}
	{
		/* the selectors apply would replace (trail_drift.h: one place) */
		const json_t *planned = dr_plan_trail(st, c->account);
		struct trail_drift d;
		struct errbuf e;

		memset(&d, 0, sizeof(d));
		err_clear(&e);
		if (!planned || trail_drift_compute(planned, &t->trail, t->selectors, NULL, &d, &e)) {
			dr_ev(c, "the event selectors of trail '%s' cannot be compared with the plan%s%s", t->arn,
			   planned ? ": " : "", planned ? e.msg : "");
			dr_incomplete(x, planned ? e.msg : "no plan for the trail");
			trail_drift_release(&d);
			return 0;
		}
		for (i = 0; i < d.n; i++)
			if (d.v[i].kind == TRAIL_DRIFT_SELECTORS) {
				char *line = trail_drift_describe(&d.v[i]);

				dr_ev(c, "cloudtrail GetEventSelectors '%s': %s", t->arn, line);
				free(line);
				bad = true;
			}
		trail_drift_release(&d);
	}
	if (!bad) {
		dr_ev(c, "cloudtrail GetEventSelectors '%s': the selectors are as planned (management events%s)", t->arn,
		   cfg->data_event_buckets.n ? " and configured data events" : "");
		return 0;
	}
	dr_find_culprit(st, c, t->owner, t->home, names, 1, match, 2);
	c->cause = DC_SELECTORS_EXCLUDE;
	{
		const json_t *pt = json_object_get(dr_plan_trail(st, c->account), "PutEventSelectors");

		if (pt) {
			json_t *want = json_deep_copy(pt), *cur = json_deep_copy(t->selectors);

			json_object_del(want, "TrailName");
			json_object_del(cur, "TrailARN");
			dr_fix_diff_docs(c, cur, want, false, "event-selectors.json");
			json_decref(want);
			json_decref(cur);
		}
	}
	dr_fix_apply(st, c, NULL);
	return 1;
}

int dr_check_global(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	struct trail_cache *t = x->t;
	struct aws_ctx *ctx;
	struct ct_trail *list = NULL;
	size_t n = 0, i, nglobal = 0;
	struct errbuf e;
	const char *other = NULL;

	if (cfg->include_global_events && t->trail.global_events != 1) {
		const char *names[] = { "UpdateTrail", "CreateTrail" };
		const char *match[2];

		match[0] = t->arn;
		match[1] = cfg->trail_name;
		dr_ev(c, "the trail has IncludeGlobalServiceEvents false; the config asks for global events");
		dr_find_culprit(st, c, t->owner, t->home, names, 2, match, 2);
		c->cause = DC_GLOBAL_EVENTS_OFF;
		dr_trail_settings_diff(x, NULL);
		dr_fix_apply(st, c, NULL);
		return 1;
	}
	if (!cfg->include_global_events)
		return 0;
	err_clear(&e);
	ctx = dr_ctx_for(st, c->account, cfg->home_region, &e);
	if (!ctx) {
		dr_ev(c, "cloudtrail DescribeTrails in %s: not possible: %s", c->account, e.msg);
		dr_incomplete(x, e.msg);
		return 0;
	}
	st->calls++;
	if (ct_describe_trails(ctx, NULL, 0, true, &list, &n, &e)) {
		dr_ev(c, "cloudtrail DescribeTrails in %s %s: %s", c->account, cfg->home_region, e.msg);
		dr_incomplete(x, e.msg);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (list[i].global_events == 1) {
			nglobal++;
			if (list[i].arn && strcmp(list[i].arn, t->arn))
				other = list[i].arn;
		}
	if (nglobal > 1 && other) {
		dr_ev(c, "cloudtrail DescribeTrails in %s %s: %zu trails record global service events, also '%s'",
		   c->account, cfg->home_region, nglobal, other);
		{
			const char *names[] = { "CreateTrail", "UpdateTrail" };
			const char *slash = strrchr(other, '/');
			const char *match[2];

			match[0] = other;
			match[1] = slash ? slash + 1 : other;
			dr_find_culprit(st, c, c->account, cfg->home_region, names, 2, match, 2);
		}
		c->cause = DC_GLOBAL_EVENTS_DUPLICATED;
		dr_set_fix(c, "aws cloudtrail update-trail --name %s --no-include-global-service-events (in its home region)",
			other);
		ct_trails_free(list, n);
		return 1;
	}
	dr_ev(c, "cloudtrail DescribeTrails in %s %s: one trail records global service events", c->account,
	   cfg->home_region);
	ct_trails_free(list, n);
	return 0;
}

/* Log file validation turned off (validation_disabled): logs still arrive,
 * but no digest proves them unaltered (culprit: UpdateTrail). */
int dr_check_validation(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	struct trail_cache *t = x->t;
	const char *names[] = { "UpdateTrail" };
	const char *match[2];

	if (!st->o->cfg->log_file_validation)
		return 0;
	if (t->trail.log_file_validation == 1) {
		dr_ev(c, "cloudtrail GetTrail '%s': LogFileValidationEnabled true", t->arn);
		return 0;
	}
	dr_ev(c, "cloudtrail GetTrail '%s': LogFileValidationEnabled false: no digest files are written, "
	   "nothing proves the logs unaltered", t->arn);
	match[0] = t->arn;
	match[1] = st->o->cfg->trail_name;
	dr_find_culprit(st, c, t->owner, t->home, names, 1, match, 2);
	c->cause = DC_VALIDATION_DISABLED;
	dr_fix_apply(st, c, NULL);
	return 1;
}

/* ---- organization: membership and CloudTrail's trusted access ------------ */

const struct org_view *dr_org_get(struct dstate *st)
{
	const struct tk_config *cfg = st->o->cfg;
	struct aws_ctx *ctx;
	struct errbuf e;

	if (st->shared_org)
		return st->shared_org;
	if (st->org.accounts_loaded && st->org.access_loaded)
		return &st->org;
	err_clear(&e);
	ctx = dr_ctx_for(st, cfg->management_account, cfg->home_region, &e);
	if (ctx)
		st->calls += 2;
	org_view_load(&st->org, ctx, e.msg, true, true);
	return &st->org;
}

/* account_left_org: the cell's account is not an ACTIVE member. */
static int check_membership(struct cellctx *x, const struct org_view *v, const char *global)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	const char *path = st->o->config_path ? st->o->config_path : cfg->path;
	const char *mgmt = cfg->management_account, *org = cfg->org_id ? cfg->org_id : "?";
	const struct tk_account *ta = config_find_account(cfg, c->account);
	const struct org_account *a;
	char remove[160];

	if (!strcmp(c->account, mgmt))
		return 0;   /* it answers ListAccounts: it is the organization's */
	if (v->accounts_rc) {
		dr_ev(c, "organizations ListAccounts in %s: %s", mgmt, v->accounts_msg);
		dr_incomplete(x, v->accounts_msg);
		return 0;
	}
	a = org_view_find(v, c->account);
	if (a && a->status && !strcmp(a->status, "ACTIVE")) {
		dr_ev(c, "organizations ListAccounts in %s: %s is an ACTIVE member of %s", mgmt, c->account, org);
		return 0;
	}
	if (ta && ta->name)
		snprintf(remove, sizeof(remove), "remove [account %.100s] from %s", ta->name, path);
	else
		snprintf(remove, sizeof(remove), "remove %s from %s", c->account, path);
	c->cause = DC_ACCOUNT_LEFT_ORG;
	if (!a) {
		const char *rn[] = { "RemoveAccountFromOrganization" }, *ln[] = { "LeaveOrganization" };
		const char *match[] = { c->account };

		dr_ev(c, "organizations ListAccounts in %s: %s is not a member of %s: the organization trail no "
		   "longer logs it", mgmt, c->account, org);
		if (dr_find_culprit(st, c, mgmt, global, rn, 1, match, 1) <= 0)
			dr_find_culprit(st, c, c->account, global, ln, 1, NULL, 0);
		dr_set_fix(c, "invite %s back into %s (aws organizations invite-account-to-organization --target "
			"Id=%s,Type=ACCOUNT, then accept the handshake in %s), or %s", c->account, org, c->account,
			c->account, remove);
	} else {
		char status[32];
		size_t i;

		snprintf(status, sizeof(status), "%s", a->status ? a->status : "without a status");
		for (i = 0; status[i]; i++)
			if ((unsigned char)status[i] < 0x20 || status[i] == 0x7f)
				status[i] = '?';
		dr_ev(c, "organizations ListAccounts in %s: %s is %s in %s, not ACTIVE: the organization trail does "
		   "not log it", mgmt, c->account, status, org);
		dr_set_fix(c, "the account is %s (closed or being closed): %s", status, remove);
	}
	return 1;
}

/* org_trusted_access_disabled: member cells stop; the management account's
 * cell is red only where verify reported it. */
static int check_trusted_access(struct cellctx *x, const struct doctor_cell_in *in, const struct org_view *v,
				const char *global)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const char *mgmt = st->o->cfg->management_account;
	const char *names[] = { "DisableAWSServiceAccess" }, *match[] = { ORG_CLOUDTRAIL_PRINCIPAL };

	if (!strcmp(c->account, mgmt) && !(in && in->symptom && strstr(in->symptom, "org_trusted_access_disabled")))
		return 0;
	if (v->access_rc) {
		dr_ev(c, "organizations ListAWSServiceAccessForOrganization in %s: %s", mgmt, v->access_msg);
		dr_incomplete(x, v->access_msg);
		return 0;
	}
	if (v->trusted) {
		dr_ev(c, "organizations ListAWSServiceAccessForOrganization in %s: %s has trusted access", mgmt,
		   ORG_CLOUDTRAIL_PRINCIPAL);
		return 0;
	}
	dr_ev(c, "organizations ListAWSServiceAccessForOrganization in %s: no trusted access for %s: the "
	   "organization trail logs only the management account", mgmt, ORG_CLOUDTRAIL_PRINCIPAL);
	dr_find_culprit(st, c, mgmt, global, names, 1, match, 1);
	c->cause = DC_ORG_TRUSTED_ACCESS_DISABLED;
	dr_fix_apply(st, c, NULL);
	return 1;
}

/* Organization mode: is the account still logged by the organization trail? */
int dr_check_org(struct cellctx *x, const struct doctor_cell_in *in)
{
	const struct tk_config *cfg = x->st->o->cfg;
	const char *global = endpoint_global_region(cfg->partition ? cfg->partition : "aws", "organizations");
	const struct org_view *v;

	if (cfg->mode != TK_MODE_ORGANIZATION || !cfg->management_account[0])
		return 0;
	v = dr_org_get(x->st);
	return check_membership(x, v, global) || check_trusted_access(x, in, v, global);
}
