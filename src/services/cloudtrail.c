/* cloudtrail.c: see cloudtrail.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cloudtrail.h"
#include "banned.h"

#define CT_TARGET "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"
#define CT_MAX_PAGES 100000

static int call(struct aws_ctx *ctx, const char *op, const char *subject, json_t *in, json_t **out,
		struct errbuf *err)
{
	int rc = aws_json_call(ctx, "cloudtrail", CT_TARGET, op, subject, in, out, err);

	json_decref(in);
	return rc;
}

void ct_trail_release(struct ct_trail *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->arn);
	free(t->home_region);
	free(t->s3_bucket);
	free(t->s3_prefix);
	free(t->kms_key_id);
	free(t->cw_log_group_arn);
	free(t->cw_role_arn);
	memset(t, 0, sizeof(*t));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void ct_trail_copy(struct ct_trail *out, const struct ct_trail *in)
{
	*out = *in;
	out->name = dup_or_null(in->name);
	out->arn = dup_or_null(in->arn);
	out->home_region = dup_or_null(in->home_region);
	out->s3_bucket = dup_or_null(in->s3_bucket);
	out->s3_prefix = dup_or_null(in->s3_prefix);
	out->kms_key_id = dup_or_null(in->kms_key_id);
	out->cw_log_group_arn = dup_or_null(in->cw_log_group_arn);
	out->cw_role_arn = dup_or_null(in->cw_role_arn);
}

void ct_trails_free(struct ct_trail *t, size_t n)
{
	size_t i;

	for (i = 0; t && i < n; i++)
		ct_trail_release(&t[i]);
	free(t);
}

/* Trail objects (DescribeTrails/GetTrail) and Create/Update responses use
 * slightly different member names. */
static void trail_from(struct ct_trail *t, const json_t *o)
{
	memset(t, 0, sizeof(*t));
	t->name = aws_json_strdup(o, "Name");
	t->arn = aws_json_strdup(o, "TrailARN");
	t->home_region = aws_json_strdup(o, "HomeRegion");
	t->s3_bucket = aws_json_strdup(o, "S3BucketName");
	t->s3_prefix = aws_json_strdup(o, "S3KeyPrefix");
	t->kms_key_id = aws_json_strdup(o, "KmsKeyId");
	t->cw_log_group_arn = aws_json_strdup(o, "CloudWatchLogsLogGroupArn");
	t->cw_role_arn = aws_json_strdup(o, "CloudWatchLogsRoleArn");
	t->multi_region = aws_json_bool(o, "IsMultiRegionTrail");
	t->global_events = aws_json_bool(o, "IncludeGlobalServiceEvents");
	t->log_file_validation = aws_json_bool(o, "LogFileValidationEnabled");
	t->organization = aws_json_bool(o, "IsOrganizationTrail");
	t->custom_event_selectors = aws_json_bool(o, "HasCustomEventSelectors");
}

static json_t *trail_params(const struct ct_trail_params *p)
{
	json_t *in = json_object();

	json_object_set_new(in, "Name", json_string(p->name));
	if (p->s3_bucket)
		json_object_set_new(in, "S3BucketName", json_string(p->s3_bucket));
	if (p->s3_prefix)
		json_object_set_new(in, "S3KeyPrefix", json_string(p->s3_prefix));
	if (p->kms_key_id)
		json_object_set_new(in, "KmsKeyId", json_string(p->kms_key_id));
	json_object_set_new(in, "IsMultiRegionTrail", json_boolean(p->multi_region));
	json_object_set_new(in, "IncludeGlobalServiceEvents", json_boolean(p->global_events));
	json_object_set_new(in, "EnableLogFileValidation", json_boolean(p->log_file_validation));
	json_object_set_new(in, "IsOrganizationTrail", json_boolean(p->organization));
	return in;
}

