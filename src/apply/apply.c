/* apply.c: converge AWS to a plan (see apply.h).  Library code: no
 * printing, no clock, no environment. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apply.h"
#include "apply_org.h"
#include "buf.h"
#include "cloudtrail.h"
#include "diff.h"
#include "kms.h"
#include "policy.h"
#include "s3.h"
#include "sts.h"
#include "timeutil.h"
#include "trail_drift.h"
#include "xml.h"
#include "banned.h"

#define MAX_POLICY_TEXT (256u * 1024)
#define MAX_XML_DOC (64u * 1024)
#define SSE_KMS "aws:kms"

/* ---- statement ownership ---- */

bool apply_sid_owned(const char *sid)
{
	return sid && !strncmp(sid, APPLY_SID_PREFIX, strlen(APPLY_SID_PREFIX));
}

static bool statement_owned(const json_t *st)
{
	return json_is_object(st) && apply_sid_owned(json_string_value(json_object_get(st, "Sid")));
}

int apply_merge_policy(json_t **out, const json_t *current, const json_t *desired, const char *subject,
		       struct errbuf *err)
{
	json_t *res, *sts, *cur, *want, *st, *d;
	size_t i, j, n, nwant, insert_at = SIZE_MAX;
	bool *placed = NULL;
	int rc = 0;

	*out = NULL;
	want = json_object_get(desired, "Statement");
	if (!json_is_object(desired) || !json_is_array(want))
		return err_set(err, TK_EUSAGE, "the planned %s has no Statement list", subject);
	nwant = json_array_size(want);
	for (j = 0; j < nwant; j++)
		if (!statement_owned(json_array_get(want, j)))
			return err_set(err, TK_EUSAGE, "statement %zu of the planned %s has no Sid starting with "
				       "'%s': apply could not recognise it as its own", j + 1, subject,
				       APPLY_SID_PREFIX);
	if (!current) {
		*out = json_deep_copy(desired);
		return 0;
	}
	cur = json_object_get(current, "Statement");
	if (!json_is_object(current) || !(json_is_array(cur) || json_is_object(cur)))
		return err_set(err, TK_EUSAGE, "the current %s is not a policy document (no Statement): "
			       "not changing it", subject);
	placed = xcalloc(nwant ? nwant : 1, sizeof(*placed));
	res = json_deep_copy(current);
	json_object_set(res, "Version", json_object_get(desired, "Version"));   /* adds a reference */
	sts = json_array();
	n = json_is_array(cur) ? json_array_size(cur) : 1;
	for (i = 0; i < n; i++) {
		const char *sid;

		st = json_is_array(cur) ? json_array_get(cur, i) : cur;
		if (!statement_owned(st)) {
			json_array_append(sts, st);   /* adds a reference: the foreign statement as it is */
			continue;
		}
		/* an owned statement: the planned one with the same Sid takes its
		 * place; one the plan no longer has is dropped */
		sid = json_string_value(json_object_get(st, "Sid"));
		for (j = 0; j < nwant; j++) {
			d = json_array_get(want, j);
			if (!placed[j] && !strcmp(sid, json_string_value(json_object_get(d, "Sid"))))
				break;
		}
		if (j < nwant) {
			json_array_append(sts, json_array_get(want, j));   /* adds a reference */
			placed[j] = true;
		}
		insert_at = json_array_size(sts);
	}
	/* planned statements not placed yet: after the last owned statement,
	 * or at the end */
	if (insert_at == SIZE_MAX)
		insert_at = json_array_size(sts);
	for (j = 0; j < nwant; j++)
		if (!placed[j])
			json_array_insert(sts, insert_at++, json_array_get(want, j));   /* adds a reference */
	json_object_set_new(res, "Statement", sts);   /* steals */
	*out = res;
	free(placed);
	return rc;
}

/* ---- the lock-out check ---- */

static int glob_ci(const char *p, const char *s)
{
	const char *star = NULL, *ss = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			ss = s;
		} else if (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*s)) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++ss;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* Does a string-or-list value contain a pattern matching s? */
static bool list_matches(const json_t *v, const char *s)
{
	size_t i;

	if (json_is_string(v))
		return glob_ci(json_string_value(v), s);
	if (json_is_array(v))
		for (i = 0; i < json_array_size(v); i++)
			if (json_is_string(json_array_get(v, i)) && glob_ci(json_string_value(json_array_get(v, i)), s))
				return true;
	return false;
}

static bool names_root(const json_t *principal, const char *root_arn, const char *account, bool any)
{
	const json_t *aws;
	size_t i, n;

	if (json_is_string(principal))
		return any && !strcmp(json_string_value(principal), "*");
	aws = json_object_get(principal, "AWS");
	n = json_is_array(aws) ? json_array_size(aws) : 1;
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_is_array(aws) ? json_array_get(aws, i) : aws);

		if (!s)
			continue;
		if (!strcmp(s, root_arn) || !strcmp(s, account) || (any && !strcmp(s, "*")))
			return true;
	}
	return false;
}

int apply_check_key_policy(const json_t *policy, const char *partition, const char *account,
			   const char *subject, struct errbuf *err)
{
	const json_t *sts = json_object_get(policy, "Statement"), *st;
	char *root = xasprintf("arn:%s:iam::%s:root", partition ? partition : "aws", account);
	size_t i, n = json_is_array(sts) ? json_array_size(sts) : 1;
	struct policy_request req;
	struct policy_result res;
	struct errbuf perr;
	bool allowed = false;
	int rc = 0;

	/* 1. the policy evaluator (policy.h): may the root call PutKeyPolicy
	 * with no request context at all? */
	memset(&req, 0, sizeof(req));
	req.principal.kind = PRINCIPAL_AWS;
	req.principal.arn = root;
	req.principal.account = account;
	req.action = "kms:PutKeyPolicy";
	req.resource = NULL;
	if (policy_eval(&res, policy, &req, &perr) < 0) {
		rc = err_set(err, TK_EUSAGE, "%s is not a valid policy: %s", subject, perr.msg);
		goto done;
	}
	if (res.decision != POLICY_ALLOW) {
		rc = err_set(err, TK_EUSAGE, "%s would lock out the account root '%s' (kms:PutKeyPolicy: %s)", subject,
			     root, res.explain);
		goto done;
	}
	/* 2. structurally: an unconditional Allow naming the root (an Allow that
	 * only works with some request context is not enough) */
	for (i = 0; i < n; i++) {
		const char *effect;

		st = json_is_array(sts) ? json_array_get(sts, i) : sts;
		if (!json_is_object(st))
			continue;
		effect = json_string_value(json_object_get(st, "Effect"));
		if (effect && !strcmp(effect, "Allow") && !json_object_get(st, "Condition") &&
		    list_matches(json_object_get(st, "Action"), "kms:PutKeyPolicy") &&
		    names_root(json_object_get(st, "Principal"), root, account, false))
			allowed = true;
	}
	if (!allowed)
		rc = err_set(err, TK_EUSAGE, "%s would lock out the account root: no statement without a "
			     "condition allows '%s' kms:PutKeyPolicy (keep the root statement)", subject, root);
done:
	free(root);
	return rc;
}

/* ---- results ---- */

struct changes {
	struct apply_change *v;
	size_t n;
	char **warn;
	size_t nwarn;
	bool readback;   /* the check after the writes: read and compare only, every change is a mismatch */
};

/* No write now: a dry run, or the read-back check. */
#define DRY(r, ch) ((r)->o->dry_run || (ch)->readback)

static struct apply_change *add_change(struct changes *c, const char *account, const char *subject,
				       const char *verb, const json_t *before, const json_t *after, bool policy)
{
	struct apply_change *ch;

	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	ch = &c->v[c->n++];
	memset(ch, 0, sizeof(*ch));
	ch->account = xstrdup(account);
	ch->subject = xstrdup(subject);
	ch->verb = xstrdup(verb);
	ch->before = before ? diff_json_text(before, policy) : NULL;
	ch->after = after ? diff_json_text(after, policy) : NULL;
	return ch;
}

static void add_warning(struct changes *c, char *msg)
{
	c->warn = xrealloc(c->warn, (c->nwarn + 1) * sizeof(*c->warn));
	c->warn[c->nwarn++] = msg;   /* owned now */
}

static void change_free(struct apply_change *ch)
{
	free(ch->account);
	free(ch->subject);
	free(ch->verb);
	free(ch->before);
	free(ch->after);
}

static void changes_release(struct changes *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		change_free(&c->v[i]);
	for (i = 0; i < c->nwarn; i++)
		free(c->warn[i]);
	free(c->v);
	free(c->warn);
	memset(c, 0, sizeof(*c));
}

/* Move c's changes and warnings to the end of r. */
static void changes_move(struct apply_result *r, struct changes *c)
{
	size_t i;

	if (c->n) {
		r->changes = xrealloc(r->changes, (r->nchanges + c->n) * sizeof(*r->changes));
		for (i = 0; i < c->n; i++)
			r->changes[r->nchanges++] = c->v[i];
	}
	if (c->nwarn) {
		r->warnings = xrealloc(r->warnings, (r->nwarnings + c->nwarn) * sizeof(*r->warnings));
		for (i = 0; i < c->nwarn; i++)
			r->warnings[r->nwarnings++] = c->warn[i];
	}
	free(c->v);
	free(c->warn);
	memset(c, 0, sizeof(*c));
}

void apply_result_release(struct apply_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nchanges; i++)
		change_free(&r->changes[i]);
	for (i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->changes);
	free(r->warnings);
	free(r->outcomes);
	memset(r, 0, sizeof(*r));
}

/* ---- sessions and account credentials ---- */

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
	size_t ncreds;
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

