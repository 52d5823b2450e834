/* apply_int.h: what the parts of apply share (not an API; apply.h is).
 *
 *   apply.c         the run: results, sessions and account credentials,
 *                   the preflight, the central part's order and read-back,
 *                   the trail workers
 *   apply_merge.c   pure functions on documents: statement ownership and
 *                   merge, the key policy lock-out check, the lifecycle
 *                   merge, JSON <-> S3 XML, canonical forms
 *   apply_key.c     the KMS key: state, create (safe to retry), alias,
 *                   policy, rotation
 *   apply_bucket.c  the buckets: location, creation, one function per
 *                   setting, object lock, access logging, the lock-out warning
 *   apply_trail.c   one account's trail: create/update, event selectors,
 *                   logging, read-back
 *   apply_monitoring.c  [monitoring] of a trail account: log group, role,
 *                   topic key + topic, subscriptions, metric filters and
 *                   alarms, the trail's CloudWatch Logs ARNs */
#ifndef TK_APPLY_INT_H
#define TK_APPLY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "apply.h"
#include "aws.h"
#include "buf.h"
#include "kms.h"
#include "xml.h"

#define MAX_POLICY_TEXT (256u * 1024)
#define MAX_XML_DOC (64u * 1024)
#define SSE_KMS "aws:kms"

/* The changes of one scope (the central account, or one trail account). */
struct changes {
	struct apply_change *v;
	size_t n, alloc;
	char **warn;
	size_t nwarn, alloc_warn;
	bool readback;   /* the check after the writes: read and compare only, every change is a mismatch */
};

/* No write now: a dry run, or the read-back check. */
#define DRY(r, ch) ((r)->o->dry_run || (ch)->readback)

struct cred_entry {
	char account[TK_ACCOUNT_ID_LEN + 1];
	struct aws_creds creds;
	int rc;
	char msg[ERRBUF_LEN];
};

struct run {
	const struct apply_options *o;
	const struct tk_config *cfg;
	const char *partition;
	char caller[TK_ACCOUNT_ID_LEN + 1];
	const char *caller_arn;      /* GetCallerIdentity Arn (borrowed) */
	pthread_mutex_t lock;
	struct cred_entry *creds;    /* AssumeRole cache */
	size_t ncreds, alloc_creds;
	size_t writes;
	char *key_arn;               /* the key's full ARN (alias ARN in a dry run without a key) */
	bool bucket_policy_changed;
	/* the trail queue */
	const char **trail_accounts;
	size_t ntrails, next;
	struct apply_outcome *outcomes;   /* one per trail account */
	struct changes *trail_changes;    /* one per trail account */
	int worker_seq;
};

struct session {
	struct http_pool *pool;
	struct aws_ctx base;         /* caller's credentials, home region */
	bool ready;
};

/* The central account's part. */
struct central {
	struct aws_ctx ctx;
	bool ctx_ready;
	const char *account;
	const char *bucket;
	const char *alog;              /* access-log bucket or NULL */
	bool key_exists;
	struct kms_key key;
	bool bucket_exists, alog_exists;
	bool bucket_created;
};

/* apply.c */
struct apply_change *ap_add_change(struct changes *c, const char *account, const char *subject,
				   const char *verb, const json_t *before, const json_t *after, bool policy);
void ap_add_warning(struct changes *c, char *msg);
void ap_changes_release(struct changes *c);
/* one write made (counted); ch, when not NULL, is marked done */
void ap_write_done(struct run *r, struct apply_change *ch);
/* a context for account in the home region (AssumeRole cached per account) */
int ap_account_ctx(struct aws_ctx *out, struct session *s, struct run *r, const char *account,
		   struct errbuf *err);
void ap_sleep_ms(struct aws_ctx *ctx, long ms);
/* The read-back: READBACK_TRIES reads, ap_readback_sleep(ctx, i) before the
 * (i + 2)th. */
#define READBACK_TRIES 5
void ap_readback_sleep(struct aws_ctx *ctx, size_t attempt);
typedef int (*get_policy_fn)(struct aws_ctx *ctx, const char *id, char **policy, struct errbuf *err);
typedef int (*put_policy_fn)(struct aws_ctx *ctx, const char *id, const char *policy, struct errbuf *err);
/* Read-merge-compare-write one resource policy; get/put are the S3 or KMS calls. */
int ap_converge_policy(struct run *r, struct aws_ctx *ctx, struct changes *ch, const char *account,
		       const char *id, bool exists, const json_t *desired, const char *subject,
		       get_policy_fn get, put_policy_fn put, bool key_policy, bool *changed, struct errbuf *err);

/* apply_merge.c */
const json_t *ap_plan_doc(const struct plan *p, const char *path);
int ap_parse_json_text(json_t **out, const char *text, const char *subject, struct errbuf *err);
char *ap_dump_compact(const json_t *doc);
/* cfg (the plan's JSON form of an S3 configuration) as an XML document
 * with root element root; TK_ELIMIT when b is too small */
int ap_config_xml(struct buf *b, const char *root, const json_t *cfg);
/* the canonical JSON form of an XML element tree (order never matters) */
json_t *ap_xml_canon(const struct xml_node *n);
json_t *ap_xml_text_canon(const char *xml, struct errbuf *err);
/* the number of rules of a canonical LifecycleConfiguration */
size_t ap_lifecycle_rules_of(const json_t *canon);

/* apply_key.c */
const char *ap_key_state_hint(const char *state);
int ap_converge_key(struct central *ce, struct run *r, struct changes *ch, struct errbuf *err);

/* apply_bucket.c */
int ap_check_bucket(struct central *ce, struct run *r, const char *bucket, const char *what, bool *exists,
		    struct errbuf *err);
int ap_create_bucket(struct central *ce, struct run *r, struct changes *ch, const char *bucket, bool lock,
		     struct errbuf *err);
int ap_converge_bucket_settings(struct central *ce, struct run *r, struct changes *ch, const char *bucket,
				bool exists, bool new_locked, const json_t *settings, const char *kms_key_arn,
				struct errbuf *err);
int ap_converge_object_lock(struct central *ce, struct run *r, struct changes *ch, struct errbuf *err);
int ap_converge_logging(struct central *ce, struct run *r, struct changes *ch, const json_t *settings,
			struct errbuf *err);
void ap_warn_lockout(struct central *ce, struct run *r, struct changes *ch, const json_t *bpol);

/* apply_monitoring.c: [monitoring] of a trail account after its trail (and,
 * without [monitoring], trailkeep's own CloudWatch Logs settings back to unset) */
int ap_run_monitoring(struct run *r, struct aws_ctx *ctx, const char *account, const char *trail,
		      struct changes *ch, struct errbuf *err);

/* apply_trail.c */
int ap_run_trail(struct run *r, struct session *s, const char *account, struct changes *ch,
		 struct errbuf *err);

#endif