static int create_update(struct aws_ctx *ctx, const char *op, const struct ct_trail_params *p,
			 struct ct_trail *out, struct errbuf *err)
{
	json_t *resp = NULL;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!p->name)
		return err_set(err, TK_EUSAGE, "cloudtrail %s: no trail name", op);
	rc = call(ctx, op, p->name, trail_params(p), &resp, err);
	if (!rc && out) {
		trail_from(out, resp);
		if (aws_json_bool(resp, "LogFileValidationEnabled") < 0)
			out->log_file_validation = p->log_file_validation;
	}
	json_decref(resp);
	return rc;
}

int ct_create_trail(struct aws_ctx *ctx, const struct ct_trail_params *p, struct ct_trail *out,
		    struct errbuf *err)
{
	return create_update(ctx, "CreateTrail", p, out, err);
}

int ct_update_trail(struct aws_ctx *ctx, const struct ct_trail_params *p, struct ct_trail *out,
		    struct errbuf *err)
{
	return create_update(ctx, "UpdateTrail", p, out, err);
}

static json_t *describe_params(const char *const *names, size_t nnames, bool include_shadow)
{
	json_t *in = json_object();
	size_t i;

	if (nnames) {
		json_t *a = json_array();
		for (i = 0; i < nnames; i++)
			json_array_append_new(a, json_string(names[i]));
		json_object_set_new(in, "trailNameList", a);
	}
	json_object_set_new(in, "includeShadowTrails", json_boolean(include_shadow));
	return in;
}

/* DescribeTrails' response: its trailList */
static int trails_parse(const json_t *resp, struct ct_trail **out, size_t *n, struct errbuf *err)
{
	const json_t *list = json_object_get(resp, "trailList"), *t;
	struct ct_trail *v = NULL;
	size_t i, nv = 0, alloc = 0;

	*out = NULL;
	*n = 0;
	if (list && !json_is_array(list))
		return err_set(err, TK_EFAIL, "cloudtrail DescribeTrails: unexpected response: trailList "
			       "is not a list");
	json_array_foreach(list, i, t) {
		if (!json_is_object(t))
			continue;
		ALLOC_GROW(v, nv + 1, alloc);
		trail_from(&v[nv++], t);
	}
	*out = v;
	*n = nv;
	return 0;
}

int ct_describe_trails(struct aws_ctx *ctx, const char *const *names, size_t nnames, bool include_shadow,
		       struct ct_trail **out, size_t *n, struct errbuf *err)
{
	json_t *resp = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	rc = call(ctx, "DescribeTrails", nnames == 1 ? names[0] : NULL,
		  describe_params(names, nnames, include_shadow), &resp, err);
	if (!rc)
		rc = trails_parse(resp, out, n, err);
	json_decref(resp);
	return rc;
}

/* GetTrail's response: its Trail */
static int trail_parse(const json_t *resp, const char *name, struct ct_trail *out, struct errbuf *err)
{
	const json_t *t = json_object_get(resp, "Trail");

	memset(out, 0, sizeof(*out));
	if (!json_is_object(t))
		return err_set(err, TK_EFAIL, "cloudtrail GetTrail '%s': unexpected response: no Trail", name);
	trail_from(out, t);
	return 0;
}

int ct_get_trail(struct aws_ctx *ctx, const char *name, struct ct_trail *out, struct errbuf *err)
{
	json_t *resp = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = call(ctx, "GetTrail", name, json_pack("{s:s}", "Name", name), &resp, err);
	if (!rc)
		rc = trail_parse(resp, name, out, err);
	json_decref(resp);
	return rc;
}

void ct_status_release(struct ct_status *s)
{
	if (!s)
		return;
	free(s->latest_delivery_error);
	free(s->latest_digest_delivery_error);
	free(s->latest_cw_delivery_error);
	memset(s, 0, sizeof(*s));
}

