/* doctor.c: see doctor.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
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

#define FIX_DIFF_LIMIT (256u * 1024)
#define LINE_LIMIT 4096

/* ---- cause table ---------------------------------------------------------- */

static const struct {
	const char *name;
	const char *hint;
} causes[DC__COUNT] = {
	[DC_NONE] = { "", "" },
	[DC_TRAIL_MISSING] = { "trail_missing", "the trail does not exist: trailkeep apply creates it and starts logging" },
	[DC_TRAIL_DELETED] = { "trail_deleted", "someone deleted the trail: trailkeep apply re-creates it; ask the culprit why" },
	[DC_TRAIL_NOT_LOGGING] = { "trail_not_logging", "the trail exists but logging is stopped: trailkeep apply starts it" },
	[DC_TRAIL_REGION_NOT_COVERED] = { "trail_region_not_covered", "the trail is single-region and this region is not its home: make it multi-region (trailkeep apply)" },
	[DC_DELIVERY_ERROR] = { "delivery_error", "the trail reports a delivery error nothing else explains: its value says which permission or resource is wrong" },
	[DC_BUCKET_POLICY_DENIES] = { "bucket_policy_denies", "the bucket policy does not let this trail write this account's prefix: trailkeep apply restores its statements" },
	[DC_KMS_KEY_MISSING] = { "kms_key_missing", "the trail's KMS key does not exist: trailkeep apply creates the key and points the trail at it" },
	[DC_KMS_KEY_DISABLED] = { "kms_key_disabled", "the trail's KMS key is disabled: trailkeep apply enables it" },
	[DC_KMS_KEY_PENDING_DELETION] = { "kms_key_pending_deletion", "the trail's KMS key is scheduled for deletion: trailkeep apply cancels the deletion and enables it, now" },
	[DC_KMS_KEY_WRONG_REGION] = { "kms_key_wrong_region", "the trail's KMS key is in another region than the bucket: trailkeep apply points the trail at the key in home_region" },
	[DC_KMS_KEY_CHANGED] = { "kms_key_changed", "the trail encrypts with another key than the config's kms_alias: whoever may decrypt the configured key cannot read new logs; trailkeep apply points it back" },
	[DC_KMS_POLICY_DENIES] = { "kms_policy_denies", "the key policy does not let CloudTrail GenerateDataKey for this trail: trailkeep apply restores its statements" },
	[DC_BUCKET_MISSING] = { "bucket_missing", "the trail's bucket does not exist: trailkeep apply creates it" },
	[DC_BUCKET_WRONG_REGION] = { "bucket_wrong_region", "the bucket was created again in another region than home_region, away from the trail's KMS key: move it back or change home_region" },
	[DC_BUCKET_FOREIGN_OWNER] = { "bucket_foreign_owner", "the bucket belongs to another account: choose another bucket name in the config" },
	[DC_BUCKET_CHANGED] = { "bucket_changed", "the trail writes to another bucket than the config says: trailkeep apply points it back" },
	[DC_PREFIX_CHANGED] = { "prefix_changed", "the trail's S3KeyPrefix differs from the config: trailkeep apply sets it back" },
	[DC_ORG_PATH_LAYOUT] = { "org_path_layout", "the key prefix repeats the organization id: logs land under ORG/AWSLogs/ORG/...; drop it from key_prefix" },
	[DC_REGION_NOT_ENABLED] = { "region_not_enabled", "the region is not enabled for the account: enable it or remove it from the config" },
	[DC_SELECTORS_EXCLUDE] = { "selectors_exclude", "the event selectors leave out management events or a configured data-event bucket: trailkeep apply restores them" },
	[DC_GLOBAL_EVENTS_OFF] = { "global_events_off", "the trail does not include global service events: trailkeep apply turns them on" },
	[DC_GLOBAL_EVENTS_DUPLICATED] = { "global_events_duplicated", "more than one trail in the account records global service events: turn them off on the other trail" },
	[DC_VALIDATION_DISABLED] = { "validation_disabled", "log file validation is off: no digest proves the logs unaltered; trailkeep apply turns it on" },
	[DC_ACCOUNT_LEFT_ORG] = { "account_left_org", "the account is no longer an ACTIVE member of the organization, so the organization trail does not log it: invite it back or remove it from the config" },
	[DC_ORG_TRUSTED_ACCESS_DISABLED] = { "org_trusted_access_disabled", "cloudtrail.amazonaws.com has no trusted access in Organizations: the organization trail logs only the management account; trailkeep apply enables it" },
	[DC_ACCOUNT_UNCONFIGURED] = { "account_unconfigured", "an ACTIVE member of the organization that the config neither declares nor excludes: the organization trail logs it, nobody checks it; declare it or exclude it" },
	[DC_PREFIX_FOREIGN] = { "prefix_foreign", "logs under the prefix of an account that is neither configured nor an ACTIVE member: logs kept from before it was removed, or another trail writing into the bucket" },
	[DC_UNKNOWN] = { "unknown", "no known cause explains this cell: read the evidence (everything doctor checked is listed)" },
};

const char *doctor_cause_name(enum doctor_cause c)
{
	return (unsigned)c < DC__COUNT ? causes[c].name : "";
}

const char *doctor_cause_hint(enum doctor_cause c)
{
	return (unsigned)c < DC__COUNT ? causes[c].hint : "";
}

int doctor_cause_from_name(const char *name)
{
	int i;

	for (i = 1; i < DC__COUNT; i++)
		if (!strcmp(causes[i].name, name))
			return i;
	return -1;
}

const char *doctor_status_name(enum doctor_status s)
{
	switch (s) {
	case DOCTOR_HEALTHY: return "ok";
	case DOCTOR_CAUSE: return "cause";
	case DOCTOR_UNEXAMINED: return "unexamined";
	}
	return "?";
}

/* What each LatestDeliveryError value means (AWS documents few of them;
 * these are the ones CloudTrail and the fake report). */
const char *doctor_delivery_error_meaning(const char *v)
{
	static const struct { const char *code, *meaning; } m[] = {
		{ "AccessDenied", "S3 refused the PutObject: the bucket policy (or an SCP / object ownership setting) does not let CloudTrail write this prefix" },
		{ "NoSuchBucket", "the trail's S3 bucket does not exist" },
		{ "KMS.DisabledException", "the trail's KMS key is disabled" },
		{ "KMS.NotFoundException", "the trail's KMS key does not exist (deleted, or in another region)" },
		{ "KMS.KMSInvalidStateException", "the trail's KMS key is not usable (pending deletion or import)" },
		{ "KMS.AccessDeniedException", "the key policy does not let CloudTrail use the KMS key" },
		{ "InsufficientEncryptionPolicy", "the key policy does not let CloudTrail GenerateDataKey with this trail's encryption context" },
		{ "InsufficientS3BucketPolicy", "the bucket policy does not let CloudTrail write" },
		{ "PermanentRedirect", "the bucket is in another region than the endpoint CloudTrail used" },
		{ "AllAccessDisabled", "all access to the bucket is disabled (suspended account)" },
		{ "KMS.ThrottlingException", "KMS throttled CloudTrail's GenerateDataKey: other callers of the key (or of "
		  "the account's KMS quota) use up its request rate; CloudTrail retries, logs arrive late or not at all" },
		{ "KMS.KMSInternalException", "KMS failed internally; usually transient" },
		{ "InternalError", "S3 failed internally; usually transient" },
		{ "SlowDown", "S3 throttled the PutObject (request rate on the prefix)" },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (!strcmp(m[i].code, v))
			return m[i].meaning;
	return "an error CloudTrail reported without a documented meaning";
}

/* Does a delivery error point at a resource that a later check examines? */
static bool delivery_error_deferred(const char *v)
{
	return !strcmp(v, "AccessDenied") || !strcmp(v, "NoSuchBucket") || !strncmp(v, "KMS.", 4) ||
	       !strcmp(v, "InsufficientEncryptionPolicy") || !strcmp(v, "InsufficientS3BucketPolicy") ||
	       !strcmp(v, "PermanentRedirect");
}

/* ---- state ---------------------------------------------------------------- */

struct acct_creds {
	char account[TK_ACCOUNT_ID_LEN + 1];
	struct aws_creds creds;
	int rc;
	char msg[ERRBUF_LEN];
};

struct rctx {
	char account[TK_ACCOUNT_ID_LEN + 1];
	char *region;
	struct aws_ctx ctx;
	int rc;
	char msg[ERRBUF_LEN];
};

/* A per-trail call made once per run: whether it was made, its result and
 * its error message. */
struct lazy {
	bool loaded;
	int rc;
	char msg[ERRBUF_LEN];
};

struct trail_cache {
	char *arn;
	char *owner;
	char *home;
	bool loaded;
	int rc;                  /* GetTrail: 0, TK_ENOTFOUND, other */
	char msg[ERRBUF_LEN];
	struct ct_trail trail;
	struct lazy status_l;
	struct ct_status status;
	struct lazy sel_l;
	json_t *selectors;
};

struct res_cache {           /* bucket policy / key policy / location, by name */
	char *name;
	int rc;
	char msg[ERRBUF_LEN];
	char *text;
	json_t *doc;
	char *region;
	struct kms_key key;
};

struct ev_cache {
	char *key;               /* account|region|event name|match... */
	int rc;
	char msg[ERRBUF_LEN];
	json_t *doc;             /* the newest matching event, or NULL */
	time_t time;
};

struct dstate {
	const struct doctor_opts *o;
	char *self_account;
	struct acct_creds *creds;
	size_t ncreds;
	struct rctx **ctxs;
	size_t nctxs;
	struct trail_cache **trails;   /* entries never move: checks hold them */
	size_t ntrails;
	struct res_cache **bpol, **bloc, **keys, **kpol;
	size_t nbpol, nbloc, nkeys, nkpol;
	struct ev_cache *evc;
	size_t nevc;
	size_t calls;
	struct org_view org;           /* Organizations, read once (org_check.h) */
};

/* Entries are allocated one by one: a pointer handed out stays valid while
 * later lookups add entries (a check may hold the trail's key while it
 * looks up the configured one). */
static struct res_cache *res_find(struct res_cache ***v, size_t *n, const char *name, bool *fresh)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i]->name, name)) {
			*fresh = false;
			return (*v)[i];
		}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n] = xcalloc(1, sizeof(***v));
	(*v)[*n]->name = xstrdup(name);
	*fresh = true;
	return (*v)[(*n)++];
}

static void res_free(struct res_cache **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i]->name);
		free(v[i]->text);
		json_decref(v[i]->doc);
		free(v[i]->region);
		kms_key_release(&v[i]->key);
		free(v[i]);
	}
	free(v);
}

