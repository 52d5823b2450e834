#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "buf.h"
#include "timeutil.h"
#include "banned.h"

/* a log file named at time t may still be in the digest after the newest
 * one we have when it was delivered late: give it this much slack */
#define UNREF_SLACK 600

struct dentry {
	char *bucket, *key;
	int foreign;               /* not at the listed location: another bucket or prefix */
	const char *from;          /* foreign: the key of the digest that links here */
	time_t t;
	int backfill, listed, in_window;
	int fetched;
	enum chain_fetch st;
	char *errmsg;
	int load_rc;
	char *load_msg;
	struct digest d;
	char *sig, *sig_alg;
	int visited, valid;
	/* digest_verify's answer for vkey, kept: the walk runs once per
	 * chain_wanted round and once more in chain_walk */
	const struct pubkey *vkey;
	int vchecked, vrc;
	char *vmsg;
};

struct lentry {
	char *key;
	time_t t;
};

struct chain {
	char *bucket;
	struct digest_loc loc;     /* strings owned (copied) */
	time_t start, end;
	const struct keyset *keys;
	struct dentry *d;
	size_t nd, ad;
	struct lentry *l;
	size_t nl, al;
	struct chain_ref *wanted;
	size_t nwanted;
	struct chain_log *logs;
	size_t nlogs, alogs;
	size_t digests_valid, logs_valid;
	time_t newest_end;
	int walked;
	char *anchor_key, *anchor_sig;
	/* (lo, hi]: times whose digest is at a location that cannot be read
	 * (digest_link_unreadable): its log files are not log_unreferenced */
	struct hole { time_t lo, hi; } *holes;
	size_t nholes, aholes;
};

static char *dupn(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct chain *chain_new(const struct chain_params *p)
{
	struct chain *c = xcalloc(1, sizeof(*c));

	c->bucket = xstrdup(p->bucket);
	c->loc.prefix = dupn(p->loc.prefix);
	c->loc.org_id = dupn(p->loc.org_id);
	c->loc.account = dupn(p->loc.account);
	c->loc.region = dupn(p->loc.region);
	c->loc.trail = dupn(p->loc.trail);
	c->loc.home_region = dupn(p->loc.home_region);
	c->start = p->start;
	c->end = p->end;
	c->keys = p->keys;
	c->anchor_key = dupn(p->anchor_key);
	c->anchor_sig = dupn(p->anchor_sig);
	return c;
}

void chain_free(struct chain *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nd; i++) {
		free(c->d[i].bucket);
		free(c->d[i].key);
		free(c->d[i].errmsg);
		free(c->d[i].load_msg);
		free(c->d[i].sig);
		free(c->d[i].sig_alg);
		free(c->d[i].vmsg);
		digest_release(&c->d[i].d);
	}
	free(c->d);
	for (i = 0; i < c->nl; i++)
		free(c->l[i].key);
	free(c->l);
	free(c->wanted);
	free(c->logs);
	free(c->holes);
	free(c->bucket);
	free(c->anchor_key);
	free(c->anchor_sig);
	free((char *)(uintptr_t)c->loc.prefix);
	free((char *)(uintptr_t)c->loc.org_id);
	free((char *)(uintptr_t)c->loc.account);
	free((char *)(uintptr_t)c->loc.region);
	free((char *)(uintptr_t)c->loc.trail);
	free((char *)(uintptr_t)c->loc.home_region);
	free(c);
}

static struct dentry *find_entry(struct chain *c, const char *bucket, const char *key)
{
	size_t i;

	for (i = 0; i < c->nd; i++)
		if (!strcmp(c->d[i].key, key) && !strcmp(c->d[i].bucket, bucket))
			return &c->d[i];
	return NULL;
}

static struct dentry *add_entry(struct chain *c, const char *bucket, const char *key)
{
	struct dentry *e = find_entry(c, bucket, key);

	if (e)
		return e;
	/* doubling from 2, not ALLOC_GROW's 24: an entry is ~350 bytes and an
	 * hourly run holds 1-2 digests a cell (17,000 cells) */
	if (c->nd + 1 > c->ad) {
		size_t n = c->ad ? 2 * c->ad : 2;

		c->d = xreallocarray(c->d, n, sizeof(*c->d));
		c->ad = n;
	}
	e = &c->d[c->nd++];
	memset(e, 0, sizeof(*e));
	e->bucket = xstrdup(bucket);
	e->key = xstrdup(key);
	e->foreign = strcmp(bucket, c->bucket) || !digest_key_matches(&c->loc, key);
	if (digest_key_time(key, &e->t, &e->backfill) < 0)
		e->t = (time_t)-1;
	return e;
}