/* GetTrailStatus' response */
static int status_parse(const json_t *resp, const char *name, struct ct_status *out, struct errbuf *err)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->is_logging = aws_json_bool(resp, "IsLogging");
	if (out->is_logging < 0) {
		rc = err_set(err, TK_EFAIL, "cloudtrail GetTrailStatus '%s': unexpected response: no IsLogging",
			     name);
		out->is_logging = 0;
	}
	out->latest_delivery = aws_json_time(resp, "LatestDeliveryTime");
	out->latest_digest_delivery = aws_json_time(resp, "LatestDigestDeliveryTime");
	out->start_logging = aws_json_time(resp, "StartLoggingTime");
	out->stop_logging = aws_json_time(resp, "StopLoggingTime");
	out->latest_delivery_error = aws_json_strdup(resp, "LatestDeliveryError");
	out->latest_digest_delivery_error = aws_json_strdup(resp, "LatestDigestDeliveryError");
	out->latest_cw_delivery = aws_json_time(resp, "LatestCloudWatchLogsDeliveryTime");
	out->latest_cw_delivery_error = aws_json_strdup(resp, "LatestCloudWatchLogsDeliveryError");
	return rc;
}

void ct_status_copy(struct ct_status *out, const struct ct_status *in)
{
	*out = *in;
	out->latest_delivery_error = dup_or_null(in->latest_delivery_error);
	out->latest_digest_delivery_error = dup_or_null(in->latest_digest_delivery_error);
	out->latest_cw_delivery_error = dup_or_null(in->latest_cw_delivery_error);
}

int ct_get_trail_status(struct aws_ctx *ctx, const char *name, struct ct_status *out, struct errbuf *err)
{
	json_t *resp = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = call(ctx, "GetTrailStatus", name, json_pack("{s:s}", "Name", name), &resp, err);
	if (!rc)
		rc = status_parse(resp, name, out, err);
	json_decref(resp);
	return rc;
}

int ct_start_logging(struct aws_ctx *ctx, const char *name, struct errbuf *err)
{
	return call(ctx, "StartLogging", name, json_pack("{s:s}", "Name", name), NULL, err);
}

int ct_stop_logging(struct aws_ctx *ctx, const char *name, struct errbuf *err)
{
	return call(ctx, "StopLogging", name, json_pack("{s:s}", "Name", name), NULL, err);
}

int ct_delete_trail(struct aws_ctx *ctx, const char *name, struct errbuf *err)
{
	return call(ctx, "DeleteTrail", name, json_pack("{s:s}", "Name", name), NULL, err);
}

int ct_put_event_selectors(struct aws_ctx *ctx, const char *trail, const json_t *selectors,
			   json_t **out, struct errbuf *err)
{
	json_t *in = json_deep_copy(selectors);

	if (!json_is_object(in)) {
		json_decref(in);
		return err_set(err, TK_EUSAGE, "cloudtrail PutEventSelectors '%s': selectors must be an object",
			       trail);
	}
	json_object_set_new(in, "TrailName", json_string(trail));
	return call(ctx, "PutEventSelectors", trail, in, out, err);
}

int ct_get_event_selectors(struct aws_ctx *ctx, const char *trail, json_t **out, struct errbuf *err)
{
	return call(ctx, "GetEventSelectors", trail, json_pack("{s:s}", "TrailName", trail), out, err);
}

/* ---------------------------------------------------------------- asynchronous reads */

enum ct_read { CT_READ_TRAIL, CT_READ_STATUS, CT_READ_SELECTORS, CT_READ_TRAILS };

struct ct_async {
	enum ct_read what;
	char *name;
	void *out;
	size_t *n;
	ct_done_fn done;
	void *ud;
};

static void async_done(void *ud, int rc, json_t *resp, const char *errmsg)
{
	struct ct_async *a = ud;
	struct errbuf e;

	err_clear(&e);
	if (!rc) {
		switch (a->what) {
		case CT_READ_TRAIL:
			rc = trail_parse(resp, a->name, a->out, &e);
			break;
		case CT_READ_STATUS:
			rc = status_parse(resp, a->name, a->out, &e);
			break;
		case CT_READ_SELECTORS:
			*(json_t **)a->out = resp;
			resp = NULL;
			break;
		case CT_READ_TRAILS:
			rc = trails_parse(resp, a->out, a->n, &e);
			break;
		}
		errmsg = e.msg;
	}
	json_decref(resp);
	a->done(a->ud, rc, rc ? errmsg : NULL);
	free(a->name);
	free(a);
}