static void state_release(struct dstate *st)
{
	size_t i;

	free(st->self_account);
	for (i = 0; i < st->ncreds; i++)
		aws_creds_release(&st->creds[i].creds);
	free(st->creds);
	for (i = 0; i < st->nctxs; i++) {
		if (!st->ctxs[i]->rc)
			aws_ctx_release(&st->ctxs[i]->ctx);
		free(st->ctxs[i]->region);
		free(st->ctxs[i]);
	}
	free(st->ctxs);
	for (i = 0; i < st->ntrails; i++) {
		struct trail_cache *t = st->trails[i];

		free(t->arn);
		free(t->owner);
		free(t->home);
		ct_trail_release(&t->trail);
		ct_status_release(&t->status);
		json_decref(t->selectors);
		free(t);
	}
	free(st->trails);
	res_free(st->bpol, st->nbpol);
	res_free(st->bloc, st->nbloc);
	res_free(st->keys, st->nkeys);
	res_free(st->kpol, st->nkpol);
	for (i = 0; i < st->nevc; i++) {
		free(st->evc[i].key);
		json_decref(st->evc[i].doc);
	}
	free(st->evc);
	org_view_release(&st->org);
}

static int self_account(struct dstate *st, struct errbuf *err)
{
	struct sts_identity id;
	int rc;

	if (st->self_account)
		return 0;
	memset(&id, 0, sizeof(id));
	st->calls++;
	rc = sts_get_caller_identity(st->o->aws, &id, err);
	if (rc)
		return rc;
	st->self_account = id.account ? xstrdup(id.account) : xstrdup("");
	sts_identity_release(&id);
	return 0;
}

/* An AWS context for account x region (cached; creds by AssumeRole). */
static struct aws_ctx *ctx_for(struct dstate *st, const char *account, const char *region,
			       struct errbuf *err)
{
	const struct tk_config *cfg = st->o->cfg;
	struct acct_creds *ac = NULL;
	struct rctx *r;
	size_t i;
	int rc;

	for (i = 0; i < st->nctxs; i++) {
		r = st->ctxs[i];
		if (!strcmp(r->account, account) && !strcmp(r->region, region)) {
			if (r->rc) {
				err_set(err, r->rc, "%s", r->msg);
				return NULL;
			}
			return &r->ctx;
		}
	}
	r = xcalloc(1, sizeof(*r));
	snprintf(r->account, sizeof(r->account), "%s", account);
	r->region = xstrdup(region);
	st->ctxs = xrealloc(st->ctxs, (st->nctxs + 1) * sizeof(*st->ctxs));
	st->ctxs[st->nctxs++] = r;

	if (self_account(st, err)) {
		r->rc = TK_EAUTH;
		snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
		return NULL;
	}
	if (!strcmp(st->self_account, account)) {
		rc = aws_ctx_clone(&r->ctx, st->o->aws, region, NULL, err);
	} else {
		for (i = 0; i < st->ncreds; i++)
			if (!strcmp(st->creds[i].account, account))
				ac = &st->creds[i];
		if (!ac) {
			char *role = xasprintf("arn:%s:iam::%s:role/%s", cfg->partition ? cfg->partition : "aws",
					       account, cfg->assume_role ? cfg->assume_role : "OrganizationAccountAccessRole");
			struct errbuf e2;

			st->creds = xrealloc(st->creds, (st->ncreds + 1) * sizeof(*st->creds));
			ac = &st->creds[st->ncreds++];
			memset(ac, 0, sizeof(*ac));
			snprintf(ac->account, sizeof(ac->account), "%s", account);
			err_clear(&e2);
			st->calls++;
			ac->rc = sts_assume_role(st->o->aws, role, st->o->session_name ? st->o->session_name
						 : "trailkeep-doctor", cfg->external_id, 0, &ac->creds, NULL, &e2);
			if (ac->rc)
				snprintf(ac->msg, sizeof(ac->msg), "cannot assume '%.200s': %.700s", role, e2.msg);
			free(role);
		}
		if (ac->rc) {
			rc = err_set(err, ac->rc, "%s", ac->msg);
		} else {
			rc = aws_ctx_clone(&r->ctx, st->o->aws, region, &ac->creds, err);
		}
	}
	if (rc) {
		r->rc = rc;
		snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
		return NULL;
	}
	return &r->ctx;
}

/* ---- the trail ------------------------------------------------------------ */

static const char *trail_owner(const struct tk_config *c, const char *account)
{
	return c->mode == TK_MODE_ORGANIZATION ? c->management_account : account;
}

static struct trail_cache *trail_get(struct dstate *st, const char *account)
{
	const struct tk_config *cfg = st->o->cfg;
	char *arn = config_trail_arn(cfg, account);
	struct trail_cache *t;
	struct aws_ctx *ctx;
	struct errbuf e;
	size_t i;

	for (i = 0; i < st->ntrails; i++)
		if (!strcmp(st->trails[i]->arn, arn)) {
			free(arn);
			return st->trails[i];
		}
	st->trails = xrealloc(st->trails, (st->ntrails + 1) * sizeof(*st->trails));
	t = st->trails[st->ntrails++] = xcalloc(1, sizeof(*t));
	t->arn = arn;
	t->owner = xstrdup(trail_owner(cfg, account));
	t->home = xstrdup(cfg->home_region);
	err_clear(&e);
	ctx = ctx_for(st, t->owner, t->home, &e);
	t->loaded = true;
	if (!ctx) {
		t->rc = TK_EAUTH;
		snprintf(t->msg, sizeof(t->msg), "%s", e.msg);
		return t;
	}
	st->calls++;
	t->rc = ct_get_trail(ctx, t->arn, &t->trail, &e);
	if (t->rc)
		snprintf(t->msg, sizeof(t->msg), "%s", e.msg);
	return t;
}

typedef int (*trail_fetch)(struct aws_ctx *ctx, struct trail_cache *t, struct errbuf *e);

/* Make a per-trail call once, in the trail owner's home region. */
static int trail_once(struct dstate *st, struct trail_cache *t, struct lazy *l, trail_fetch fetch)
{
	struct aws_ctx *ctx;
	struct errbuf e;

	if (l->loaded)
		return l->rc;
	l->loaded = true;
	err_clear(&e);
	ctx = ctx_for(st, t->owner, t->home, &e);
	if (!ctx) {
		l->rc = TK_EAUTH;
	} else {
		st->calls++;
		l->rc = fetch(ctx, t, &e);
	}
	if (l->rc)
		snprintf(l->msg, sizeof(l->msg), "%s", e.msg);
	return l->rc;
}

static int fetch_status(struct aws_ctx *ctx, struct trail_cache *t, struct errbuf *e)
{
	return ct_get_trail_status(ctx, t->arn, &t->status, e);
}

static int fetch_selectors(struct aws_ctx *ctx, struct trail_cache *t, struct errbuf *e)
{
	return ct_get_event_selectors(ctx, t->arn, &t->selectors, e);
}

static int trail_status(struct dstate *st, struct trail_cache *t)
{
	return trail_once(st, t, &t->status_l, fetch_status);
}

static int trail_selectors(struct dstate *st, struct trail_cache *t)
{
	return trail_once(st, t, &t->sel_l, fetch_selectors);
}

/* ---- cells ---------------------------------------------------------------- */

static void ev(struct doctor_cell *c, const char *fmt, ...) TK_PRINTF(2, 3);
static void ev(struct doctor_cell *c, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	if (c->nevidence >= DOCTOR_MAX_EVIDENCE)
		return;
	buf_init(&b, LINE_LIMIT);
	va_start(ap, fmt);
	if (buf_vaddf(&b, fmt, ap) == TK_ELIMIT)
		(void)0;   /* keep what fits */
	va_end(ap);
	c->evidence = xrealloc(c->evidence, (c->nevidence + 1) * sizeof(*c->evidence));
	c->evidence[c->nevidence++] = buf_detach(&b);
}

static void set_fix(struct doctor_cell *c, const char *fmt, ...) TK_PRINTF(2, 3);
static void set_fix(struct doctor_cell *c, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, LINE_LIMIT);
	va_start(ap, fmt);
	(void)buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(c->fix);
	c->fix = buf_detach(&b);
}

static void culprit_release(struct doctor_culprit *k)
{
	free(k->who);
	free(k->when);
	free(k->source_ip);
	free(k->event);
	free(k->event_id);
	memset(k, 0, sizeof(*k));
}

static void cell_free(struct doctor_cell *c)
{
	size_t i;

	free(c->account);
	free(c->region);
	free(c->symptom);
	for (i = 0; i < c->nevidence; i++)
		free(c->evidence[i]);
	free(c->evidence);
	free(c->fix);
	free(c->fix_diff);
	free(c->error);
	culprit_release(&c->culprit);
}

void doctor_report_release(struct doctor_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->ncells; i++)
		cell_free(&r->cells[i]);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

/* "trailkeep apply CONFIG" (with --account for per-account trails). */
static void fix_apply(struct dstate *st, struct doctor_cell *c, const char *before)
{
	const struct tk_config *cfg = st->o->cfg;
	const char *path = st->o->config_path ? st->o->config_path : cfg->path;

	if (cfg->mode == TK_MODE_PER_ACCOUNT)
		set_fix(c, "%s%strailkeep apply %s --account %s", before ? before : "",
			before ? ", then " : "", path, c->account);
	else
		set_fix(c, "%s%strailkeep apply %s", before ? before : "", before ? ", then " : "", path);
}

/* Append "(what it does)" to the fix line. */
static void set_fix_note(struct doctor_cell *c, const char *note)
{
	char *f;

	if (!c->fix)
		return;
	f = xasprintf("%s (%s)", c->fix, note);
	free(c->fix);
	c->fix = f;
}

/* ---- events (who did it) --------------------------------------------------- */

struct ev_search {
	const char *const *match;      /* requestParameters values that name the resource */
	size_t nmatch;
	json_t *found;                 /* the parsed CloudTrailEvent (owned) */
	time_t found_time;
	time_t best_time;
	json_t *best;
};

static bool params_match(json_t *rp, const char *const *match, size_t n)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(rp))
		return false;
	json_object_foreach(rp, k, v) {
		const char *s = json_string_value(v);

		(void)k;
		if (!s)
			continue;
		for (i = 0; i < n; i++) {
			size_t ls = strlen(s), lm = strlen(match[i]);

			if (!strcmp(s, match[i]))
				return true;
			/* a key id matches the key ARN that ends with it */
			if (ls > lm && s[ls - lm - 1] == '/' && !strcmp(s + ls - lm, match[i]))
				return true;
			if (lm > ls && match[i][lm - ls - 1] == '/' && !strcmp(match[i] + lm - ls, s))
				return true;
		}
	}
	return false;
}

static int ev_cb(void *ud, json_t *event)
{
	struct ev_search *s = ud;
	const char *text = json_string_value(json_object_get(event, "CloudTrailEvent"));
	json_t *doc;
	time_t t = aws_json_time(event, "EventTime");

	if (!text)
		return 0;
	doc = json_loads(text, 0, NULL);
	if (!doc)
		return 0;
	/* no match strings: any event of that name (LeaveOrganization names nothing) */
	if (json_object_get(doc, "errorCode") || (s->nmatch &&
	    !params_match(json_object_get(doc, "requestParameters"), s->match, s->nmatch))) {
		json_decref(doc);
		return 0;
	}
	s->found = doc;
	s->found_time = t;
	return 1;   /* newest first: the first match is the last change */
}