int chain_add_listed_digest(struct chain *c, const char *key)
{
	struct dentry *e;
	time_t t;
	int bf;

	if (!digest_key_matches(&c->loc, key) || digest_key_time(key, &t, &bf) < 0)
		return 1;
	e = add_entry(c, c->bucket, key);
	e->listed = 1;
	/* the CLI keeps keys whose date is in [start, end + 1 hour] */
	e->in_window = t >= c->start && t <= c->end + 3600;
	return e->in_window ? 0 : 1;
}

int chain_add_listed_log(struct chain *c, const char *key)
{
	time_t t;

	if (log_key_time(&c->loc, key, &t) < 0)
		return 1;
	ALLOC_GROW(c->l, c->nl + 1, c->al);
	c->l[c->nl].key = xstrdup(key);
	c->l[c->nl].t = t;
	c->nl++;
	return 0;
}

void chain_add_fetched(struct chain *c, const char *bucket, const char *key,
		       enum chain_fetch st, const void *gz, size_t len, const char *sig,
		       const char *sig_alg, const char *errmsg)
{
	struct dentry *e = add_entry(c, bucket, key);
	struct errbuf err;

	if (e->fetched)
		return;
	e->fetched = 1;
	e->st = st;
	e->errmsg = dupn(errmsg);
	if (st != CHAIN_FETCH_OK)
		return;
	e->sig = dupn(sig);
	e->sig_alg = dupn(sig_alg);
	err.msg[0] = '\0';
	e->load_rc = digest_load_gz(&e->d, gz, len, &err);
	if (e->load_rc)
		e->load_msg = xstrdup(err.msg);
}

void chain_preload(struct chain_loaded *l, const struct keyset *keys, const void *gz, size_t len,
		   const char *sig)
{
	struct errbuf err;

	memset(l, 0, sizeof(*l));
	err.msg[0] = '\0';
	l->load_rc = digest_load_gz(&l->d, gz, len, &err);
	if (l->load_rc) {
		l->load_msg = xstrdup(err.msg);
		return;
	}
	if (!sig || !l->d.fingerprint)
		return;
	l->key = keyset_find(keys, l->d.fingerprint);
	if (!l->key)
		return;
	err.msg[0] = '\0';
	l->verify_rc = digest_verify(&l->d, l->key, sig, &err);
	l->verify_msg = l->verify_rc ? xstrdup(err.msg) : NULL;
	l->checked = 1;
}

void chain_loaded_release(struct chain_loaded *l)
{
	free(l->load_msg);
	free(l->verify_msg);
	digest_release(&l->d);
	memset(l, 0, sizeof(*l));
}

void chain_add_loaded(struct chain *c, const char *bucket, const char *key, const char *sig,
		      const char *sig_alg, struct chain_loaded *l)
{
	struct dentry *e = add_entry(c, bucket, key);

	if (e->fetched)
		return;
	e->fetched = 1;
	e->st = CHAIN_FETCH_OK;
	e->sig = dupn(sig);
	e->sig_alg = dupn(sig_alg);
	e->load_rc = l->load_rc;
	e->load_msg = l->load_msg;
	l->load_msg = NULL;
	e->d = l->d;   /* moved */
	memset(&l->d, 0, sizeof(l->d));
	if (l->checked) {
		e->vchecked = 1;
		e->vkey = l->key;
		e->vrc = l->verify_rc;
		e->vmsg = l->verify_msg;
		l->verify_msg = NULL;
	}
}

/* ---- the walk ---- */

struct walk {
	struct chain *c;
	struct findings *out;      /* NULL: dry run, only find what is needed */
	size_t *stack;             /* in-window listed regular digests, by key */
	size_t sp;
	const char *need, *need_bucket, *need_from;
};

/* qsort has no context argument: single-threaded, as the whole library */
static const struct chain *sort_chain;

static int cmp_idx(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	return strcmp(sort_chain->d[i].key, sort_chain->d[j].key);
}