static int submit(struct aws_sched *s, struct aws_ctx *ctx, enum ct_read what, const char *op,
		  const char *name, json_t *in, void *out, size_t *n, ct_done_fn done, void *ud,
		  struct errbuf *err)
{
	struct ct_async *a = xcalloc(1, sizeof(*a));
	int rc;

	a->what = what;
	a->name = name ? xstrdup(name) : NULL;
	a->out = out;
	a->n = n;
	a->done = done;
	a->ud = ud;
	rc = aws_json_call_async(s, ctx, "cloudtrail", CT_TARGET, op, name, in, async_done, a, err);
	json_decref(in);
	if (rc) {
		free(a->name);
		free(a);
	}
	return rc;
}

int ct_get_trail_async(struct aws_sched *s, struct aws_ctx *ctx, const char *name, struct ct_trail *out,
		       ct_done_fn done, void *ud, struct errbuf *err)
{
	memset(out, 0, sizeof(*out));
	return submit(s, ctx, CT_READ_TRAIL, "GetTrail", name, json_pack("{s:s}", "Name", name), out, NULL,
		      done, ud, err);
}

int ct_get_trail_status_async(struct aws_sched *s, struct aws_ctx *ctx, const char *name,
			      struct ct_status *out, ct_done_fn done, void *ud, struct errbuf *err)
{
	memset(out, 0, sizeof(*out));
	return submit(s, ctx, CT_READ_STATUS, "GetTrailStatus", name, json_pack("{s:s}", "Name", name), out,
		      NULL, done, ud, err);
}

int ct_get_event_selectors_async(struct aws_sched *s, struct aws_ctx *ctx, const char *trail, json_t **out,
				 ct_done_fn done, void *ud, struct errbuf *err)
{
	*out = NULL;
	return submit(s, ctx, CT_READ_SELECTORS, "GetEventSelectors", trail,
		      json_pack("{s:s}", "TrailName", trail), out, NULL, done, ud, err);
}

int ct_describe_trails_async(struct aws_sched *s, struct aws_ctx *ctx, bool include_shadow,
			     struct ct_trail **out, size_t *n, ct_done_fn done, void *ud, struct errbuf *err)
{
	*out = NULL;
	*n = 0;
	return submit(s, ctx, CT_READ_TRAILS, "DescribeTrails", NULL, describe_params(NULL, 0, include_shadow),
		      out, n, done, ud, err);
}

int ct_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *o;
	size_t pad = 0, i;
	int n;

	*out = NULL;
	*outlen = 0;
	if (len == 0 || len % 4 || len > (64u << 20))
		return -1;
	for (i = 0; i < len; i++) {
		char c = in[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '+' || c == '/' || (c == '=' && i >= len - 2);
		if (!ok)
			return -1;
	}
	if (in[len - 1] == '=')
		pad++;
	if (in[len - 2] == '=')
		pad++;
	if (pad == 1 && in[len - 2] == '=')
		return -1;
	o = xmalloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock(o, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad) {
		free(o);
		return -1;
	}
	*out = o;
	*outlen = (size_t)n - pad;
	return 0;
}

void ct_public_keys_free(struct ct_public_key *k, size_t n)
{
	size_t i;

	for (i = 0; k && i < n; i++) {
		free(k[i].der);
		free(k[i].fingerprint);
	}
	free(k);
}

