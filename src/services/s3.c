/* s3.c: see s3.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "banned.h"

#define S3_MAX_CONFIG_BODY (1024 * 1024)   /* Put* configuration documents we build */

static int s3_xml(struct aws_ctx *ctx, const char *op, const char *bucket, const char *query,
		  struct xml_doc *out, struct errbuf *err)
{
	struct aws_s3_request r = { .method = "GET", .operation = op, .bucket = bucket, .query = query };

	return aws_s3_call_xml(ctx, &r, out, err);
}

static int s3_put_doc(struct aws_ctx *ctx, const char *op, const char *bucket, const char *query,
		      const char *body, size_t len, const char *ctype, struct errbuf *err)
{
	struct sigv4_header h[1] = { { "Content-Type", ctype ? ctype : "application/xml" } };
	struct aws_s3_request r = { .method = "PUT", .operation = op, .bucket = bucket, .query = query,
				    .headers = h, .nheaders = 1, .body = body, .body_len = len,
				    .content_md5 = true };
	struct http_response resp;
	int rc = aws_s3_call(ctx, &r, &resp, err);

	if (!rc)
		http_response_release(&resp);
	return rc;
}

static int bad_response(struct errbuf *err, const char *op, const char *bucket, const char *what)
{
	return err_set(err, TK_EFAIL, "s3 %s '%s': unexpected response: %s", op, bucket, what);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* GET ?query and check that the document element is root (otherwise TK_EFAIL
 * "unexpected response: no <root>"); on success the caller releases *out. */
static int s3_get_config(struct aws_ctx *ctx, const char *op, const char *bucket, const char *query,
			 const char *root, struct xml_doc *out, struct errbuf *err)
{
	char what[128];
	int rc = s3_xml(ctx, op, bucket, query, out, err);

	if (rc)
		return rc;
	if (strcmp(out->root->name, root)) {
		snprintf(what, sizeof(what), "no %s", root);
		rc = bad_response(err, op, bucket, what);
		xml_doc_release(out);
	}
	return rc;
}

int s3_create_bucket(struct aws_ctx *ctx, const char *bucket, const char *region, bool object_lock,
		     struct errbuf *err)
{
	struct buf body;
	struct sigv4_header h[2];
	size_t nh = 0;
	struct http_response resp;
	int rc;

	buf_init(&body, S3_MAX_CONFIG_BODY);
	if (region && strcmp(region, "us-east-1")) {
		buf_adds(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
		xml_open(&body, "CreateBucketConfiguration", S3_XMLNS);
		xml_elem(&body, "LocationConstraint", region);
		xml_close(&body, "CreateBucketConfiguration");
		h[nh].name = "Content-Type";
		h[nh++].value = "application/xml";
	}
	if (buf_error(&body)) {
		buf_release(&body);
		return err_set(err, TK_ELIMIT, "s3 CreateBucket '%s': request document too large", bucket);
	}
	if (object_lock) {
		h[nh].name = "x-amz-bucket-object-lock-enabled";
		h[nh++].value = "true";
	}
	{
		struct aws_s3_request r = { .method = "PUT", .operation = "CreateBucket", .bucket = bucket,
					    .headers = h, .nheaders = nh, .body = body.data,
					    .body_len = body.len, .region = region };
		rc = aws_s3_call(ctx, &r, &resp, err);
	}
	if (!rc)
		http_response_release(&resp);
	buf_release(&body);
	return rc;
}

int s3_head_bucket(struct aws_ctx *ctx, const char *bucket, char **region_out, struct errbuf *err)
{
	struct aws_s3_request r = { .method = "HEAD", .operation = "HeadBucket", .bucket = bucket };
	struct http_response resp;
	int rc;

	if (region_out)
		*region_out = NULL;
	rc = aws_s3_call(ctx, &r, &resp, err);
	if (rc)
		return rc;
	if (region_out)
		*region_out = dup_or_null(http_header_get(&resp, "x-amz-bucket-region"));
	http_response_release(&resp);
	return 0;
}

int s3_get_bucket_location(struct aws_ctx *ctx, const char *bucket, char **region_out, struct errbuf *err)
{
	struct xml_doc d;
	const char *t;
	int rc;

	*region_out = NULL;
	rc = s3_get_config(ctx, "GetBucketLocation", bucket, "location=", "LocationConstraint", &d, err);
	if (rc)
		return rc;
	t = d.root->text ? d.root->text : "";
	if (!*t)
		t = "us-east-1";
	else if (!strcmp(t, "EU"))
		t = "eu-west-1";
	*region_out = xstrdup(t);
	xml_doc_release(&d);
	return 0;
}

int s3_get_bucket_policy(struct aws_ctx *ctx, const char *bucket, char **policy_out, struct errbuf *err)
{
	struct aws_s3_request r = { .method = "GET", .operation = "GetBucketPolicy", .bucket = bucket,
				    .query = "policy=", .body_limit = 64 * 1024 };
	struct http_response resp;
	int rc;

	*policy_out = NULL;
	rc = aws_s3_call(ctx, &r, &resp, err);
	if (rc)
		return rc;
	*policy_out = xstrndup(buf_cstr(&resp.body), resp.body.len);
	http_response_release(&resp);
	return 0;
}

int s3_put_bucket_policy(struct aws_ctx *ctx, const char *bucket, const char *policy, struct errbuf *err)
{
	return s3_put_doc(ctx, "PutBucketPolicy", bucket, "policy=", policy, strlen(policy),
			  "application/json", err);
}

int s3_delete_bucket_policy(struct aws_ctx *ctx, const char *bucket, struct errbuf *err)
{
	struct aws_s3_request r = { .method = "DELETE", .operation = "DeleteBucketPolicy", .bucket = bucket,
				    .query = "policy=" };
	struct http_response resp;
	int rc = aws_s3_call(ctx, &r, &resp, err);

	if (!rc)
		http_response_release(&resp);
	return rc;
}

int s3_get_versioning(struct aws_ctx *ctx, const char *bucket, char **status, char **mfa_delete,
		      struct errbuf *err)
{
	struct xml_doc d;
	const char *t;
	int rc;

	*status = NULL;
	if (mfa_delete)
		*mfa_delete = NULL;
	rc = s3_get_config(ctx, "GetBucketVersioning", bucket, "versioning=", "VersioningConfiguration", &d,
			   err);
	if (rc)
		return rc;
	t = xml_path_text(d.root, "Status");
	*status = xstrdup(t ? t : "");
	if (mfa_delete) {
		t = xml_path_text(d.root, "MfaDelete");
		*mfa_delete = xstrdup(t ? t : "");
	}
	xml_doc_release(&d);
	return 0;
}

static int put_simple_xml(struct aws_ctx *ctx, const char *op, const char *bucket, const char *query,
			  struct buf *body, struct errbuf *err)
{
	int rc;

	if (buf_error(body))   /* every add of the document, checked at once */
		rc = err_set(err, TK_ELIMIT, "s3 %s '%s': request document too large", op, bucket);
	else
		rc = s3_put_doc(ctx, op, bucket, query, buf_cstr(body), body->len, NULL, err);
	buf_release(body);
	return rc;
}

static void xml_header(struct buf *b, const char *root)
{
	buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	xml_open(b, root, S3_XMLNS);
}

int s3_put_versioning(struct aws_ctx *ctx, const char *bucket, const char *status, struct errbuf *err)
{
	struct buf b;

	buf_init(&b, S3_MAX_CONFIG_BODY);
	xml_header(&b, "VersioningConfiguration");
	xml_elem(&b, "Status", status);
	xml_close(&b, "VersioningConfiguration");
	return put_simple_xml(ctx, "PutBucketVersioning", bucket, "versioning=", &b, err);
}

void s3_encryption_release(struct s3_encryption *e)
{
	if (!e)
		return;
	free(e->algorithm);
	free(e->kms_key_id);
	memset(e, 0, sizeof(*e));
}

int s3_get_encryption(struct aws_ctx *ctx, const char *bucket, struct s3_encryption *out, struct errbuf *err)
{
	struct xml_doc d;
	const struct xml_node *rule;
	const char *t;
	int rc;

	memset(out, 0, sizeof(*out));
	out->bucket_key_enabled = -1;
	rc = s3_xml(ctx, "GetBucketEncryption", bucket, "encryption=", &d, err);
	if (rc)
		return rc;
	rule = xml_child(d.root, "Rule");
	t = xml_path_text(rule, "ApplyServerSideEncryptionByDefault/SSEAlgorithm");
	if (strcmp(d.root->name, "ServerSideEncryptionConfiguration") || !t) {
		rc = bad_response(err, "GetBucketEncryption", bucket, "no SSEAlgorithm");
		goto done;
	}
	out->algorithm = xstrdup(t);
	t = xml_path_text(rule, "ApplyServerSideEncryptionByDefault/KMSMasterKeyID");
	out->kms_key_id = t && *t ? xstrdup(t) : NULL;
	out->bucket_key_enabled = xml_path_bool(rule, "BucketKeyEnabled");
done:
	xml_doc_release(&d);
	return rc;
}

int s3_put_encryption(struct aws_ctx *ctx, const char *bucket, const char *algorithm,
		      const char *kms_key_id, bool bucket_key, struct errbuf *err)
{
	struct buf b;

	buf_init(&b, S3_MAX_CONFIG_BODY);
	xml_header(&b, "ServerSideEncryptionConfiguration");
	xml_open(&b, "Rule", NULL);
	xml_open(&b, "ApplyServerSideEncryptionByDefault", NULL);
	xml_elem(&b, "SSEAlgorithm", algorithm);
	if (kms_key_id)
		xml_elem(&b, "KMSMasterKeyID", kms_key_id);
	xml_close(&b, "ApplyServerSideEncryptionByDefault");
	xml_elem(&b, "BucketKeyEnabled", bucket_key ? "true" : "false");
	xml_close(&b, "Rule");
	xml_close(&b, "ServerSideEncryptionConfiguration");
	return put_simple_xml(ctx, "PutBucketEncryption", bucket, "encryption=", &b, err);
}

int s3_get_public_access_block(struct aws_ctx *ctx, const char *bucket, struct s3_pab *out, struct errbuf *err)
{
	struct xml_doc d;
	int rc;

	out->block_public_acls = out->ignore_public_acls = -1;
	out->block_public_policy = out->restrict_public_buckets = -1;
	rc = s3_get_config(ctx, "GetPublicAccessBlock", bucket, "publicAccessBlock=",
			   "PublicAccessBlockConfiguration", &d, err);
	if (rc)
		return rc;
	out->block_public_acls = xml_path_bool(d.root, "BlockPublicAcls");
	out->ignore_public_acls = xml_path_bool(d.root, "IgnorePublicAcls");
	out->block_public_policy = xml_path_bool(d.root, "BlockPublicPolicy");
	out->restrict_public_buckets = xml_path_bool(d.root, "RestrictPublicBuckets");
	xml_doc_release(&d);
	return 0;
}

int s3_put_public_access_block(struct aws_ctx *ctx, const char *bucket, const struct s3_pab *in,
			       struct errbuf *err)
{
	struct buf b;

	buf_init(&b, S3_MAX_CONFIG_BODY);
	xml_header(&b, "PublicAccessBlockConfiguration");
	xml_elem(&b, "BlockPublicAcls", in->block_public_acls > 0 ? "true" : "false");
	xml_elem(&b, "IgnorePublicAcls", in->ignore_public_acls > 0 ? "true" : "false");
	xml_elem(&b, "BlockPublicPolicy", in->block_public_policy > 0 ? "true" : "false");
	xml_elem(&b, "RestrictPublicBuckets", in->restrict_public_buckets > 0 ? "true" : "false");
	xml_close(&b, "PublicAccessBlockConfiguration");
	return put_simple_xml(ctx, "PutPublicAccessBlock", bucket, "publicAccessBlock=", &b, err);
}

int s3_get_ownership_controls(struct aws_ctx *ctx, const char *bucket, char **ownership, struct errbuf *err)
{
	struct xml_doc d;
	const char *t;
	int rc;

	*ownership = NULL;
	rc = s3_xml(ctx, "GetBucketOwnershipControls", bucket, "ownershipControls=", &d, err);
	if (rc)
		return rc;
	t = xml_path_text(d.root, "Rule/ObjectOwnership");
	if (strcmp(d.root->name, "OwnershipControls") || !t)
		rc = bad_response(err, "GetBucketOwnershipControls", bucket, "no ObjectOwnership");
	else
		*ownership = xstrdup(t);
	xml_doc_release(&d);
	return rc;
}

int s3_put_ownership_controls(struct aws_ctx *ctx, const char *bucket, const char *ownership,
			      struct errbuf *err)
{
	struct buf b;

	buf_init(&b, S3_MAX_CONFIG_BODY);
	xml_header(&b, "OwnershipControls");
	xml_open(&b, "Rule", NULL);
	xml_elem(&b, "ObjectOwnership", ownership);
	xml_close(&b, "Rule");
	xml_close(&b, "OwnershipControls");
	return put_simple_xml(ctx, "PutBucketOwnershipControls", bucket, "ownershipControls=", &b, err);
}

int s3_get_lifecycle(struct aws_ctx *ctx, const char *bucket, struct xml_doc *out, struct errbuf *err)
{
	return s3_xml(ctx, "GetBucketLifecycleConfiguration", bucket, "lifecycle=", out, err);
}

int s3_put_lifecycle(struct aws_ctx *ctx, const char *bucket, const char *xml, struct errbuf *err)
{
	return s3_put_doc(ctx, "PutBucketLifecycleConfiguration", bucket, "lifecycle=", xml, strlen(xml),
			  NULL, err);
}

int s3_lifecycle_xml(struct buf *out, const char *rule_id, long days, long noncurrent_days)
{
	char n[32];
	int rc = 0;

	rc |= buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	rc |= xml_open(out, "LifecycleConfiguration", S3_XMLNS);
	rc |= xml_open(out, "Rule", NULL);
	rc |= xml_elem(out, "ID", rule_id);
	rc |= xml_open(out, "Filter", NULL);
	rc |= xml_elem(out, "Prefix", "");
	rc |= xml_close(out, "Filter");
	rc |= xml_elem(out, "Status", "Enabled");
	if (days > 0) {
		snprintf(n, sizeof(n), "%ld", days);
		rc |= xml_open(out, "Expiration", NULL);
		rc |= xml_elem(out, "Days", n);
		rc |= xml_close(out, "Expiration");
	}
	if (noncurrent_days > 0) {
		snprintf(n, sizeof(n), "%ld", noncurrent_days);
		rc |= xml_open(out, "NoncurrentVersionExpiration", NULL);
		rc |= xml_elem(out, "NoncurrentDays", n);
		rc |= xml_close(out, "NoncurrentVersionExpiration");
	}
	rc |= xml_open(out, "AbortIncompleteMultipartUpload", NULL);
	rc |= xml_elem(out, "DaysAfterInitiation", "7");
	rc |= xml_close(out, "AbortIncompleteMultipartUpload");
	rc |= xml_close(out, "Rule");
	rc |= xml_close(out, "LifecycleConfiguration");
	return rc ? TK_ELIMIT : 0;
}

int s3_get_logging(struct aws_ctx *ctx, const char *bucket, char **target_bucket, char **target_prefix,
		   struct errbuf *err)
{
	struct xml_doc d;
	const char *t;
	int rc;

	*target_bucket = NULL;
	if (target_prefix)
		*target_prefix = NULL;
	rc = s3_get_config(ctx, "GetBucketLogging", bucket, "logging=", "BucketLoggingStatus", &d, err);
	if (rc)
		return rc;
	t = xml_path_text(d.root, "LoggingEnabled/TargetBucket");
	*target_bucket = dup_or_null(t);
	if (target_prefix && t) {
		t = xml_path_text(d.root, "LoggingEnabled/TargetPrefix");
		*target_prefix = xstrdup(t ? t : "");
	}
	xml_doc_release(&d);
	return 0;
}

int s3_put_logging(struct aws_ctx *ctx, const char *bucket, const char *target_bucket,
		   const char *target_prefix, struct errbuf *err)
{
	struct buf b;

	buf_init(&b, S3_MAX_CONFIG_BODY);
	xml_header(&b, "BucketLoggingStatus");
	if (target_bucket) {
		xml_open(&b, "LoggingEnabled", NULL);
		xml_elem(&b, "TargetBucket", target_bucket);
		xml_elem(&b, "TargetPrefix", target_prefix ? target_prefix : "");
		xml_close(&b, "LoggingEnabled");
	}
	xml_close(&b, "BucketLoggingStatus");
	return put_simple_xml(ctx, "PutBucketLogging", bucket, "logging=", &b, err);
}

void s3_object_lock_release(struct s3_object_lock *l)
{
	if (!l)
		return;
	free(l->mode);
	memset(l, 0, sizeof(*l));
}

int s3_get_object_lock(struct aws_ctx *ctx, const char *bucket, struct s3_object_lock *out, struct errbuf *err)
{
	struct xml_doc d;
	const struct xml_node *ret;
	unsigned long long v;
	const char *t;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = s3_get_config(ctx, "GetObjectLockConfiguration", bucket, "object-lock=", "ObjectLockConfiguration",
			   &d, err);
	if (rc)
		return rc;
	t = xml_path_text(d.root, "ObjectLockEnabled");
	out->enabled = t && !strcmp(t, "Enabled");
	ret = xml_path(d.root, "Rule/DefaultRetention");
	if (ret) {
		t = xml_path_text(ret, "Mode");
		out->mode = dup_or_null(t);
		if (xml_path_u64(ret, "Days", &v) == 0 && v < 100000)
			out->days = (long)v;
		if (xml_path_u64(ret, "Years", &v) == 0 && v < 1000)
			out->years = (long)v;
	}
	xml_doc_release(&d);
	return 0;
}

int s3_put_object_lock(struct aws_ctx *ctx, const char *bucket, const char *mode, long days,
		       struct errbuf *err)
{
	struct buf b;
	char n[32];

	buf_init(&b, S3_MAX_CONFIG_BODY);
	xml_header(&b, "ObjectLockConfiguration");
	xml_elem(&b, "ObjectLockEnabled", "Enabled");
	if (mode) {
		snprintf(n, sizeof(n), "%ld", days);
		xml_open(&b, "Rule", NULL);
		xml_open(&b, "DefaultRetention", NULL);
		xml_elem(&b, "Mode", mode);
		xml_elem(&b, "Days", n);
		xml_close(&b, "DefaultRetention");
		xml_close(&b, "Rule");
	}
	xml_close(&b, "ObjectLockConfiguration");
	return put_simple_xml(ctx, "PutObjectLockConfiguration", bucket, "object-lock=", &b, err);
}

/* ---- listing ---- */

/* encoding-type=url: keys come percent-encoded ('+' is a space) */
static char *url_decode(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n + 1);

	sigv4_pct_decode(out, s, n, true);
	return out;
}

/* the query of one list request (token: the continuation, or NULL) */
static void list_query(struct buf *q, const struct s3_list_params *p, const char *token)
{
	buf_reset(q);
	if (!p->v1)
		aws_query_add(q, "list-type", "2");
	aws_query_add(q, "encoding-type", "url");
	if (p->prefix)
		aws_query_add(q, "prefix", p->prefix);
	if (p->delimiter)
		aws_query_add(q, "delimiter", p->delimiter);
	if (p->max_keys > 0) {
		char n[16];
		snprintf(n, sizeof(n), "%d", p->max_keys);
		aws_query_add(q, "max-keys", n);
	}
	if (p->v1) {
		if (token || p->start_after)
			aws_query_add(q, "marker", token ? token : p->start_after);
	} else if (token) {
		aws_query_add(q, "continuation-token", token);
	} else if (p->start_after) {
		aws_query_add(q, "start-after", p->start_after);
	}
}

/* One page's objects and common prefixes to the callbacks (url: keys are
 * URL-encoded); *last: the greatest key or prefix seen (v1's marker).
 * 0, > 0 (a callback stopped) or an error. */
static int list_page(const struct xml_node *root, const struct s3_list_params *p, bool url, const char *op,
		     const char *bucket, char **last, struct errbuf *err)
{
	const struct xml_node *c;
	int rc = 0;

	for (c = xml_child(root, "Contents"); c && !rc; c = xml_next(c)) {
		struct s3_object o;
		const char *k = xml_path_text(c, "Key");
		char *key;
		if (!k)
			return bad_response(err, op, bucket, "Contents without Key");
		key = url ? url_decode(k) : xstrdup(k);
		memset(&o, 0, sizeof(o));
		o.key = key;
		if (xml_path_u64(c, "Size", &o.size))
			o.size = 0;
		o.etag = xml_path_text(c, "ETag");
		o.last_modified = xml_path_text(c, "LastModified");
		o.storage_class = xml_path_text(c, "StorageClass");
		if (p->on_object)
			rc = p->on_object(p->ud, &o);
		free(*last);
		*last = key;
	}
	for (c = xml_child(root, "CommonPrefixes"); c && !rc; c = xml_next(c)) {
		const char *pf = xml_path_text(c, "Prefix");
		char *pfx;
		if (!pf)
			continue;
		pfx = url ? url_decode(pf) : xstrdup(pf);
		if (p->on_prefix)
			rc = p->on_prefix(p->ud, pfx);
		if (!*last || strcmp(pfx, *last) > 0) {
			free(*last);
			*last = pfx;
		} else {
			free(pfx);
		}
	}
	return rc;
}

/* The continuation of a truncated page into *next: it must be there and
 * move on from token.  0 or an error. */
static int list_next(const struct xml_node *root, const struct s3_list_params *p, bool url, const char *last,
		     const char *token, char **next, const char *op, const char *bucket, struct errbuf *err)
{
	const char *t = xml_path_text(root, p->v1 ? "NextMarker" : "NextContinuationToken");

	if (t && *t)
		*next = p->v1 && url ? url_decode(t) : xstrdup(t);
	else if (p->v1 && last)
		*next = xstrdup(last);
	if (!*next)
		return bad_response(err, op, bucket, "truncated page without a continuation");
	if (token && !strcmp(token, *next))
		return bad_response(err, op, bucket, "the continuation did not advance");
	return 0;
}

int s3_list_objects(struct aws_ctx *ctx, const char *bucket, const struct s3_list_params *p,
		    struct errbuf *err)
{
	const char *op = p->v1 ? "ListObjects" : "ListObjectsV2";
	char *token = NULL, *next = NULL;
	size_t pages = 0;
	struct buf q;
	int rc = 0;

	buf_init(&q, 64 * 1024);
	for (;;) {
		struct xml_doc d;
		const char *enc;
		bool url;
		int trunc;
		char *last = NULL;

		list_query(&q, p, token);
		if (buf_error(&q)) {
			rc = err_set(err, TK_ELIMIT, "s3 %s '%s': query string too long (is the prefix longer than S3 keys can be?)",
				     op, bucket);
			break;
		}
		rc = s3_xml(ctx, op, bucket, buf_cstr(&q), &d, err);
		if (rc)
			break;
		if (strcmp(d.root->name, "ListBucketResult")) {
			rc = bad_response(err, op, bucket, "no ListBucketResult");
			xml_doc_release(&d);
			break;
		}
		enc = xml_path_text(d.root, "EncodingType");
		url = enc && !strcmp(enc, "url");
		rc = list_page(d.root, p, url, op, bucket, &last, err);
		pages++;
		trunc = xml_path_bool(d.root, "IsTruncated");
		free(next);
		next = NULL;
		if (!rc && trunc == 1)
			rc = list_next(d.root, p, url, last, token, &next, op, bucket, err);
		free(last);
		xml_doc_release(&d);
		if (!rc && trunc == 1 && p->max_pages && pages >= p->max_pages) {
			/* still truncated at the bound: never a silently partial listing */
			char why[96];

			snprintf(why, sizeof(why), "listing does not end (more than %zu pages)", p->max_pages);
			rc = bad_response(err, op, bucket, why);
		}
		if (rc || trunc != 1)
			break;
		free(token);
		token = next;
		next = NULL;
	}
	free(token);
	free(next);
	buf_release(&q);
	return rc > 0 ? 0 : rc;
}

/* ---- objects ---- */

void s3_meta_release(struct s3_meta *m)
{
	size_t i;

	if (!m)
		return;
	free(m->etag);
	free(m->last_modified);
	free(m->version_id);
	free(m->sse);
	free(m->sse_kms_key_id);
	for (i = 0; i < m->nmeta; i++) {
		free(m->meta[i].name);
		free(m->meta[i].value);
	}
	free(m->meta);
	memset(m, 0, sizeof(*m));
}

const char *s3_meta_get(const struct s3_meta *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nmeta; i++)
		if (!strcmp(m->meta[i].name, name))
			return m->meta[i].value;
	return NULL;
}