static void add_finding(struct walk *w, enum finding_code code, const struct dentry *e,
			const char *fmt, ...) TK_PRINTF(4, 5);

/* a finding on digest e (NULL: the cell), in e's bucket */
static void add_finding(struct walk *w, enum finding_code code, const struct dentry *e,
			const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!w->out)
		return;
	va_start(ap, fmt);
	msg = tk_vformat_cut(FINDING_MAX_MESSAGE, fmt, ap);   /* too long: cut, marked */
	va_end(ap);
	findings_add(w->out, code, w->c->loc.account, w->c->loc.region,
		     e ? e->bucket : w->c->bucket, e ? e->key : NULL, "%s", msg);
	free(msg);
}

/* the newest listed digest older than t (pops the ones in between) */
static struct dentry *find_next(struct walk *w, time_t t)
{
	while (w->sp > 0) {
		struct dentry *e = &w->c->d[w->stack[--w->sp]];

		if (e->t < t)
			return e;
	}
	return NULL;
}

/* Validate one fetched digest; 1 valid, 0 invalid (finding added). */
static int check_digest(struct walk *w, struct dentry *e)
{
	const struct pubkey *k;
	struct errbuf err;
	int rc;

	if (e->foreign && e->st != CHAIN_FETCH_OK) {
		/* a link into the trail's earlier S3 location (bucket or prefix) */
		if (e->st == CHAIN_FETCH_NOT_FOUND)
			add_finding(w, F_DIGEST_MISSING, e, "digest file not found at "
				    "s3://%s/%.1100s, where the digest '%.1100s' links to (an earlier S3 "
				    "location of the trail)%s%.500s", e->bucket, e->key,
				    e->from ? e->from : "?", e->errmsg ? ": " : "",
				    e->errmsg ? e->errmsg : "");
		else
			add_finding(w, F_DIGEST_LINK_UNREADABLE, e, "the digest '%.1100s' links to "
				    "s3://%s/%.1100s (an earlier S3 location of the trail), which cannot "
				    "be read: %.500s", e->from ? e->from : "?", e->bucket, e->key,
				    e->errmsg ? e->errmsg : e->st == CHAIN_FETCH_DENIED ? "access denied" :
				    "error");
		return 0;
	}
	if (e->st == CHAIN_FETCH_NOT_FOUND) {
		add_finding(w, F_DIGEST_MISSING, e, "digest file not found");
		return 0;
	}
	if (e->st == CHAIN_FETCH_DENIED) {
		add_finding(w, F_ACCESS_DENIED, e, "cannot read digest file: %s",
			    e->errmsg ? e->errmsg : "access denied");
		return 0;
	}
	if (e->st != CHAIN_FETCH_OK) {
		add_finding(w, F_CELL_UNCHECKED, e, "cannot read digest file: %s",
			    e->errmsg ? e->errmsg : "error");
		return 0;
	}
	if (e->load_rc) {
		add_finding(w, F_DIGEST_FORMAT_INVALID, e, "invalid digest file: %s",
			    e->load_msg);
		return 0;
	}
	if (!e->sig || !e->sig_alg) {
		add_finding(w, F_DIGEST_SIGNATURE_INVALID, e,
			    "digest object has no signature metadata (x-amz-meta-signature%s)",
			    e->sig ? "-algorithm" : "");
		return 0;
	}
	err.msg[0] = '\0';
	if (digest_check_location(&e->d, e->bucket, e->key, &err)) {
		add_finding(w, F_DIGEST_MOVED, e, "digest has been moved from its original "
			    "location: %s", err.msg);
		return 0;
	}
	k = keyset_find(w->c->keys, e->d.fingerprint);
	if (!k) {
		add_finding(w, F_DIGEST_PUBLIC_KEY_UNKNOWN, e,
			    "public key not found in region '%s' for fingerprint '%.100s'",
			    w->c->loc.home_region, e->d.fingerprint);
		return 0;
	}
	if (!e->vchecked || e->vkey != k) {
		err.msg[0] = '\0';
		e->vrc = digest_verify(&e->d, k, e->sig, &err);
		free(e->vmsg);
		e->vmsg = e->vrc ? xstrdup(err.msg) : NULL;
		e->vkey = k;
		e->vchecked = 1;
	}
	rc = e->vrc;
	if (rc == TK_ETAMPERED) {
		add_finding(w, F_DIGEST_SIGNATURE_INVALID, e, "%s", e->vmsg);
		return 0;
	}
	if (rc) {
		add_finding(w, F_DIGEST_PUBLIC_KEY_UNKNOWN, e, "%s", e->vmsg);
		return 0;
	}
	if (strcmp(e->sig_alg, "SHA256withRSA")) {
		add_finding(w, F_DIGEST_SIGNATURE_INVALID, e,
			    "unsupported signature algorithm '%.60s'", e->sig_alg);
		return 0;
	}
	return 1;
}

