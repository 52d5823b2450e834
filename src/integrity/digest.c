#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "digest.h"
#include "loghash.h"
#include "timeutil.h"
#include "sigv4.h"
#include "banned.h"

/* ---------- parsing ---------- */

static void logfile_release(struct digest_logfile *l)
{
	free(l->bucket);
	free(l->key);
	free(l->hash);
	free(l->hash_alg);
	free(l->newest_event);
	free(l->oldest_event);
}

void digest_release(struct digest *d)
{
	size_t i;

	if (!d)
		return;
	free(d->account_id);
	free(d->start_time);
	free(d->end_time);
	free(d->bucket);
	free(d->object);
	free(d->newest_event);
	free(d->oldest_event);
	free(d->prev_bucket);
	free(d->prev_object);
	free(d->prev_hash);
	free(d->prev_hash_alg);
	free(d->prev_signature);
	free(d->fingerprint);
	free(d->signature_alg_field);
	for (i = 0; i < d->nlogs; i++)
		logfile_release(&d->logs[i]);
	free(d->logs);
	memset(d, 0, sizeof(*d));
}

#define REQUIRED 1
#define NULLABLE 2

/* Get a string field.  flags: REQUIRED = key must be present; NULLABLE =
 * null allowed (-> NULL).  An absent optional key -> NULL. */
static int get_str(char **out, json_t *obj, const char *name, int flags,
		   const char *where, struct errbuf *err)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (!v) {
		if (flags & REQUIRED)
			return err_set(err, TK_ETAMPERED, "%srequired key '%s' is missing",
				       where, name);
		return 0;
	}
	if (json_is_null(v)) {
		if (flags & NULLABLE)
			return 0;
		return err_set(err, TK_ETAMPERED, "%s'%s' is null", where, name);
	}
	if (!json_is_string(v))
		return err_set(err, TK_ETAMPERED, "%s'%s' is not a string", where, name);
	*out = xstrndup(json_string_value(v), json_string_length(v));
	if (strlen(*out) != json_string_length(v)) {
		free(*out);
		*out = NULL;
		return err_set(err, TK_ETAMPERED, "%s'%s' contains a NUL byte", where, name);
	}
	return 0;
}

/* the digest's logFiles array (not null) into d->logs */
static int parse_logfiles(struct digest *d, const json_t *logs, struct errbuf *err)
{
	size_t i;
	int rc;

	if (!json_is_array(logs))
		return err_set(err, TK_ETAMPERED, "'logFiles' is not an array");
	if (json_array_size(logs) > MAX_DIGEST_LOGFILES)
		return err_set(err, TK_ETAMPERED, "'logFiles' has more than %d entries", MAX_DIGEST_LOGFILES);
	d->nlogs = json_array_size(logs);
	d->logs = xcalloc(d->nlogs ? d->nlogs : 1, sizeof(*d->logs));
	for (i = 0; i < d->nlogs; i++) {
		json_t *e = json_array_get(logs, i);
		struct digest_logfile *l = &d->logs[i];
		char where[48];

		snprintf(where, sizeof(where), "logFiles[%zu]: ", i);
		if (!json_is_object(e))
			return err_set(err, TK_ETAMPERED, "%snot an object", where);
		if ((rc = get_str(&l->bucket, e, "s3Bucket", REQUIRED, where, err)) ||
		    (rc = get_str(&l->key, e, "s3Object", REQUIRED, where, err)) ||
		    (rc = get_str(&l->hash, e, "hashValue", REQUIRED, where, err)) ||
		    (rc = get_str(&l->hash_alg, e, "hashAlgorithm", NULLABLE, where, err)) ||
		    (rc = get_str(&l->newest_event, e, "newestEventTime", NULLABLE, where, err)) ||
		    (rc = get_str(&l->oldest_event, e, "oldestEventTime", NULLABLE, where, err)))
			return rc;
	}
	return 0;
}