static int session_init(struct session *s, struct run *r, int seq, struct errbuf *err)
{
	struct aws_ctx_options co = *r->o->aws;
	struct http_pool_options ho;
	int rc;

	memset(s, 0, sizeof(*s));
	if (r->o->http_opts)
		ho = *r->o->http_opts;
	else
		memset(&ho, 0, sizeof(ho));
	rc = http_pool_new(&s->pool, &ho, err);
	if (rc)
		return rc;
	co.http = s->pool;
	co.region = r->cfg->home_region;
	co.seed = r->o->aws->seed + (uint64_t)seq * 7919u;
	rc = aws_ctx_init(&s->base, &co, err);
	if (rc) {
		http_pool_free(s->pool);
		s->pool = NULL;
		return rc;
	}
	s->ready = true;
	return 0;
}

static void session_release(struct session *s)
{
	if (s->ready)
		aws_ctx_release(&s->base);
	if (s->pool)
		http_pool_free(s->pool);
	memset(s, 0, sizeof(*s));
}

static void write_done(struct run *r, struct apply_change *ch)
{
	pthread_mutex_lock(&r->lock);
	r->writes++;
	pthread_mutex_unlock(&r->lock);
	if (ch)
		ch->done = true;
}

/* A context for account in the home region: the caller's credentials for
 * the caller's own account, else AssumeRole (cached per account). */
static int account_ctx(struct aws_ctx *out, struct session *s, struct run *r, const char *account,
		       struct errbuf *err)
{
	const struct tk_config *c = r->cfg;
	struct cred_entry *e = NULL;
	struct aws_creds creds;
	char *role = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!strcmp(account, r->caller))
		return aws_ctx_clone(out, &s->base, NULL, NULL, err);
	if (r->o->account_creds) {
		memset(&creds, 0, sizeof(creds));
		pthread_mutex_lock(&r->lock);
		rc = r->o->account_creds(r->o->account_creds_ud, account, &creds, err);
		pthread_mutex_unlock(&r->lock);
		if (rc == 0)
			rc = aws_ctx_clone(out, &s->base, NULL, &creds, err);
		aws_creds_release(&creds);
		return rc;
	}
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->ncreds; i++)
		if (!strcmp(r->creds[i].account, account))
			e = &r->creds[i];
	if (e && e->rc == 0)
		rc = aws_creds_copy(&creds, &e->creds);
	else if (e)
		rc = err_set(err, e->rc, "%s", e->msg);
	pthread_mutex_unlock(&r->lock);
	if (e) {
		if (rc)
			return rc;
		rc = aws_ctx_clone(out, &s->base, NULL, &creds, err);
		aws_creds_release(&creds);
		return rc;
	}
	role = xasprintf("arn:%s:iam::%s:role/%s", r->partition, account, c->assume_role);
	memset(&creds, 0, sizeof(creds));
	rc = sts_assume_role(&s->base, role, r->o->session_name ? r->o->session_name : "trailkeep-apply",
			     c->external_id, 0, &creds, NULL, err);
	if (rc)
		err_prefix(err, rc, "cannot assume role '%s'", role);
	pthread_mutex_lock(&r->lock);
	r->creds = xrealloc(r->creds, (r->ncreds + 1) * sizeof(*r->creds));
	e = &r->creds[r->ncreds++];
	memset(e, 0, sizeof(*e));
	snprintf(e->account, sizeof(e->account), "%s", account);
	e->rc = rc;
	if (rc)
		snprintf(e->msg, sizeof(e->msg), "%s", err->msg);
	else
		aws_creds_copy(&e->creds, &creds);
	pthread_mutex_unlock(&r->lock);
	if (!rc)
		rc = aws_ctx_clone(out, &s->base, NULL, &creds, err);
	aws_creds_release(&creds);
	free(role);
	return rc;
}

static void sleep_ms(struct aws_ctx *ctx, long ms)
{
	if (ctx->sleep_ms)
		ctx->sleep_ms(ctx->sleep_ud, ms);
}

/* The read-back delays: AWS reads are read-after-write consistent for
 * these settings, but a short grace avoids calling a slow propagation a
 * failed write (scaled like the retry backoff). */
static const long readback_delay_ms[] = { 1000, 2000, 4000, 8000 };
#define READBACK_TRIES (1 + sizeof(readback_delay_ms) / sizeof(readback_delay_ms[0]))

static void readback_sleep(struct aws_ctx *ctx, size_t attempt)
{
	double scale = ctx->backoff_scale > 0 ? ctx->backoff_scale : 1.0;

	sleep_ms(ctx, (long)((double)readback_delay_ms[attempt] * scale));
}

/* ---- helpers for documents ---- */

static const json_t *plan_doc(const struct plan *p, const char *path)
{
	const struct plan_file *f = plan_find(p, path);

	return f ? f->doc : NULL;
}

static int parse_json_text(json_t **out, const char *text, const char *subject, struct errbuf *err)
{
	json_error_t je;
	size_t n = strlen(text);

	if (n > MAX_POLICY_TEXT)
		return err_set(err, TK_ELIMIT, "%s is %zu bytes, over the limit of %u", subject, n, MAX_POLICY_TEXT);
	*out = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return err_set(err, TK_EFAIL, "cannot parse %s: %s at line %d", subject, je.text, je.line);
	return 0;
}

static char *dump_compact(const json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);

	return s ? s : xstrdup("{}");
}

/* JSON (the plan's form of an S3 configuration) -> XML elements: "Rules"
 * lists become repeated "Rule" elements; object keys in sorted order. */
static int json_xml(struct buf *b, const char *name, const json_t *v)
{
	const char *el = !strcmp(name, "Rules") ? "Rule" : name;
	char num[32];
	size_t i, n;
	int rc = 0;

	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v) && !rc; i++)
			rc = json_xml(b, name, json_array_get(v, i));
		return rc;
	}
	if (json_is_object(v)) {
		const char **keys;
		const char *k;
		json_t *x;

		n = json_object_size(v);
		keys = xcalloc(n ? n : 1, sizeof(*keys));
		i = 0;
		json_object_foreach((json_t *)(uintptr_t)v, k, x)
			keys[i++] = k;
		for (i = 1; i < n; i++) {   /* insertion sort: a handful of keys */
			const char *t = keys[i];
			size_t j = i;

			while (j > 0 && strcmp(keys[j - 1], t) > 0) {
				keys[j] = keys[j - 1];
				j--;
			}
			keys[j] = t;
		}
		rc |= xml_open(b, el, NULL);
		for (i = 0; i < n && !rc; i++)
			rc |= json_xml(b, keys[i], json_object_get(v, keys[i]));
		rc |= xml_close(b, el);
		free(keys);
		return rc ? TK_ELIMIT : 0;
	}
	if (json_is_string(v))
		return xml_elem(b, el, json_string_value(v)) ? TK_ELIMIT : 0;
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return xml_elem(b, el, num) ? TK_ELIMIT : 0;
	}
	if (json_is_boolean(v))
		return xml_elem(b, el, json_is_true(v) ? "true" : "false") ? TK_ELIMIT : 0;
	return 0;
}

static int config_xml(struct buf *b, const char *root, const json_t *cfg)
{
	const char *k;
	json_t *v;
	int rc = 0;

	rc |= buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	rc |= xml_open(b, root, S3_XMLNS);
	json_object_foreach((json_t *)(uintptr_t)cfg, k, v)
		if (!rc)
			rc |= json_xml(b, k, v);
	rc |= xml_close(b, root);
	return rc ? TK_ELIMIT : 0;
}

static int cmp_json_text(const void *x, const void *y)
{
	char *a = dump_compact(*(json_t *const *)x), *b = dump_compact(*(json_t *const *)y);
	int c = strcmp(a, b);

	free(a);
	free(b);
	return c;
}

/* The canonical JSON form of an XML element tree: leaves are their text,
 * repeated children become a sorted list; order of elements never matters. */
static json_t *xml_canon(const struct xml_node *n)
{
	const struct xml_node *c;
	json_t *o, *v, *prev, *a, *lists;
	const char *k;

	if (!n->child)
		return json_string(n->text ? n->text : "");
	o = json_object();
	lists = json_object();   /* names whose values became lists here */
	for (c = n->child; c; c = c->next) {
		v = xml_canon(c);
		prev = json_object_get(o, c->name);
		if (!prev) {
			json_object_set_new(o, c->name, v);   /* steals */
		} else if (json_object_get(lists, c->name)) {
			json_array_append_new(prev, v);       /* steals */
		} else {
			a = json_array();
			json_array_append(a, prev);            /* adds a reference */
			json_array_append_new(a, v);           /* steals */
			json_object_set_new(o, c->name, a);    /* steals a; prev lives on in a */
			json_object_set_new(lists, c->name, json_true());
		}
	}
	/* sort every list made above: element order never matters here */
	json_object_foreach(lists, k, v) {
		json_t *l = json_object_get(o, k), **items, *sorted;
		size_t i, m = json_array_size(l);

		items = xcalloc(m ? m : 1, sizeof(*items));
		for (i = 0; i < m; i++)
			items[i] = json_array_get(l, i);
		qsort(items, m, sizeof(*items), cmp_json_text);
		sorted = json_array();
		for (i = 0; i < m; i++)
			json_array_append(sorted, items[i]);   /* adds a reference */
		free(items);
		json_object_set_new(o, k, sorted);         /* steals */
	}
	json_decref(lists);
	return o;
}

static json_t *xml_text_canon(const char *xml, struct errbuf *err)
{
	struct xml_doc d;
	json_t *j;

	if (xml_parse(&d, xml, strlen(xml), err) < 0)
		return NULL;
	j = xml_canon(d.root);
	xml_doc_release(&d);
	return j;
}