/* hex strings equal, ignoring case */
static int hex_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'F' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'F' ? (char)(*b - 'A' + 'a') : *b;

		if (x != y)
			return 0;
	}
	return *a == *b;
}

/* the --state anchor is a key in the listed bucket */
static int is_anchor_ref(const struct chain *c, const char *bucket, const char *key)
{
	return c->anchor_key && !strcmp(key, c->anchor_key) && !strcmp(bucket, c->bucket);
}

static int is_anchor(const struct chain *c, const struct dentry *e)
{
	return is_anchor_ref(c, e->bucket, e->key);
}

/* The digest an earlier run verified: still there, same signature, still
 * valid.  Its log files were hashed then: it is not counted again. */
static void check_anchor(struct walk *w, struct dentry *e)
{
	struct chain *c = w->c;

	if (e->st == CHAIN_FETCH_NOT_FOUND) {
		add_finding(w, F_DIGEST_MISSING, e, "digest file not found: it is the last "
			    "digest a previous run verified (state file)");
		return;
	}
	if (!check_digest(w, e))
		return;
	if (!c->anchor_sig || !hex_eq(e->sig, c->anchor_sig))
		add_finding(w, F_DIGEST_CHAIN_GAP, e, "the signature of the last digest a "
			    "previous run verified (state file) has changed since");
}

static void fmt_time(time_t t, char *buf, size_t n)
{
	tk_format_iso(t, buf, n);
}

/* Is e's link (previousDigestS3Bucket/Object, both set) one the walk may
 * follow: a valid bucket name and a digest key of this trail, at any S3
 * location, older than e?  The CLI follows any link; trailkeep also refuses
 * one that could not be CloudTrail's (a newer time, another account, region
 * or trail). */
static int link_ok(const struct chain *c, const struct dentry *e)
{
	time_t pt;

	return digest_bucket_name_ok(e->d.prev_bucket) &&
	       digest_key_time(e->d.prev_object, &pt, NULL) == 0 && pt < e->t &&
	       digest_key_matches_trail(&c->loc, e->d.prev_object);
}

/* A walk's start: every listed digest of the window (backfills aside) on the
 * stack, newest on top; returns the newest, unvisited marks cleared. */
static struct dentry *walk_newest(struct walk *w)
{
	struct chain *c = w->c;
	size_t i;

	for (i = 0; i < c->nd; i++)
		c->d[i].visited = 0;
	w->sp = 0;
	for (i = 0; i < c->nd; i++)
		if (c->d[i].listed && c->d[i].in_window && !c->d[i].backfill)
			w->stack[w->sp++] = i;
	sort_chain = c;
	qsort(w->stack, w->sp, sizeof(*w->stack), cmp_idx);
	sort_chain = NULL;
	return w->sp ? &c->d[w->stack[--w->sp]] : NULL;
}

/* After the walk: what it never reached */
static void walk_unreached(struct walk *w)
{
	struct chain *c = w->c;
	struct dentry *e;
	size_t i;

	/* incremental: the chain must arrive at the digest a previous run verified */
	if (c->anchor_key) {
		e = find_entry(c, c->bucket, c->anchor_key);
		if (!e || !e->visited)
			findings_add(w->out, F_DIGEST_CHAIN_GAP, c->loc.account, c->loc.region,
				     c->bucket, c->anchor_key, "the digest chain does not arrive at "
				     "'%s', the last digest a previous run verified (state file)",
				     c->anchor_key);
	}
	/* beyond the CLI: listed digests the walk never reached */
	for (i = 0; i < c->nd; i++) {
		e = &c->d[i];
		if (e->listed && e->in_window && !e->backfill && !e->visited)
			add_finding(w, F_DIGEST_MISSING, e, "digest file is not part of the "
				    "chain: no newer digest links to it");
	}
}