/* The newest event named one of names, in account x region, whose request
 * parameters name one of match[].  Fills c->culprit and an evidence line.
 * Returns 1 when found, 0 when not, < 0 when LookupEvents failed (evidence
 * says so). */
static int find_culprit(struct dstate *st, struct doctor_cell *c, const char *account, const char *region,
			const char *const *names, size_t nnames, const char *const *match, size_t nmatch)
{
	struct ev_search s;
	struct aws_ctx *ctx;
	struct errbuf e;
	size_t i;
	long lookback = st->o->lookback_s > 0 ? st->o->lookback_s : DOCTOR_LOOKBACK_S;
	time_t start = st->o->now > lookback ? st->o->now - lookback : 1;
	const json_t *ui;
	const char *who, *issuer;
	struct buf names_b;

	memset(&s, 0, sizeof(s));
	s.match = match;
	s.nmatch = nmatch;
	err_clear(&e);
	ctx = ctx_for(st, account, region, &e);
	if (!ctx) {
		ev(c, "cloudtrail LookupEvents in %s %s: not possible: %s", account, region, e.msg);
		return TK_EAUTH;
	}
	for (i = 0; i < nnames; i++) {
		struct ev_cache *hit = NULL;
		char *key;
		size_t k;
		int rc;

		/* one question per run: many cells share the trail, bucket and key */
		key = xasprintf("%s|%s|%s", account, region, names[i]);
		for (k = 0; k < nmatch; k++) {
			char *longer = xasprintf("%s|%s", key, match[k]);

			free(key);
			key = longer;
		}
		for (k = 0; k < st->nevc; k++)
			if (!strcmp(st->evc[k].key, key))
				hit = &st->evc[k];
		if (!hit) {
			json_t *attrs = json_pack("[{s:s, s:s}]", "AttributeKey", "EventName", "AttributeValue",
						  names[i]);

			s.found = NULL;
			st->calls++;
			err_clear(&e);
			rc = ct_lookup_events(ctx, attrs, start, st->o->now, DOCTOR_MAX_EVENT_PAGES, ev_cb, &s, &e);
			json_decref(attrs);
			st->evc = xrealloc(st->evc, (st->nevc + 1) * sizeof(*st->evc));
			hit = &st->evc[st->nevc++];
			hit->key = key;
			hit->rc = rc;
			snprintf(hit->msg, sizeof(hit->msg), "%s", e.msg);
			hit->doc = rc ? NULL : s.found;   /* the cache owns it */
			hit->time = s.found_time;
			if (rc)
				json_decref(s.found);
		} else {
			free(key);
		}
		rc = hit->rc;
		snprintf(e.msg, sizeof(e.msg), "%s", hit->msg);
		s.found = hit->doc ? json_incref(hit->doc) : NULL;
		s.found_time = hit->time;
		if (rc) {
			json_decref(s.best);
			ev(c, "cloudtrail LookupEvents %s in %s %s: %s", names[i], account, region, e.msg);
			return rc;
		}
		if (s.found && (!s.best || s.found_time > s.best_time)) {
			json_decref(s.best);
			s.best = s.found;
			s.best_time = s.found_time;
		} else {
			json_decref(s.found);
		}
	}
	buf_init(&names_b, LINE_LIMIT);
	for (i = 0; i < nnames; i++)
		(void)buf_addf(&names_b, "%s%s", i ? "/" : "", names[i]);
	if (!s.best) {
		ev(c, "cloudtrail LookupEvents %s in %s %s: no such event in the last %ld days",
		   buf_cstr(&names_b), account, region, lookback / 86400);
		buf_release(&names_b);
		return 0;
	}
	buf_release(&names_b);
	culprit_release(&c->culprit);
	ui = json_object_get(s.best, "userIdentity");
	who = json_string_value(json_object_get(ui, "arn"));
	issuer = json_string_value(json_object_get(json_object_get(json_object_get(ui, "sessionContext"),
								    "sessionIssuer"), "arn"));
	if (who && issuer && strcmp(who, issuer))
		c->culprit.who = xasprintf("%s (role %s)", who, issuer);
	else
		c->culprit.who = xstrdup(who ? who : "unknown principal");
	c->culprit.when = aws_json_strdup(s.best, "eventTime");
	c->culprit.source_ip = aws_json_strdup(s.best, "sourceIPAddress");
	c->culprit.event = aws_json_strdup(s.best, "eventName");
	c->culprit.event_id = aws_json_strdup(s.best, "eventID");
	ev(c, "cloudtrail event %s by %s at %s from %s (event id %s, %s %s)",
	   c->culprit.event ? c->culprit.event : "?", c->culprit.who,
	   c->culprit.when ? c->culprit.when : "?", c->culprit.source_ip ? c->culprit.source_ip : "?",
	   c->culprit.event_id ? c->culprit.event_id : "?", account, region);
	json_decref(s.best);
	return 1;
}

/* ---- fix diffs ------------------------------------------------------------- */

static bool sid_owned(const json_t *st)
{
	return apply_sid_owned(json_string_value(json_object_get(st, "Sid")));
}

/* What apply would make of the current policy (apply.h: trailkeep's
 * statements replaced by the plan's, every other statement kept in place);
 * NULL when the current document is not a policy. */
static json_t *merge_policy(const json_t *current, const json_t *desired)
{
	json_t *out = NULL;
	struct errbuf e;

	if (apply_merge_policy(&out, current, desired, "policy", &e))
		return NULL;
	return out;
}

static void fix_diff_docs(struct doctor_cell *c, const json_t *before, const json_t *after, bool policy,
			  const char *name)
{
	char *a = before ? diff_json_text(before, policy) : NULL;
	char *b = diff_json_text(after, policy);
	char *na = xasprintf("a/%s", name), *nb = xasprintf("b/%s", name);
	struct buf out;

	buf_init(&out, FIX_DIFF_LIMIT);
	if (diff_unified(&out, a, b, na, nb, DIFF_CONTEXT) == 1) {
		free(c->fix_diff);
		c->fix_diff = buf_detach(&out);
	}
	buf_release(&out);
	free(a);
	free(b);
	free(na);
	free(nb);
}

static const json_t *plan_doc(struct dstate *st, const char *path)
{
	const struct plan_file *f;

	if (!st->o->plan)
		return NULL;
	f = plan_find(st->o->plan, path);
	return f ? f->doc : NULL;
}

static const json_t *plan_trail(struct dstate *st, const char *account)
{
	char *p = xasprintf("accounts/%s/trail.json", trail_owner(st->o->cfg, account));
	const json_t *d = plan_doc(st, p);

	free(p);
	return d;
}

/* ---- resource caches ------------------------------------------------------- */

/* The cache entry for name.  *ctx_out is NULL when the entry is cached, or
 * when the central account's context in region cannot be had (then r->rc is
 * TK_EAUTH with the message); else the entry is new and *ctx_out is that
 * context. */
static struct res_cache *res_begin(struct dstate *st, struct res_cache ***v, size_t *n, const char *name,
				   const char *region, struct aws_ctx **ctx_out)
{
	struct res_cache *r;
	struct errbuf e;
	bool fresh;

	*ctx_out = NULL;
	r = res_find(v, n, name, &fresh);
	if (!fresh)
		return r;
	err_clear(&e);
	*ctx_out = ctx_for(st, config_central_account(st->o->cfg), region, &e);
	if (!*ctx_out) {
		r->rc = TK_EAUTH;
		snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
	}
	return r;
}

static struct res_cache *bucket_policy(struct dstate *st, const char *bucket)
{
	struct aws_ctx *ctx;
	struct errbuf e;
	struct res_cache *r = res_begin(st, &st->bpol, &st->nbpol, bucket, st->o->cfg->home_region, &ctx);

	if (!ctx)
		return r;
	err_clear(&e);
	st->calls++;
	r->rc = s3_get_bucket_policy(ctx, bucket, &r->text, &e);
	if (!r->rc)
		r->rc = policy_parse(&r->doc, r->text, strlen(r->text), &e);
	if (r->rc) {
		snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
		if (ctx->last_error.code)
			r->region = xstrdup(ctx->last_error.code);   /* the S3 error code */
	}
	return r;
}

static struct res_cache *bucket_location(struct dstate *st, const char *bucket)
{
	struct aws_ctx *ctx;
	struct errbuf e;
	struct res_cache *r = res_begin(st, &st->bloc, &st->nbloc, bucket, st->o->cfg->home_region, &ctx);

	if (!ctx)
		return r;
	err_clear(&e);
	st->calls++;
	r->rc = s3_head_bucket(ctx, bucket, &r->region, &e);
	if (r->rc)
		snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
	return r;
}

static const char *arn_region(const char *arn, char *out, size_t n)
{
	/* arn:PARTITION:SERVICE:REGION:... */
	const char *p = arn;
	int i;
	size_t len;

	out[0] = '\0';
	for (i = 0; i < 3 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p || strncmp(arn, "arn:", 4))
		return out;
	len = strcspn(p, ":");
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = '\0';
	return out;
}

/* A cache entry for a key (by id or ARN) in v, with the central account's
 * context in the key's region when the entry is new (see res_begin). */
static struct res_cache *key_begin(struct dstate *st, struct res_cache ***v, size_t *n, const char *key,
				   struct aws_ctx **ctx)
{
	char region[64];
	struct res_cache *r;

	arn_region(key, region, sizeof(region));
	r = res_begin(st, v, n, key, region[0] ? region : st->o->cfg->home_region, ctx);
	if (*ctx)
		st->calls++;
	return r;
}

static struct res_cache *key_desc(struct dstate *st, const char *key_id)
{
	struct aws_ctx *ctx;
	struct errbuf e;
	struct res_cache *r = key_begin(st, &st->keys, &st->nkeys, key_id, &ctx);

	if (!ctx)
		return r;
	err_clear(&e);
	r->rc = kms_describe_key(ctx, key_id, &r->key, &e);
	if (r->rc)
		snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
	return r;
}

/* The key policy of a key DescribeKey found (key_arn), read only when a
 * check needs it: rc 0 with doc, or an error with msg. */
static struct res_cache *key_policy(struct dstate *st, const char *key_arn)
{
	struct aws_ctx *ctx;
	struct errbuf e;
	struct res_cache *r = key_begin(st, &st->kpol, &st->nkpol, key_arn, &ctx);

	if (!ctx)
		return r;
	err_clear(&e);
	r->rc = kms_get_key_policy(ctx, key_arn, &r->text, &e);
	if (!r->rc)
		r->rc = policy_parse(&r->doc, r->text, strlen(r->text), &e);
	if (r->rc)
		snprintf(r->msg, sizeof(r->msg), "key policy: %.1000s", e.msg);
	return r;
}

/* ---- the checks ----------------------------------------------------------- */