/* ---- the central part ---- */

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

/* Where is bucket, and who owns it?  0 = missing (*exists false) or ours in
 * home_region; an error otherwise. */
static int check_bucket(struct central *ce, struct run *r, const char *bucket, const char *what, bool *exists,
			struct errbuf *err)
{
	char *region = NULL;
	int rc;

	*exists = false;
	rc = s3_get_bucket_location(&ce->ctx, bucket, &region, err);
	if (rc == TK_ENOTFOUND)
		return 0;
	if (rc == TK_EAUTH)
		return err_set(err, TK_EAUTH, "%s '%s' exists but is not owned by the central account %s "
			       "(GetBucketLocation from that account was denied): choose another bucket name",
			       what, bucket, ce->account);
	if (rc)
		return rc;
	*exists = true;
	if (strcmp(region, r->cfg->home_region)) {
		rc = err_set(err, TK_EFAIL, "%s '%s' is in region '%s', not in the home region '%s': "
			     "refusing to use it", what, bucket, region, r->cfg->home_region);
	}
	free(region);
	return rc;
}

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
static const char *key_state_hint(const char *state)
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
			       key_state_hint(ce->key.state));
	if (step == APPLY_KEY_CANCEL_ENABLE) {
		before = json_pack("{s:s}", "KeyState", "PendingDeletion");
		if (ce->key.deletion_date)
			json_object_set_new(before, "DeletionDate",
					    json_string(tk_format_iso(ce->key.deletion_date, when, sizeof(when))));
		after = json_pack("{s:s}", "KeyState", "Disabled");
		chg = add_change(ch, ce->account, ksubject, "cancel deletion", before, after, false);
		json_decref(before);
		json_decref(after);
		if (!DRY(r, ch)) {
			if ((rc = kms_cancel_key_deletion(&ce->ctx, ce->key.key_id, err)))
				return rc;
			write_done(r, chg);
		}
	}
	before = json_pack("{s:s}", "KeyState", "Disabled");
	after = json_pack("{s:s}", "KeyState", "Enabled");
	chg = add_change(ch, ce->account, ksubject, "enable", before, after, false);
	json_decref(before);
	json_decref(after);
	if (DRY(r, ch))
		return 0;
	if ((rc = kms_enable_key(&ce->ctx, ce->key.key_id, err)))
		return rc;
	write_done(r, chg);
	free(ce->key.state);
	ce->key.state = xstrdup("Enabled");
	ce->key.enabled = 1;
	ce->key.deletion_date = 0;
	return 0;
}

static int preflight(struct central *ce, struct run *r, struct errbuf *err)
{
	struct s3_object_lock lock;
	struct s3_encryption enc;
	int rc;

	rc = kms_describe_key(&ce->ctx, r->cfg->kms_alias, &ce->key, err);
	if (rc == 0) {
		ce->key_exists = true;
		if (apply_key_state_step(ce->key.state) == APPLY_KEY_REFUSE)
			return err_set(err, TK_EFAIL, "kms key '%s' (%s) is in state '%s': apply converges only "
				       "Disabled and PendingDeletion keys; %s", r->cfg->kms_alias,
				       ce->key.arn ? ce->key.arn : "?", ce->key.state ? ce->key.state : "unknown",
				       key_state_hint(ce->key.state));
	} else if (rc != TK_ENOTFOUND) {
		return rc;
	}
	if ((rc = check_bucket(ce, r, ce->bucket, "bucket", &ce->bucket_exists, err)))
		return rc;
	if (!ce->alog)
		return 0;
	if ((rc = check_bucket(ce, r, ce->alog, "access-log bucket", &ce->alog_exists, err)))
		return rc;
	if (!ce->alog_exists)
		return 0;
	memset(&lock, 0, sizeof(lock));
	rc = s3_get_object_lock(&ce->ctx, ce->alog, &lock, err);
	if (rc == 0 && lock.enabled) {
		s3_object_lock_release(&lock);
		return err_set(err, TK_EFAIL, "access-log bucket '%s' has object lock enabled: S3 server access "
			       "logs cannot be delivered to it; use another access_log_bucket", ce->alog);
	}
	s3_object_lock_release(&lock);
	if (rc && rc != TK_ENOTFOUND)
		return rc;
	memset(&enc, 0, sizeof(enc));
	rc = s3_get_encryption(&ce->ctx, ce->alog, &enc, err);
	if (rc == 0 && enc.algorithm && strncmp(enc.algorithm, SSE_KMS, strlen(SSE_KMS)) == 0) {
		s3_encryption_release(&enc);
		return err_set(err, TK_EFAIL, "access-log bucket '%s' has default encryption SSE-KMS: S3 server "
			       "access logs need SSE-S3 (AES256) on the target; change it or use another "
			       "access_log_bucket", ce->alog);
	}
	s3_encryption_release(&enc);
	if (rc && rc != TK_ENOTFOUND)
		return rc;
	return 0;
}

/* Read-merge-compare-write one resource policy.  get/put are the S3 or KMS
 * calls. */
typedef int (*get_policy_fn)(struct aws_ctx *ctx, const char *id, char **policy, struct errbuf *err);
typedef int (*put_policy_fn)(struct aws_ctx *ctx, const char *id, const char *policy, struct errbuf *err);

static int converge_policy(struct run *r, struct aws_ctx *ctx, struct changes *ch, const char *account,
			   const char *id, bool exists, const json_t *desired, const char *subject,
			   get_policy_fn get, put_policy_fn put, bool key_policy, bool *changed, struct errbuf *err)
{
	json_t *cur = NULL, *merged = NULL;
	char *text = NULL, *body = NULL;
	struct apply_change *c;
	int rc = 0;

	if (changed)
		*changed = false;
	if (exists) {
		rc = get(ctx, id, &text, err);
		if (rc == TK_ENOTFOUND)
			rc = 0;
		else if (rc)
			goto done;
		if (text && (rc = parse_json_text(&cur, text, subject, err)))
			goto done;
	}
	if ((rc = apply_merge_policy(&merged, cur, desired, subject, err)))
		goto done;
	if (cur && diff_policy_equal(cur, merged))
		goto done;
	if (key_policy &&
	    (rc = apply_check_key_policy(merged, r->partition, account, subject, err)))
		goto done;
	c = add_change(ch, account, subject, cur ? "update" : "set", cur, merged, true);
	if (changed)
		*changed = true;
	if (DRY(r, ch))
		goto done;
	body = dump_compact(merged);
	if ((rc = put(ctx, id, body, err)))
		goto done;
	write_done(r, c);
done:
	json_decref(cur);
	json_decref(merged);
	free(text);
	free(body);
	return rc;
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
			sleep_ms(&ce->ctx, aws_retry_backoff_ms(&ce->ctx, i));
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

static int converge_key(struct central *ce, struct run *r, struct changes *ch, struct errbuf *err)
{
	const struct tk_config *c = r->cfg;
	const json_t *want = plan_doc(r->o->plan, "central/kms-key-policy.json");
	char *subject = xasprintf("kms key '%s' policy", c->kms_alias);
	char *ksubject = xasprintf("kms key '%s'", c->kms_alias);
	struct apply_change *chg;
	json_t *after;
	bool rot = false;
	char *body = NULL, *desc = NULL;
	size_t first;
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
			chg = add_change(ch, ce->account, asub, "create", NULL, after, false);
			json_decref(after);
			free(asub);
			if (!DRY(r, ch)) {
				if ((rc = create_alias_safe(ce, c->kms_alias, err)))
					goto done;
				write_done(r, chg);
			}
			ce->key_exists = true;
		} else if (rc != TK_ENOTFOUND) {
			goto done;
		}
	}
	if (!ce->key_exists) {
		after = json_pack("{s:s, s:s, s:s, s:s}", "AliasName", c->kms_alias, "KeySpec", "SYMMETRIC_DEFAULT",
				  "KeyUsage", "ENCRYPT_DECRYPT", "Region", c->home_region);
		add_change(ch, ce->account, ksubject, "create", NULL, after, false);
		first = ch->n - 1;
		json_decref(after);
		add_change(ch, ce->account, subject, "set", NULL, want, true);
		add_change(ch, ce->account, ksubject, "enable rotation", NULL, NULL, false);
		if (DRY(r, ch)) {
			free(r->key_arn);
			r->key_arn = xasprintf("arn:%s:kms:%s:%s:%s", r->partition, c->home_region, ce->account,
					       c->kms_alias);
			rc = 0;
			goto done;
		}
		body = dump_compact(want);
		if ((rc = create_key_safe(ce, r, body, desc, err)))
			goto done;
		write_done(r, &ch->v[first]);
		if ((rc = create_alias_safe(ce, c->kms_alias, err)))
			goto done;
		write_done(r, NULL);
		ce->key_exists = true;
		ch->v[first + 1].done = true;   /* the policy came with CreateKey */
		if ((rc = kms_enable_key_rotation(&ce->ctx, ce->key.key_id, err)))
			goto done;
		write_done(r, &ch->v[first + 2]);
		free(r->key_arn);
		r->key_arn = xstrdup(ce->key.arn);
		rc = 0;
		goto done;
	}
	free(r->key_arn);
	r->key_arn = xstrdup(ce->key.arn);
	/* the key's state first: EnableKeyRotation (and CloudTrail) need an
	 * enabled key */
	if ((rc = converge_key_state(ce, r, ch, ksubject, err)))
		goto done;
	rc = converge_policy(r, &ce->ctx, ch, ce->account, ce->key.key_id, true, want, subject,
			     kms_get_key_policy, kms_put_key_policy, true, NULL, err);
	if (rc)
		goto done;
	rc = kms_get_key_rotation(&ce->ctx, ce->key.key_id, &rot, err);
	if (rc && DRY(r, ch) && apply_key_state_step(ce->key.state) == APPLY_KEY_CANCEL_ENABLE &&
	    aws_error_is(&ce->ctx.last_error, "KMSInvalidStateException")) {
		/* KMS does not report rotation of a key pending deletion: the
		 * real run reads it after cancelling the deletion */
		add_warning(ch, xasprintf("kms key '%s' is pending deletion: its rotation status cannot be "
					  "read until apply has cancelled the deletion", c->kms_alias));
		rc = 0;
		goto done;
	}
	if (rc)
		goto done;
	if (!rot) {
		json_t *b = json_pack("{s:b}", "KeyRotationEnabled", 0), *a = json_pack("{s:b}", "KeyRotationEnabled", 1);

		chg = add_change(ch, ce->account, ksubject, "enable rotation", b, a, false);
		json_decref(a);
		json_decref(b);
		if (!DRY(r, ch)) {
			if ((rc = kms_enable_key_rotation(&ce->ctx, ce->key.key_id, err)))
				goto done;
			write_done(r, chg);
		}
	}