/* Returns with w->need set when a digest must be fetched first. */
static void walk_regular(struct walk *w)
{
	struct chain *c = w->c;
	struct dentry *e;
	time_t last_start;
	size_t guard = 0;

	e = walk_newest(w);
	last_start = e ? e->t : 0;
	while (e && c->start <= last_start) {
		if (++guard > 2 * c->nd + 16)
			break;
		if (!e->fetched) {
			w->need_bucket = e->bucket;
			w->need = e->key;
			return;
		}
		e->visited = 1;
		if (is_anchor(c, e)) {
			check_anchor(w, e);
			break;   /* verified by an earlier run: the walk ends here */
		}
		if (!check_digest(w, e)) {
			struct dentry *n = find_next(w, e->t);

			if (w->out && e->foreign && e->st != CHAIN_FETCH_OK &&
			    e->st != CHAIN_FETCH_NOT_FOUND) {
				/* unreadable: the log files it lists are unknown, so the
				 * listed ones of its period are not "unreferenced" */
				ALLOC_GROW(c->holes, c->nholes + 1, c->aholes);
				c->holes[c->nholes].lo = n ? n->t : c->start - 3600;
				c->holes[c->nholes++].hi = e->t;
			}
			e = n;
			continue;
		}
		e->valid = 1;
		last_start = e->d.start;
		if (!e->d.prev_bucket || !e->d.prev_object) {
			struct dentry *n = find_next(w, e->t);

			if (n && w->out) {
				char a[32], b[32];

				fmt_time(n->t, a, sizeof(a));
				fmt_time(e->d.start, b, sizeof(b));
				add_finding(w, F_DIGEST_CHAIN_GAP, e, "the digest chain restarted: no "
					    "log files were digested between %s and %s", a, b);
			}
			e = n;
		} else {
			struct dentry *p;

			if (!link_ok(c, e)) {
				add_finding(w, F_DIGEST_FORMAT_INVALID, e,
					    "previousDigestS3Bucket/previousDigestS3Object 's3://%.100s/"
					    "%.300s' is not an older digest of this trail",
					    e->d.prev_bucket, e->d.prev_object);
				e = find_next(w, e->t);
				continue;
			}
			if (w->out && is_anchor_ref(c, e->d.prev_bucket, e->d.prev_object) &&
			    (!e->d.prev_signature || !c->anchor_sig ||
			     !hex_eq(e->d.prev_signature, c->anchor_sig)))
				add_finding(w, F_DIGEST_CHAIN_GAP, e, "previousDigestSignature does "
					    "not match the signature of '%s', the last digest a previous "
					    "run verified (state file): the chain was rewritten after it",
					    c->anchor_key);
			p = find_entry(c, e->d.prev_bucket, e->d.prev_object);
			if (!p) {
				if (!w->out) {
					w->need_bucket = e->d.prev_bucket;
					w->need = e->d.prev_object;
					w->need_from = e->key;
					return;
				}
				break;   /* cannot happen after chain_wanted() == 0 */
			}
			if (p->foreign && !p->from)
				p->from = e->key;   /* borrowed: entries live as long as the chain */
			e = p;
		}
	}
	if (w->out)
		walk_unreached(w);
}

size_t chain_wanted(struct chain *c, const struct chain_ref **refs)
{
	struct walk w;
	size_t i;

	c->nwanted = 0;
	free(c->wanted);
	c->wanted = xcalloc(c->nd + 1, sizeof(*c->wanted));
	for (i = 0; i < c->nd; i++)
		if (c->d[i].listed && c->d[i].in_window && !c->d[i].fetched) {
			c->wanted[c->nwanted].bucket = c->d[i].bucket;
			c->wanted[c->nwanted++].key = c->d[i].key;
		}
	if (c->nwanted == 0) {
		memset(&w, 0, sizeof(w));
		w.c = c;
		w.stack = xcalloc(c->nd + 1, sizeof(*w.stack));
		walk_regular(&w);
		free(w.stack);
		if (w.need) {
			/* make an entry so the key outlives this call */
			struct dentry *e = add_entry(c, w.need_bucket, w.need);

			if (e->foreign && !e->from)
				e->from = w.need_from;   /* the linking digest's key: lives as long */
			free(c->wanted);
			c->wanted = xcalloc(1, sizeof(*c->wanted));
			c->wanted[0].bucket = e->bucket;
			c->wanted[c->nwanted++].key = e->key;
		}
	}
	*refs = c->wanted;
	return c->nwanted;
}

