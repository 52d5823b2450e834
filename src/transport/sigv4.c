/* sigv4.c: AWS Signature Version 4 (aws-wire.md section 7.1).
 *
 * Pure library code: the time comes in sigv4_params, nothing here reads the
 * clock or the environment.  SHA-256 is OpenSSL's (EVP, fetched once); HMAC
 * is the RFC 2104 construction over it, so one signature costs a handful of
 * digest calls and no provider look-ups.  Secrets never go into an errbuf.
 * One file of about 1,000 lines on purpose: the canonical query and headers
 * and the signing steps share private types (qpair, hdr, signing), which a
 * split would have to publish in a header. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sigv4.h"
#include "buf.h"
#include "timeutil.h"
#include "banned.h"

#define SIGV4_MAX_TEXT (1024 * 1024)   /* canonical request, query, headers */
#define SIGV4_MAX_HEADERS 256
#define SIGV4_MAX_PAIRS 4096
#define KEY_CACHE_N 8
#define ALGORITHM "AWS4-HMAC-SHA256"
#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- SHA-256 / HMAC ---------------------------------------------------- */

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *md(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md ? sha256_md : EVP_sha256();
}

static int sha256_2(EVP_MD_CTX *ctx, const void *a, size_t alen, const void *b, size_t blen,
		    unsigned char out[32])
{
	if (EVP_DigestInit_ex(ctx, md(), NULL) != 1 || EVP_DigestUpdate(ctx, a, alen) != 1 ||
	    (blen && EVP_DigestUpdate(ctx, b, blen) != 1) || EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		return -1;
	return 0;
}

static int hmac_sha256(EVP_MD_CTX *ctx, const void *key, size_t klen, const void *msg, size_t mlen,
		       unsigned char out[32])
{
	unsigned char k[64], pad[64], inner[32];
	size_t i;
	int rc = -1;

	memset(k, 0, sizeof(k));
	if (klen > sizeof(k)) {
		if (sha256_2(ctx, key, klen, NULL, 0, k))
			goto done;
	} else if (klen) {
		memcpy(k, key, klen);
	}
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	if (sha256_2(ctx, pad, sizeof(pad), msg, mlen, inner))
		goto done;
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	if (sha256_2(ctx, pad, sizeof(pad), inner, sizeof(inner), out))
		goto done;
	rc = 0;
done:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	return rc;
}

static void hex32(const unsigned char in[32], char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[in[i] >> 4];
		hex[2 * i + 1] = digits[in[i] & 15];
	}
	hex[64] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char d[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx)
		tk_oom();
	if (sha256_2(ctx, data ? data : "", len, NULL, 0, d)) {
		memset(d, 0, sizeof(d));   /* cannot happen short of OOM in OpenSSL */
	}
	EVP_MD_CTX_free(ctx);
	hex32(d, hex);
}

/* ---- signing key cache ------------------------------------------------- */

struct key_entry {
	int used;
	unsigned long stamp;
	unsigned char secret_id[32];   /* SHA-256 of the secret */
	char date[9];
	char region[64];
	char service[64];
	unsigned char key[32];
};

static struct key_entry key_cache[KEY_CACHE_N];
static unsigned long key_clock;
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

void sigv4_cache_clear(void)
{
	pthread_mutex_lock(&key_lock);
	OPENSSL_cleanse(key_cache, sizeof(key_cache));
	key_clock = 0;
	pthread_mutex_unlock(&key_lock);
}