int digest_parse_json(struct digest *out, const char *json, size_t len, struct errbuf *err)
{
	json_t *root = NULL, *logs;
	json_error_t jerr;
	struct digest d;
	char hex[65];
	int rc = 0;

	memset(&d, 0, sizeof(d));
	memset(out, 0, sizeof(*out));
	if (len > MAX_DIGEST_JSON) {
		rc = err_set(err, TK_ETAMPERED, "digest is larger than %u bytes", MAX_DIGEST_JSON);
		goto done;
	}
	/* sha256 of exactly these bytes: it goes into the string to sign */
	sigv4_sha256_hex(json, len, hex);
	root = json_loadb(json, len, 0, &jerr);
	if (!root) {
		rc = err_set(err, TK_ETAMPERED, "digest is not valid JSON: %s (line %d)",
			     jerr.text, jerr.line);
		goto done;
	}
	if (!json_is_object(root)) {
		rc = err_set(err, TK_ETAMPERED, "digest is not a JSON object");
		goto done;
	}
	if ((rc = get_str(&d.fingerprint, root, "digestPublicKeyFingerprint", REQUIRED, "", err)) ||
	    (rc = get_str(&d.bucket, root, "digestS3Bucket", REQUIRED, "", err)) ||
	    (rc = get_str(&d.object, root, "digestS3Object", REQUIRED, "", err)) ||
	    (rc = get_str(&d.prev_signature, root, "previousDigestSignature",
			  REQUIRED | NULLABLE, "", err)) ||
	    (rc = get_str(&d.end_time, root, "digestEndTime", REQUIRED, "", err)) ||
	    (rc = get_str(&d.start_time, root, "digestStartTime", REQUIRED, "", err)) ||
	    (rc = get_str(&d.account_id, root, "awsAccountId", 0, "", err)) ||
	    (rc = get_str(&d.newest_event, root, "newestEventTime", NULLABLE, "", err)) ||
	    (rc = get_str(&d.oldest_event, root, "oldestEventTime", NULLABLE, "", err)) ||
	    (rc = get_str(&d.prev_bucket, root, "previousDigestS3Bucket", NULLABLE, "", err)) ||
	    (rc = get_str(&d.prev_object, root, "previousDigestS3Object", NULLABLE, "", err)) ||
	    (rc = get_str(&d.prev_hash, root, "previousDigestHashValue", NULLABLE, "", err)) ||
	    (rc = get_str(&d.prev_hash_alg, root, "previousDigestHashAlgorithm", NULLABLE, "", err)) ||
	    (rc = get_str(&d.signature_alg_field, root, "digestSignatureAlgorithm", 0, "", err)))
		goto done;
	if (tk_parse_time(d.start_time, &d.start) < 0) {
		rc = err_set(err, TK_ETAMPERED, "'digestStartTime' is not a time: '%.64s'", d.start_time);
		goto done;
	}
	if (tk_parse_time(d.end_time, &d.end) < 0) {
		rc = err_set(err, TK_ETAMPERED, "'digestEndTime' is not a time: '%.64s'", d.end_time);
		goto done;
	}
	if (d.prev_bucket && !d.prev_object) {
		rc = err_set(err, TK_ETAMPERED,
			     "'previousDigestS3Bucket' is set but 'previousDigestS3Object' is not");
		goto done;
	}
	logs = json_object_get(root, "logFiles");
	if (!logs) {
		rc = err_set(err, TK_ETAMPERED, "required key 'logFiles' is missing");
		goto done;
	}
	if (!json_is_null(logs) && (rc = parse_logfiles(&d, logs, err)))
		goto done;
	memcpy(d.sha256, hex, sizeof(hex));
	*out = d;
	memset(&d, 0, sizeof(d));
done:
	digest_release(&d);
	json_decref(root);
	return rc;
}

int digest_load_gz(struct digest *out, const void *gz, size_t len, struct errbuf *err)
{
	struct loghash *h = NULL;
	enum loghash_status st;
	const char *json;
	size_t jlen;
	char hex[65];
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > MAX_DIGEST_GZ)
		return err_set(err, TK_ETAMPERED, "digest object is larger than %u bytes",
			       MAX_DIGEST_GZ);
	h = loghash_new(MAX_DIGEST_JSON, MAX_DIGEST_JSON);
	loghash_feed(h, gz, len);
	st = loghash_finish(h, hex);
	if (st != LOGHASH_OK) {
		rc = err_set(err, TK_ETAMPERED, "digest gzip: %s", loghash_status_str(st));
		goto done;
	}
	json = loghash_kept(h, &jlen);
	rc = digest_parse_json(out, json, jlen, err);
done:
	loghash_free(h);
	return rc;
}

int digest_check_location(const struct digest *d, const char *bucket, const char *key,
			  struct errbuf *err)
{
	if (!d->bucket || !d->object || strcmp(d->bucket, bucket) || strcmp(d->object, key))
		return err_set(err, TK_ETAMPERED,
			       "digest says it was written to 's3://%.200s/%.400s'",
			       d->bucket ? d->bucket : "null", d->object ? d->object : "null");
	return 0;
}