done:
	free(subject);
	free(ksubject);
	free(body);
	free(desc);
	return rc;
}

static bool rule_owned(const json_t *rule)
{
	const json_t *id = json_object_get(rule, "ID");

	return json_is_string(id) && apply_sid_owned(json_string_value(id));
}

/* The rules of a canonical (xml_canon) LifecycleConfiguration: "Rule" is one
 * object or a list. */
static size_t lifecycle_rules_of(const json_t *canon)
{
	const json_t *r = json_object_get(canon, "Rule");

	return json_is_array(r) ? json_array_size(r) : r ? 1 : 0;
}

json_t *apply_lifecycle_merge(const json_t *cur_canon, const json_t *planned_rules)
{
	json_t *out = json_object(), *rules = json_array(), *x;
	const json_t *cr = json_object_get(cur_canon, "Rule");
	size_t i, n = lifecycle_rules_of(cur_canon);

	for (i = 0; i < n; i++) {
		const json_t *rule = json_is_array(cr) ? json_array_get(cr, i) : cr;

		if (!rule_owned(rule))
			json_array_append(rules, (json_t *)(uintptr_t)rule);   /* adds a reference */
	}
	json_array_foreach(planned_rules, i, x)
		json_array_append(rules, x);   /* adds a reference */
	json_object_set_new(out, "Rules", rules);   /* steals */
	return out;
}

/* DeleteBucketLifecycle (the last rule of a configuration cannot be put
 * away otherwise). */
static int delete_lifecycle(struct aws_ctx *ctx, const char *bucket, struct errbuf *err)
{
	struct aws_s3_request q = { .method = "DELETE", .operation = "DeleteBucketLifecycle", .bucket = bucket,
				    .query = "lifecycle=" };
	struct http_response resp;
	int rc = aws_s3_call(ctx, &q, &resp, err);

	if (!rc)
		http_response_release(&resp);
	return rc;
}

/* The settings of one bucket from a plan settings object.  A bucket that
 * does not exist yet (dry run) is compared with what S3 gives a new bucket:
 * versioning on only with object lock, public access block on, ACLs
 * disabled (BucketOwnerEnforced), SSE-S3 default encryption. */
static int converge_bucket_settings(struct central *ce, struct run *r, struct changes *ch, const char *bucket,
				    bool exists, bool new_locked, const json_t *settings, const char *kms_key_arn,
				    struct errbuf *err)
{
	const char *acct = ce->account;
	struct apply_change *chg;
	char *subject = NULL;
	json_t *cur = NULL, *want = NULL;
	const json_t *v;
	int rc = 0;

#define SUBJECT(what) (free(subject), subject = xasprintf("bucket '%s' %s", bucket, what))
#define RESET() (json_decref(cur), json_decref(want), cur = want = NULL)

	/* versioning */
	if ((v = json_object_get(settings, "Versioning"))) {
		const char *ws = json_string_value(json_object_get(v, "Status"));
		char *st = NULL;

		if (exists && (rc = s3_get_versioning(&ce->ctx, bucket, &st, NULL, err)))
			goto done;
		if (!exists && new_locked)
			st = xstrdup("Enabled");
		if (ws && (!st || strcmp(st, ws))) {
			SUBJECT("versioning");
			cur = st && *st ? json_pack("{s:s}", "Status", st) : NULL;
			want = json_pack("{s:s}", "Status", ws);
			chg = add_change(ch, acct, subject, "set", cur, want, false);
			RESET();
			if (!DRY(r, ch)) {
				rc = s3_put_versioning(&ce->ctx, bucket, ws, err);
				if (rc) {
					free(st);
					goto done;
				}
				write_done(r, chg);
			}
		}
		free(st);
	}
	/* default encryption */
	v = json_object_get(settings, "ServerSideEncryptionConfiguration");
	v = json_array_get(json_object_get(v, "Rules"), 0);
	if (v) {
		const json_t *d = json_object_get(v, "ApplyServerSideEncryptionByDefault");
		const char *alg = json_string_value(json_object_get(d, "SSEAlgorithm"));
		bool bk = json_is_true(json_object_get(v, "BucketKeyEnabled"));
		const char *kid = alg && !strcmp(alg, SSE_KMS) ? kms_key_arn : NULL;
		struct s3_encryption e;
		bool same;

		memset(&e, 0, sizeof(e));
		if (!exists) {
			e.algorithm = xstrdup("AES256");
			e.bucket_key_enabled = 0;
		} else {
			rc = s3_get_encryption(&ce->ctx, bucket, &e, err);
			if (rc == TK_ENOTFOUND)
				rc = 0;
			else if (rc)
				goto done;
		}
		same = e.algorithm && alg && !strcmp(e.algorithm, alg) &&
		       ((!kid && !e.kms_key_id) || (kid && e.kms_key_id && !strcmp(kid, e.kms_key_id))) &&
		       (e.bucket_key_enabled == 1) == bk;
		if (alg && !same) {
			SUBJECT("default encryption");
			if (e.algorithm) {
				cur = json_pack("{s:s}", "SSEAlgorithm", e.algorithm);
				if (e.kms_key_id)
					json_object_set_new(cur, "KMSMasterKeyID", json_string(e.kms_key_id));
				json_object_set_new(cur, "BucketKeyEnabled", json_boolean(e.bucket_key_enabled == 1));
			}
			want = json_pack("{s:s, s:b}", "SSEAlgorithm", alg, "BucketKeyEnabled", bk);
			if (kid)
				json_object_set_new(want, "KMSMasterKeyID", json_string(kid));
			chg = add_change(ch, acct, subject, "set", cur, want, false);
			RESET();
			if (!DRY(r, ch)) {
				rc = s3_put_encryption(&ce->ctx, bucket, alg, kid, bk, err);
				if (rc) {
					s3_encryption_release(&e);
					goto done;
				}
				write_done(r, chg);
			}
		}
		s3_encryption_release(&e);
	}
	/* public access block */
	if ((v = json_object_get(settings, "PublicAccessBlockConfiguration"))) {
		struct s3_pab p = { -1, -1, -1, -1 }, w;

		if (!exists)
			p.block_public_acls = p.ignore_public_acls = p.block_public_policy = p.restrict_public_buckets = 1;

		w.block_public_acls = json_is_true(json_object_get(v, "BlockPublicAcls"));
		w.ignore_public_acls = json_is_true(json_object_get(v, "IgnorePublicAcls"));
		w.block_public_policy = json_is_true(json_object_get(v, "BlockPublicPolicy"));
		w.restrict_public_buckets = json_is_true(json_object_get(v, "RestrictPublicBuckets"));
		if (exists) {
			rc = s3_get_public_access_block(&ce->ctx, bucket, &p, err);
			if (rc == TK_ENOTFOUND)
				rc = 0;
			else if (rc)
				goto done;
		}
		if (p.block_public_acls != w.block_public_acls || p.ignore_public_acls != w.ignore_public_acls ||
		    p.block_public_policy != w.block_public_policy ||
		    p.restrict_public_buckets != w.restrict_public_buckets) {
			SUBJECT("public access block");
			if (p.block_public_acls >= 0)
				cur = json_pack("{s:b, s:b, s:b, s:b}", "BlockPublicAcls", p.block_public_acls == 1,
						"IgnorePublicAcls", p.ignore_public_acls == 1, "BlockPublicPolicy",
						p.block_public_policy == 1, "RestrictPublicBuckets",
						p.restrict_public_buckets == 1);
			want = json_deep_copy(v);
			chg = add_change(ch, acct, subject, "set", cur, want, false);
			RESET();
			if (!DRY(r, ch)) {
				if ((rc = s3_put_public_access_block(&ce->ctx, bucket, &w, err)))
					goto done;
				write_done(r, chg);
			}
		}
	}
	/* ownership controls */
	v = json_array_get(json_object_get(json_object_get(settings, "OwnershipControls"), "Rules"), 0);
	if (v && json_string_value(json_object_get(v, "ObjectOwnership"))) {
		const char *wo = json_string_value(json_object_get(v, "ObjectOwnership"));
		char *o = NULL;

		if (!exists) {
			o = xstrdup("BucketOwnerEnforced");
		} else {
			rc = s3_get_ownership_controls(&ce->ctx, bucket, &o, err);
			if (rc == TK_ENOTFOUND)
				rc = 0;
			else if (rc)
				goto done;
		}
		if (!o || strcmp(o, wo)) {
			SUBJECT("ownership controls");
			cur = o ? json_pack("{s:s}", "ObjectOwnership", o) : NULL;
			want = json_pack("{s:s}", "ObjectOwnership", wo);
			chg = add_change(ch, acct, subject, "set", cur, want, false);
			RESET();
			if (!DRY(r, ch)) {
				rc = s3_put_ownership_controls(&ce->ctx, bucket, wo, err);
				if (rc) {
					free(o);
					goto done;
				}
				write_done(r, chg);
			}
		}
		free(o);
	}
	/* lifecycle: trailkeep's rules (ID starting with "Trailkeep") are
	 * replaced by the planned ones (a rule the plan no longer has, such as
	 * TrailkeepRetention with retention_days = 0, is removed); every other
	 * rule is kept as it is */
	if ((v = json_object_get(settings, "LifecycleConfiguration"))) {
		struct buf xml = BUF_INIT_LIMIT(MAX_XML_DOC);
		struct xml_doc d;
		json_t *merged = NULL, *rules;
		bool cur_any = false;

		memset(&d, 0, sizeof(d));
		if (exists) {
			rc = s3_get_lifecycle(&ce->ctx, bucket, &d, err);
			if (rc == TK_ENOTFOUND)
				rc = 0;
			else if (rc)
				goto done;
			if (d.root)
				cur = xml_canon(d.root);
			xml_doc_release(&d);
		}
		merged = apply_lifecycle_merge(cur, json_object_get(v, "Rules"));
		rules = json_object_get(merged, "Rules");
		cur_any = cur && lifecycle_rules_of(cur) > 0;
		if (!json_array_size(rules)) {
			/* nothing planned and nothing foreign: no configuration at all */
			if (cur_any) {
				SUBJECT("lifecycle");
				chg = add_change(ch, acct, subject, "remove", cur, NULL, false);
				if (!DRY(r, ch)) {
					if ((rc = delete_lifecycle(&ce->ctx, bucket, err))) {
						json_decref(merged);
						goto done;
					}
					write_done(r, chg);
				}
			}
			json_decref(merged);
			RESET();
			goto lifecycle_done;
		}
		if ((rc = config_xml(&xml, "LifecycleConfiguration", merged))) {
			err_set(err, rc, "bucket '%s' lifecycle configuration is too large", bucket);
			json_decref(merged);
			buf_release(&xml);
			goto done;
		}
		json_decref(merged);
		want = xml_text_canon(buf_cstr(&xml), err);
		if (!want) {
			rc = TK_EFAIL;
			buf_release(&xml);
			goto done;
		}
		if (!cur || !json_equal(cur, want)) {
			SUBJECT("lifecycle");
			chg = add_change(ch, acct, subject, "set", cur, want, false);
			if (!DRY(r, ch)) {
				if ((rc = s3_put_lifecycle(&ce->ctx, bucket, buf_cstr(&xml), err))) {
					buf_release(&xml);
					goto done;
				}
				write_done(r, chg);
			}
		}
		RESET();
		buf_release(&xml);
	}
lifecycle_done:
	rc = 0;
done:
	RESET();
	free(subject);
	return rc;
#undef SUBJECT
#undef RESET
}