static int derive_key(EVP_MD_CTX *ctx, const char *secret, const char *date, const char *region,
		      const char *service, unsigned char out[32])
{
	unsigned char k[32];
	size_t slen = strlen(secret);
	char *first = xmalloc(slen + 5);
	int rc = -1;

	memcpy(first, "AWS4", 4);
	memcpy(first + 4, secret, slen + 1);
	if (hmac_sha256(ctx, first, slen + 4, date, strlen(date), k) ||
	    hmac_sha256(ctx, k, 32, region, strlen(region), k) ||
	    hmac_sha256(ctx, k, 32, service, strlen(service), k) ||
	    hmac_sha256(ctx, k, 32, "aws4_request", 12, out))
		goto done;
	rc = 0;
done:
	OPENSSL_cleanse(first, slen + 5);
	free(first);
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

static int signing_key(EVP_MD_CTX *ctx, const char *secret, const char *date, const char *region,
		       const char *service, unsigned char out[32])
{
	unsigned char id[32];
	struct key_entry *e, *victim = &key_cache[0];
	size_t i;
	int rc;

	if (strlen(region) >= sizeof(victim->region) || strlen(service) >= sizeof(victim->service))
		return derive_key(ctx, secret, date, region, service, out);
	if (sha256_2(ctx, secret, strlen(secret), NULL, 0, id))
		return -1;
	pthread_mutex_lock(&key_lock);
	for (i = 0; i < KEY_CACHE_N; i++) {
		e = &key_cache[i];
		if (e->used && !memcmp(e->secret_id, id, 32) && !strcmp(e->date, date) &&
		    !strcmp(e->region, region) && !strcmp(e->service, service)) {
			memcpy(out, e->key, 32);
			e->stamp = ++key_clock;
			pthread_mutex_unlock(&key_lock);
			OPENSSL_cleanse(id, sizeof(id));
			return 0;
		}
		if (!e->used || e->stamp < victim->stamp)
			victim = e;
		if (!e->used)
			break;
	}
	pthread_mutex_unlock(&key_lock);

	rc = derive_key(ctx, secret, date, region, service, out);
	if (rc == 0) {
		pthread_mutex_lock(&key_lock);
		OPENSSL_cleanse(victim, sizeof(*victim));
		victim->used = 1;
		victim->stamp = ++key_clock;
		memcpy(victim->secret_id, id, 32);
		memcpy(victim->date, date, 9);
		memcpy(victim->region, region, strlen(region) + 1);
		memcpy(victim->service, service, strlen(service) + 1);
		memcpy(victim->key, out, 32);
		pthread_mutex_unlock(&key_lock);
	}
	OPENSSL_cleanse(id, sizeof(id));
	return rc;
}

/* ---- credentials ------------------------------------------------------- */

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void aws_creds_release(struct aws_creds *c)
{
	if (!c)
		return;
	free(c->access_key_id);
	free_secret(c->secret_access_key);
	free_secret(c->session_token);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

int aws_creds_copy(struct aws_creds *out, const struct aws_creds *in)
{
	memset(out, 0, sizeof(*out));
	if (!in)
		return TK_EFAIL;
	out->access_key_id = in->access_key_id ? xstrdup(in->access_key_id) : NULL;
	out->secret_access_key = in->secret_access_key ? xstrdup(in->secret_access_key) : NULL;
	out->session_token = in->session_token ? xstrdup(in->session_token) : NULL;
	out->source = in->source ? xstrdup(in->source) : NULL;
	out->expiration = in->expiration;
	return 0;
}

/* ---- encoding ---------------------------------------------------------- */

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

static int enc_add(struct buf *b, const char *s, size_t n, bool keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3];

		if (unreserved(c) || (keep_slash && c == '/')) {
			if (buf_addc(b, (char)c))
				return TK_ELIMIT;
			continue;
		}
		e[0] = '%';
		e[1] = hexd[c >> 4];
		e[2] = hexd[c & 15];
		if (buf_add(b, e, 3))
			return TK_ELIMIT;
	}
	return 0;
}