static int cmp_log(const void *a, const void *b)
{
	const struct chain_log *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	if (!r)
		r = strcmp(x->bucket, y->bucket);
	return r ? r : strcmp(x->hash, y->hash);
}

int chain_walk(struct chain *c, struct findings *out)
{
	const struct chain_ref *keys;
	struct walk w;
	size_t i, j, nlisted = 0;

	if (c->walked)
		return TK_EUSAGE;
	if (chain_wanted(c, &keys) != 0)
		return TK_EUSAGE;
	c->walked = 1;
	for (i = 0; i < c->nd; i++)
		nlisted += c->d[i].listed && c->d[i].in_window;
	if (nlisted == 0) {
		char a[32], b[32], *pre = NULL;

		fmt_time(c->start, a, sizeof(a));
		fmt_time(c->end, b, sizeof(b));
		if (digest_list_prefix(&pre, &c->loc))
			pre = xstrdup("(a prefix too long to show)");
		findings_add(out, F_DIGEST_MISSING, c->loc.account, c->loc.region, c->bucket, NULL,
			     "no digest file found between %s and %s under '%s' for trail '%s'",
			     a, b, pre, c->loc.trail);
		free(pre);
		return 0;
	}
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.out = out;
	w.stack = xcalloc(c->nd + 1, sizeof(*w.stack));
	walk_regular(&w);
	free(w.stack);
	/* backfill digests: each on its own */
	for (i = 0; i < c->nd; i++) {
		struct dentry *e = &c->d[i];

		if (e->backfill && e->listed && e->in_window && check_digest(&w, e))
			e->valid = 1;
	}
	/* the logs of valid digests, deduplicated */
	for (i = 0; i < c->nd; i++) {
		struct dentry *e = &c->d[i];

		if (!e->valid)
			continue;
		c->digests_valid++;
		if (e->d.end > c->newest_end)
			c->newest_end = e->d.end;
		for (j = 0; j < e->d.nlogs; j++) {
			struct digest_logfile *l = &e->d.logs[j];

			/* a log file is read where the signed digest says it is: after
			 * a change of the trail's bucket, in the earlier bucket */
			if (!digest_bucket_name_ok(l->bucket)) {
				findings_add(out, F_LOG_MISSING, c->loc.account, c->loc.region,
					     NULL, l->key, "the digest '%s' lists a log file in "
					     "'%.100s', which is not a valid bucket name", e->key, l->bucket);
				continue;
			}
			ALLOC_GROW(c->logs, c->nlogs + 1, c->alogs);
			c->logs[c->nlogs].bucket = l->bucket;
			c->logs[c->nlogs].key = l->key;
			c->logs[c->nlogs].hash = l->hash;
			c->nlogs++;
		}
	}
	if (c->nlogs > 1) {
		qsort(c->logs, c->nlogs, sizeof(*c->logs), cmp_log);
		for (i = 1, j = 1; i < c->nlogs; i++)
			if (cmp_log(&c->logs[i], &c->logs[j - 1]))
				c->logs[j++] = c->logs[i];
		c->nlogs = j;
	}
	return 0;
}

size_t chain_nlogs(const struct chain *c)
{
	return c->nlogs;
}

const struct chain_log *chain_log(const struct chain *c, size_t i)
{
	return i < c->nlogs ? &c->logs[i] : NULL;
}

void chain_log_result(struct chain *c, size_t i, enum chain_fetch st,
		      enum loghash_status hs, const char *hex, const char *errmsg,
		      struct findings *out)
{
	const struct chain_log *l = chain_log(c, i);
	const char *acct = c->loc.account, *reg = c->loc.region;
	time_t t;