static int converge_object_lock(struct central *ce, struct run *r, struct changes *ch, struct errbuf *err)
{
	const struct tk_config *c = r->cfg;
	const char *mode = c->object_lock == TK_LOCK_COMPLIANCE ? "COMPLIANCE" :
			   c->object_lock == TK_LOCK_GOVERNANCE ? "GOVERNANCE" : NULL;
	struct s3_object_lock l;
	struct apply_change *chg;
	json_t *cur, *want;
	char *subject;
	int rc = 0;

	memset(&l, 0, sizeof(l));
	if (ce->bucket_exists && !ce->bucket_created) {
		rc = s3_get_object_lock(&ce->ctx, ce->bucket, &l, err);
		if (rc == TK_ENOTFOUND)
			rc = 0;
		else if (rc)
			return rc;
	} else {
		l.enabled = mode != NULL;   /* created with it (or will be) */
	}
	if (!mode && !l.enabled)
		goto done;
	if (!mode) {
		add_warning(ch, xasprintf("bucket '%s' has object lock enabled but the config says "
							   "object_lock = none: object lock cannot be turned off",
							   ce->bucket));
		if (!l.mode)
			goto done;
		/* the default retention converges to none (objects already
		 * written keep theirs) */
		subject = xasprintf("bucket '%s' object lock retention", ce->bucket);
		cur = json_pack("{s:s, s:I}", "Mode", l.mode, l.days ? "Days" : "Years",
				(json_int_t)(l.days ? l.days : l.years));
		chg = add_change(ch, ce->account, subject, "remove", cur, NULL, false);
		json_decref(cur);
		free(subject);
		if (!DRY(r, ch)) {
			if ((rc = s3_put_object_lock(&ce->ctx, ce->bucket, NULL, 0, err)))
				goto done;
			write_done(r, chg);
		}
		goto done;
	}
	if (!l.enabled) {
		add_warning(ch, xasprintf("bucket '%s' was created without object lock but the config asks for "
					  "%s:%d: object lock can only be chosen when a bucket is created "
					  "(create a new bucket to get it)", ce->bucket, mode, c->object_lock_days));
		goto done;
	}
	if (l.mode && !strcmp(l.mode, mode) && l.days == c->object_lock_days && l.years == 0)
		goto done;
	subject = xasprintf("bucket '%s' object lock retention", ce->bucket);
	cur = l.mode ? json_pack("{s:s, s:I}", "Mode", l.mode, l.days ? "Days" : "Years",
				 (json_int_t)(l.days ? l.days : l.years)) : NULL;
	want = json_pack("{s:s, s:i}", "Mode", mode, "Days", c->object_lock_days);
	chg = add_change(ch, ce->account, subject, "set", cur, want, false);
	json_decref(cur);
	json_decref(want);
	free(subject);
	if (!DRY(r, ch)) {
		if ((rc = s3_put_object_lock(&ce->ctx, ce->bucket, mode, c->object_lock_days, err)))
			goto done;
		write_done(r, chg);
	}
done:
	s3_object_lock_release(&l);
	return rc;
}

static int create_bucket(struct central *ce, struct run *r, struct changes *ch, const char *bucket, bool lock,
			 struct errbuf *err)
{
	char *subject = xasprintf("bucket '%s'", bucket);
	json_t *want = json_pack("{s:s, s:s, s:b}", "Account", ce->account, "Region", r->cfg->home_region,
				 "ObjectLockEnabled", lock);
	struct apply_change *chg = add_change(ch, ce->account, subject, "create", NULL, want, false);
	int rc = 0;

	json_decref(want);
	free(subject);
	if (DRY(r, ch))
		return 0;
	rc = s3_create_bucket(&ce->ctx, bucket, r->cfg->home_region, lock, err);
	/* a CreateBucket whose reply was lost: the retry finds the bucket made
	 * (outside us-east-1 S3 says BucketAlreadyOwnedByYou; in us-east-1 it
	 * answers 200).  The preflight found no bucket, so it is this run's (the
	 * read-back compares whatever it is with the plan) */
	if (rc && aws_error_is(&ce->ctx.last_error, "BucketAlreadyOwnedByYou"))
		rc = 0;
	if (rc)
		return rc;
	write_done(r, chg);
	return 0;
}

static int converge_logging(struct central *ce, struct run *r, struct changes *ch, const json_t *settings,
			    struct errbuf *err)
{
	const json_t *le = json_object_get(json_object_get(settings, "BucketLoggingStatus"), "LoggingEnabled");
	const char *wb = json_string_value(json_object_get(le, "TargetBucket"));
	const char *wp = json_string_value(json_object_get(le, "TargetPrefix"));
	char *tb = NULL, *tp = NULL, *subject = NULL;
	struct apply_change *chg;
	json_t *cur = NULL, *want;
	int rc = 0;

	if (!wp)
		wp = "";
	if (ce->bucket_exists && !ce->bucket_created &&
	    (rc = s3_get_logging(&ce->ctx, ce->bucket, &tb, &tp, err)))
		return rc;
	if (!wb) {
		/* no access_log_bucket: logging converges to off */
		if (!tb)
			goto done;
		subject = xasprintf("bucket '%s' access logging", ce->bucket);
		cur = json_pack("{s:s, s:s}", "TargetBucket", tb, "TargetPrefix", tp ? tp : "");
		chg = add_change(ch, ce->account, subject, "remove", cur, NULL, false);
		json_decref(cur);
		if (!DRY(r, ch)) {
			if ((rc = s3_put_logging(&ce->ctx, ce->bucket, NULL, NULL, err)))
				goto done;
			write_done(r, chg);
		}
		goto done;
	}
	if (tb && !strcmp(tb, wb) && !strcmp(tp ? tp : "", wp))
		goto done;
	subject = xasprintf("bucket '%s' access logging", ce->bucket);
	if (tb)
		cur = json_pack("{s:s, s:s}", "TargetBucket", tb, "TargetPrefix", tp ? tp : "");
	want = json_pack("{s:s, s:s}", "TargetBucket", wb, "TargetPrefix", wp);
	chg = add_change(ch, ce->account, subject, "set", cur, want, false);
	json_decref(cur);
	json_decref(want);
	if (!DRY(r, ch)) {
		if ((rc = s3_put_logging(&ce->ctx, ce->bucket, wb, wp, err)))
			goto done;
		write_done(r, chg);
	}
done:
	free(tb);
	free(tp);
	free(subject);
	return rc;
}

/* The principal ARN a bucket policy sees for the caller (aws:PrincipalArn):
 * the role behind an assumed-role session, else the ARN itself.  NULL when
 * it cannot be told.  Caller frees. */