struct cellctx {
	struct dstate *st;
	struct doctor_cell *c;
	struct trail_cache *t;
	const char *bucket;      /* where the trail writes (its own, else the config's) */
	const char *prefix;      /* the trail's S3KeyPrefix (NULL: none) */
	const char *deferred_error;
	bool incomplete;         /* a check could not be made */
	char incomplete_msg[ERRBUF_LEN];
};

static void incomplete(struct cellctx *x, const char *msg)
{
	if (!x->incomplete)
		snprintf(x->incomplete_msg, sizeof(x->incomplete_msg), "%s", msg);
	x->incomplete = true;
}

static char *cell_key(struct cellctx *x, bool digest)
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
static int check_trail(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	struct trail_cache *t = trail_get(st, c->account);
	const char *tn[] = { "DeleteTrail" };
	const char *sn[] = { "StopLogging" };
	const char *match[2];

	x->t = t;
	match[0] = t->arn;
	match[1] = st->o->cfg->trail_name;
	if (t->rc == TK_ENOTFOUND) {
		ev(c, "cloudtrail GetTrail '%s' in %s %s: TrailNotFoundException", t->arn, t->owner, t->home);
		if (find_culprit(st, c, t->owner, t->home, tn, 1, match, 2) > 0)
			c->cause = DC_TRAIL_DELETED;
		else
			c->cause = DC_TRAIL_MISSING;
		if (json_object_get(plan_trail(st, c->account), "CreateTrail"))
			fix_diff_docs(c, NULL, json_object_get(plan_trail(st, c->account), "CreateTrail"), false,
				      "trail.json");
		fix_apply(st, c, NULL);
		return 1;
	}
	if (t->rc) {
		ev(c, "cloudtrail GetTrail '%s': %s", t->arn, t->msg);
		c->error = xasprintf("cannot read trail '%s': %s", t->arn, t->msg);
		return -1;
	}
	ev(c, "cloudtrail GetTrail '%s': bucket '%s', prefix %s%s%s, multi-region %s, kms key %s",
	   t->arn, t->trail.s3_bucket ? t->trail.s3_bucket : "?", t->trail.s3_prefix ? "'" : "",
	   t->trail.s3_prefix ? t->trail.s3_prefix : "none", t->trail.s3_prefix ? "'" : "",
	   t->trail.multi_region == 1 ? "yes" : "no", t->trail.kms_key_id ? t->trail.kms_key_id : "none");
	x->bucket = t->trail.s3_bucket ? t->trail.s3_bucket : st->o->cfg->bucket;
	x->prefix = t->trail.s3_prefix && *t->trail.s3_prefix ? t->trail.s3_prefix : NULL;
	if (trail_status(st, t)) {
		ev(c, "cloudtrail GetTrailStatus '%s': %s", t->arn, t->status_l.msg);
		c->error = xasprintf("cannot read the status of trail '%s': %s", t->arn, t->status_l.msg);
		return -1;
	}
	if (!t->status.is_logging) {
		char when[32] = "";

		if (t->status.stop_logging)
			tk_format_iso(t->status.stop_logging, when, sizeof(when));
		ev(c, "cloudtrail GetTrailStatus '%s': IsLogging false%s%s", t->arn,
		   when[0] ? ", StopLoggingTime " : "", when);
		find_culprit(st, c, t->owner, t->home, sn, 1, match, 2);
		c->cause = DC_TRAIL_NOT_LOGGING;
		fix_apply(st, c, NULL);
		return 1;
	}
	ev(c, "cloudtrail GetTrailStatus '%s': IsLogging true", t->arn);
	if (t->trail.multi_region != 1 && (strcmp(c->region, t->home) || st->o->cfg->multi_region)) {
		const char *un[] = { "UpdateTrail" };

		if (strcmp(c->region, t->home))
			ev(c, "the trail is single-region (home %s): nothing delivers %s", t->home, c->region);
		else
			ev(c, "the trail is single-region (home %s), the config asks for multi-region: no other "
			   "region is logged", t->home);
		find_culprit(st, c, t->owner, t->home, un, 1, match, 2);
		c->cause = DC_TRAIL_REGION_NOT_COVERED;
		fix_apply(st, c, NULL);
		return 1;
	}
	return 0;
}

static int check_delivery_error(struct cellctx *x)
{
	struct trail_cache *t = x->t;
	struct doctor_cell *c = x->c;
	const char *v = t->status.latest_delivery_error;
	const char *d = t->status.latest_digest_delivery_error;

	if (v && *v)
		ev(c, "cloudtrail GetTrailStatus '%s': LatestDeliveryError '%s': %s", t->arn, v,
		   doctor_delivery_error_meaning(v));
	if (d && *d)
		ev(c, "cloudtrail GetTrailStatus '%s': LatestDigestDeliveryError '%s': %s", t->arn, d,
		   doctor_delivery_error_meaning(d));
	if (!(v && *v))
		v = d;
	if (!(v && *v)) {
		ev(c, "cloudtrail GetTrailStatus '%s': no LatestDeliveryError, no LatestDigestDeliveryError", t->arn);
		return 0;
	}
	if (delivery_error_deferred(v)) {
		x->deferred_error = v;
		return 0;
	}
	x->c->cause = DC_DELIVERY_ERROR;
	fix_apply(x->st, c, NULL);
	return 1;
}

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

static int check_bucket_policy(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	struct res_cache *r = bucket_policy(st, x->bucket);
	const char *names[] = { "PutBucketPolicy", "DeleteBucketPolicy" };
	const char *match[] = { x->bucket };
	int which;

	if (r->rc == TK_ENOTFOUND && r->region && !strcmp(r->region, "NoSuchBucketPolicy")) {
		ev(c, "s3 GetBucketPolicy '%s': NoSuchBucketPolicy: the bucket has no policy, so CloudTrail may not write",
		   x->bucket);
		find_culprit(st, c, config_central_account(cfg), cfg->home_region, names + 1, 1, match, 1);
		c->cause = DC_BUCKET_POLICY_DENIES;
		if (plan_doc(st, "central/bucket-policy.json"))
			fix_diff_docs(c, NULL, plan_doc(st, "central/bucket-policy.json"), true,
				      "central/bucket-policy.json");
		fix_apply(st, c, NULL);
		return 1;
	}
	if (r->rc) {
		/* a missing or foreign bucket was explained by check_bucket before
		 * this; any other failure (denied included) leaves the policy
		 * unchecked: never "every check passed" */
		ev(c, "s3 GetBucketPolicy '%s': not checked: %s", x->bucket, r->msg);
		incomplete(x, r->msg);
		return 0;
	}
	for (which = 0; which < 2; which++) {
		struct policy_context *pc = policy_context_new();
		struct policy_request req;
		struct policy_result res;
		struct errbuf e;
		char *key = cell_key(x, which == 1);
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
			ev(c, "bucket policy of '%s' cannot be evaluated: %s", x->bucket, e.msg);
			incomplete(x, e.msg);
			free(key);
			free(resource);
			return 0;
		}
		if (res.decision == POLICY_ALLOW) {
			ev(c, "bucket policy of '%s' allows cloudtrail.amazonaws.com s3:PutObject on '%s' (%s)",
			   x->bucket, resource, res.explain);
			free(key);
			free(resource);
			continue;
		}
		ev(c, "bucket policy of '%s' %s cloudtrail.amazonaws.com s3:PutObject on '%s' with aws:SourceArn '%s': %s",
		   x->bucket, res.decision == POLICY_DENY ? "explicitly denies" : "does not allow", resource,
		   x->t->arn, res.explain);
		if (res.decision == POLICY_DENY)
			ev(c, "denying statement: %s%s%s (index %d)", res.sid[0] ? "'" : "",
			   res.sid[0] ? res.sid : "without Sid", res.sid[0] ? "'" : "", res.statement);
		else if (res.statement >= 0)
			ev(c, "missing allow: the closest statement is %s%s%s (index %d)", res.sid[0] ? "'" : "",
			   res.sid[0] ? res.sid : "without Sid", res.sid[0] ? "'" : "", res.statement);
		else
			ev(c, "missing allow: no statement allows CloudTrail to write this prefix");
		free(key);
		free(resource);
		/* a policy exists: its last change was a PutBucketPolicy */
		find_culprit(st, c, config_central_account(cfg), cfg->home_region, names, 1, match, 1);
		c->cause = DC_BUCKET_POLICY_DENIES;
		if (res.decision == POLICY_DENY && res.statement >= 0 &&
		    !sid_owned(json_array_get(json_object_get(r->doc, "Statement"), (size_t)res.statement))) {
			/* apply keeps statements it does not own: this one has to go by hand */
			json_t *m = json_deep_copy(r->doc);
			json_t *sts = json_object_get(m, "Statement");

			if (json_is_array(sts))
				json_array_remove(sts, (size_t)res.statement);
			fix_diff_docs(c, r->doc, m, true, "bucket-policy.json");
			json_decref(m);
			set_fix(c, "remove statement %s%s%s from the policy of bucket '%s' (trailkeep apply keeps "
				"statements it does not own): aws s3api put-bucket-policy --bucket %s --policy file://FIXED.json",
				res.sid[0] ? "'" : "", res.sid[0] ? res.sid : "without Sid", res.sid[0] ? "'" : "",
				x->bucket, x->bucket);
			return 1;
		}
		if (plan_doc(st, "central/bucket-policy.json") && !strcmp(x->bucket, cfg->bucket)) {
			json_t *m = merge_policy(r->doc, plan_doc(st, "central/bucket-policy.json"));

			if (m)
				fix_diff_docs(c, r->doc, m, true, "central/bucket-policy.json");
			json_decref(m);
		}
		fix_apply(st, c, NULL);
		return 1;
	}
	return 0;
}

static int key_bucket_regions(struct cellctx *x, const char *kid, const char *kregion);
static void trail_settings_diff(struct cellctx *x, const char *key_arn);

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
	want = key_desc(st, cfg->kms_alias);
	if (want->rc < 0 || !want->key.arn) {
		ev(c, "kms DescribeKey '%s' (the configured key): %s", cfg->kms_alias,
		   want->rc == TK_ENOTFOUND ? "NotFoundException" : want->msg);
		return 0;
	}
	if (have && !strcmp(have, want->key.arn))
		return 0;
	if (have)
		ev(c, "the trail encrypts with key '%s', but the config's %s is key '%s': logs written since the "
		   "change need Decrypt on the other key (decrypt_principals have it on the configured one)", have,
		   cfg->kms_alias, want->key.arn);
	else
		ev(c, "the trail writes without a KMS key (SSE-S3), but the config asks for %s ('%s')", cfg->kms_alias,
		   want->key.arn);
	match[0] = x->t->arn;
	match[1] = cfg->trail_name;
	find_culprit(st, c, x->t->owner, x->t->home, names, 2, match, 2);
	c->cause = DC_KMS_KEY_CHANGED;
	trail_settings_diff(x, want->key.arn);
	fix_apply(st, c, NULL);
	return 1;
}

