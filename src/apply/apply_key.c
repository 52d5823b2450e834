/* apply_key.c: the central KMS key (apply.h): found by alias, created safely
 * (one attempt per connection, a lost reply adopted by tag and description),
 * its state converged (Disabled, PendingDeletion), its policy merged,
 * rotation on. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "apply_int.h"
#include "kms.h"
#include "timeutil.h"
#include "banned.h"

/* ---- the key's state ---- */

enum apply_key_step apply_key_state_step(const char *state)
{
	if (!state)
		return APPLY_KEY_REFUSE;
	if (!strcmp(state, "Enabled"))
		return APPLY_KEY_READY;
	if (!strcmp(state, "Disabled"))
		return APPLY_KEY_ENABLE;
	if (!strcmp(state, "PendingDeletion"))
		return APPLY_KEY_CANCEL_ENABLE;
	return APPLY_KEY_REFUSE;
}

/* What to do about a key in a state apply does not converge. */
const char *ap_key_state_hint(const char *state)
{
	if (!state)
		return "DescribeKey returned no KeyState";
	if (!strcmp(state, "PendingImport"))
		return "import its key material first";
	if (!strcmp(state, "Unavailable"))
		return "reconnect its custom key store first";
	if (!strcmp(state, "Creating") || !strcmp(state, "Updating"))
		return "wait until KMS has finished, then run apply again";
	return "fix the key in KMS (or use another kms_alias), then run apply again";
}

/* Disabled -> EnableKey; PendingDeletion -> CancelKeyDeletion, EnableKey.
 * Each write is a change with the state before and after. */
static int converge_key_state(struct central *ce, struct run *r, struct changes *ch, const char *ksubject,
			      struct errbuf *err)
{
	enum apply_key_step step = apply_key_state_step(ce->key.state);
	struct apply_change *chg;
	json_t *before, *after;
	char when[32];
	int rc = 0;

	if (step == APPLY_KEY_READY)
		return 0;
	if (step == APPLY_KEY_REFUSE)   /* preflight refused it already */
		return err_set(err, TK_EFAIL, "kms key '%s' (%s) is in state '%s': %s", r->cfg->kms_alias,
			       ce->key.arn ? ce->key.arn : "?", ce->key.state ? ce->key.state : "unknown",
			       ap_key_state_hint(ce->key.state));
	if (step == APPLY_KEY_CANCEL_ENABLE) {
		before = json_pack("{s:s}", "KeyState", "PendingDeletion");
		if (ce->key.deletion_date)
			json_object_set_new(before, "DeletionDate",
					    json_string(tk_format_iso(ce->key.deletion_date, when, sizeof(when))));
		after = json_pack("{s:s}", "KeyState", "Disabled");
		chg = ap_add_change(ch, ce->account, ksubject, "cancel deletion", before, after, false);
		json_decref(before);
		json_decref(after);
		if (!DRY(r, ch)) {
			if ((rc = kms_cancel_key_deletion(&ce->ctx, ce->key.key_id, err)))
				return rc;
			ap_write_done(r, chg);
		}
	}
	before = json_pack("{s:s}", "KeyState", "Disabled");
	after = json_pack("{s:s}", "KeyState", "Enabled");
	chg = ap_add_change(ch, ce->account, ksubject, "enable", before, after, false);
	json_decref(before);
	json_decref(after);
	if (DRY(r, ch))
		return 0;
	if ((rc = kms_enable_key(&ce->ctx, ce->key.key_id, err)))
		return rc;
	ap_write_done(r, chg);
	free(ce->key.state);
	ce->key.state = xstrdup("Enabled");
	ce->key.enabled = 1;
	ce->key.deletion_date = 0;
	return 0;
}

#define KEY_LIST_MAX_PAGES 20

/* A key this tool created earlier whose alias was never made (an apply
 * interrupted between CreateKey and CreateAlias): symmetric, Enabled,
 * customer managed, with exactly our description and no alias.  0 with
 * *out filled, TK_ENOTFOUND when there is none. */