int ct_list_public_keys(struct aws_ctx *ctx, time_t start, time_t end, struct ct_public_key **out,
			size_t *n, struct errbuf *err)
{
	struct ct_public_key *v = NULL;
	size_t nv = 0, alloc = 0, pages = 0;
	char *token = NULL;
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (;;) {
		json_t *in = json_object(), *resp = NULL, *list, *k;
		size_t i;

		if (start)
			json_object_set_new(in, "StartTime", json_integer((json_int_t)start));
		if (end)
			json_object_set_new(in, "EndTime", json_integer((json_int_t)end));
		if (token)
			json_object_set_new(in, "NextToken", json_string(token));
		rc = call(ctx, "ListPublicKeys", NULL, in, &resp, err);
		if (rc)
			break;
		list = json_object_get(resp, "PublicKeyList");
		json_array_foreach(list, i, k) {
			const json_t *val = json_object_get(k, "Value");
			struct ct_public_key *pk;
			if (!json_is_string(val)) {
				rc = err_set(err, TK_EFAIL, "cloudtrail ListPublicKeys: unexpected response: "
					     "public key without a Value");
				break;
			}
			ALLOC_GROW(v, nv + 1, alloc);
			pk = &v[nv];
			memset(pk, 0, sizeof(*pk));
			if (ct_base64_decode(json_string_value(val), json_string_length(val), &pk->der, &pk->der_len)) {
				rc = err_set(err, TK_EFAIL, "cloudtrail ListPublicKeys: unexpected response: "
					     "public key Value is not base64");
				break;
			}
			if (pk->der_len && pk->der[0] != 0x30) {
				/* some producers base64 the base64 text once more: decode again
				 * when that yields DER (a SEQUENCE) */
				unsigned char *d2;
				size_t l2;
				if (ct_base64_decode((const char *)pk->der, pk->der_len, &d2, &l2) == 0 && l2 &&
				    d2[0] == 0x30) {
					free(pk->der);
					pk->der = d2;
					pk->der_len = l2;
				} else if (d2) {
					free(d2);
				}
			}
			pk->valid_from = aws_json_time(k, "ValidityStartTime");
			pk->valid_to = aws_json_time(k, "ValidityEndTime");
			pk->fingerprint = aws_json_strdup(k, "Fingerprint");
			nv++;
		}
		free(token);
		token = rc ? NULL : aws_json_strdup(resp, "NextToken");
		json_decref(resp);
		if (rc || !token || !*token)
			break;
		if (++pages > CT_MAX_PAGES) {
			rc = err_set(err, TK_EFAIL, "cloudtrail ListPublicKeys: too many pages");
			break;
		}
	}
	free(token);
	if (rc) {
		ct_public_keys_free(v, nv);
		return rc;
	}
	*out = v;
	*n = nv;
	return 0;
}

int ct_lookup_events(struct aws_ctx *ctx, const json_t *attrs, time_t start, time_t end, size_t max_pages,
		     int (*fn)(void *ud, json_t *event), void *ud, struct errbuf *err)
{
	char *token = NULL;
	size_t pages = 0;
	int rc = 0;

	for (;;) {
		json_t *in = json_object(), *resp = NULL, *list, *e;
		size_t i;

		if (attrs)
			json_object_set_new(in, "LookupAttributes", json_deep_copy(attrs));
		if (start)
			json_object_set_new(in, "StartTime", json_integer((json_int_t)start));
		if (end)
			json_object_set_new(in, "EndTime", json_integer((json_int_t)end));
		json_object_set_new(in, "MaxResults", json_integer(50));
		if (token)
			json_object_set_new(in, "NextToken", json_string(token));
		rc = call(ctx, "LookupEvents", NULL, in, &resp, err);
		if (rc)
			break;
		list = json_object_get(resp, "Events");
		json_array_foreach(list, i, e) {
			if (fn && (rc = fn(ud, e)) != 0)
				break;
		}
		free(token);
		token = rc ? NULL : aws_json_strdup(resp, "NextToken");
		json_decref(resp);
		pages++;
		if (rc || !token || !*token || (max_pages && pages >= max_pages) || pages > CT_MAX_PAGES)
			break;
	}
	free(token);
	return rc > 0 ? 0 : rc;
}