char *digest_string_to_sign(const struct digest *d)
{
	return xasprintf("%s\n%s/%s\n%s\n%s", d->end_time ? d->end_time : "None",
			 d->bucket ? d->bucket : "None", d->object ? d->object : "None",
			 d->sha256, d->prev_signature ? d->prev_signature : "null");
}

/* ---------- public keys ---------- */

/* Python's base64.b64decode(s) (validate=False): characters outside the
 * alphabet are discarded; padding is required; a lone final character is
 * an error.  Returns decoded length or -1. */
static long b64decode_lenient(const char *s, size_t n, unsigned char *out)
{
	unsigned v = 0;
	int bits = 0, chars = 0, pads = 0;
	long o = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i], x;

		if (c >= 'A' && c <= 'Z') x = c - 'A';
		else if (c >= 'a' && c <= 'z') x = c - 'a' + 26;
		else if (c >= '0' && c <= '9') x = c - '0' + 52;
		else if (c == '+') x = 62;
		else if (c == '/') x = 63;
		else if (c == '=') {
			if (chars % 4 == 0)
				continue;     /* stray padding is discarded */
			pads++;
			if ((chars % 4) + pads >= 4)
				break;         /* quad complete: done */
			continue;
		} else
			continue;
		if (pads)
			return -1;     /* data after partial padding */
		v = (v << 6) | (unsigned)x;
		bits += 6;
		chars++;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	if (chars % 4 == 1)
		return -1;
	if (chars % 4 && (chars % 4) + pads < 4)
		return -1;         /* "Incorrect padding" */
	return o;
}

void keyset_init(struct keyset *ks)
{
	ks->v = NULL;
	ks->n = ks->alloc = 0;
}

void keyset_release(struct keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++) {
		free(ks->v[i].fingerprint);
		free(ks->v[i].load_error);
		EVP_PKEY_free(ks->v[i].pkey);
	}
	free(ks->v);
	keyset_init(ks);
}

static struct pubkey *keyset_push(struct keyset *ks, const char *fp, time_t from, time_t to)
{
	struct pubkey *k;

	ALLOC_GROW(ks->v, ks->n + 1, ks->alloc);
	k = &ks->v[ks->n++];
	memset(k, 0, sizeof(*k));
	k->fingerprint = xstrdup(fp);
	k->valid_from = from;
	k->valid_to = to;
	return k;
}

static EVP_PKEY *load_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pk;

	if (len > 65536)
		return NULL;
	pk = d2i_PUBKEY(NULL, &p, (long)len);          /* SubjectPublicKeyInfo */
	if (!pk) {
		p = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);  /* PKCS#1 */
	}
	if (pk && !EVP_PKEY_is_a(pk, "RSA")) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

int keyset_add_der(struct keyset *ks, const char *fingerprint, const unsigned char *der,
		   size_t len, time_t valid_from, time_t valid_to, struct errbuf *err)
{
	struct pubkey *k = keyset_push(ks, fingerprint, valid_from, valid_to);

	k->pkey = load_der(der, len);
	if (!k->pkey) {
		k->load_error = xstrdup("not a DER RSA public key");
		return err_set(err, TK_EFAIL, "public key '%.100s' is not a DER RSA public key",
			       fingerprint);
	}
	return 0;
}

void keyset_add(struct keyset *ks, const char *fingerprint, const char *value,
		time_t valid_from, time_t valid_to)
{
	struct pubkey *k = keyset_push(ks, fingerprint, valid_from, valid_to);
	size_t n = strlen(value);
	unsigned char *once = xmalloc(n + 1), *twice = xmalloc(n + 1);
	long l1, l2;

	/* On the wire the JSON blob `Value` is base64 of the DER key; the AWS
	 * CLI keeps blobs as base64 text and validation.py decodes it once.
	 * (reference/cloudtrail-integrity.md section 4 says "twice"; the CLI
	 * code and the fake show once.)  A value that is base64 of base64
	 * text is still accepted. */
	l1 = b64decode_lenient(value, n, once);
	if (l1 < 0) {
		k->load_error = xstrdup("key value is not base64");
	} else if (!(k->pkey = load_der(once, (size_t)l1))) {
		l2 = b64decode_lenient((const char *)once, (size_t)l1, twice);
		if (l2 < 0 || !(k->pkey = load_der(twice, (size_t)l2)))
			k->load_error = xstrdup("unable to load PKCS #1 key");
	}
	free(once);
	free(twice);
}

