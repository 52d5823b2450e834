/* s3.h: typed S3 client (REST-XML, aws-wire.md section 5).  Every function
 * names its AWS operation; errors come from aws.h (TK_ENOTFOUND for NoSuch*
 * / *NotFound* / 404, TK_EAUTH for 403, ...; ctx->last_error keeps the code).
 * Put* operations that S3 wants checksummed send Content-MD5.
 * Implemented in src/services/s3.c. */
#ifndef TK_S3_H
#define TK_S3_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "buf.h"
#include "http.h"
#include "xml.h"

/* CreateBucket (PUT /{Bucket}): in us-east-1 without a body, elsewhere with
 * CreateBucketConfiguration/LocationConstraint = region, sent to that
 * region.  object_lock: x-amz-bucket-object-lock-enabled: true. */
int s3_create_bucket(struct aws_ctx *ctx, const char *bucket, const char *region, bool object_lock,
		     struct errbuf *err);
/* HeadBucket (HEAD /{Bucket}); *region_out (may be NULL) from x-amz-bucket-region. */
int s3_head_bucket(struct aws_ctx *ctx, const char *bucket, char **region_out, struct errbuf *err);
/* GetBucketLocation (GET /{Bucket}?location): "" -> us-east-1, "EU" -> eu-west-1. */
int s3_get_bucket_location(struct aws_ctx *ctx, const char *bucket, char **region_out, struct errbuf *err);

/* GetBucketPolicy / PutBucketPolicy (Content-MD5) / DeleteBucketPolicy (?policy).
 * No policy: TK_ENOTFOUND (NoSuchBucketPolicy). */
int s3_get_bucket_policy(struct aws_ctx *ctx, const char *bucket, char **policy_out, struct errbuf *err);
int s3_put_bucket_policy(struct aws_ctx *ctx, const char *bucket, const char *policy, struct errbuf *err);
int s3_delete_bucket_policy(struct aws_ctx *ctx, const char *bucket, struct errbuf *err);

/* GetBucketVersioning: *status "" (never enabled), "Enabled" or "Suspended";
 * *mfa_delete may be NULL ("" when absent).  PutBucketVersioning (Content-MD5). */
int s3_get_versioning(struct aws_ctx *ctx, const char *bucket, char **status, char **mfa_delete,
		      struct errbuf *err);
int s3_put_versioning(struct aws_ctx *ctx, const char *bucket, const char *status, struct errbuf *err);

/* GetBucketEncryption / PutBucketEncryption (?encryption, Content-MD5).
 * None configured: TK_ENOTFOUND. */
struct s3_encryption {
	char *algorithm;        /* "AES256", "aws:kms", ... */
	char *kms_key_id;       /* NULL unless aws:kms with a key */
	int bucket_key_enabled; /* 1, 0, or -1 when absent */
};
int s3_get_encryption(struct aws_ctx *ctx, const char *bucket, struct s3_encryption *out, struct errbuf *err);
int s3_put_encryption(struct aws_ctx *ctx, const char *bucket, const char *algorithm,
		      const char *kms_key_id, bool bucket_key, struct errbuf *err);
void s3_encryption_release(struct s3_encryption *e);

/* GetPublicAccessBlock / PutPublicAccessBlock (?publicAccessBlock, Content-MD5).
 * Each flag 1/0 (-1 absent in a response). */
struct s3_pab {
	int block_public_acls;
	int ignore_public_acls;
	int block_public_policy;
	int restrict_public_buckets;
};
int s3_get_public_access_block(struct aws_ctx *ctx, const char *bucket, struct s3_pab *out, struct errbuf *err);
int s3_put_public_access_block(struct aws_ctx *ctx, const char *bucket, const struct s3_pab *in,
			       struct errbuf *err);

/* GetBucketOwnershipControls / PutBucketOwnershipControls (?ownershipControls). */
int s3_get_ownership_controls(struct aws_ctx *ctx, const char *bucket, char **ownership, struct errbuf *err);
int s3_put_ownership_controls(struct aws_ctx *ctx, const char *bucket, const char *ownership,
			      struct errbuf *err);

/* GetBucketLifecycleConfiguration (the parsed document) and
 * PutBucketLifecycleConfiguration (?lifecycle, Content-MD5) with a
 * LifecycleConfiguration document the caller built with xml.h. */