static int check_kms(struct cellctx *x)
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
		ev(c, "the trail has no KMS key (SSE-S3)");
		return key_changed(x, NULL);
	}
	r = key_desc(st, kid);
	match[nmatch++] = kid;
	if (r->rc == TK_ENOTFOUND) {
		const char *names[] = { "ScheduleKeyDeletion", "DeleteAlias" };

		ev(c, "kms DescribeKey '%s': NotFoundException: the key is gone; logs it encrypted cannot be "
		   "decrypted any more", kid);
		find_culprit(st, c, config_central_account(cfg), arn_region(kid, kregion, sizeof(kregion))[0]
			     ? kregion : cfg->home_region, names, 2, match, nmatch);
		c->cause = DC_KMS_KEY_MISSING;
		fix_apply(st, c, NULL);
		set_fix_note(c, "creates a new key and alias and points the trail at it");
		return 1;
	}
	if (r->rc < 0) {
		ev(c, "kms DescribeKey '%s': %s", kid, r->msg);
		incomplete(x, r->msg);
		return 0;
	}
	if (r->key.key_id)
		match[nmatch++] = r->key.key_id;
	if (r->key.arn)
		match[nmatch++] = r->key.arn;
	arn_region(r->key.arn ? r->key.arn : kid, kregion, sizeof(kregion));
	ev(c, "kms DescribeKey '%s': KeyState %s", r->key.arn ? r->key.arn : kid, r->key.state ? r->key.state : "?");
	if (r->key.state && !strcmp(r->key.state, "Disabled")) {
		const char *names[] = { "DisableKey" };

		find_culprit(st, c, config_central_account(cfg), kregion, names, 1, match, nmatch);
		c->cause = DC_KMS_KEY_DISABLED;
		fix_apply(st, c, NULL);
		set_fix_note(c, "enables the key");
		return 1;
	}
	if (r->key.state && !strcmp(r->key.state, "PendingDeletion")) {
		const char *names[] = { "ScheduleKeyDeletion" };
		char when[32] = "";

		if (r->key.deletion_date) {
			tk_format_iso(r->key.deletion_date, when, sizeof(when));
			ev(c, "kms DescribeKey '%s': DeletionDate %s (the key and every log it encrypted become unreadable then)",
			   r->key.arn ? r->key.arn : kid, when);
		}
		find_culprit(st, c, config_central_account(cfg), kregion, names, 1, match, nmatch);
		c->cause = DC_KMS_KEY_PENDING_DELETION;
		fix_apply(st, c, NULL);
		set_fix_note(c, "cancels the deletion and enables the key");
		return 1;
	}
	if (r->key.state && strcmp(r->key.state, "Enabled")) {
		ev(c, "the key is not usable in state %s", r->key.state);
		c->cause = DC_KMS_KEY_DISABLED;
		fix_apply(st, c, NULL);
		return 1;
	}
	if (key_bucket_regions(x, r->key.arn ? r->key.arn : kid, kregion))
		return 1;
	if (key_changed(x, r->key.arn ? r->key.arn : kid))
		return 1;
	pol = key_policy(st, r->key.arn ? r->key.arn : kid);
	if (pol->rc || !pol->doc) {
		ev(c, "kms GetKeyPolicy '%s': %s", kid, pol->msg);
		incomplete(x, pol->msg);
		return 0;
	}
	{
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
			ev(c, "key policy of '%s' cannot be evaluated: %s", kid, e.msg);
			incomplete(x, e.msg);
			return 0;
		}
		if (res.decision == POLICY_ALLOW) {
			ev(c, "key policy allows cloudtrail.amazonaws.com kms:GenerateDataKey with encryption context "
			   "aws:cloudtrail:arn '%s' (%s)", x->t->arn, res.explain);
			return 0;
		}
		ev(c, "key policy of '%s' %s cloudtrail.amazonaws.com kms:GenerateDataKey with encryption context "
		   "aws:cloudtrail:arn '%s': %s", r->key.arn ? r->key.arn : kid,
		   res.decision == POLICY_DENY ? "explicitly denies" : "does not allow", x->t->arn, res.explain);
		if (res.statement >= 0)
			ev(c, "%s statement: %s%s%s (index %d)", res.decision == POLICY_DENY ? "denying" : "closest",
			   res.sid[0] ? "'" : "", res.sid[0] ? res.sid : "without Sid", res.sid[0] ? "'" : "",
			   res.statement);
		{
			const char *names[] = { "PutKeyPolicy" };

			find_culprit(st, c, config_central_account(cfg), kregion, names, 1, match, nmatch);
		}
		c->cause = DC_KMS_POLICY_DENIES;
		if (res.decision == POLICY_DENY && res.statement >= 0 &&
		    !sid_owned(json_array_get(json_object_get(pol->doc, "Statement"), (size_t)res.statement))) {
			/* apply keeps statements it does not own: this one has to go by hand */
			json_t *m = json_deep_copy(pol->doc);
			json_t *sts = json_object_get(m, "Statement");

			if (json_is_array(sts))
				json_array_remove(sts, (size_t)res.statement);
			fix_diff_docs(c, pol->doc, m, true, "kms-key-policy.json");
			json_decref(m);
			set_fix(c, "remove statement %s%s%s from the policy of key '%s' (trailkeep apply keeps statements "
				"it does not own): aws kms put-key-policy --key-id %s --policy-name default --policy file://FIXED.json",
				res.sid[0] ? "'" : "", res.sid[0] ? res.sid : "without Sid", res.sid[0] ? "'" : "",
				r->key.arn ? r->key.arn : kid, r->key.arn ? r->key.arn : kid);
			return 1;
		}
		if (plan_doc(st, "central/kms-key-policy.json")) {
			json_t *m = merge_policy(pol->doc, plan_doc(st, "central/kms-key-policy.json"));

			if (m)
				fix_diff_docs(c, pol->doc, m, true, "central/kms-key-policy.json");
			json_decref(m);
		}
		fix_apply(st, c, NULL);
		return 1;
	}
}

/* The bucket the trail writes to exists and belongs to the central account
 * (bucket_missing, bucket_foreign_owner).  Where it is matters only with a
 * KMS key (check_kms): CloudTrail writes to a bucket in any region. */
static int check_bucket(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	const struct tk_config *cfg = st->o->cfg;
	const char *path = st->o->config_path ? st->o->config_path : cfg->path;
	struct res_cache *r;

	if (strcmp(x->bucket, cfg->bucket)) {
		/* the trail writes elsewhere: that is the cause (bucket_changed), not
		 * who owns the other bucket or where it is */
		ev(c, "the trail's bucket '%s' is not the configured '%s': not checked", x->bucket, cfg->bucket);
		return 0;
	}
	r = bucket_location(st, x->bucket);
	if (r->rc == TK_ENOTFOUND) {
		const char *names[] = { "DeleteBucket" };
		const char *match[] = { x->bucket };

		ev(c, "s3 HeadBucket '%s': 404 Not Found: the bucket does not exist", x->bucket);
		find_culprit(st, c, config_central_account(cfg), cfg->home_region, names, 1, match, 1);
		c->cause = DC_BUCKET_MISSING;
		fix_apply(st, c, NULL);
		return 1;
	}
	if (r->rc == TK_EAUTH) {
		ev(c, "s3 HeadBucket '%s' from the central account %s: 403: the bucket exists but belongs to another account",
		   x->bucket, config_central_account(cfg));
		ev(c, "CloudTrail would write this organization's logs into a bucket someone else owns");
		c->cause = DC_BUCKET_FOREIGN_OWNER;
		set_fix(c, "choose a bucket name the central account owns in [central] bucket of %s, then trailkeep apply %s",
			path, path);
		return 1;
	}
	if (r->rc) {
		ev(c, "s3 HeadBucket '%s': %s", x->bucket, r->msg);
		incomplete(x, r->msg);
		return 0;
	}
	ev(c, "s3 HeadBucket '%s': exists, owned by the central account %s, region %s", x->bucket,
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
	struct res_cache *loc = bucket_location(st, x->bucket);
	const char *bregion = loc->rc == 0 && loc->region && *loc->region ? loc->region : NULL;

	if (!bregion || !kregion[0] || !strcmp(kregion, bregion))
		return 0;
	ev(c, "the key '%s' is in %s but the bucket '%s' is in %s: CloudTrail needs the key in the bucket's region",
	   kid, kregion, x->bucket, bregion);
	if (strcmp(bregion, cfg->home_region)) {
		const char *names[] = { "CreateBucket" };
		const char *match[] = { x->bucket };

		ev(c, "the bucket is not in home_region %s: it was created again in %s", cfg->home_region, bregion);
		find_culprit(st, c, config_central_account(cfg), bregion, names, 1, match, 1);
		c->cause = DC_BUCKET_WRONG_REGION;
		set_fix(c, "move the bucket back: copy its objects out, delete it, then trailkeep apply %s (creates it in "
			"%s); or set home_region = %s and run trailkeep apply %s (a key in %s)", path, cfg->home_region,
			bregion, path, bregion);
		return 1;
	}
	c->cause = DC_KMS_KEY_WRONG_REGION;
	set_fix(c, "trailkeep apply %s (points the trail at the key '%s' in %s)", path,
		cfg->kms_alias ? cfg->kms_alias : "of [central] kms_alias", cfg->home_region);
	return 1;
}

/* The account has the cell's region enabled (opt-in regions start disabled;
 * CloudTrail does not run in a disabled region, so a multi-region trail
 * simply has nothing there). */
static int check_region(struct cellctx *x)
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
	ctx = ctx_for(st, c->account, global, &e);
	if (!ctx) {
		ev(c, "account GetRegionOptStatus '%s' in %s: not checked: %s", c->region, c->account, e.msg);
		incomplete(x, e.msg);
		return 0;
	}
	st->calls++;
	rc = account_region_opt_status(ctx, c->region, &status, &e);
	if (rc) {
		/* the other checks still run (one may explain the cell); if none
		 * does, the cell is unexamined, not "unknown" */
		ev(c, "account GetRegionOptStatus '%s' in %s: not checked: %s", c->region, c->account, e.msg);
		incomplete(x, e.msg);
		return 0;
	}
	ev(c, "account GetRegionOptStatus '%s' in %s: %s", c->region, c->account, status);
	if (account_region_usable(status)) {
		free(status);
		return 0;
	}
	if (!strcmp(status, "ENABLING")) {
		ev(c, "the region is being enabled: CloudTrail starts there when it is ENABLED");
	} else {
		const char *names[] = { "DisableRegion" };
		const char *match[] = { c->region };

		ev(c, "the region is not enabled for account %s: no trail runs there, nothing is delivered",
		   c->account);
		find_culprit(st, c, c->account, global, names, 1, match, 1);
	}
	c->cause = DC_REGION_NOT_ENABLED;
	set_fix(c, "aws account enable-region --region-name %s (as account %s), or remove %s from the regions of %s",
		c->region, c->account, c->region, path);
	free(status);
	return 1;
}