static int find_own_key(struct aws_ctx *ctx, const char *desc, const char *alias, struct kms_key *out,
			struct errbuf *err)
{
	json_t *in = NULL, *resp = NULL;
	const char *marker = NULL;
	char *mk = NULL;
	size_t page, i;
	int rc = TK_ENOTFOUND;

	for (page = 0; page < KEY_LIST_MAX_PAGES; page++) {
		const json_t *keys;

		in = json_pack("{s:i}", "Limit", 1000);
		if (marker)
			json_object_set_new(in, "Marker", json_string(marker));
		rc = aws_json_call(ctx, "kms", "TrentService", "ListKeys", NULL, in, &resp, err);
		json_decref(in);
		if (rc)
			goto done;
		keys = json_object_get(resp, "Keys");
		for (i = 0; i < json_array_size(keys); i++) {
			const char *id = json_string_value(json_object_get(json_array_get(keys, i), "KeyId"));
			json_t *din, *d = NULL;
			const json_t *m;
			struct kms_alias *al = NULL;
			size_t nal = 0;
			bool ours, desc_ok;

			if (!id)
				continue;
			din = json_pack("{s:s}", "KeyId", id);
			rc = aws_json_call(ctx, "kms", "TrentService", "DescribeKey", NULL, din, &d, err);
			json_decref(din);
			if (rc)
				goto done;
			m = json_object_get(d, "KeyMetadata");
			ours = json_string_value(json_object_get(m, "KeyState")) &&
			       !strcmp(json_string_value(json_object_get(m, "KeyState")), "Enabled") &&
			       (!json_string_value(json_object_get(m, "KeyManager")) ||
				!strcmp(json_string_value(json_object_get(m, "KeyManager")), "CUSTOMER"));
			desc_ok = json_string_value(json_object_get(m, "Description")) &&
				  !strcmp(json_string_value(json_object_get(m, "Description")), desc);
			json_decref(d);
			if (!ours)
				continue;
			if (!desc_ok) {   /* the tag set at creation (kms_create_key_tagged) */
				char *tv = NULL;

				rc = kms_get_tag(ctx, id, APPLY_KEY_TAG, &tv, err);
				desc_ok = rc == 0 && !strcmp(tv, alias);
				free(tv);
				if (rc && rc != TK_ENOTFOUND && rc != TK_EAUTH)   /* a key we may not read is not ours */
					goto done;
				if (!desc_ok)
					continue;
			}
			if ((rc = kms_list_aliases(ctx, id, &al, &nal, err)))
				goto done;
			kms_aliases_free(al, nal);
			if (nal)
				continue;
			rc = kms_describe_key(ctx, id, out, err);
			goto done;
		}
		if (!json_is_true(json_object_get(resp, "Truncated")) ||
		    !json_string_value(json_object_get(resp, "NextMarker")))
			break;
		free(mk);
		mk = xstrdup(json_string_value(json_object_get(resp, "NextMarker")));
		marker = mk;
		json_decref(resp);
		resp = NULL;
	}
	rc = TK_ENOTFOUND;
done:
	json_decref(resp);
	free(mk);
	return rc;
}

/* CreateKey that is safe to retry: one attempt at a time, each on a
 * connection of its own (an automatic retry of a CreateKey whose reply was
 * lost, by the retry loop or by libcurl on a reused connection that died,
 * would make a second key), the key tagged APPLY_KEY_TAG=ALIAS; after a
 * failure the server may have acted on (no answer, 5xx, throttling), the key
 * is looked for by tag and description (find_own_key) and adopted before
 * CreateKey is tried again. */
static int create_key_safe(struct central *ce, struct run *r, const char *policy, const char *desc,
			   struct errbuf *err)
{
	int attempts = ce->ctx.max_attempts > 0 ? ce->ctx.max_attempts : 3, i, rc = 0, rc2;
	struct http_pool_options ho;
	struct errbuf e2;