char *sigv4_uri_encode(const char *s, size_t n, bool keep_slash)
{
	struct buf b;
	size_t lim;

	if (st_mult(&lim, n, 3) || st_add(&lim, lim, 1))
		return NULL;
	buf_init(&b, lim);
	if (enc_add(&b, s ? s : "", s ? n : 0, keep_slash)) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

int sigv4_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t sigv4_pct_decode(char *out, const char *s, size_t n, bool plus_space)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int h, l;

		if (s[i] == '%' && i + 2 < n && (h = sigv4_hexval(s[i + 1])) >= 0 &&
		    (l = sigv4_hexval(s[i + 2])) >= 0) {
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else if (plus_space && s[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return o;
}

/* Decode %XX in s[0..n) (a '%' not followed by two hex digits stays as is;
 * '+' stays '+'), then strictly re-encode, appending to b. */
static int reencode(struct buf *b, const char *s, size_t n)
{
	char *tmp = xmalloc(n + 1);
	size_t j = sigv4_pct_decode(tmp, s, n, false);
	int rc;

	rc = enc_add(b, tmp, j, false);
	free(tmp);
	return rc;
}

/* ---- canonical URI ----------------------------------------------------- */

/* botocore utils.remove_dot_segments: drop empty and "." segments, ".."
 * removes the previous one; keep the leading and (if anything is left) the
 * trailing slash. */
static char *remove_dot_segments(const char *path)
{
	size_t n = strlen(path), nseg = 0, i, start;
	struct str *seg;
	struct buf b;
	bool lead = n && path[0] == '/', trail = n && path[n - 1] == '/';

	seg = xcalloc(n / 2 + 2, sizeof(*seg));
	start = 0;
	for (i = 0; i <= n; i++) {
		if (i == n || path[i] == '/') {
			size_t len = i - start;
			const char *p = path + start;

			if (len == 0 || (len == 1 && p[0] == '.')) {
				/* skip */
			} else if (len == 2 && p[0] == '.' && p[1] == '.') {
				if (nseg)
					nseg--;
			} else {
				seg[nseg].p = p;
				seg[nseg].len = len;
				nseg++;
			}
			start = i + 1;
		}
	}
	buf_init(&b, n + 2);
	if (lead)
		buf_addc(&b, '/');
	for (i = 0; i < nseg; i++) {
		if (i)
			buf_addc(&b, '/');
		buf_add(&b, seg[i].p, seg[i].len);
	}
	if (trail && nseg)
		buf_addc(&b, '/');
	free(seg);
	return buf_detach(&b);
}

int sigv4_canonical_uri(char **out, const char *path, bool normalize, bool encode,
			struct errbuf *err)
{
	char *norm = NULL;
	const char *p;
	size_t n;

	*out = NULL;
	if (!path || !*path)
		path = "/";
	n = strlen(path);
	if (n > SIGV4_MAX_TEXT / 3)
		return err_set(err, TK_ELIMIT, "request path is too long (%zu bytes)", n);
	if (normalize) {
		norm = remove_dot_segments(path);
		p = *norm ? norm : "/";
	} else {
		p = path;
	}
	if (encode)
		*out = sigv4_uri_encode(p, strlen(p), true);
	else
		*out = xstrdup(p);
	free(norm);
	if (!*out)
		return err_set(err, TK_ELIMIT, "request path is too long");
	return 0;
}

/* ---- canonical query --------------------------------------------------- */

struct qpair {
	char *name;    /* encoded */
	char *value;   /* encoded */
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static void qpairs_free(struct qpair *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free_secret(v[i].name);
		free_secret(v[i].value);
	}
	free(v);
}

/* Split query into decoded-and-re-encoded pairs, appended to *v. */
static int parse_query(struct qpair **v, size_t *n, size_t *cap, const char *query,
		       struct errbuf *err)
{
	const char *p = query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq ? (size_t)(eq - p) : len;
		struct buf bn, bv;

		if (len) {
			if (*n >= SIGV4_MAX_PAIRS)
				return err_set(err, TK_ELIMIT, "query has more than %d parameters",
					       SIGV4_MAX_PAIRS);
			ALLOC_GROW(*v, *n + 1, *cap);
			buf_init(&bn, SIGV4_MAX_TEXT);
			buf_init(&bv, SIGV4_MAX_TEXT);
			if (reencode(&bn, p, nlen) ||
			    (eq && reencode(&bv, eq + 1, len - nlen - 1))) {
				buf_release(&bn);
				buf_release(&bv);
				return err_set(err, TK_ELIMIT, "query string is too long");
			}
			(*v)[*n].name = buf_detach(&bn);
			(*v)[*n].value = buf_detach(&bv);
			(*n)++;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

static int join_query(char **out, struct qpair *v, size_t n, struct errbuf *err)
{
	struct buf b;
	size_t i;

	if (n)
		qsort(v, n, sizeof(*v), qpair_cmp);
	buf_init(&b, SIGV4_MAX_TEXT);
	for (i = 0; i < n; i++) {
		if ((i && buf_addc(&b, '&')) || buf_adds(&b, v[i].name) || buf_addc(&b, '=') ||
		    buf_adds(&b, v[i].value)) {
			buf_release(&b);
			return err_set(err, TK_ELIMIT, "query string is too long");
		}
	}
	*out = buf_detach(&b);
	return 0;
}

int sigv4_canonical_query(char **out, const char *query, struct errbuf *err)
{
	struct qpair *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	rc = parse_query(&v, &n, &cap, query, err);
	if (rc == 0)
		rc = join_query(out, v, n, err);
	qpairs_free(v, n);
	return rc;
}

/* ---- canonical headers ------------------------------------------------- */

struct hdr {
	char *name;     /* lower case; one allocation of size bytes holds both */
	char *value;    /* trimmed, whitespace collapsed; points into name's block */
	size_t size;
	size_t order;
};

/* wiped: the value may be a session token */
static void hdr_release(struct hdr *h)
{
	if (h->name) {
		OPENSSL_cleanse(h->name, h->size);
		free(h->name);
	}
	h->name = h->value = NULL;
	h->size = 0;
}

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static int tchar(unsigned char c)
{
	return c > 32 && c < 127 && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* Lower-case, check the name; trim and collapse the value. */
static int hdr_make(struct hdr *h, const char *name, const char *value, size_t order,
		    struct errbuf *err)
{
	size_t i, n = strlen(name);
	const char *v = value ? value : "";
	char *o;
	bool space = false;

	if (!n)
		return err_set(err, TK_EUSAGE, "empty header name");
	for (i = 0; i < n; i++)
		if (!tchar((unsigned char)name[i]))
			return err_set(err, TK_EUSAGE, "header name '%.64s' is not valid", name);
	for (i = 0; v[i]; i++)
		if ((unsigned char)v[i] < 32 && v[i] != '\t')
			return err_set(err, TK_EUSAGE, "header '%.64s' has a control character in its value",
				       name);
	/* name and value in one block (issue 17: signing made ~40
	 * allocations a request on the event loop) */
	h->size = n + 1 + strlen(v) + 1;
	h->name = xmalloc(h->size);
	for (i = 0; i < n; i++)
		h->name[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	h->name[n] = '\0';
	h->value = o = h->name + n + 1;
	while (is_ws(*v))
		v++;
	for (; *v; v++) {
		if (is_ws(*v)) {
			space = true;
			continue;
		}
		if (space)
			*o++ = ' ';
		space = false;
		*o++ = *v;
	}
	*o = '\0';
	h->order = order;
	return 0;
}

static void hdrs_free(struct hdr *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hdr_release(&h[i]);
	free(h);
}

static bool unsigned_header(const char *lname)
{
	return !strcmp(lname, "user-agent") || !strcmp(lname, "expect") ||
	       !strcmp(lname, "x-amzn-trace-id");
}

/* h[0..n) sorted by hdr_cmp -> canonical block and signed list */
static int headers_join(char **canon, char **signed_list, struct hdr *h, size_t n,
			struct errbuf *err)
{
	struct buf c, s;
	size_t i;
	int rc = 0;

	if (n)
		qsort(h, n, sizeof(*h), hdr_cmp);
	buf_init(&c, SIGV4_MAX_TEXT);
	buf_init(&s, SIGV4_MAX_TEXT);
	for (i = 0; i < n && rc == 0; i++) {
		if (i && !strcmp(h[i].name, h[i - 1].name)) {
			if (buf_addc(&c, ',') || buf_adds(&c, h[i].value))
				rc = TK_ELIMIT;
			continue;
		}
		if ((i && buf_addc(&c, '\n')) || buf_adds(&c, h[i].name) || buf_addc(&c, ':') ||
		    buf_adds(&c, h[i].value) || (i && buf_addc(&s, ';')) || buf_adds(&s, h[i].name))
			rc = TK_ELIMIT;
	}
	if (rc == 0 && n && buf_addc(&c, '\n'))
		rc = TK_ELIMIT;
	if (rc) {
		OPENSSL_cleanse(c.data, c.cap);
		buf_release(&c);
		buf_release(&s);
		return err_set(err, rc, "request headers are too long");
	}
	*canon = buf_detach(&c);
	*signed_list = buf_detach(&s);
	return 0;
}

int sigv4_canonical_headers(char **canon, char **signed_list, const struct sigv4_header *hv,
			    size_t n, struct errbuf *err)
{
	struct hdr *h;
	size_t i, k = 0;
	int rc = 0;

	*canon = *signed_list = NULL;
	if (n > SIGV4_MAX_HEADERS)
		return err_set(err, TK_ELIMIT, "more than %d headers", SIGV4_MAX_HEADERS);
	h = xcalloc(n + 1, sizeof(*h));
	for (i = 0; i < n && rc == 0; i++) {
		rc = hdr_make(&h[k], hv[i].name, hv[i].value, i, err);
		if (rc)
			break;
		if (unsigned_header(h[k].name)) {
			hdr_release(&h[k]);
			continue;
		}
		k++;
	}
	if (rc == 0)
		rc = headers_join(canon, signed_list, h, k, err);
	hdrs_free(h, k);
	return rc;
}

/* ---- signing ----------------------------------------------------------- */

void sigv4_result_release(struct sigv4_result *r)
{
	size_t i;

	if (!r)
		return;
	free_secret(r->canonical_request);   /* contains the session token */
	free(r->string_to_sign);
	free(r->signature);
	free(r->signed_headers);
	free(r->authorization);
	free_secret(r->presigned_query);
	for (i = 0; i < r->nadd; i++) {
		free(r->add[i].name);
		free_secret(r->add[i].value);
	}
	memset(r, 0, sizeof(*r));
}

static void result_add(struct sigv4_result *r, const char *name, const char *value)
{
	r->add[r->nadd].name = xstrdup(name);
	r->add[r->nadd].value = xstrdup(value);
	r->nadd++;
}

static bool scope_part_ok(const char *s)
{
	size_t i;

	if (!s || !*s || strlen(s) > 128)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.' || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

static bool header_is(const char *name, const char *lname)
{
	return name && !strcasecmp(name, lname);
}

int sigv4_sign(struct sigv4_result *out, const struct sigv4_request *req,
	       const struct sigv4_params *p, struct errbuf *err)
{
	struct sigv4_options o;

	memset(&o, 0, sizeof(o));
	if (p && p->s3_rules) {
		o.content_sha256_header = true;
	} else {
		o.normalize_path = true;
		o.encode_path = true;
	}
	return sigv4_sign_ex(out, req, p, &o, err);
}

/* What one signature is made of, built step by step by sigv4_sign_ex. */
struct signing {
	const struct sigv4_request *req;
	const struct sigv4_params *p;
	const struct sigv4_options *opt;
	const struct aws_creds *cr;
	bool presign;
	const char *token;          /* the session token, or NULL */
	const char *host;
	const char *payload;        /* the payload hash */
	char amzdate[32], scope_date[9], payload_hex[65];
	char *scope, *cred;
	struct hdr *h;              /* the signed headers */
	size_t nh;
	char *chead, *slist;        /* canonical header block, signed header list */
};

static void signing_release(struct signing *s)
{
	hdrs_free(s->h, s->nh);
	free(s->scope);
	free(s->cred);
	free_secret(s->chead);
	free(s->slist);
}

/* The request, parameters and credentials are complete and well-formed. */
static int sign_check(const struct sigv4_request *req, const struct sigv4_params *p,
		      const struct sigv4_options *opt, struct errbuf *err)
{
	const struct aws_creds *cr = p ? p->creds : NULL;

	if (!req || !p || !opt || !req->method || !*req->method)
		return err_set(err, TK_EUSAGE, "sigv4: no request to sign");
	if (!cr || !cr->access_key_id || !*cr->access_key_id || !cr->secret_access_key ||
	    !*cr->secret_access_key)
		return err_set(err, TK_EAUTH, "sigv4: no credentials to sign with");
	if (!scope_part_ok(p->region))
		return err_set(err, TK_EUSAGE, "sigv4: region '%.64s' is not valid",
			       p->region ? p->region : "");
	if (!scope_part_ok(p->service))
		return err_set(err, TK_EUSAGE, "sigv4: service '%.64s' is not valid",
			       p->service ? p->service : "");
	if (strchr(cr->access_key_id, '/') || strlen(cr->access_key_id) > 128)
		return err_set(err, TK_EUSAGE, "sigv4: access key id is not valid");
	if (req->nheaders > SIGV4_MAX_HEADERS)
		return err_set(err, TK_ELIMIT, "sigv4: more than %d headers", SIGV4_MAX_HEADERS);
	if (p->presign && (p->presign_expires < 1 || p->presign_expires > 604800))
		return err_set(err, TK_EUSAGE, "sigv4: presigned URL expiry %ld is not 1..604800 s",
			       p->presign_expires);
	return 0;
}

/* The request's headers into s->h (host aside into s->host; a given
 * x-amz-content-sha256 may become the payload hash), then host. */
static int sign_request_headers(struct signing *s, struct errbuf *err)
{
	const struct sigv4_request *req = s->req;
	size_t i;
	int rc;

	s->h = xcalloc(req->nheaders + 4, sizeof(*s->h));
	for (i = 0; i < req->nheaders; i++) {
		const char *name = req->headers[i].name;

		if (header_is(name, "host")) {
			if (s->host)
				return err_set(err, TK_EUSAGE, "sigv4: header 'host' given twice");
			s->host = req->headers[i].value;
			continue;
		}
		if (header_is(name, "x-amz-date") || header_is(name, "authorization") ||
		    (header_is(name, "x-amz-security-token") && s->token))
			return err_set(err, TK_EUSAGE, "sigv4: header '%s' is added by the signer", name);
		if (header_is(name, "x-amz-content-sha256") && !s->presign) {
			if (!req->payload_hash)
				s->payload = req->headers[i].value;
			if (s->opt->content_sha256_header)
				continue;   /* added below with the payload hash */
		}
		rc = hdr_make(&s->h[s->nh], name ? name : "", req->headers[i].value, i + 1, err);
		if (rc)
			return rc;
		if (unsigned_header(s->h[s->nh].name)) {
			hdr_release(&s->h[s->nh]);
			continue;
		}
		s->nh++;
	}
	if (!s->host || !*s->host)
		return err_set(err, TK_EUSAGE, "sigv4: no host to sign");
	return hdr_make(&s->h[s->nh++], "host", s->host, 0, err);
}

/* s->payload: given, UNSIGNED-PAYLOAD (presigned S3) or the body's hash */
static int sign_payload(struct signing *s, struct errbuf *err)
{
	const struct sigv4_request *req = s->req;

	if (req->payload_hash)
		s->payload = req->payload_hash;
	else if (s->presign && s->p->s3_rules)
		s->payload = "UNSIGNED-PAYLOAD";   /* botocore S3SigV4QueryAuth */
	if (!s->payload) {
		if (req->body_len && !req->body)
			return err_set(err, TK_EUSAGE, "sigv4: body length without a body");
		if (req->body_len)
			sigv4_sha256_hex(req->body, req->body_len, s->payload_hex);
		else   /* most requests: SHA-256 of nothing */
			memcpy(s->payload_hex, SHA256_EMPTY, sizeof(s->payload_hex));
		s->payload = s->payload_hex;
	}
	if (!*s->payload || strlen(s->payload) > 128)
		return err_set(err, TK_EUSAGE, "sigv4: payload hash is not valid");
	return 0;
}

/* The signer's own headers (not for a presigned URL), then the canonical
 * block and the signed list. */
static int sign_headers(struct signing *s, struct errbuf *err)
{
	int rc = sign_request_headers(s, err);

	if (rc == 0)
		rc = sign_payload(s, err);
	if (rc == 0 && !s->presign) {
		rc = hdr_make(&s->h[s->nh++], "x-amz-date", s->amzdate, SIZE_MAX - 2, err);
		if (rc == 0 && s->token && !s->opt->omit_session_token)
			rc = hdr_make(&s->h[s->nh++], "x-amz-security-token", s->token, SIZE_MAX - 1, err);
		if (rc == 0 && s->opt->content_sha256_header)
			rc = hdr_make(&s->h[s->nh++], "x-amz-content-sha256", s->payload, SIZE_MAX, err);
	}
	if (rc == 0)
		rc = headers_join(&s->chead, &s->slist, s->h, s->nh, err);
	return rc;
}

/* The canonical query: the request's pairs plus, for a presigned URL, the
 * X-Amz-* parameters. */
static int sign_query(struct signing *s, char **cquery, struct errbuf *err)
{
	struct qpair *qv = NULL;
	size_t nq = 0, qcap = 0;
	int rc;

	rc = parse_query(&qv, &nq, &qcap, s->req->query, err);
	if (rc == 0 && s->presign) {
		char expires[32];
		const char *extra[6][2];
		size_t ne = 0, k;

		snprintf(expires, sizeof(expires), "%ld", s->p->presign_expires);
		extra[ne][0] = "X-Amz-Algorithm"; extra[ne++][1] = ALGORITHM;
		extra[ne][0] = "X-Amz-Credential"; extra[ne++][1] = s->cred;
		extra[ne][0] = "X-Amz-Date"; extra[ne++][1] = s->amzdate;
		extra[ne][0] = "X-Amz-Expires"; extra[ne++][1] = expires;
		extra[ne][0] = "X-Amz-SignedHeaders"; extra[ne++][1] = s->slist;
		if (s->token && !s->opt->omit_session_token) {
			extra[ne][0] = "X-Amz-Security-Token";
			extra[ne++][1] = s->token;
		}
		for (k = 0; k < ne && rc == 0; k++) {
			ALLOC_GROW(qv, nq + 1, qcap);
			qv[nq].name = sigv4_uri_encode(extra[k][0], strlen(extra[k][0]), false);
			qv[nq].value = sigv4_uri_encode(extra[k][1], strlen(extra[k][1]), false);
			if (!qv[nq].name || !qv[nq].value)
				rc = err_set(err, TK_ELIMIT, "sigv4: query string is too long");
			nq++;
		}
	}
	if (rc == 0)
		rc = join_query(cquery, qv, nq, err);
	qpairs_free(qv, nq);
	return rc;
}

/* out->canonical_request and out->string_to_sign */
static int sign_canonical(struct signing *s, struct sigv4_result *out, struct errbuf *err)
{
	char *uri = NULL, *cquery = NULL, sts_hash[65];
	struct buf b;
	int rc;

	buf_init(&b, SIGV4_MAX_TEXT);
	rc = sigv4_canonical_uri(&uri, s->req->path, s->opt->normalize_path, s->opt->encode_path, err);
	if (rc == 0)
		rc = sign_query(s, &cquery, err);
	if (rc == 0 &&
	    (buf_adds(&b, s->req->method) || buf_addc(&b, '\n') || buf_adds(&b, uri) ||
	     buf_addc(&b, '\n') || buf_adds(&b, cquery) || buf_addc(&b, '\n') ||
	     buf_adds(&b, s->chead) || buf_addc(&b, '\n') || buf_adds(&b, s->slist) ||
	     buf_addc(&b, '\n') || buf_adds(&b, s->payload)))
		rc = err_set(err, TK_ELIMIT, "sigv4: canonical request is too long");
	if (rc == 0) {
		out->canonical_request = buf_detach(&b);
		sigv4_sha256_hex(out->canonical_request, strlen(out->canonical_request), sts_hash);
		out->string_to_sign = xasprintf(ALGORITHM "\n%s\n%s\n%s", s->amzdate, s->scope, sts_hash);
	}
	if (b.data)
		OPENSSL_cleanse(b.data, b.cap);
	buf_release(&b);
	free(uri);
	free(cquery);
	return rc;
}

/* the hex signature of out->string_to_sign */
static int sign_compute(struct signing *s, const struct sigv4_result *out, char sig_hex[65],
			struct errbuf *err)
{
	unsigned char key[32], sig[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = 0;

	memset(key, 0, sizeof(key));
	memset(sig, 0, sizeof(sig));
	if (!ctx)
		tk_oom();
	if (signing_key(ctx, s->cr->secret_access_key, s->scope_date, s->p->region, s->p->service, key) ||
	    hmac_sha256(ctx, key, sizeof(key), out->string_to_sign, strlen(out->string_to_sign), sig))
		rc = err_set(err, TK_EFAIL, "sigv4: OpenSSL could not compute the signature");
	else
		hex32(sig, sig_hex);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(sig, sizeof(sig));
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* out->presigned_query: the request's query and the X-Amz-* parameters */
static int sign_presigned_query(struct signing *s, struct sigv4_result *out, const char *sig_hex,
				struct errbuf *err)
{
	struct buf q;
	char *e_cred = sigv4_uri_encode(s->cred, strlen(s->cred), false);
	char *e_sl = sigv4_uri_encode(s->slist, strlen(s->slist), false);
	char *e_tok = s->token ? sigv4_uri_encode(s->token, strlen(s->token), false) : NULL;
	int rc;

	buf_init(&q, SIGV4_MAX_TEXT);
	if (s->req->query && *s->req->query)
		buf_addf(&q, "%s&", s->req->query);
	buf_addf(&q, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=%s&X-Amz-Date=%s"
		 "&X-Amz-SignedHeaders=%s&X-Amz-Expires=%ld", e_cred ? e_cred : "", s->amzdate,
		 e_sl ? e_sl : "", s->p->presign_expires);
	if (e_tok)
		buf_addf(&q, "&X-Amz-Security-Token=%s", e_tok);
	rc = buf_addf(&q, "&X-Amz-Signature=%s", sig_hex);   /* sticky: any failed add */
	free(e_cred);
	free(e_sl);
	free_secret(e_tok);
	if (rc || !e_cred || !e_sl || (s->token && !e_tok)) {
		OPENSSL_cleanse(q.data, q.cap);
		buf_release(&q);
		return err_set(err, TK_ELIMIT, "sigv4: presigned query is too long");
	}
	out->presigned_query = buf_detach(&q);
	return 0;
}

/* out->authorization and the headers to add to the request */
static void sign_authorization(struct signing *s, struct sigv4_result *out, const char *sig_hex)
{
	out->authorization = xasprintf(ALGORITHM " Credential=%s, SignedHeaders=%s, Signature=%s",
				       s->cred, s->slist, sig_hex);
	if (s->token)
		result_add(out, "X-Amz-Security-Token", s->token);
	result_add(out, "X-Amz-Date", s->amzdate);
	if (s->opt->content_sha256_header)
		result_add(out, "x-amz-content-sha256", s->payload);
	result_add(out, "Authorization", out->authorization);
}

int sigv4_sign_ex(struct sigv4_result *out, const struct sigv4_request *req,
		  const struct sigv4_params *p, const struct sigv4_options *opt,
		  struct errbuf *err)
{
	struct signing s;
	char sig_hex[65];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sign_check(req, p, opt, err);
	if (rc)
		return rc;
	memset(&s, 0, sizeof(s));
	s.req = req;
	s.p = p;
	s.opt = opt;
	s.cr = p->creds;
	s.presign = p->presign;
	s.host = req->host;
	s.token = s.cr->session_token && *s.cr->session_token ? s.cr->session_token : NULL;
	if (!tk_format_amz(p->when, s.amzdate, sizeof(s.amzdate)) || strlen(s.amzdate) != 16)
		return err_set(err, TK_EUSAGE, "sigv4: time %lld cannot be formatted",
			       (long long)p->when);
	memcpy(s.scope_date, s.amzdate, 8);
	s.scope_date[8] = '\0';
	s.scope = xasprintf("%s/%s/%s/aws4_request", s.scope_date, p->region, p->service);
	s.cred = xasprintf("%s/%s", s.cr->access_key_id, s.scope);

	rc = sign_headers(&s, err);
	if (rc == 0)
		rc = sign_canonical(&s, out, err);
	if (rc == 0)
		rc = sign_compute(&s, out, sig_hex, err);
	if (rc == 0) {
		out->signature = xstrdup(sig_hex);
		out->signed_headers = xstrdup(s.slist);
		if (s.presign)
			rc = sign_presigned_query(&s, out, sig_hex, err);
		else
			sign_authorization(&s, out, sig_hex);
	}
	if (rc)
		sigv4_result_release(out);
	signing_release(&s);
	return rc;
}