/* The trail's settings against the plan's.  The plan names the key by its
 * alias ARN: key_arn is what that alias is (NULL: compare as if the trail's
 * own key were the planned one). */
static void trail_settings_diff(struct cellctx *x, const char *key_arn)
{
	const json_t *pt = plan_trail(x->st, x->c->account);
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
		fix_diff_docs(x->c, cur, w, false, "trail.json");
		json_decref(w);
	}
	json_decref(cur);
}

static int check_prefix(struct cellctx *x)
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
		ev(c, "the trail writes to bucket '%s', the config says '%s'", x->bucket, cfg->bucket);
		find_culprit(st, c, x->t->owner, x->t->home, names, 2, match, 2);
		c->cause = DC_BUCKET_CHANGED;
		trail_settings_diff(x, NULL);
		fix_apply(st, c, NULL);
		return 1;
	}
	if ((want == NULL) != (x->prefix == NULL) || (want && strcmp(want, x->prefix))) {
		ev(c, "the trail's S3KeyPrefix is %s%s%s, the config says %s%s%s: logs land under '%s%sAWSLogs/...'",
		   x->prefix ? "'" : "", x->prefix ? x->prefix : "none", x->prefix ? "'" : "",
		   want ? "'" : "", want ? want : "none", want ? "'" : "",
		   x->prefix ? x->prefix : "", x->prefix ? "/" : "");
		find_culprit(st, c, x->t->owner, x->t->home, names, 2, match, 2);
		c->cause = DC_PREFIX_CHANGED;
		trail_settings_diff(x, NULL);
		fix_apply(st, c, NULL);
		return 1;
	}
	ev(c, "the trail's bucket and S3KeyPrefix are as configured");
	if ((cfg->mode == TK_MODE_ORGANIZATION) != (x->t->trail.organization == 1)) {
		if (cfg->mode == TK_MODE_ORGANIZATION)
			ev(c, "the trail is not an organization trail: it logs only its own account, under "
			   "'AWSLogs/%s/', not 'AWSLogs/%s/ACCOUNT/'", x->t->owner, cfg->org_id ? cfg->org_id : "ORG");
		else
			ev(c, "the trail is an organization trail: logs land under 'AWSLogs/ORG-ID/%s/', the "
			   "per-account config expects 'AWSLogs/%s/'", c->account, c->account);
		find_culprit(st, c, x->t->owner, x->t->home, names, 2, match, 2);
		c->cause = DC_ORG_PATH_LAYOUT;
		trail_settings_diff(x, NULL);
		fix_apply(st, c, NULL);
		return 1;
	}
	if (cfg->mode == TK_MODE_ORGANIZATION && cfg->org_id && want) {
		size_t lp = strlen(want), lo = strlen(cfg->org_id);

		if (!strcmp(want, cfg->org_id) || (lp > lo && want[lp - lo - 1] == '/' &&
						   !strcmp(want + lp - lo, cfg->org_id))) {
			ev(c, "key_prefix '%s' ends with the organization id: an organization trail adds it again "
			   "('%s/AWSLogs/%s/%s/'), a layout readers and other tools do not expect", want, want,
			   cfg->org_id, c->account);
			c->cause = DC_ORG_PATH_LAYOUT;
			set_fix(c, "remove '%s' from key_prefix in %s, then trailkeep apply %s", cfg->org_id,
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

static int check_selectors(struct cellctx *x)
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
	if (trail_selectors(st, t)) {
		ev(c, "cloudtrail GetEventSelectors '%s': %s", t->arn, t->sel_l.msg);
		incomplete(x, t->sel_l.msg);
		return 0;
	}
	{
		/* the selectors apply would replace (trail_drift.h: one place) */
		const json_t *planned = plan_trail(st, c->account);
		struct trail_drift d;
		struct errbuf e;

		memset(&d, 0, sizeof(d));
		err_clear(&e);
		if (!planned || trail_drift_compute(planned, &t->trail, t->selectors, NULL, &d, &e)) {
			ev(c, "the event selectors of trail '%s' cannot be compared with the plan%s%s", t->arn,
			   planned ? ": " : "", planned ? e.msg : "");
			incomplete(x, planned ? e.msg : "no plan for the trail");
			trail_drift_release(&d);
			return 0;
		}
		for (i = 0; i < d.n; i++)
			if (d.v[i].kind == TRAIL_DRIFT_SELECTORS) {
				char *line = trail_drift_describe(&d.v[i]);

				ev(c, "cloudtrail GetEventSelectors '%s': %s", t->arn, line);
				free(line);
				bad = true;
			}
		trail_drift_release(&d);
	}
	if (!bad) {
		ev(c, "cloudtrail GetEventSelectors '%s': the selectors are as planned (management events%s)", t->arn,
		   cfg->data_event_buckets.n ? " and configured data events" : "");
		return 0;
	}
	find_culprit(st, c, t->owner, t->home, names, 1, match, 2);
	c->cause = DC_SELECTORS_EXCLUDE;
	{
		const json_t *pt = json_object_get(plan_trail(st, c->account), "PutEventSelectors");

		if (pt) {
			json_t *want = json_deep_copy(pt), *cur = json_deep_copy(t->selectors);

			json_object_del(want, "TrailName");
			json_object_del(cur, "TrailARN");
			fix_diff_docs(c, cur, want, false, "event-selectors.json");
			json_decref(want);
			json_decref(cur);
		}
	}
	fix_apply(st, c, NULL);
	return 1;
}

static int check_global(struct cellctx *x)
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
		ev(c, "the trail has IncludeGlobalServiceEvents false; the config asks for global events");
		find_culprit(st, c, t->owner, t->home, names, 2, match, 2);
		c->cause = DC_GLOBAL_EVENTS_OFF;
		trail_settings_diff(x, NULL);
		fix_apply(st, c, NULL);
		return 1;
	}
	if (!cfg->include_global_events)
		return 0;
	err_clear(&e);
	ctx = ctx_for(st, c->account, cfg->home_region, &e);
	if (!ctx) {
		ev(c, "cloudtrail DescribeTrails in %s: not possible: %s", c->account, e.msg);
		incomplete(x, e.msg);
		return 0;
	}
	st->calls++;
	if (ct_describe_trails(ctx, NULL, 0, true, &list, &n, &e)) {
		ev(c, "cloudtrail DescribeTrails in %s %s: %s", c->account, cfg->home_region, e.msg);
		incomplete(x, e.msg);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (list[i].global_events == 1) {
			nglobal++;
			if (list[i].arn && strcmp(list[i].arn, t->arn))
				other = list[i].arn;
		}
	if (nglobal > 1 && other) {
		ev(c, "cloudtrail DescribeTrails in %s %s: %zu trails record global service events, also '%s'",
		   c->account, cfg->home_region, nglobal, other);
		{
			const char *names[] = { "CreateTrail", "UpdateTrail" };
			const char *slash = strrchr(other, '/');
			const char *match[2];

			match[0] = other;
			match[1] = slash ? slash + 1 : other;
			find_culprit(st, c, c->account, cfg->home_region, names, 2, match, 2);
		}
		c->cause = DC_GLOBAL_EVENTS_DUPLICATED;
		set_fix(c, "aws cloudtrail update-trail --name %s --no-include-global-service-events (in its home region)",
			other);
		ct_trails_free(list, n);
		return 1;
	}
	ev(c, "cloudtrail DescribeTrails in %s %s: one trail records global service events", c->account,
	   cfg->home_region);
	ct_trails_free(list, n);
	return 0;
}

/* Log file validation turned off (validation_disabled): logs still arrive,
 * but no digest proves them unaltered (culprit: UpdateTrail). */
static int check_validation(struct cellctx *x)
{
	struct dstate *st = x->st;
	struct doctor_cell *c = x->c;
	struct trail_cache *t = x->t;
	const char *names[] = { "UpdateTrail" };
	const char *match[2];

	if (!st->o->cfg->log_file_validation)
		return 0;
	if (t->trail.log_file_validation == 1) {
		ev(c, "cloudtrail GetTrail '%s': LogFileValidationEnabled true", t->arn);
		return 0;
	}
	ev(c, "cloudtrail GetTrail '%s': LogFileValidationEnabled false: no digest files are written, "
	   "nothing proves the logs unaltered", t->arn);
	match[0] = t->arn;
	match[1] = st->o->cfg->trail_name;
	find_culprit(st, c, t->owner, t->home, names, 1, match, 2);
	c->cause = DC_VALIDATION_DISABLED;
	fix_apply(st, c, NULL);
	return 1;
}

/* ---- organization: membership and CloudTrail's trusted access ------------ */

static const struct org_view *org_get(struct dstate *st)
{
	const struct tk_config *cfg = st->o->cfg;
	struct aws_ctx *ctx;
	struct errbuf e;

	if (st->org.accounts_loaded && st->org.access_loaded)
		return &st->org;
	err_clear(&e);
	ctx = ctx_for(st, cfg->management_account, cfg->home_region, &e);
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
		ev(c, "organizations ListAccounts in %s: %s", mgmt, v->accounts_msg);
		incomplete(x, v->accounts_msg);
		return 0;
	}
	a = org_view_find(v, c->account);
	if (a && a->status && !strcmp(a->status, "ACTIVE")) {
		ev(c, "organizations ListAccounts in %s: %s is an ACTIVE member of %s", mgmt, c->account, org);
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

		ev(c, "organizations ListAccounts in %s: %s is not a member of %s: the organization trail no "
		   "longer logs it", mgmt, c->account, org);
		if (find_culprit(st, c, mgmt, global, rn, 1, match, 1) <= 0)
			find_culprit(st, c, c->account, global, ln, 1, NULL, 0);
		set_fix(c, "invite %s back into %s (aws organizations invite-account-to-organization --target "
			"Id=%s,Type=ACCOUNT, then accept the handshake in %s), or %s", c->account, org, c->account,
			c->account, remove);
	} else {
		char status[32];
		size_t i;

		snprintf(status, sizeof(status), "%s", a->status ? a->status : "without a status");
		for (i = 0; status[i]; i++)
			if ((unsigned char)status[i] < 0x20 || status[i] == 0x7f)
				status[i] = '?';
		ev(c, "organizations ListAccounts in %s: %s is %s in %s, not ACTIVE: the organization trail does "
		   "not log it", mgmt, c->account, status, org);
		set_fix(c, "the account is %s (closed or being closed): %s", status, remove);
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
		ev(c, "organizations ListAWSServiceAccessForOrganization in %s: %s", mgmt, v->access_msg);
		incomplete(x, v->access_msg);
		return 0;
	}
	if (v->trusted) {
		ev(c, "organizations ListAWSServiceAccessForOrganization in %s: %s has trusted access", mgmt,
		   ORG_CLOUDTRAIL_PRINCIPAL);
		return 0;
	}
	ev(c, "organizations ListAWSServiceAccessForOrganization in %s: no trusted access for %s: the "
	   "organization trail logs only the management account", mgmt, ORG_CLOUDTRAIL_PRINCIPAL);
	find_culprit(st, c, mgmt, global, names, 1, match, 1);
	c->cause = DC_ORG_TRUSTED_ACCESS_DISABLED;
	fix_apply(st, c, NULL);
	return 1;
}