	if (r->o->http_opts)
		ho = *r->o->http_opts;
	else
		memset(&ho, 0, sizeof(ho));
	for (i = 0; i < attempts; i++) {
		struct http_pool *fresh = NULL;
		struct aws_ctx kc;
		bool maybe_done;

		if (i)
			ap_sleep_ms(&ce->ctx, aws_retry_backoff_ms(&ce->ctx, i));
		if ((rc = http_pool_new(&fresh, &ho, err)))
			return rc;
		if ((rc = aws_ctx_clone(&kc, &ce->ctx, NULL, NULL, err))) {
			http_pool_free(fresh);
			return rc;
		}
		kc.http = fresh;
		kc.max_attempts = 1;
		rc = kms_create_key_tagged(&kc, policy, desc, APPLY_KEY_TAG, r->cfg->kms_alias, &ce->key, err);
		maybe_done = rc == TK_ENET || kc.last_error.status >= 500 || kc.last_error.status == 429 ||
			     aws_error_is_throttle(&kc.last_error);
		aws_ctx_release(&kc);
		http_pool_free(fresh);
		if (rc == 0)
			return 0;
		if (!maybe_done)
			return rc;   /* refused: nothing was made */
		err_clear(&e2);
		kms_key_release(&ce->key);
		rc2 = find_own_key(&ce->ctx, desc, r->cfg->kms_alias, &ce->key, &e2);
		if (rc2 == 0)
			return 0;   /* the CreateKey happened, its reply was lost: adopt the key */
		if (rc2 != TK_ENOTFOUND)
			return rc;
	}
	return rc;
}

/* CreateAlias; AlreadyExists for an alias that names this very key (a
 * CreateAlias whose reply was lost, retried) is success. */
static int create_alias_safe(struct central *ce, const char *alias, struct errbuf *err)
{
	struct kms_key k;
	struct errbuf e2;
	int rc = kms_create_alias(&ce->ctx, alias, ce->key.key_id, err);

	if (rc == 0 || !aws_error_is(&ce->ctx.last_error, "AlreadyExistsException"))
		return rc;
	memset(&k, 0, sizeof(k));
	err_clear(&e2);
	if (kms_describe_key(&ce->ctx, alias, &k, &e2) == 0 && k.key_id && ce->key.key_id &&
	    !strcmp(k.key_id, ce->key.key_id))
		rc = 0;
	else
		rc = err_set(err, TK_EFAIL, "kms alias '%s' already exists and does not name the key '%s' this "
			     "apply created: not changing it", alias, ce->key.arn ? ce->key.arn : ce->key.key_id);
	kms_key_release(&k);
	return rc;
}

/* No key yet: CreateKey with the planned policy, CreateAlias, rotation on
 * (a dry run lists the changes and names the key by its alias ARN). */
static int create_new_key(struct central *ce, struct run *r, struct changes *ch, const json_t *want,
			  const char *subject, const char *ksubject, const char *desc, struct errbuf *err)
{
	const struct tk_config *c = r->cfg;
	json_t *after;
	char *body;
	size_t first;
	int rc;

	after = json_pack("{s:s, s:s, s:s, s:s}", "AliasName", c->kms_alias, "KeySpec", "SYMMETRIC_DEFAULT",
			  "KeyUsage", "ENCRYPT_DECRYPT", "Region", c->home_region);
	ap_add_change(ch, ce->account, ksubject, "create", NULL, after, false);
	first = ch->n - 1;
	json_decref(after);
	ap_add_change(ch, ce->account, subject, "set", NULL, want, true);
	ap_add_change(ch, ce->account, ksubject, "enable rotation", NULL, NULL, false);
	if (DRY(r, ch)) {
		free(r->key_arn);
		r->key_arn = xasprintf("arn:%s:kms:%s:%s:%s", r->partition, c->home_region, ce->account,
				       c->kms_alias);
		return 0;
	}
	body = ap_dump_compact(want);
	rc = create_key_safe(ce, r, body, desc, err);
	free(body);
	if (rc)
		return rc;
	ap_write_done(r, &ch->v[first]);
	if ((rc = create_alias_safe(ce, c->kms_alias, err)))
		return rc;
	ap_write_done(r, NULL);
	ce->key_exists = true;
	ch->v[first + 1].done = true;   /* the policy came with CreateKey */
	if ((rc = kms_enable_key_rotation(&ce->ctx, ce->key.key_id, err)))
		return rc;
	ap_write_done(r, &ch->v[first + 2]);
	free(r->key_arn);
	r->key_arn = xstrdup(ce->key.arn);
	return 0;
}