static void meta_from(struct s3_meta *m, const struct http_response *r)
{
	const char *t;
	size_t i;
	char *end;

	memset(m, 0, sizeof(*m));
	m->content_length = -1;
	if ((t = http_header_get(r, "content-length"))) {
		long long v;
		errno = 0;
		v = strtoll(t, &end, 10);
		if (!errno && !*end && v >= 0)
			m->content_length = v;
	}
	m->etag = dup_or_null(http_header_get(r, "etag"));
	m->last_modified = dup_or_null(http_header_get(r, "last-modified"));
	m->version_id = dup_or_null(http_header_get(r, "x-amz-version-id"));
	m->sse = dup_or_null(http_header_get(r, "x-amz-server-side-encryption"));
	m->sse_kms_key_id = dup_or_null(http_header_get(r, "x-amz-server-side-encryption-aws-kms-key-id"));
	for (i = 0; i < r->nheaders; i++) {
		if (strncmp(r->headers[i].name, "x-amz-meta-", 11))
			continue;
		ALLOC_GROW(m->meta, m->nmeta + 1, m->alloc_meta);
		m->meta[m->nmeta].name = xstrdup(r->headers[i].name + 11);
		m->meta[m->nmeta].value = xstrdup(r->headers[i].value);
		m->nmeta++;
	}
}