/* Organization mode: is the account still logged by the organization trail? */
static int check_org(struct cellctx *x, const struct doctor_cell_in *in)
{
	const struct tk_config *cfg = x->st->o->cfg;
	const char *global = endpoint_global_region(cfg->partition ? cfg->partition : "aws", "organizations");
	const struct org_view *v;

	if (cfg->mode != TK_MODE_ORGANIZATION || !cfg->management_account[0])
		return 0;
	v = org_get(x->st);
	return check_membership(x, v, global) || check_trusted_access(x, in, v, global);
}

static void diagnose(struct dstate *st, const struct doctor_cell_in *in, struct doctor_cell *c, bool *deferred)
{
	struct cellctx x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.st = st;
	x.c = c;
	x.bucket = st->o->cfg->bucket;
	rc = check_trail(&x);
	if (rc < 0) {
		c->status = DOCTOR_UNEXAMINED;
		return;
	}
	c->status = DOCTOR_CAUSE;
	if (rc > 0)
		return;
	/* organization membership and trusted access (org_check.h) */
	if (check_org(&x, in))
		goto found;
	if (check_delivery_error(&x) || check_bucket(&x) || check_bucket_policy(&x) || check_kms(&x) ||
	    check_prefix(&x) || check_region(&x) || check_selectors(&x) || check_global(&x) ||
	    check_validation(&x))
		goto found;
	if (x.deferred_error) {
		*deferred = true;
		c->cause = DC_DELIVERY_ERROR;
		set_fix(c, "%s: %s; after fixing it, trailkeep apply %s", x.deferred_error,
			doctor_delivery_error_meaning(x.deferred_error),
			st->o->config_path ? st->o->config_path : st->o->cfg->path);
		return;
	}
	if (x.incomplete) {
		c->status = DOCTOR_UNEXAMINED;
		c->error = xasprintf("some checks could not be made: %s", x.incomplete_msg);
		return;
	}
	if (in->symptom && strstr(in->symptom, "cell_unchecked")) {
		/* verify could not check the cell (a failed call, a listing past
		 * its bound, the --timeout): nothing to explain, never "unknown" */
		c->status = DOCTOR_UNEXAMINED;
		c->error = xasprintf("verify could not check this cell: %s", in->symptom);
		return;
	}
	c->cause = DC_UNKNOWN;
	set_fix(c, "none known: every check above passed%s%s%s; trailkeep apply %s converges what trailkeep owns",
		in->symptom ? " (verify saw: " : "", in->symptom ? in->symptom : "", in->symptom ? ")" : "",
		st->o->config_path ? st->o->config_path : st->o->cfg->path);
	return;
found:
	if (x.deferred_error && c->cause != DC_DELIVERY_ERROR)
		ev(c, "this explains CloudTrail's delivery error '%s'", x.deferred_error);
}

static char *control_plane_drift(struct dstate *st, struct trail_cache *t);

/* A trail-level problem that stops or hides this cell's delivery (verify
 * reports those once per trail, in the trail owner's home-region cell). */
static char *trail_symptom(struct dstate *st, const char *account, const char *region)
{
	struct trail_cache *t = trail_get(st, account);

	if (t->rc == TK_ENOTFOUND)
		return xasprintf("trail_missing: trail '%s' does not exist", t->arn);
	/* fail closed: a trail doctor cannot read is a cell it cannot call healthy */
	if (t->rc)
		return xasprintf("cell_unchecked: cannot read trail '%s': %s", t->arn, t->msg);
	if (trail_status(st, t))
		return xasprintf("cell_unchecked: cannot read the status of trail '%s': %s", t->arn,
				 t->status_l.msg);
	if (!t->status.is_logging)
		return xasprintf("trail_not_logging: trail '%s' is not logging", t->arn);
	if (t->trail.multi_region != 1 && strcmp(region, t->home))
		return xasprintf("trail_config_drift: trail '%s' is not multi-region", t->arn);
	return control_plane_drift(st, t);
}

static bool resource_cause(enum doctor_cause c)
{
	return c == DC_BUCKET_POLICY_DENIES || c == DC_KMS_KEY_MISSING || c == DC_KMS_KEY_DISABLED ||
	       c == DC_KMS_KEY_PENDING_DELETION || c == DC_KMS_KEY_WRONG_REGION || c == DC_KMS_POLICY_DENIES ||
	       c == DC_KMS_KEY_CHANGED ||
	       c == DC_BUCKET_MISSING || c == DC_BUCKET_WRONG_REGION || c == DC_BUCKET_FOREIGN_OWNER;
}

/* An org trail has one LatestDeliveryError for every member: a cell whose
 * only problem is that error points at the cells that cause it. */
static void link_delivery_errors(const struct doctor_opts *o, struct doctor_report *out, const bool *deferred)
{
	size_t i, j;

	for (i = 0; i < out->ncells; i++) {
		struct doctor_cell *c = &out->cells[i];
		char *arn;
		size_t named = 0;

		if (!deferred[i])
			continue;
		arn = config_trail_arn(o->cfg, c->account);
		for (j = 0; j < out->ncells; j++) {
			struct doctor_cell *d = &out->cells[j];
			char *arn2;

			if (j == i || d->status != DOCTOR_CAUSE || !resource_cause(d->cause))
				continue;
			arn2 = config_trail_arn(o->cfg, d->account);
			if (!strcmp(arn, arn2)) {
				if (named < 5)
					ev(c, "the trail's delivery error comes from %s %s: %s", d->account, d->region,
					   doctor_cause_name(d->cause));
				if (!named && d->fix)
					set_fix(c, "fix %s %s (%s): %s", d->account, d->region,
						doctor_cause_name(d->cause), d->fix);
				named++;
			}
			free(arn2);
		}
		free(arn);
	}
}

/* Has another cell of this cell's trail a cause that makes CloudTrail
 * report a delivery error? */
static bool explained_elsewhere(const struct doctor_opts *o, const struct doctor_report *out, size_t i)
{
	char *arn = config_trail_arn(o->cfg, out->cells[i].account);
	bool yes = false;
	size_t j;

	for (j = 0; j < out->ncells && !yes; j++) {
		const struct doctor_cell *d = &out->cells[j];
		char *arn2;

		if (j == i || d->status != DOCTOR_CAUSE || !resource_cause(d->cause))
			continue;
		arn2 = config_trail_arn(o->cfg, d->account);
		yes = !strcmp(arn, arn2);
		free(arn2);
	}
	free(arn);
	return yes;
}

/* The trail and its delivery error only (the rest is another cell's). */
static void diagnose_light(struct dstate *st, struct doctor_cell *c, bool *deferred)
{
	struct cellctx x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.st = st;
	x.c = c;
	x.bucket = st->o->cfg->bucket;
	rc = check_trail(&x);
	if (rc < 0) {
		c->status = DOCTOR_UNEXAMINED;
		return;
	}
	c->status = DOCTOR_CAUSE;
	if (rc > 0 || check_delivery_error(&x))
		return;
	c->cause = DC_DELIVERY_ERROR;
	if (x.deferred_error) {
		*deferred = true;
		return;
	}
	set_fix(c, "none needed here: CloudTrail no longer reports a delivery error");
}

int doctor_run(struct doctor_report *out, const struct doctor_opts *o, struct errbuf *err)
{
	struct dstate st;
	size_t i;
	int rc = 0, pass;
	bool *red, *deferred;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	st.o = o;
	out->cells = xcalloc(o->ncells ? o->ncells : 1, sizeof(*out->cells));
	out->ncells = o->ncells;
	red = xcalloc(o->ncells ? o->ncells : 1, sizeof(*red));
	deferred = xcalloc(o->ncells ? o->ncells : 1, sizeof(*deferred));
	for (i = 0; i < o->ncells; i++) {
		struct doctor_cell *c = &out->cells[i];

		c->account = xstrdup(o->cells[i].account);
		c->region = xstrdup(o->cells[i].region);
		c->symptom = o->cells[i].symptom ? xstrdup(o->cells[i].symptom) : NULL;
		c->status = DOCTOR_HEALTHY;
		red[i] = o->cells[i].red;
	}
	if (o->trail_checks) {
		for (i = 0; i < o->ncells; i++) {
			struct doctor_cell *c = &out->cells[i];
			char *sym;

			if (red[i])
				continue;
			if (!st.self_account && (rc = self_account(&st, err)) != 0)
				goto done;
			sym = trail_symptom(&st, c->account, c->region);
			if (sym) {
				red[i] = true;
				free(c->symptom);
				c->symptom = sym;
			}
		}
	}
	/* cells with a problem of their own first; then the cells that only
	 * show the trail's delivery error, which those may already explain */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < o->ncells; i++) {
			if (!red[i] || (pass == 0) == o->cells[i].delivery_error_only)
				continue;
			if (!st.self_account && (rc = self_account(&st, err)) != 0)
				goto done;
			if (pass == 1 && explained_elsewhere(o, out, i))
				diagnose_light(&st, &out->cells[i], &deferred[i]);
			else
				diagnose(&st, &o->cells[i], &out->cells[i], &deferred[i]);
			if (out->cells[i].status == DOCTOR_CAUSE) {
				out->ncauses++;
				if (o->cells[i].warning_only) {
					out->cells[i].warning = true;
					out->nwarnings++;
				}
			}
			else if (out->cells[i].status == DOCTOR_UNEXAMINED)
				out->nunexamined++;
		}
	link_delivery_errors(o, out, deferred);
done:
	free(red);
	free(deferred);
	out->aws_calls = st.calls;
	state_release(&st);
	return rc;
}

/* ---- selection without verify --------------------------------------------- */

char *doctor_cell_prefix(const struct tk_config *c, const char *account, const char *region)
{
	struct digest_loc loc;
	char *p = NULL;

	memset(&loc, 0, sizeof(loc));
	loc.prefix = c->key_prefix;
	loc.org_id = c->mode == TK_MODE_ORGANIZATION ? c->org_id : NULL;
	loc.account = account;
	loc.region = region;
	return log_list_prefix(&p, &loc) ? xstrdup("?") : p;
}