static int json_time(json_t *v, time_t *out)
{
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_number(v)) {
		double d = json_number_value(v);

		if (!(d >= 0 && d < 253402300800.0))
			return -1;
		*out = (time_t)d;
		return 0;
	}
	if (json_is_string(v))
		return tk_parse_time(json_string_value(v), out);
	return -1;
}

int keyset_load_json(struct keyset *ks, const char *json, size_t len, struct errbuf *err)
{
	json_t *root = NULL, *list, *e;
	json_error_t jerr;
	size_t i;
	int rc = 0;

	if (len > MAX_PUBKEYS_JSON)
		return err_set(err, TK_EFAIL, "public key list is larger than %u bytes",
			       MAX_PUBKEYS_JSON);
	root = json_loadb(json, len, 0, &jerr);
	if (!root) {
		rc = err_set(err, TK_EFAIL, "public key list is not valid JSON: %s (line %d)",
			     jerr.text, jerr.line);
		goto done;
	}
	list = json_is_array(root) ? root : json_object_get(root, "PublicKeyList");
	if (!json_is_array(list)) {
		rc = err_set(err, TK_EFAIL, "public key list has no 'PublicKeyList' array");
		goto done;
	}
	json_array_foreach(list, i, e) {
		json_t *fp = json_object_get(e, "Fingerprint"), *val = json_object_get(e, "Value");
		time_t from, to;

		if (!json_is_string(fp) || !json_is_string(val)) {
			rc = err_set(err, TK_EFAIL,
				     "public key %zu: 'Fingerprint' and 'Value' must be strings", i);
			goto done;
		}
		if (json_time(json_object_get(e, "ValidityStartTime"), &from) < 0 ||
		    json_time(json_object_get(e, "ValidityEndTime"), &to) < 0) {
			rc = err_set(err, TK_EFAIL, "public key %zu: bad validity time", i);
			goto done;
		}
		keyset_add(ks, json_string_value(fp), json_string_value(val), from, to);
	}
done:
	json_decref(root);
	return rc;
}

const struct pubkey *keyset_find(const struct keyset *ks, const char *fingerprint)
{
	size_t i;

	if (!fingerprint)
		return NULL;
	for (i = 0; i < ks->n; i++)
		if (!strcmp(ks->v[i].fingerprint, fingerprint))
			return &ks->v[i];
	return NULL;
}

const struct pubkey *keyset_find_at(const struct keyset *ks, const char *fingerprint, time_t t)
{
	size_t i;

	if (!fingerprint)
		return NULL;
	for (i = 0; i < ks->n; i++) {
		const struct pubkey *k = &ks->v[i];

		if (strcmp(k->fingerprint, fingerprint))
			continue;
		if (k->valid_from && k->valid_to && (t < k->valid_from || t > k->valid_to))
			continue;
		return k;
	}
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int digest_verify(const struct digest *d, const struct pubkey *k, const char *sig_hex,
		  struct errbuf *err)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *sig = NULL;
	char *tbs = NULL;
	size_t n, i;
	int rc = 0, r;

	if (!k->pkey)
		return err_set(err, TK_EFAIL, "unable to load public key with fingerprint '%.100s': %s",
			       k->fingerprint, k->load_error ? k->load_error : "unknown");
	n = sig_hex ? strlen(sig_hex) : 0;
	if (n == 0 || n % 2 || n > 8192)
		return err_set(err, TK_ETAMPERED, "signature metadata is not a hex string");
	sig = xmalloc(n / 2);
	for (i = 0; i < n / 2; i++) {
		int hi = hexval((unsigned char)sig_hex[2 * i]), lo = hexval((unsigned char)sig_hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			rc = err_set(err, TK_ETAMPERED, "signature metadata is not a hex string");
			goto done;
		}
		sig[i] = (unsigned char)(hi << 4 | lo);
	}
	tbs = digest_string_to_sign(d);
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1) {
		rc = err_set(err, TK_EFAIL, "cannot set up RSA verification");
		goto done;
	}
	r = EVP_DigestVerify(ctx, sig, n / 2, (const unsigned char *)tbs, strlen(tbs));
	if (r != 1)
		rc = err_set(err, TK_ETAMPERED, "signature verification failed");
