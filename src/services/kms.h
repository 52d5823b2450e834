/* kms.h: typed KMS client (awsJson1_1, X-Amz-Target TrentService.<Op>,
 * aws-wire.md section 4).  Every function names its AWS operation.
 * Implemented in src/services/kms.c. */
#ifndef TK_KMS_H
#define TK_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws.h"

struct kms_key {
	char *key_id;
	char *arn;
	char *account;
	char *state;           /* "Enabled", "Disabled", "PendingDeletion", ... */
	char *key_spec;
	char *key_usage;
	char *key_manager;     /* "CUSTOMER" / "AWS" */
	int enabled;           /* 1/0/-1 */
	time_t deletion_date;  /* 0 when none */
};
void kms_key_release(struct kms_key *k);

/* CreateKey (symmetric, ENCRYPT_DECRYPT) with policy (may be NULL) and description. */
int kms_create_key(struct aws_ctx *ctx, const char *policy, const char *description,
		   struct kms_key *out, struct errbuf *err);
/* The same with one tag (TagKey/TagValue) set at creation, so a key whose
 * CreateKey reply was lost can be found again (ListResourceTags). */
int kms_create_key_tagged(struct aws_ctx *ctx, const char *policy, const char *description,
			  const char *tag_key, const char *tag_value, struct kms_key *out, struct errbuf *err);
/* ListResourceTags (pages until found, at most 10): *value the value of
 * tag_key (caller frees); TK_ENOTFOUND when the key has no such tag. */
int kms_get_tag(struct aws_ctx *ctx, const char *key_id, const char *tag_key, char **value, struct errbuf *err);
/* DescribeKey: key id, key ARN, alias name or alias ARN. */
int kms_describe_key(struct aws_ctx *ctx, const char *key_id, struct kms_key *out, struct errbuf *err);
/* CreateAlias ("alias/x" -> key id or ARN). */
int kms_create_alias(struct aws_ctx *ctx, const char *alias, const char *target_key_id, struct errbuf *err);
/* UpdateAlias (point an existing alias at another key). */
int kms_update_alias(struct aws_ctx *ctx, const char *alias, const char *target_key_id, struct errbuf *err);

struct kms_alias {
	char *name;
	char *arn;
	char *target_key_id;   /* NULL for aliases without a key */
};
/* ListAliases (all pages: Marker / NextMarker / Truncated); key_id may be NULL. */
int kms_list_aliases(struct aws_ctx *ctx, const char *key_id, struct kms_alias **out, size_t *n,
		     struct errbuf *err);
void kms_aliases_free(struct kms_alias *a, size_t n);

/* GetKeyPolicy / PutKeyPolicy (PolicyName "default"). */
int kms_get_key_policy(struct aws_ctx *ctx, const char *key_id, char **policy, struct errbuf *err);
int kms_put_key_policy(struct aws_ctx *ctx, const char *key_id, const char *policy, struct errbuf *err);
/* EnableKeyRotation / GetKeyRotationStatus. */
int kms_enable_key_rotation(struct aws_ctx *ctx, const char *key_id, struct errbuf *err);
int kms_get_key_rotation(struct aws_ctx *ctx, const char *key_id, bool *enabled, struct errbuf *err);
/* EnableKey (Disabled -> Enabled).  A key pending deletion must first have
 * its deletion cancelled. */
int kms_enable_key(struct aws_ctx *ctx, const char *key_id, struct errbuf *err);
/* CancelKeyDeletion (PendingDeletion -> Disabled: enable it afterwards). */
int kms_cancel_key_deletion(struct aws_ctx *ctx, const char *key_id, struct errbuf *err);
/* DisableKey / ScheduleKeyDeletion (tests and clean-up). */
int kms_disable_key(struct aws_ctx *ctx, const char *key_id, struct errbuf *err);
int kms_schedule_key_deletion(struct aws_ctx *ctx, const char *key_id, int days, struct errbuf *err);

#endif