	if (!l)
		return;
	switch (st) {
	case CHAIN_FETCH_OK:
		break;
	case CHAIN_FETCH_NOT_FOUND:
		findings_add(out, F_LOG_MISSING, acct, reg, l->bucket, l->key,
			     "log file listed in a valid digest not found");
		return;
	case CHAIN_FETCH_DENIED:
	default:
		if (strcmp(l->bucket, c->bucket) || log_key_time(&c->loc, l->key, &t) < 0)
			/* at an earlier S3 location of the trail */
			findings_add(out, F_DIGEST_LINK_UNREADABLE, acct, reg, l->bucket, l->key,
				     "a valid digest lists this log file at s3://%s/%.1100s (an earlier "
				     "S3 location of the trail), which cannot be read: %.500s", l->bucket,
				     l->key, errmsg ? errmsg : st == CHAIN_FETCH_DENIED ?
				     "access denied" : "error");
		else if (st == CHAIN_FETCH_DENIED)
			findings_add(out, F_ACCESS_DENIED, acct, reg, l->bucket, l->key,
				     "cannot read log file: %s", errmsg ? errmsg : "access denied");
		else
			findings_add(out, F_CELL_UNCHECKED, acct, reg, l->bucket, l->key,
				     "cannot read log file: %s", errmsg ? errmsg : "error");
		return;
	}
	if (hs == LOGHASH_BAD_GZIP || hs == LOGHASH_TOO_BIG) {
		findings_add(out, F_LOG_FORMAT_INVALID, acct, reg, l->bucket, l->key,
			     "invalid log file: %s", loghash_status_str(hs));
		return;
	}
	/* the CLI compares the hex strings exactly */
	if (!hex || strcmp(hex, l->hash)) {
		findings_add(out, F_LOG_HASH_MISMATCH, acct, reg, l->bucket, l->key,
			     "hash value doesn't match%s%s",
			     hs == LOGHASH_OK ? "" : ": ", hs == LOGHASH_OK ? "" : loghash_status_str(hs));
		return;
	}
	if (hs != LOGHASH_OK) {
		findings_add(out, F_LOG_FORMAT_INVALID, acct, reg, l->bucket, l->key,
			     "invalid log file: %s (the hash of the first gzip member matches)",
			     loghash_status_str(hs));
		return;
	}
	c->logs_valid++;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void chain_unreferenced(struct chain *c, struct findings *out)
{
	const char **ref = NULL;
	size_t nref = 0, aref = 0, i, j;

	if (!c->walked || c->digests_valid == 0)
		return;
	for (i = 0; i < c->nd; i++) {
		struct dentry *e = &c->d[i];

		if (!e->fetched || e->st != CHAIN_FETCH_OK || e->load_rc)
			continue;
		for (j = 0; j < e->d.nlogs; j++) {
			if (strcmp(e->d.logs[j].bucket, c->bucket))
				continue;
			ALLOC_GROW(ref, nref + 1, aref);
			ref[nref++] = e->d.logs[j].key;
		}
	}
	if (nref > 1)
		qsort(ref, nref, sizeof(*ref), cmp_strp);
	for (i = 0; i < c->nl; i++) {
		const char *k = c->l[i].key;

		if (c->l[i].t < c->start || c->l[i].t + UNREF_SLACK > c->newest_end)
			continue;
		for (j = 0; j < c->nholes; j++)
			if (c->l[i].t > c->holes[j].lo - UNREF_SLACK &&
			    c->l[i].t <= c->holes[j].hi + UNREF_SLACK)
				break;
		if (j < c->nholes)
			continue;   /* its digest is where it cannot be read: reported there */
		if (nref && bsearch(&k, ref, nref, sizeof(*ref), cmp_strp))
			continue;
		findings_add(out, F_LOG_UNREFERENCED, c->loc.account, c->loc.region, c->bucket, k,
			     "no digest lists this log file");
	}
	free(ref);
}

size_t chain_digests_valid(const struct chain *c)
{
	return c->digests_valid;
}

size_t chain_logs_valid(const struct chain *c)
{
	return c->logs_valid;
}

time_t chain_newest_end(const struct chain *c)
{
	return c->newest_end;
}

int chain_newest_valid(const struct chain *c, const char **key, const char **sig, time_t *end)
{
	const struct dentry *best = NULL;
	size_t i;

	for (i = 0; i < c->nd; i++) {
		const struct dentry *e = &c->d[i];

		if (!e->valid || e->backfill || !e->sig || strcmp(e->bucket, c->bucket))
			continue;
		if (!best || e->d.end > best->d.end)
			best = e;
	}
	if (!best)
		return -1;
	*key = best->key;
	*sig = best->sig;
	*end = best->d.end;
	return 0;
}