int ap_converge_key(struct central *ce, struct run *r, struct changes *ch, struct errbuf *err)
{
	const struct tk_config *c = r->cfg;
	const json_t *want = ap_plan_doc(r->o->plan, "central/kms-key-policy.json");
	char *subject = xasprintf("kms key '%s' policy", c->kms_alias);
	char *ksubject = xasprintf("kms key '%s'", c->kms_alias);
	struct apply_change *chg;
	json_t *after;
	bool rot = false;
	char *desc = NULL;
	int rc;

	if (!want) {
		rc = err_set(err, TK_EUSAGE, "the plan has no central/kms-key-policy.json");
		goto done;
	}
	desc = xasprintf("trailkeep: CloudTrail logs (%s)", c->kms_alias);
	if (!ce->key_exists) {
		rc = find_own_key(&ce->ctx, desc, c->kms_alias, &ce->key, err);
		if (rc == 0) {
			/* adopt the key an interrupted run created: only the alias is missing */
			char *asub = xasprintf("kms alias '%s'", c->kms_alias);

			after = json_pack("{s:s, s:s}", "AliasName", c->kms_alias, "TargetKeyId", ce->key.arn);
			chg = ap_add_change(ch, ce->account, asub, "create", NULL, after, false);
			json_decref(after);
			free(asub);
			if (!DRY(r, ch)) {
				if ((rc = create_alias_safe(ce, c->kms_alias, err)))
					goto done;
				ap_write_done(r, chg);
			}
			ce->key_exists = true;
		} else if (rc != TK_ENOTFOUND) {
			goto done;
		}
	}
	if (!ce->key_exists) {
		rc = create_new_key(ce, r, ch, want, subject, ksubject, desc, err);
		goto done;
	}
	free(r->key_arn);
	r->key_arn = xstrdup(ce->key.arn);
	/* the key's state first: EnableKeyRotation (and CloudTrail) need an
	 * enabled key */
	if ((rc = converge_key_state(ce, r, ch, ksubject, err)))
		goto done;
	rc = ap_converge_policy(r, &ce->ctx, ch, ce->account, ce->key.key_id, true, want, subject,
			     kms_get_key_policy, kms_put_key_policy, true, NULL, err);
	if (rc)
		goto done;
	rc = kms_get_key_rotation(&ce->ctx, ce->key.key_id, &rot, err);
	if (rc && DRY(r, ch) && apply_key_state_step(ce->key.state) == APPLY_KEY_CANCEL_ENABLE &&
	    aws_error_is(&ce->ctx.last_error, "KMSInvalidStateException")) {
		/* KMS does not report rotation of a key pending deletion: the
		 * real run reads it after cancelling the deletion */
		ap_add_warning(ch, xasprintf("kms key '%s' is pending deletion: its rotation status cannot be "
					  "read until apply has cancelled the deletion", c->kms_alias));
		rc = 0;
		goto done;
	}
	if (rc)
		goto done;
	if (!rot) {
		json_t *b = json_pack("{s:b}", "KeyRotationEnabled", 0), *a = json_pack("{s:b}", "KeyRotationEnabled", 1);

		chg = ap_add_change(ch, ce->account, ksubject, "enable rotation", b, a, false);
		json_decref(a);
		json_decref(b);
		if (!DRY(r, ch)) {
			if ((rc = kms_enable_key_rotation(&ce->ctx, ce->key.key_id, err)))
				goto done;
			ap_write_done(r, chg);
		}
	}
done:
	free(subject);
	free(ksubject);
	free(desc);
	return rc;
}