int s3_head_object(struct aws_ctx *ctx, const char *bucket, const char *key, struct s3_meta *out,
		   struct errbuf *err)
{
	struct aws_s3_request r = { .method = "HEAD", .operation = "HeadObject", .bucket = bucket, .key = key };
	struct http_response resp;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = aws_s3_call(ctx, &r, &resp, err);
	if (rc)
		return rc;
	meta_from(out, &resp);
	http_response_release(&resp);
	return 0;
}

int s3_get_object(struct aws_ctx *ctx, const char *bucket, const char *key, http_sink_fn sink,
		  void *sink_ud, struct s3_meta *meta, struct errbuf *err)
{
	struct aws_s3_request r = { .method = "GET", .operation = "GetObject", .bucket = bucket, .key = key,
				    .sink = sink, .sink_ud = sink_ud };
	struct http_response resp;
	int rc;

	if (meta)
		memset(meta, 0, sizeof(*meta));
	rc = aws_s3_call(ctx, &r, &resp, err);
	if (rc)
		return rc;
	if (meta)
		meta_from(meta, &resp);
	http_response_release(&resp);
	return 0;
}

static int buf_sink(void *ud, const void *data, size_t n)
{
	return buf_add(ud, data, n);
}

int s3_get_object_buf(struct aws_ctx *ctx, const char *bucket, const char *key, struct buf *out,
		      struct s3_meta *meta, struct errbuf *err)
{
	int rc = s3_get_object(ctx, bucket, key, buf_sink, out, meta, err);

	/* the sink's refusal is the cause, whatever the transfer reported */
	if (buf_error(out))
		return err_set(err, TK_ELIMIT, "s3 GetObject 's3://%s/%s': larger than %zu bytes", bucket,
			       key, out->limit);
	return rc;
}

int s3_put_object(struct aws_ctx *ctx, const char *bucket, const char *key, const void *data,
		  size_t len, const char *content_type, struct errbuf *err)
{
	struct sigv4_header h[1] = { { "Content-Type", content_type ? content_type : "application/octet-stream" } };
	struct aws_s3_request r = { .method = "PUT", .operation = "PutObject", .bucket = bucket, .key = key,
				    .headers = h, .nheaders = 1, .body = data, .body_len = len,
				    .content_md5 = true };
	struct http_response resp;
	int rc = aws_s3_call(ctx, &r, &resp, err);

	if (!rc)
		http_response_release(&resp);
	return rc;
}