done:
	EVP_MD_CTX_free(ctx);
	free(sig);
	free(tbs);
	return rc;
}

/* ---------- key names ---------- */

/* YYYYMMDDTHHmmssZ (16 bytes at s) or YYYYMMDDTHHmmZ (14) */
static int parse_compact_time(const char *s, int with_seconds, time_t *out)
{
	struct tk_time t;

	if (tk_time_parse(s, with_seconds ? 16 : 14, with_seconds ? TK_TS_COMPACT : TK_TS_COMPACT_MIN, &t))
		return -1;
	*out = t.sec;
	return 0;
}

static int ends_with(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && !memcmp(s + n - m, suf, m);
}

int digest_key_time(const char *key, time_t *out, int *backfill)
{
	size_t n = strlen(key), end;
	int bf = 0;

	if (ends_with(key, n, "_backfill.json.gz")) {
		end = n - strlen("_backfill.json.gz");
		bf = 1;
	} else if (ends_with(key, n, ".json.gz")) {
		end = n - strlen(".json.gz");
	} else {
		return -1;
	}
	if (end < 16)
		return -1;
	if (backfill)
		*backfill = bf;
	return parse_compact_time(key + end - 16, 1, out);
}

/* (the adds are checked by the caller's buf_finish: the error is sticky) */
static void add_logs_base(struct buf *b, const char *prefix, const char *org_id)
{
	if (prefix && *prefix)
		buf_addf(b, "%s/", prefix);
	buf_adds(b, "AWSLogs/");
	if (org_id && *org_id)
		buf_addf(b, "%s/", org_id);
}

static void add_base(struct buf *b, const struct digest_loc *loc)
{
	add_logs_base(b, loc->prefix, loc->org_id);
	buf_addf(b, "%s/", loc->account);
}

int s3_logs_base(char **out, const char *prefix, const char *org_id)
{
	struct buf b = BUF_INIT_LIMIT(DIGEST_MAX_KEY_TEXT);

	add_logs_base(&b, prefix, org_id);
	return buf_finish(&b, out);
}

int log_object_key(char **out, const struct digest_loc *loc, time_t t, const char *unique)
{
	struct buf b = BUF_INIT_LIMIT(DIGEST_MAX_KEY_TEXT);
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return TK_EUSAGE;
	add_base(&b, loc);
	buf_addf(&b, "CloudTrail/%s/%04d/%02d/%02d/%s_CloudTrail_%s_%04d%02d%02dT%02d%02dZ_%s.json.gz",
		 loc->region, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, loc->account, loc->region,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, unique);
	return buf_finish(&b, out);
}