static char *principal_arn(const char *partition, const char *arn)
{
	char acct[TK_ACCOUNT_ID_LEN + 1];
	const char *p, *role, *slash;
	size_t n;

	if (!arn)
		return NULL;
	p = strstr(arn, ":sts::");
	if (!p || !(role = strstr(p, ":assumed-role/")))
		return strncmp(arn, "arn:", 4) ? NULL : xstrdup(arn);
	n = (size_t)(role - (p + 6));
	if (n != TK_ACCOUNT_ID_LEN)
		return NULL;
	memcpy(acct, p + 6, n);
	acct[n] = '\0';
	role += strlen(":assumed-role/");
	slash = strchr(role, '/');
	return xasprintf("arn:%s:iam::%s:role/%.*s", partition, acct, (int)(slash ? slash - role : (long)strlen(role)),
			 role);
}

/* Apply in the central account with the caller's own credentials (not the
 * assume role): will the planned bucket policy let the caller change it the
 * next time?  A warning naming the statement and the config key, not an
 * error: this run still works (the current policy decides it). */
static void warn_lockout(struct central *ce, struct run *r, struct changes *ch, const json_t *bpol)
{
	struct policy_context *pc;
	struct policy_request req;
	struct policy_result res;
	struct errbuf e;
	char *who, *bucket_arn;

	if (strcmp(r->caller, ce->account) || !(who = principal_arn(r->partition, r->caller_arn)))
		return;
	if (strstr(who, ":root")) {   /* the owner's root may always change the policy */
		free(who);
		return;
	}
	bucket_arn = xasprintf("arn:%s:s3:::%s", r->partition, ce->bucket);
	pc = policy_context_new();
	memset(&req, 0, sizeof(req));
	req.principal.kind = PRINCIPAL_AWS;
	req.principal.arn = who;
	req.principal.account = ce->account;
	req.action = "s3:PutBucketPolicy";
	req.resource = bucket_arn;
	req.context = pc;
	err_clear(&e);
	if (!policy_context_add(pc, "aws:PrincipalArn", who, &e) &&
	    !policy_context_add(pc, "aws:PrincipalAccount", ce->account, &e) &&
	    !policy_context_add(pc, "aws:SecureTransport", "true", &e) &&
	    !policy_eval(&res, bpol, &req, &e) && res.decision == POLICY_DENY)
		add_warning(ch, xasprintf("bucket '%s' policy: statement '%s' denies s3:PutBucketPolicy to '%s', "
					  "who runs this apply: the next apply that changes the policy will fail; add it to "
					  "[central] apply_principals of %s (or run apply as role/%s)",
					  ce->bucket, res.sid[0] ? res.sid : "without Sid", who, r->cfg->path,
					  r->cfg->assume_role));
	policy_context_free(pc);
	free(bucket_arn);
	free(who);
}

static int run_central(struct central *ce, struct run *r, struct changes *ch, struct errbuf *err)
{
	const struct plan *p = r->o->plan;
	const json_t *settings = plan_doc(p, "central/bucket-settings.json");
	const json_t *bpol = plan_doc(p, "central/bucket-policy.json");
	const json_t *apol = plan_doc(p, "central/access-log-bucket-policy.json");
	char *subject = NULL;
	bool lock = r->cfg->object_lock != TK_LOCK_NONE;
	int rc;

	if (!settings || !bpol)
		return err_set(err, TK_EUSAGE, "the plan lacks central/bucket-settings.json or central/bucket-policy.json");
	if ((rc = converge_key(ce, r, ch, err)))
		return rc;
	/* the central bucket */
	if (!ce->bucket_exists) {
		if ((rc = create_bucket(ce, r, ch, ce->bucket, lock, err)))
			return rc;
		ce->bucket_created = !DRY(r, ch);
		ce->bucket_exists = !DRY(r, ch);
	}
	if ((rc = converge_bucket_settings(ce, r, ch, ce->bucket, ce->bucket_exists, lock, settings,
					    r->key_arn, err)))
		return rc;
	if ((rc = converge_object_lock(ce, r, ch, err)))
		return rc;
	/* the access-log bucket and logging into it */
	if (ce->alog) {
		const json_t *as = json_object_get(settings, "AccessLogBucket");

		if (!ce->alog_exists) {
			if ((rc = create_bucket(ce, r, ch, ce->alog, false, err)))
				return rc;
			ce->alog_exists = !DRY(r, ch);
		}
		if (as && (rc = converge_bucket_settings(ce, r, ch, ce->alog, ce->alog_exists, false, as, NULL, err)))
			return rc;
		if (apol) {
			subject = xasprintf("access-log bucket '%s' policy", ce->alog);
			rc = converge_policy(r, &ce->ctx, ch, ce->account, ce->alog, ce->alog_exists, apol, subject,
					     s3_get_bucket_policy, s3_put_bucket_policy, false, NULL, err);
			free(subject);
			if (rc)
				return rc;
		}
	}
	/* logging of the central bucket into the access-log bucket (or none) */
	if ((rc = converge_logging(ce, r, ch, settings, err)))
		return rc;
	/* the bucket policy last: everything it protects is in place */
	warn_lockout(ce, r, ch, bpol);
	subject = xasprintf("bucket '%s' policy", ce->bucket);
	rc = converge_policy(r, &ce->ctx, ch, ce->account, ce->bucket, ce->bucket_exists, bpol, subject,
			     s3_get_bucket_policy, s3_put_bucket_policy, false, &r->bucket_policy_changed, err);
	free(subject);
	return rc;
}

/* After the central part wrote: run it again reading and comparing only;
 * anything it would still change is a write that did not take, an error
 * naming the resource and setting (the read that decides "nothing to do"
 * next time must agree with what was written). */
static int readback_central(struct central *ce, struct run *r, struct errbuf *err)
{
	bool policy_changed = r->bucket_policy_changed;
	struct buf msg = BUF_INIT_LIMIT(4 * ERRBUF_LEN);
	struct changes chk;
	size_t attempt, i;
	int rc = 0;

	memset(&chk, 0, sizeof(chk));
	for (attempt = 0; attempt < READBACK_TRIES; attempt++) {
		if (attempt)
			readback_sleep(&ce->ctx, attempt - 1);
		changes_release(&chk);
		chk.readback = true;
		kms_key_release(&ce->key);
		rc = kms_describe_key(&ce->ctx, r->cfg->kms_alias, &ce->key, err);
		if (rc == TK_ENOTFOUND && attempt + 1 < READBACK_TRIES)
			continue;
		if (rc == TK_ENOTFOUND)
			rc = err_set(err, TK_EFAIL, "a write did not take: read back after the writes, kms key '%s' "
				     "is not found", r->cfg->kms_alias);
		if (rc)
			break;
		ce->key_exists = true;
		ce->bucket_exists = true;
		ce->bucket_created = false;
		ce->alog_exists = ce->alog != NULL;
		if ((rc = run_central(ce, r, &chk, err)) || !chk.n)
			break;
	}
	if (rc == 0 && chk.n) {
		for (i = 0; i < chk.n; i++)
			buf_addf(&msg, "%s%s (%s)", i ? "; " : "", chk.v[i].subject, chk.v[i].verb);
		rc = err_set(err, TK_EFAIL, "a write did not take: read back after the writes, these still differ "
			     "from the plan: %s", buf_cstr(&msg));
	}
	changes_release(&chk);
	buf_release(&msg);
	r->bucket_policy_changed = policy_changed;
	return rc;
}

/* ---- trails ---- */

