/* kms.c: see kms.h. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "kms.h"
#include "banned.h"

#define KMS_TARGET "TrentService"

static int call(struct aws_ctx *ctx, const char *op, const char *subject, json_t *in, json_t **out,
		struct errbuf *err)
{
	int rc = aws_json_call(ctx, "kms", KMS_TARGET, op, subject, in, out, err);

	json_decref(in);
	return rc;
}

void kms_key_release(struct kms_key *k)
{
	if (!k)
		return;
	free(k->key_id);
	free(k->arn);
	free(k->account);
	free(k->state);
	free(k->key_spec);
	free(k->key_usage);
	free(k->key_manager);
	memset(k, 0, sizeof(*k));
}

static int key_from(struct kms_key *k, json_t *resp, const char *op, const char *subject, struct errbuf *err)
{
	json_t *m = json_object_get(resp, "KeyMetadata");

	memset(k, 0, sizeof(*k));
	if (!json_is_object(m) || !json_is_string(json_object_get(m, "KeyId")))
		return err_set(err, TK_EFAIL, "kms %s '%s': unexpected response: no KeyMetadata", op,
			       subject ? subject : "");
	k->key_id = aws_json_strdup(m, "KeyId");
	k->arn = aws_json_strdup(m, "Arn");
	k->account = aws_json_strdup(m, "AWSAccountId");
	k->state = aws_json_strdup(m, "KeyState");
	k->key_spec = aws_json_strdup(m, "KeySpec");
	k->key_usage = aws_json_strdup(m, "KeyUsage");
	k->key_manager = aws_json_strdup(m, "KeyManager");
	k->enabled = aws_json_bool(m, "Enabled");
	k->deletion_date = aws_json_time(m, "DeletionDate");
	return 0;
}

int kms_create_key(struct aws_ctx *ctx, const char *policy, const char *description,
		   struct kms_key *out, struct errbuf *err)
{
	return kms_create_key_tagged(ctx, policy, description, NULL, NULL, out, err);
}

int kms_create_key_tagged(struct aws_ctx *ctx, const char *policy, const char *description,
			  const char *tag_key, const char *tag_value, struct kms_key *out, struct errbuf *err)
{
	json_t *in = json_object(), *resp = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (policy)
		json_object_set_new(in, "Policy", json_string(policy));
	if (description)
		json_object_set_new(in, "Description", json_string(description));
	if (tag_key)
		json_object_set_new(in, "Tags", json_pack("[{s:s, s:s}]", "TagKey", tag_key, "TagValue",
							   tag_value ? tag_value : ""));
	json_object_set_new(in, "KeyUsage", json_string("ENCRYPT_DECRYPT"));
	json_object_set_new(in, "KeySpec", json_string("SYMMETRIC_DEFAULT"));
	rc = call(ctx, "CreateKey", NULL, in, &resp, err);
	if (!rc)
		rc = key_from(out, resp, "CreateKey", NULL, err);
	json_decref(resp);
	return rc;
}

int kms_describe_key(struct aws_ctx *ctx, const char *key_id, struct kms_key *out, struct errbuf *err)
{
	json_t *in = json_pack("{s:s}", "KeyId", key_id), *resp = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = call(ctx, "DescribeKey", key_id, in, &resp, err);
	if (!rc)
		rc = key_from(out, resp, "DescribeKey", key_id, err);
	json_decref(resp);
	return rc;
}

int kms_create_alias(struct aws_ctx *ctx, const char *alias, const char *target_key_id, struct errbuf *err)
{
	return call(ctx, "CreateAlias", alias,
		    json_pack("{s:s, s:s}", "AliasName", alias, "TargetKeyId", target_key_id), NULL, err);
}

int kms_update_alias(struct aws_ctx *ctx, const char *alias, const char *target_key_id, struct errbuf *err)
{
	return call(ctx, "UpdateAlias", alias,
		    json_pack("{s:s, s:s}", "AliasName", alias, "TargetKeyId", target_key_id), NULL, err);
}

void kms_aliases_free(struct kms_alias *a, size_t n)
{
	size_t i;

	for (i = 0; a && i < n; i++) {
		free(a[i].name);
		free(a[i].arn);
		free(a[i].target_key_id);
	}
	free(a);
}

int kms_list_aliases(struct aws_ctx *ctx, const char *key_id, struct kms_alias **out, size_t *n,
		     struct errbuf *err)
{
	struct kms_alias *v = NULL;
	size_t nv = 0, alloc = 0, pages = 0;
	char *marker = NULL;
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (;;) {
		json_t *in = json_object(), *resp = NULL, *list, *a;
		size_t i;

		if (key_id)
			json_object_set_new(in, "KeyId", json_string(key_id));
		json_object_set_new(in, "Limit", json_integer(100));
		if (marker)
			json_object_set_new(in, "Marker", json_string(marker));
		rc = call(ctx, "ListAliases", key_id, in, &resp, err);
		if (rc)
			break;
		list = json_object_get(resp, "Aliases");
		json_array_foreach(list, i, a) {
			if (!json_is_object(a) || !json_is_string(json_object_get(a, "AliasName")))
				continue;
			ALLOC_GROW(v, nv + 1, alloc);
			v[nv].name = aws_json_strdup(a, "AliasName");
			v[nv].arn = aws_json_strdup(a, "AliasArn");
			v[nv].target_key_id = aws_json_strdup(a, "TargetKeyId");
			nv++;
		}
		free(marker);
		marker = aws_json_bool(resp, "Truncated") == 1 ? aws_json_strdup(resp, "NextMarker") : NULL;
		json_decref(resp);
		if (!marker)
			break;
		if (++pages > 10000) {
			rc = err_set(err, TK_EFAIL, "kms ListAliases: too many pages");
			break;
		}
	}
	free(marker);
	if (rc) {
		kms_aliases_free(v, nv);
		return rc;
	}
	*out = v;
	*n = nv;
	return 0;
}

int kms_get_key_policy(struct aws_ctx *ctx, const char *key_id, char **policy, struct errbuf *err)
{
	json_t *resp = NULL;
	int rc;

	*policy = NULL;
	rc = call(ctx, "GetKeyPolicy", key_id, json_pack("{s:s, s:s}", "KeyId", key_id, "PolicyName", "default"),
		  &resp, err);
	if (!rc) {
		*policy = aws_json_strdup(resp, "Policy");
		if (!*policy)
			rc = err_set(err, TK_EFAIL, "kms GetKeyPolicy '%s': unexpected response: no Policy", key_id);
	}
	json_decref(resp);
	return rc;
}

int kms_put_key_policy(struct aws_ctx *ctx, const char *key_id, const char *policy, struct errbuf *err)
{
	return call(ctx, "PutKeyPolicy", key_id,
		    json_pack("{s:s, s:s, s:s}", "KeyId", key_id, "PolicyName", "default", "Policy", policy),
		    NULL, err);
}

int kms_enable_key_rotation(struct aws_ctx *ctx, const char *key_id, struct errbuf *err)
{
	return call(ctx, "EnableKeyRotation", key_id, json_pack("{s:s}", "KeyId", key_id), NULL, err);
}

int kms_get_key_rotation(struct aws_ctx *ctx, const char *key_id, bool *enabled, struct errbuf *err)
{
	json_t *resp = NULL;
	int rc, b;

	*enabled = false;
	rc = call(ctx, "GetKeyRotationStatus", key_id, json_pack("{s:s}", "KeyId", key_id), &resp, err);
	if (!rc) {
		b = aws_json_bool(resp, "KeyRotationEnabled");
		if (b < 0)
			rc = err_set(err, TK_EFAIL, "kms GetKeyRotationStatus '%s': unexpected response: "
				     "no KeyRotationEnabled", key_id);
		*enabled = b == 1;
	}
	json_decref(resp);
	return rc;
}

int kms_enable_key(struct aws_ctx *ctx, const char *key_id, struct errbuf *err)
{
	return call(ctx, "EnableKey", key_id, json_pack("{s:s}", "KeyId", key_id), NULL, err);
}

int kms_cancel_key_deletion(struct aws_ctx *ctx, const char *key_id, struct errbuf *err)
{
	return call(ctx, "CancelKeyDeletion", key_id, json_pack("{s:s}", "KeyId", key_id), NULL, err);
}

int kms_disable_key(struct aws_ctx *ctx, const char *key_id, struct errbuf *err)
{
	return call(ctx, "DisableKey", key_id, json_pack("{s:s}", "KeyId", key_id), NULL, err);
}

int kms_schedule_key_deletion(struct aws_ctx *ctx, const char *key_id, int days, struct errbuf *err)
{
	return call(ctx, "ScheduleKeyDeletion", key_id,
		    json_pack("{s:s, s:i}", "KeyId", key_id, "PendingWindowInDays", days), NULL, err);
}

#define KMS_TAG_PAGES 10

int kms_get_tag(struct aws_ctx *ctx, const char *key_id, const char *tag_key, char **value, struct errbuf *err)
{
	json_t *resp = NULL, *in, *t;
	char *marker = NULL;
	size_t page, i;
	int rc = 0;

	*value = NULL;
	for (page = 0;; page++) {
		const char *next;

		if (page == KMS_TAG_PAGES) {
			rc = err_set(err, TK_ELIMIT, "kms ListResourceTags '%s': more than %d pages", key_id,
				     KMS_TAG_PAGES);
			break;
		}
		in = json_pack("{s:s}", "KeyId", key_id);
		if (marker)
			json_object_set_new(in, "Marker", json_string(marker));
		json_decref(resp);
		resp = NULL;
		if ((rc = call(ctx, "ListResourceTags", key_id, in, &resp, err)))
			break;
		json_array_foreach(json_object_get(resp, "Tags"), i, t) {
			const char *k = json_string_value(json_object_get(t, "TagKey"));
			const char *v = json_string_value(json_object_get(t, "TagValue"));

			if (k && v && !strcmp(k, tag_key) && !*value)
				*value = xstrdup(v);
		}
		next = json_string_value(json_object_get(resp, "NextMarker"));
		if (*value || !json_is_true(json_object_get(resp, "Truncated")) || !next ||
		    (marker && !strcmp(marker, next)))
			break;
		free(marker);
		marker = xstrdup(next);
	}
	json_decref(resp);
	free(marker);
	if (!rc && !*value)
		rc = TK_ENOTFOUND;
	return rc;
}