int digest_object_key(char **out, const struct digest_loc *loc, time_t t)
{
	struct buf b = BUF_INIT_LIMIT(DIGEST_MAX_KEY_TEXT);
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return TK_EUSAGE;
	add_base(&b, loc);
	buf_addf(&b, "CloudTrail-Digest/%s/%04d/%02d/%02d/%s_CloudTrail-Digest_%s_%s_%s_"
		 "%04d%02d%02dT%02d%02d%02dZ.json.gz", loc->region,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, loc->account, loc->region,
		 loc->trail, loc->home_region, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf_finish(&b, out);
}

int digest_list_prefix(char **out, const struct digest_loc *loc)
{
	struct buf b = BUF_INIT_LIMIT(DIGEST_MAX_KEY_TEXT);

	add_base(&b, loc);
	buf_addf(&b, "CloudTrail-Digest/%s/", loc->region);
	return buf_finish(&b, out);   /* every add above, checked */
}

int log_list_prefix(char **out, const struct digest_loc *loc)
{
	struct buf b = BUF_INIT_LIMIT(DIGEST_MAX_KEY_TEXT);

	add_base(&b, loc);
	buf_addf(&b, "CloudTrail/%s/", loc->region);
	return buf_finish(&b, out);
}

int digest_start_marker(char **out, const struct digest_loc *loc, time_t start)
{
	time_t t = start - 60;
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		t = 0;   /* not a calendar time: list from the earliest marker (never skips a digest) */
	return digest_object_key(out, loc, t);
}

/* skip "\d+/" */
static const char *skip_num_dir(const char *p)
{
	const char *q = p;

	while (*q >= '0' && *q <= '9')
		q++;
	return (q > p && *q == '/') ? q + 1 : NULL;
}

/* key = pre "\d+/\d+/\d+/" rest: rest, else NULL */
static const char *after_date_dirs(const char *key, const char *pre)
{
	size_t n = strlen(pre);
	const char *p;
	int i;

	if (strncmp(key, pre, n))
		return NULL;
	p = key + n;
	for (i = 0; i < 3 && p; i++)
		p = skip_num_dir(p);
	return p;
}

int digest_key_matches(const struct digest_loc *loc, const char *key)
{
	char *pre = NULL, *name = NULL;
	const char *p;
	size_t n;
	int ok = 0;

	if (digest_list_prefix(&pre, loc))
		return 0;   /* longer than any key: matches none */
	p = after_date_dirs(key, pre);
	if (!p)
		goto done;
	/* {account}_CloudTrail-Digest_{region}_{name}_{home}_.+\.json\.gz */
	name = xasprintf("%s_CloudTrail-Digest_%s_%s_%s_", loc->account, loc->region,
			 loc->trail, loc->home_region);
	n = strlen(name);
	if (strncmp(p, name, n))
		goto done;
	p += n;
	/* ".+" cannot match '\n' in Python's re (without DOTALL) */
	if (strchr(p, '\n') || strlen(p) < 1 + strlen(".json.gz") ||
	    !ends_with(p, strlen(p), ".json.gz"))
		goto done;
	ok = 1;
done:
	free(pre);
	free(name);
	return ok;
}

int digest_key_matches_trail(const struct digest_loc *loc, const char *key)
{
	size_t i, n = strlen(key);

	if (n > 4096)
		return 0;
	/* every "AWSLogs/" at the start of the key or of a path segment: what
	 * is before it (without its '/') is the S3KeyPrefix of that location */
	for (i = 0; i + 8 <= n; i++) {
		struct digest_loc l = *loc;
		char *pre;
		int ok;

		if (strncmp(key + i, "AWSLogs/", 8) || (i != 0 && (i < 2 || key[i - 1] != '/')))
			continue;
		pre = i ? xstrndup(key, i - 1) : NULL;
		l.prefix = pre;
		ok = digest_key_matches(&l, key);
		if (!ok && loc->org_id && *loc->org_id) {
			l.org_id = NULL;
			ok = digest_key_matches(&l, key);
		}
		free(pre);
		if (ok)
			return 1;
	}
	return 0;
}

int digest_bucket_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	/* S3's rules for bucket names (3-63 characters, lower case letters,
	 * digits, '.', '-', starting and ending with a letter or digit) */
	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = name[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && ch != '.' && ch != '-')
			return 0;
		if (!alnum && (i == 0 || i == n - 1))
			return 0;
		if (ch == '.' && name[i + 1] == '.')
			return 0;
	}
	return 1;
}

/* p starts with s: what follows, else NULL (p NULL: NULL) */
static const char *eat(const char *p, const char *s)
{
	size_t n = strlen(s);

	return p && !strncmp(p, s, n) ? p + n : NULL;
}

/* What log_list_prefix() and log_key_time()'s name test build as strings,
 * matched piece by piece: called twice for every listed log file on the
 * event loop, this was four allocations a call (issue 17). */
int log_key_time(const struct digest_loc *loc, const char *key, time_t *out)
{
	const char *p = key;
	size_t len = 8 + strlen(loc->account) + 1 + 11 + strlen(loc->region) + 1;
	int i;

	if (loc->prefix && *loc->prefix)
		len += strlen(loc->prefix) + 1;
	if (loc->org_id && *loc->org_id)
		len += strlen(loc->org_id) + 1;
	if (len > DIGEST_MAX_KEY_TEXT)
		return -1;   /* log_list_prefix() refuses it: not this location's */
	/* log_list_prefix(): [prefix/]AWSLogs/[org_id/]account/CloudTrail/region/ */
	if (loc->prefix && *loc->prefix)
		p = eat(eat(p, loc->prefix), "/");
	p = eat(p, "AWSLogs/");
	if (loc->org_id && *loc->org_id)
		p = eat(eat(p, loc->org_id), "/");
	p = eat(eat(eat(eat(eat(p, loc->account), "/"), "CloudTrail/"), loc->region), "/");
	for (i = 0; i < 3 && p; i++)
		p = skip_num_dir(p);
	/* account_CloudTrail_region_YYYYMMDDTHHMMZ_*.json.gz */
	p = eat(eat(eat(eat(p, loc->account), "_CloudTrail_"), loc->region), "_");
	if (!p || strlen(p) < 15 || p[14] != '_' || !ends_with(p, strlen(p), ".json.gz"))
		return -1;
	return parse_compact_time(p, 0, out);
}