/* Epoch of a log key's ..._YYYYMMDDTHHMMZ_xxxx.json.gz stamp, or 0. */
static time_t key_stamp(const char *key)
{
	const char *base = strrchr(key, '/');
	const char *u;
	struct tm tm;
	int v[5], i;
	const int len[5] = { 4, 2, 2, 2, 2 };
	const char *p;

	base = base ? base + 1 : key;
	/* the stamp is the 4th '_'-separated field */
	u = base;
	for (i = 0; i < 3 && u; i++) {
		u = strchr(u, '_');
		if (u)
			u++;
	}
	if (!u || strlen(u) < 14 || u[8] != 'T' || u[13] != 'Z')
		return 0;
	p = u;
	for (i = 0; i < 5; i++) {
		int k;

		v[i] = 0;
		for (k = 0; k < len[i]; k++, p++) {
			if (*p < '0' || *p > '9')
				return 0;
			v[i] = v[i] * 10 + (*p - '0');
		}
		if (i == 2)
			p++;   /* 'T' */
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	return tk_timegm(&tm);
}

static int newest_cb(void *ud, const struct s3_object *o)
{
	time_t *newest = ud;
	time_t t = key_stamp(o->key);

	if (t > *newest)
		*newest = t;
	return 0;
}

static bool listed(const char *const *v, size_t n, const char *s)
{
	size_t i;

	if (!v || !n)
		return true;
	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* More than one trail in the account records global service events (one
 * DescribeTrails in home_region per account; unreadable: not judged). */
static char *global_duplicated(struct dstate *st, const char *account, const struct trail_cache *t)
{
	struct aws_ctx *ctx;
	struct ct_trail *list = NULL;
	size_t n = 0, i, nglobal = 0;
	struct errbuf e;
	char *sym = NULL;

	err_clear(&e);
	ctx = ctx_for(st, account, st->o->cfg->home_region, &e);
	if (!ctx)
		return NULL;
	st->calls++;
	if (ct_describe_trails(ctx, NULL, 0, true, &list, &n, &e))
		return NULL;
	for (i = 0; i < n; i++)
		if (list[i].global_events == 1)
			nglobal++;
	if (nglobal > 1)
		sym = xasprintf("global_events_duplicated: %zu trails record global service events besides '%s'",
				nglobal - 1, t->arn);
	ct_trails_free(list, n);
	return sym;
}

/* verify's trail drift (trail_drift.h: whatever apply would change on the
 * trail), as a symptom (NULL when none).  A setting that cannot be compared
 * (the key, the selectors or the plan unreadable) is a cell_unchecked
 * symptom: fail closed. */
static char *control_plane_drift(struct dstate *st, struct trail_cache *t)
{
	const struct tk_config *cfg = st->o->cfg;
	char *path = xasprintf("accounts/%s/trail.json", t->owner);
	const json_t *planned = plan_doc(st, path);
	const json_t *create = json_object_get(planned, "CreateTrail");
	const char *karn = NULL;
	struct trail_drift d;
	struct errbuf e;
	char *sym = NULL;

	free(path);
	memset(&d, 0, sizeof(d));
	if (!planned)
		return xasprintf("cell_unchecked: the plan has no trail for account %s", t->owner);
	if (trail_selectors(st, t))
		return xasprintf("cell_unchecked: cannot read the event selectors of trail '%s': %s", t->arn,
				 t->sel_l.msg);
	if (json_string_value(json_object_get(create, "KmsKeyId")) && t->trail.kms_key_id &&
	    *t->trail.kms_key_id && cfg->kms_alias && *cfg->kms_alias) {
		struct res_cache *key = key_desc(st, cfg->kms_alias);

		if (key->rc == TK_ENOTFOUND)
			return xasprintf("trail_config_drift: KmsKeyId %s, and %s does not exist",
					 t->trail.kms_key_id, cfg->kms_alias);
		if (key->rc || !key->key.arn)
			return xasprintf("cell_unchecked: cannot tell which key %s names: %s", cfg->kms_alias,
					 key->rc ? key->msg : "no key ARN");
		karn = key->key.arn;
	}
	err_clear(&e);
	if (trail_drift_compute(planned, &t->trail, t->selectors, karn, &d, &e)) {
		sym = xasprintf("cell_unchecked: cannot compare trail '%s' with the plan: %s", t->arn, e.msg);
	} else if (d.key_unknown) {
		sym = xasprintf("cell_unchecked: cannot compare the KMS key of trail '%s'", t->arn);
	} else {
		size_t i;

		/* what stops or hides this cell's delivery: not multi-region (the
		 * region check above decides per cell) nor validation (it does
		 * not stop delivery: verify reports it on the owner's cell) */
		for (i = 0; i < d.n && !sym; i++) {
			char *line;

			if (!strcmp(d.v[i].setting, "IsMultiRegionTrail") ||
			    !strcmp(d.v[i].setting, "EnableLogFileValidation"))
				continue;
			line = trail_drift_describe(&d.v[i]);
			sym = xasprintf("trail_config_drift: %s", line);
			free(line);
		}
	}
	trail_drift_release(&d);
	return sym;
}

void doctor_cells_free(struct doctor_cell_in *c, size_t n)
{
	size_t i;

	for (i = 0; c && i < n; i++) {
		free((void *)(uintptr_t)c[i].account);   /* doctor_select allocated them */
		free((void *)(uintptr_t)c[i].region);
		free((void *)(uintptr_t)c[i].symptom);
	}
	free(c);
}

int doctor_select(struct doctor_cell_in **out, size_t *n, const struct doctor_opts *o,
		  const char *const *accounts, size_t naccounts, const char *const *regions,
		  size_t nregions, struct errbuf *err)
{
	const struct tk_config *cfg = o->cfg;
	struct dstate st;
	struct doctor_cell_in *v = NULL;
	size_t nv = 0, i, j;
	struct aws_ctx *ctx;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	st.o = o;
	*out = NULL;
	*n = 0;
	ctx = ctx_for(&st, config_central_account(cfg), cfg->home_region, err);
	if (!ctx) {
		rc = TK_EAUTH;
		goto done;
	}
	for (i = 0; i < cfg->naccounts; i++) {
		const struct tk_account *a = &cfg->accounts[i];

		if (!listed(accounts, naccounts, a->id))
			continue;
		for (j = 0; j < a->regions.n; j++) {
			const char *r = a->regions.v[j];
			struct doctor_cell_in *c;
			struct trail_cache *t;
			char *sym = NULL;

			if (!listed(regions, nregions, r))
				continue;
			v = xrealloc(v, (nv + 1) * sizeof(*v));
			c = &v[nv++];
			memset(c, 0, sizeof(*c));
			c->account = xstrdup(a->id);
			c->region = xstrdup(r);
			t = trail_get(&st, a->id);
			if (t->rc == TK_ENOTFOUND) {
				sym = xstrdup("trail_missing");
			} else if (t->rc == 0 && trail_status(&st, t) == 0 && !t->status.is_logging) {
				sym = xstrdup("trail_not_logging");
			} else if (t->rc == 0 && t->trail.multi_region != 1 && strcmp(r, t->home)) {
				sym = xstrdup("trail_config_drift: not multi-region");
			} else if (t->rc == 0) {
				sym = control_plane_drift(&st, t);
			}
			if (!sym && t->rc == 0 && cfg->include_global_events && !strcmp(r, cfg->home_region))
				sym = global_duplicated(&st, a->id, t);
			if (!sym) {
				char *prefix = doctor_cell_prefix(cfg, a->id, r);
				time_t newest = 0, day;
				int k;

				for (k = 0; k < 2 && !newest; k++) {
					struct s3_list_params lp;
					struct tm tm;
					char ymd[16];
					char *p;
					struct errbuf e;

					day = o->now - (time_t)k * 86400;
					if (!gmtime_r(&day, &tm)) {
						sym = xstrdup("cell_unchecked: the time is out of range");
						break;
					}
					strftime(ymd, sizeof(ymd), "%Y/%m/%d/", &tm);
					p = xasprintf("%s%s", prefix, ymd);
					memset(&lp, 0, sizeof(lp));
					lp.prefix = p;
					lp.on_object = newest_cb;
					lp.ud = &newest;
					/* a day holds at most 86400 objects (one a second,
					 * 300x CloudTrail's rate): more pages is an error */
					lp.max_pages = 100;
					st.calls++;
					if (s3_list_objects(ctx, cfg->bucket, &lp, &e)) {
						sym = xasprintf("access_denied: %s", e.msg);
						free(p);
						break;
					}
					free(p);
				}
				free(prefix);
				if (!sym && !newest)
					sym = xstrdup("delivery_none: no log object today or yesterday");
				else if (!sym && o->now - newest > cfg->max_delivery_age) {
					char when[32];

					tk_format_iso(newest, when, sizeof(when));
					sym = xasprintf("delivery_stale: newest log object %s", when);
				}
			}
			c->red = sym != NULL;
			c->symptom = sym;
		}
	}
	*out = v;
	*n = nv;
	v = NULL;
done:
	doctor_cells_free(v, nv);
	state_release(&st);
	return rc;
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *doctor_report_json(const struct doctor_report *r)
{
	json_t *doc = json_object(), *cells = json_array(), *counts = json_object(), *sum;
	size_t i, j, red = 0;

	for (i = 0; i < r->ncells; i++) {
		const struct doctor_cell *c = &r->cells[i];
		json_t *o = json_object(), *evs = json_array();

		json_object_set_new(o, "account", json_string(c->account));
		json_object_set_new(o, "region", json_string(c->region));
		json_object_set_new(o, "status", json_string(doctor_status_name(c->status)));
		json_object_set_new(o, "cause", c->status == DOCTOR_CAUSE ? json_string(doctor_cause_name(c->cause))
				    : json_null());
		json_object_set_new(o, "hint", c->status == DOCTOR_CAUSE ? json_string(doctor_cause_hint(c->cause))
				    : json_null());
		json_object_set_new(o, "severity", c->status == DOCTOR_CAUSE ?
				    json_string(c->warning ? "warning" : "error") : json_null());
		json_object_set_new(o, "symptom", str_or_null(c->symptom));
		for (j = 0; j < c->nevidence; j++)
			json_array_append_new(evs, json_string(c->evidence[j]));
		json_object_set_new(o, "evidence", evs);
		json_object_set_new(o, "fix", str_or_null(c->fix));
		json_object_set_new(o, "fix_diff", str_or_null(c->fix_diff));
		json_object_set_new(o, "error", str_or_null(c->error));
		if (c->culprit.who)
			json_object_set_new(o, "culprit", json_pack("{s:o, s:o, s:o, s:o, s:o}",
				"who", str_or_null(c->culprit.who), "when", str_or_null(c->culprit.when),
				"source_ip", str_or_null(c->culprit.source_ip), "event", str_or_null(c->culprit.event),
				"event_id", str_or_null(c->culprit.event_id)));
		else
			json_object_set_new(o, "culprit", json_null());
		json_array_append_new(cells, o);
		if (c->status != DOCTOR_HEALTHY)
			red++;
		if (c->status == DOCTOR_CAUSE) {
			const char *k = doctor_cause_name(c->cause);
			json_int_t v = json_integer_value(json_object_get(counts, k));

			json_object_set_new(counts, k, json_integer(v + 1));
		}
	}
	sum = json_pack("{s:I, s:I, s:o, s:I, s:I}", "cells", (json_int_t)r->ncells, "red", (json_int_t)red,
			"causes", counts, "warnings", (json_int_t)r->nwarnings, "unexamined",
			(json_int_t)r->nunexamined);
	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "cells", cells);
	json_object_set_new(doc, "summary", sum);
	return doc;
}