static bool json_bool_of(const json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static json_t *trail_state(const struct ct_trail *t)
{
	json_t *o = json_pack("{s:s, s:b, s:b, s:b, s:b}", "S3BucketName", t->s3_bucket ? t->s3_bucket : "",
			      "IsMultiRegionTrail", t->multi_region == 1, "IncludeGlobalServiceEvents",
			      t->global_events == 1, "EnableLogFileValidation", t->log_file_validation == 1,
			      "IsOrganizationTrail", t->organization == 1);

	if (t->s3_prefix && *t->s3_prefix)
		json_object_set_new(o, "S3KeyPrefix", json_string(t->s3_prefix));
	if (t->kms_key_id && *t->kms_key_id)
		json_object_set_new(o, "KmsKeyId", json_string(t->kms_key_id));
	return o;
}

static json_t *trail_wanted(const json_t *create, const char *key_arn)
{
	const char *prefix = json_string_value(json_object_get(create, "S3KeyPrefix"));
	json_t *o = json_pack("{s:s, s:b, s:b, s:b, s:b}",
			      "S3BucketName", json_string_value(json_object_get(create, "S3BucketName")) ?
			      json_string_value(json_object_get(create, "S3BucketName")) : "",
			      "IsMultiRegionTrail", json_bool_of(create, "IsMultiRegionTrail"),
			      "IncludeGlobalServiceEvents", json_bool_of(create, "IncludeGlobalServiceEvents"),
			      "EnableLogFileValidation", json_bool_of(create, "EnableLogFileValidation"),
			      "IsOrganizationTrail", json_bool_of(create, "IsOrganizationTrail"));

	if (prefix && *prefix)
		json_object_set_new(o, "S3KeyPrefix", json_string(prefix));
	if (json_object_get(create, "KmsKeyId") && key_arn)
		json_object_set_new(o, "KmsKeyId", json_string(key_arn));
	return o;
}

/* CreateTrail / UpdateTrail, retrying InsufficientS3BucketPolicyException
 * for a bounded time when this run changed the bucket policy. */
static int trail_write(struct run *r, struct aws_ctx *ctx, bool create, const struct ct_trail_params *tp,
		       struct errbuf *err)
{
	long limit = r->o->policy_retry_ms > 0 ? r->o->policy_retry_ms : APPLY_POLICY_RETRY_MS;
	long waited = 0, delay = 1000;
	int rc;

	for (;;) {
		rc = create ? ct_create_trail(ctx, tp, NULL, err) : ct_update_trail(ctx, tp, NULL, err);
		if (rc == 0 || !r->bucket_policy_changed ||
		    !aws_error_is(&ctx->last_error, "InsufficientS3BucketPolicyException") || waited >= limit)
			return rc;
		if (delay > limit - waited)
			delay = limit - waited;
		sleep_ms(ctx, delay);
		waited += delay;
		delay = delay * 2 > 16000 ? 16000 : delay * 2;
	}
}

/* The trail as it is: DescribeTrails, and GetEventSelectors when asked
 * and the trail exists. */
struct trail_read {
	struct ct_trail *trails;
	size_t ntrails;
	json_t *sel;
};

static void trail_read_release(struct trail_read *t)
{
	ct_trails_free(t->trails, t->ntrails);
	json_decref(t->sel);
	memset(t, 0, sizeof(*t));
}

static int read_trail(struct aws_ctx *ctx, const char *name, const char *arn, bool want_sel, struct trail_read *out,
		      struct errbuf *err)
{
	int rc;

	trail_read_release(out);
	rc = ct_describe_trails(ctx, &name, 1, false, &out->trails, &out->ntrails, err);
	if (rc == 0 && out->ntrails && want_sel)
		rc = ct_get_event_selectors(ctx, arn, &out->sel, err);
	return rc;
}

/* The UpdateTrail/CreateTrail parameters that converge cur (NULL: create)
 * to the plan: every planned setting, and "" for S3KeyPrefix and KmsKeyId
 * that are set but planned unset (an empty string clears them). */
static void trail_params_for(struct ct_trail_params *tp, const char *name, const json_t *want,
			     const struct ct_trail *cur)
{
	memset(tp, 0, sizeof(*tp));
	tp->name = name;
	tp->s3_bucket = json_string_value(json_object_get(want, "S3BucketName"));
	tp->s3_prefix = json_string_value(json_object_get(want, "S3KeyPrefix"));
	if (!tp->s3_prefix && cur && cur->s3_prefix && *cur->s3_prefix)
		tp->s3_prefix = "";
	tp->kms_key_id = json_string_value(json_object_get(want, "KmsKeyId"));
	if (!tp->kms_key_id && cur && cur->kms_key_id && *cur->kms_key_id)
		tp->kms_key_id = "";
	tp->multi_region = json_bool_of(want, "IsMultiRegionTrail");
	tp->global_events = json_bool_of(want, "IncludeGlobalServiceEvents");
	tp->log_file_validation = json_bool_of(want, "EnableLogFileValidation");
	tp->organization = json_bool_of(want, "IsOrganizationTrail");
}

/* After this run wrote to the trail: read again what decides "nothing to
 * do" next time; a difference is an error naming the trail and setting. */
static int readback_trail(struct run *r, struct aws_ctx *ctx, const json_t *doc, const char *name, const char *arn,
			  bool want_sel, bool started, struct errbuf *err)
{
	struct trail_read tr;
	struct trail_drift d;
	struct ct_status st;
	struct buf msg = BUF_INIT_LIMIT(4 * ERRBUF_LEN);
	size_t attempt, i;
	bool bad = false;
	int rc = 0;

	memset(&tr, 0, sizeof(tr));
	memset(&d, 0, sizeof(d));
	memset(&st, 0, sizeof(st));
	for (attempt = 0; attempt < READBACK_TRIES; attempt++) {
		if (attempt)
			readback_sleep(ctx, attempt - 1);
		buf_reset(&msg);
		bad = false;
		trail_drift_release(&d);
		ct_status_release(&st);
		if ((rc = read_trail(ctx, name, arn, want_sel, &tr, err)))
			goto done;
		if (!tr.ntrails) {
			buf_adds(&msg, "it does not exist");
			bad = true;
			continue;
		}
		if ((rc = trail_drift_compute(doc, &tr.trails[0], tr.sel, r->key_arn, &d, err)))
			goto done;
		bad = d.n || d.key_unknown;
		for (i = 0; i < d.n; i++) {
			char *line = trail_drift_describe(&d.v[i]);

			buf_addf(&msg, "%s%s", msg.len ? "; " : "", line);
			free(line);
		}
		if (d.key_unknown)
			buf_addf(&msg, "%sKmsKeyId cannot be compared", msg.len ? "; " : "");
		if (started) {
			if ((rc = ct_get_trail_status(ctx, arn, &st, err)))
				goto done;
			if (st.is_logging != 1) {
				buf_addf(&msg, "%sit is not logging", msg.len ? "; " : "");
				bad = true;
			}
		}
		if (!bad)
			goto done;
	}
	rc = err_set(err, TK_EFAIL, "trail '%s': a write did not take: read back after the write, %s", arn,
		     buf_cstr(&msg));
done:
	trail_read_release(&tr);
	trail_drift_release(&d);
	ct_status_release(&st);
	buf_release(&msg);
	return rc;
}

static int run_trail(struct run *r, struct session *s, const char *account, struct changes *ch,
		     struct errbuf *err)
{
	char *path = xasprintf("accounts/%s/trail.json", account);
	const json_t *doc = plan_doc(r->o->plan, path);
	const json_t *create = json_object_get(doc, "CreateTrail");
	const json_t *pes = json_object_get(doc, "PutEventSelectors");
	const char *arn = json_string_value(json_object_get(doc, "TrailARN"));
	const char *name = json_string_value(json_object_get(create, "Name"));
	struct aws_ctx ctx;
	bool ctx_ready = false, exists = false, created = false, started = false;
	struct trail_read tr;
	struct trail_drift d;
	json_t *cur = NULL, *want = NULL, *sel = NULL, *wsel = NULL;
	struct ct_status st;
	struct ct_trail_params tp;
	struct apply_change *chg;
	char *subject = NULL;
	size_t nwrites = 0;
	int rc;

	memset(&st, 0, sizeof(st));
	memset(&tr, 0, sizeof(tr));
	memset(&d, 0, sizeof(d));
	if (!doc || !create || !arn || !name) {
		rc = err_set(err, TK_EUSAGE, "the plan has no usable %s", path);
		goto done;
	}
	if (json_object_get(create, "KmsKeyId") && !r->key_arn) {
		rc = err_set(err, TK_EFAIL, "trail '%s': the key of '%s' is not known: not changing the trail", arn,
			     r->cfg->kms_alias);
		goto done;
	}
	if ((rc = account_ctx(&ctx, s, r, account, err)))
		goto done;
	ctx_ready = true;
	subject = xasprintf("trail '%s'", arn);
	if ((rc = read_trail(&ctx, name, arn, pes != NULL, &tr, err)))
		goto done;
	exists = tr.ntrails > 0;
	want = trail_wanted(create, r->key_arn);
	if (!exists) {
		chg = add_change(ch, account, subject, "create", NULL, want, false);
		if (!DRY(r, ch)) {
			trail_params_for(&tp, name, want, NULL);
			rc = trail_write(r, &ctx, true, &tp, err);
			if (rc && aws_error_is(&ctx.last_error, "TrailAlreadyExistsException")) {
				/* the trail is there: a CreateTrail whose reply was lost (the
				 * retry found it) or one made meanwhile.  Adopt it and compare
				 * it like any existing trail. */
				struct errbuf e2;

				err_clear(&e2);
				if ((rc = read_trail(&ctx, name, arn, pes != NULL, &tr, &e2))) {
					*err = e2;
					goto done;
				}
				if (!tr.ntrails)
					goto done;   /* rc and err: AlreadyExists, yet not found */
				exists = true;
			} else if (rc) {
				goto done;
			} else {
				created = true;
			}
			write_done(r, chg);   /* the trail exists: this run's CreateTrail made it */
			nwrites++;
		}
	}
	if (exists) {
		if ((rc = trail_drift_compute(doc, &tr.trails[0], tr.sel, r->key_arn, &d, err)))
			goto done;
		if (d.key_unknown) {   /* not reached: key_arn is known (checked above) */
			rc = err_set(err, TK_EFAIL, "trail '%s': its KmsKeyId cannot be compared", arn);
			goto done;
		}
	}
	if (exists && d.trail_differs) {
		cur = trail_state(&tr.trails[0]);
		chg = add_change(ch, account, subject, "update", cur, want, false);
		if (!DRY(r, ch)) {
			trail_params_for(&tp, name, want, &tr.trails[0]);
			if ((rc = trail_write(r, &ctx, false, &tp, err)))
				goto done;
			write_done(r, chg);
			nwrites++;
		}
	}
	/* event selectors: replaced wholly by the planned set */
	if (pes && (!exists || created || d.selectors_differ || d.selectors_unknown)) {
		wsel = json_deep_copy(pes);
		json_object_del(wsel, "TrailName");
		if (exists && !created && tr.sel) {
			const char *k = json_object_get(tr.sel, "AdvancedEventSelectors") ? "AdvancedEventSelectors" :
					json_object_get(tr.sel, "EventSelectors") ? "EventSelectors" : NULL;

			if (k)
				sel = json_pack("{s:O}", k, json_object_get(tr.sel, k));
		}
		free(subject);
		subject = xasprintf("trail '%s' event selectors", arn);
		chg = add_change(ch, account, subject, "set", sel, wsel, false);
		if (!DRY(r, ch)) {
			if ((rc = ct_put_event_selectors(&ctx, arn, wsel, NULL, err)))
				goto done;
			write_done(r, chg);
			nwrites++;
		}
	}
	/* logging, last */
	if (exists && !created && (rc = ct_get_trail_status(&ctx, arn, &st, err)))
		goto done;
	if (!exists || created || st.is_logging != 1) {
		json_t *b = exists && !created ? json_pack("{s:b}", "IsLogging", 0) : NULL;
		json_t *a = json_pack("{s:b}", "IsLogging", 1);

		free(subject);
		subject = xasprintf("trail '%s' logging", arn);
		chg = add_change(ch, account, subject, "start logging", b, a, false);
		json_decref(a);
		json_decref(b);
		if (!DRY(r, ch)) {
			if ((rc = ct_start_logging(&ctx, arn, err)))
				goto done;
			write_done(r, chg);
			nwrites++;
			started = true;
		}
	}
	/* read back what decides "nothing to do" next time */
	if (nwrites && !DRY(r, ch))
		rc = readback_trail(r, &ctx, doc, name, arn, pes != NULL, started, err);
	else
		rc = 0;
done:
	if (ctx_ready)
		aws_ctx_release(&ctx);
	ct_status_release(&st);
	trail_read_release(&tr);
	trail_drift_release(&d);
	json_decref(cur);
	json_decref(want);
	json_decref(sel);
	json_decref(wsel);
	free(subject);
	free(path);
	return rc;
}

static void *trail_worker(void *arg)
{
	struct run *r = arg;
	struct session s;
	struct errbuf err;
	int seq, rc;
	size_t i;

	pthread_mutex_lock(&r->lock);
	seq = ++r->worker_seq;
	pthread_mutex_unlock(&r->lock);
	err_clear(&err);
	rc = session_init(&s, r, seq, &err);
	for (;;) {
		pthread_mutex_lock(&r->lock);
		i = r->next < r->ntrails ? r->next++ : SIZE_MAX;
		pthread_mutex_unlock(&r->lock);
		if (i == SIZE_MAX)
			break;
		if (rc == 0) {
			struct errbuf e;

			err_clear(&e);
			r->outcomes[i].rc = run_trail(r, &s, r->trail_accounts[i], &r->trail_changes[i], &e);
			if (r->outcomes[i].rc)
				snprintf(r->outcomes[i].msg, sizeof(r->outcomes[i].msg), "%s", e.msg);
		} else {
			r->outcomes[i].rc = rc;
			snprintf(r->outcomes[i].msg, sizeof(r->outcomes[i].msg), "%s", err.msg);
		}
		r->outcomes[i].nchanges = r->trail_changes[i].n;
	}
	if (rc == 0)
		session_release(&s);
	return NULL;
}

static bool account_selected(const struct apply_options *o, const char *id)
{
	size_t i;

	if (!o->accounts)
		return true;
	for (i = 0; i < o->naccounts; i++)
		if (!strcmp(o->accounts[i], id))
			return true;
	return false;
}

/* Organization mode: CloudTrail's trusted access in Organizations, in the
 * management account, after the preflight reads and before any other write
 * (apply_org.h).  The change is listed with the central account's. */
static int org_trusted_access(struct run *r, struct session *s, struct changes *ch, struct errbuf *err)
{
	const struct tk_config *c = r->cfg;
	json_t *before = NULL, *after = NULL;
	struct aws_ctx ctx;
	bool written = false;
	int rc;

	if (c->mode != TK_MODE_ORGANIZATION || !account_selected(r->o, c->management_account))
		return 0;
	if ((rc = account_ctx(&ctx, s, r, c->management_account, err)))
		return rc;
	rc = apply_org_trusted_access(&ctx, r->o->dry_run, &before, &after, &written, err);
	if (after) {
		struct apply_change *chg = add_change(ch, c->management_account,
						      "organizations trusted access 'cloudtrail.amazonaws.com'",
						      "enable", before, after, false);

		if (written)
			write_done(r, chg);
	}
	json_decref(before);
	json_decref(after);
	aws_ctx_release(&ctx);
	return rc;
}

/* ---- the run ---- */

static void add_outcome(struct apply_result *res, const char *account, enum apply_scope scope, int rc,
			const char *msg, size_t nchanges, bool skipped)
{
	struct apply_outcome *oc;

	res->outcomes = xrealloc(res->outcomes, (res->noutcomes + 1) * sizeof(*res->outcomes));
	oc = &res->outcomes[res->noutcomes++];
	memset(oc, 0, sizeof(*oc));
	snprintf(oc->account, sizeof(oc->account), "%s", account);
	oc->scope = scope;
	oc->rc = rc;
	if (msg)
		snprintf(oc->msg, sizeof(oc->msg), "%s", msg);
	oc->nchanges = nchanges;
	oc->skipped = skipped;
	if (rc < 0)
		res->failed = true;
}

int apply_run(struct apply_result *out, const struct apply_options *o, struct errbuf *err)
{
	const struct tk_config *c = o->cfg;
	const json_t *kpol = plan_doc(o->plan, "central/kms-key-policy.json");
	struct run r;
	struct session s;
	struct central ce;
	struct changes ch;
	struct sts_identity id;
	pthread_t th[APPLY_MAX_JOBS];
	int jobs, nth = 0, rc, crc;
	size_t i, w0;
	char *subject;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	memset(&ce, 0, sizeof(ce));
	memset(&ch, 0, sizeof(ch));
	memset(&id, 0, sizeof(id));
	r.o = o;
	r.cfg = c;
	r.partition = c->partition ? c->partition : "aws";
	pthread_mutex_init(&r.lock, NULL);
	ce.account = config_central_account(c);
	ce.bucket = c->bucket;
	ce.alog = c->access_log_bucket;

	/* safety checks that need no AWS call */
	if (!kpol) {
		rc = err_set(err, TK_EUSAGE, "the plan has no central/kms-key-policy.json");
		goto done;
	}
	subject = xasprintf("the planned key policy of '%s'", c->kms_alias);
	rc = apply_check_key_policy(kpol, r.partition, ce.account, subject, err);
	free(subject);
	if (rc)
		goto done;

	if ((rc = session_init(&s, &r, 0, err)))
		goto done;
	if ((rc = sts_get_caller_identity(&s.base, &id, err))) {
		err_prefix(err, rc, "cannot find out who the credentials belong to");
		goto done;
	}
	snprintf(r.caller, sizeof(r.caller), "%s", id.account ? id.account : "");
	r.caller_arn = id.arn;

	/* preflight: reads only */
	if ((rc = account_ctx(&ce.ctx, &s, &r, ce.account, err)))
		goto done;
	ce.ctx_ready = true;
	if ((rc = preflight(&ce, &r, err)))
		goto done;
	if ((rc = org_trusted_access(&r, &s, &ch, err)))
		goto done;

	/* the central account, then the read-back of what it wrote */
	w0 = r.writes;
	crc = run_central(&ce, &r, &ch, err);
	if (crc == 0 && !o->dry_run && r.writes > w0)
		crc = readback_central(&ce, &r, err);
	add_outcome(out, ce.account, APPLY_SCOPE_CENTRAL, crc, crc ? err->msg : NULL, ch.n, false);
	changes_move(out, &ch);

	/* trails */
	if (c->mode == TK_MODE_ORGANIZATION) {
		if (account_selected(o, c->management_account)) {
			r.trail_accounts = xcalloc(1, sizeof(*r.trail_accounts));
			r.trail_accounts[r.ntrails++] = c->management_account;
		}
	} else {
		r.trail_accounts = xcalloc(c->naccounts ? c->naccounts : 1, sizeof(*r.trail_accounts));
		for (i = 0; i < c->naccounts; i++)
			if (account_selected(o, c->accounts[i].id))
				r.trail_accounts[r.ntrails++] = c->accounts[i].id;
	}
	r.outcomes = xcalloc(r.ntrails ? r.ntrails : 1, sizeof(*r.outcomes));
	r.trail_changes = xcalloc(r.ntrails ? r.ntrails : 1, sizeof(*r.trail_changes));
	if (crc == 0 && r.ntrails) {
		jobs = o->jobs > 0 ? o->jobs : 16;
		if (jobs > APPLY_MAX_JOBS)
			jobs = APPLY_MAX_JOBS;
		if ((size_t)jobs > r.ntrails)
			jobs = (int)r.ntrails;
		for (nth = 0; nth < jobs; nth++)
			if (pthread_create(&th[nth], NULL, trail_worker, &r))
				break;
		if (nth == 0)
			trail_worker(&r);   /* no threads: do it here */
		for (i = 0; i < (size_t)nth; i++)
			pthread_join(th[i], NULL);
	}
	for (i = 0; i < r.ntrails; i++) {
		if (crc)
			add_outcome(out, r.trail_accounts[i], APPLY_SCOPE_TRAIL, TK_EFAIL,
				    "skipped: the central bucket and key are not in place", 0, true);
		else
			add_outcome(out, r.trail_accounts[i], APPLY_SCOPE_TRAIL, r.outcomes[i].rc, r.outcomes[i].msg,
				    r.outcomes[i].nchanges, false);
		changes_move(out, &r.trail_changes[i]);
	}
	rc = 0;
done:
	out->writes = r.writes;
	changes_move(out, &ch);
	changes_release(&ch);
	if (ce.ctx_ready)
		aws_ctx_release(&ce.ctx);
	kms_key_release(&ce.key);
	sts_identity_release(&id);
	session_release(&s);
	for (i = 0; i < r.ncreds; i++)
		aws_creds_release(&r.creds[i].creds);
	free(r.creds);
	if (r.trail_changes)
		for (i = 0; i < r.ntrails; i++)
			changes_release(&r.trail_changes[i]);
	free(r.trail_changes);
	free(r.outcomes);
	free(r.trail_accounts);
	free(r.key_arn);
	pthread_mutex_destroy(&r.lock);
	return rc;
}