/* ---------- --save / --local layout ---------- */

static int check_segments(const char *s, size_t n, const char *what, struct errbuf *err)
{
	size_t i, seg = 0;

	if (n == 0)
		return err_set(err, TK_EUSAGE, "refusing empty %s", what);
	if (n > 4096)
		return err_set(err, TK_EUSAGE, "refusing %s longer than 4096 bytes", what);
	if (memchr(s, '\0', n))
		return err_set(err, TK_EUSAGE, "refusing %s with a NUL byte", what);
	if (memchr(s, '\\', n))
		return err_set(err, TK_EUSAGE, "refusing %s with a backslash: '%.*s'", what,
			       (int)(n > 300 ? 300 : n), s);
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (i == seg || (i - seg == 1 && s[seg] == '.') ||
		    (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.'))
			return err_set(err, TK_EUSAGE,
				       "refusing %s with an empty, '.' or '..' path segment: '%.*s'",
				       what, (int)(n > 300 ? 300 : n), s);
		seg = i + 1;
	}
	return 0;
}

int local_path(char **out, const char *dir, const char *bucket, const char *key,
	       size_t keylen, struct errbuf *err)
{
	int rc;

	*out = NULL;
	if ((rc = check_segments(bucket, strlen(bucket), "bucket name", err)))
		return rc;
	if (strchr(bucket, '/'))
		return err_set(err, TK_EUSAGE, "refusing bucket name with '/': '%.300s'", bucket);
	if ((rc = check_segments(key, keylen, "object key", err)))
		return rc;
	if (ends_with(key, keylen, LOCAL_META_SUFFIX))
		return err_set(err, TK_EUSAGE, "refusing object key ending in '%s': '%.300s'",
			       LOCAL_META_SUFFIX, key);
	*out = xasprintf("%s/%s/%.*s", dir, bucket, (int)keylen, key);
	return 0;
}

int local_create(int *fd_out, const char *dir, const char *bucket, const char *key,
		 int meta, struct errbuf *err)
{
	char *path = NULL, *rel, *p, *name;
	int dfd = -1, nfd, fd = -1, rc;

	*fd_out = -1;
	if ((rc = local_path(&path, dir, bucket, key, strlen(key), err)))
		return rc;
	if (meta) {
		char *m = xasprintf("%s%s", path, LOCAL_META_SUFFIX);

		free(path);
		path = m;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = err_set(err, TK_EFAIL, "cannot open '%s': %s", dir, strerror(errno));
		goto done;
	}
	rel = path + strlen(dir) + 1;
	/* walk the components below DIR with openat, never following symlinks */
	for (name = rel; (p = strchr(name, '/')); name = p + 1) {
		*p = '\0';
		if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST) {
			rc = err_set(err, TK_EFAIL, "cannot create directory '%s': %s", path,
				     strerror(errno));
			goto done;
		}
		nfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			rc = err_set(err, TK_EFAIL, "cannot open directory '%s': %s", path,
				     strerror(errno));
			goto done;
		}
		close(dfd);
		dfd = nfd;
		*p = '/';
	}
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = err_set(err, TK_EFAIL, "cannot create '%s': %s", path, strerror(errno));
		goto done;
	}
	*fd_out = fd;
	rc = 0;
done:
	if (dfd >= 0)
		close(dfd);
	free(path);
	return rc;
}

int local_read_meta(const char *json, size_t len, char **sig, char **alg, struct errbuf *err)
{
	json_t *root;
	json_error_t jerr;
	int rc = 0;

	*sig = *alg = NULL;
	if (len > 65536)
		return err_set(err, TK_EFAIL, "signature metadata is larger than 64 KiB");
	root = json_loadb(json, len, 0, &jerr);
	if (!json_is_object(root)) {
		rc = err_set(err, TK_EFAIL, "signature metadata is not a JSON object");
		goto done;
	}
	if ((rc = get_str(sig, root, "signature", NULLABLE, "", err)) ||
	    (rc = get_str(alg, root, "signature-algorithm", NULLABLE, "", err))) {
		rc = TK_EFAIL;
		free(*sig);
		*sig = NULL;
	}
done:
	json_decref(root);
	return rc;
}