int s3_get_lifecycle(struct aws_ctx *ctx, const char *bucket, struct xml_doc *out, struct errbuf *err);
int s3_put_lifecycle(struct aws_ctx *ctx, const char *bucket, const char *xml, struct errbuf *err);
/* One rule for a log bucket: current objects expire after days (0: never),
 * noncurrent versions after noncurrent_days (0: never), incomplete uploads
 * aborted after 7 days; whole bucket (empty Filter/Prefix). */
int s3_lifecycle_xml(struct buf *out, const char *rule_id, long days, long noncurrent_days);

/* GetBucketLogging / PutBucketLogging (?logging, Content-MD5).  target NULL
 * on put disables logging; on get, *target_bucket NULL means disabled. */
int s3_get_logging(struct aws_ctx *ctx, const char *bucket, char **target_bucket, char **target_prefix,
		   struct errbuf *err);
int s3_put_logging(struct aws_ctx *ctx, const char *bucket, const char *target_bucket,
		   const char *target_prefix, struct errbuf *err);

/* GetObjectLockConfiguration / PutObjectLockConfiguration (?object-lock,
 * Content-MD5).  mode NULL on put: enabled without a default retention. */
struct s3_object_lock {
	bool enabled;
	char *mode;             /* "GOVERNANCE" / "COMPLIANCE" / NULL */
	long days;              /* 0 when not set */
	long years;
};
int s3_get_object_lock(struct aws_ctx *ctx, const char *bucket, struct s3_object_lock *out, struct errbuf *err);
int s3_put_object_lock(struct aws_ctx *ctx, const char *bucket, const char *mode, long days,
		       struct errbuf *err);
void s3_object_lock_release(struct s3_object_lock *l);

/* ListObjects (v1, marker) / ListObjectsV2 (continuation-token), all pages.
 * Callbacks return 0 to go on, > 0 to stop early (s3_list_objects then
 * returns 0), < 0 to fail with that code. */
struct s3_object {
	const char *key;
	unsigned long long size;
	const char *etag;
	const char *last_modified;   /* ISO-8601 as sent */
	const char *storage_class;
};
struct s3_list_params {
	const char *prefix;
	const char *delimiter;
	const char *start_after;     /* v2: first request only; v1: the first marker */
	int max_keys;                /* 0: server default (1000) */
	bool v1;                     /* ListObjects instead of ListObjectsV2 */
	size_t max_pages;            /* 0: no limit; a listing still truncated after
	                                max_pages pages is an error (never partial) */
	int (*on_object)(void *ud, const struct s3_object *o);
	int (*on_prefix)(void *ud, const char *common_prefix);
	void *ud;
};
int s3_list_objects(struct aws_ctx *ctx, const char *bucket, const struct s3_list_params *p,
		    struct errbuf *err);

/* HeadObject / GetObject metadata. */
struct s3_meta_kv {
	char *name;                  /* after "x-amz-meta-", lower case */
	char *value;
};
struct s3_meta {
	long long content_length;    /* -1 when unknown */
	char *etag;
	char *last_modified;
	char *version_id;
	char *sse;                   /* x-amz-server-side-encryption */
	char *sse_kms_key_id;
	struct s3_meta_kv *meta;
	size_t nmeta, alloc_meta;
};
void s3_meta_release(struct s3_meta *m);
const char *s3_meta_get(const struct s3_meta *m, const char *name);
int s3_head_object(struct aws_ctx *ctx, const char *bucket, const char *key, struct s3_meta *out,
		   struct errbuf *err);
/* GetObject streaming the body to sink (no buffering); meta may be NULL. */
int s3_get_object(struct aws_ctx *ctx, const char *bucket, const char *key, http_sink_fn sink,
		  void *sink_ud, struct s3_meta *meta, struct errbuf *err);
/* GetObject into out (initialised by the caller; its limit applies: more is TK_ELIMIT). */
int s3_get_object_buf(struct aws_ctx *ctx, const char *bucket, const char *key, struct buf *out,
		      struct s3_meta *meta, struct errbuf *err);
/* PutObject (PUT /{Bucket}/{Key+}) with Content-MD5; content_type may be NULL. */
int s3_put_object(struct aws_ctx *ctx, const char *bucket, const char *key, const void *data,
		  size_t len, const char *content_type, struct errbuf *err);

#endif
