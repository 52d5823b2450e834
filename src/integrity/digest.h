/* digest.h: CloudTrail digest files (reference/cloudtrail-integrity.md
 * sections 3-5): parsing, the "moved" check, the string to sign, RSA
 * signature verification against ListPublicKeys keys, digest key names and
 * listing prefixes, and the --save/--local directory layout.
 *
 * Pure library code: no network, no clock, no printing.
 */
#ifndef TK_DIGEST_H
#define TK_DIGEST_H

#include <stddef.h>
#include <time.h>

#include "err.h"
#include "buf.h"

/* limits for hostile input */
#define MAX_DIGEST_JSON (16u << 20)      /* uncompressed digest file */
#define MAX_DIGEST_GZ   (16u << 20)      /* compressed digest object */
#define MAX_DIGEST_LOGFILES 100000       /* entries in logFiles */
#define MAX_PUBKEYS_JSON (4u << 20)      /* public-keys.json / ListPublicKeys body */

struct digest_logfile {
	char *bucket, *key;             /* s3Bucket, s3Object */
	char *hash, *hash_alg;          /* hashValue (hex), hashAlgorithm (may be NULL) */
	char *newest_event, *oldest_event;  /* may be NULL */
};

struct digest {
	/* NULL where the file has null or the key is absent (optional keys) */
	char *account_id;
	char *start_time, *end_time;    /* as in the file (end_time goes into the string to sign) */
	time_t start, end;              /* parsed */
	char *bucket, *object;          /* digestS3Bucket, digestS3Object */
	char *newest_event, *oldest_event;
	char *prev_bucket, *prev_object, *prev_hash, *prev_hash_alg;
	char *prev_signature;           /* NULL = JSON null = chain start */
	char *fingerprint;              /* digestPublicKeyFingerprint */
	char *signature_alg_field;      /* digestSignatureAlgorithm */
	struct digest_logfile *logs;
	size_t nlogs;
	char sha256[65];                /* hex SHA-256 of the uncompressed bytes */
};

void digest_release(struct digest *d);

/* Parse uncompressed digest JSON (len <= MAX_DIGEST_JSON).  Checks the keys
 * the AWS CLI requires (digestPublicKeyFingerprint, digestS3Bucket,
 * digestS3Object, previousDigestSignature, digestEndTime, digestStartTime),
 * every field's type (string, or string-or-null for newestEventTime,
 * oldestEventTime and previousDigest*), logFiles (array or null, each entry
 * with string s3Bucket, s3Object, hashValue), the times' format.  On error
 * returns TK_ETAMPERED with the reason in err (-> digest_format_invalid).
 * Sets sha256 from the bytes given. */
int digest_parse_json(struct digest *out, const char *json, size_t len, struct errbuf *err);
/* Inflate a gzip'd digest (first member, as the CLI; truncated, trailing
 * data, bad gzip or too big -> TK_ETAMPERED) and parse it. */
int digest_load_gz(struct digest *out, const void *gz, size_t len, struct errbuf *err);

/* digestS3Bucket/digestS3Object equal where it was read from?  0 or
 * TK_ETAMPERED (-> digest_moved). */
int digest_check_location(const struct digest *d, const char *bucket, const char *key,
			  struct errbuf *err);
/* "end\nbucket/object\nsha256hex\nprevsig-or-null" (caller frees) */
char *digest_string_to_sign(const struct digest *d);

/* ---- public keys (ListPublicKeys) ---- */
struct pubkey {
	char *fingerprint;
	void *pkey;           /* EVP_PKEY *, NULL when the value did not load */
	char *load_error;     /* why it did not load */
	time_t valid_from, valid_to;   /* 0 when unknown */
};

struct keyset {
	struct pubkey *v;
	size_t n, alloc;
};

void keyset_init(struct keyset *ks);
void keyset_release(struct keyset *ks);
/* value is ListPublicKeys' Value as it appears in the JSON response:
 * base64 of the DER key (the AWS CLI keeps blobs as base64 text and
 * validation.py decodes once).  Decoded leniently (b64decode without
 * validate); a value that is base64 of base64 text is also accepted.  Then
 * loaded as SubjectPublicKeyInfo or PKCS#1 RSAPublicKey (cryptography's
 * load_der_public_key).  A value that does not load is kept with
 * load_error (digests signed with it are reported, like the CLI does). */
void keyset_add(struct keyset *ks, const char *fingerprint, const char *value,
		time_t valid_from, time_t valid_to);
/* Add from a raw DER key (tests, tools). */
int keyset_add_der(struct keyset *ks, const char *fingerprint, const unsigned char *der,
		   size_t len, time_t valid_from, time_t valid_to, struct errbuf *err);
/* Parse a ListPublicKeys response ({"PublicKeyList":[...]}) or a bare array
 * of its entries (DIR/public-keys.json).  Validity times: epoch numbers or
 * ISO-8601 strings.  0 or TK_EFAIL. */
int keyset_load_json(struct keyset *ks, const char *json, size_t len, struct errbuf *err);
/* Lookup by fingerprint, like the CLI (no validity-window check; the set is
 * what ListPublicKeys returned for the window).  NULL when unknown. */
const struct pubkey *keyset_find(const struct keyset *ks, const char *fingerprint);
/* Same, but also requires t within [valid_from, valid_to] when both known. */
const struct pubkey *keyset_find_at(const struct keyset *ks, const char *fingerprint, time_t t);

/* RSA PKCS#1 v1.5 SHA-256 verification of d's string to sign with the hex
 * signature from x-amz-meta-signature.  0 valid; TK_ETAMPERED bad
 * signature or signature not hex; TK_EFAIL key not usable. */
int digest_verify(const struct digest *d, const struct pubkey *k, const char *sig_hex,
		  struct errbuf *err);

/* ---- digest key names and listing ---- */
struct digest_loc {
	const char *prefix;        /* S3KeyPrefix or NULL/"" */
	const char *org_id;        /* organization id for org trails, or NULL */
	const char *account;
	const char *region;        /* region of the digests (source region) */
	const char *trail;         /* trail name */
	const char *home_region;   /* trail's home region */
};

/* The time in a digest key: the 16 chars YYYYMMDDTHHmmssZ before ".json.gz"
 * or "_backfill.json.gz".  0 or -1; *backfill set when non-NULL. */
int digest_key_time(const char *key, time_t *out, int *backfill);
/* Does key match this trail's digest key pattern (the CLI's regex, plus
 * "_backfill")?  1 or 0. */
int digest_key_matches(const struct digest_loc *loc, const char *key);
/* Does key match the digest key pattern of loc's account, region, trail and
 * home region under ANY S3KeyPrefix (also none), with loc's organization id
 * or none?  A digest chain survives a change of the trail's S3 location, so
 * a previousDigestS3Object may live under another prefix (or bucket).  1/0. */
int digest_key_matches_trail(const struct digest_loc *loc, const char *key);
/* Is name a valid S3 bucket name (3-63 of [a-z0-9.-], letter or digit at
 * both ends, no ".."; what a previousDigestS3Bucket must be)?  1/0. */
int digest_bucket_name_ok(const char *name);
/* The key texts of a location: 0 and *out (caller frees), or TK_ELIMIT and
 * *out NULL when the text would be longer than DIGEST_MAX_KEY_TEXT (a
 * prefix is never shortened: issue 14).
 * "[P/]AWSLogs/[org/]acct/CloudTrail-Digest/region/" */
#define DIGEST_MAX_KEY_TEXT (64 * 1024)
int digest_list_prefix(char **out, const struct digest_loc *loc);
/* The CLI's ListObjects Marker for start: the key a digest made at
 * start - 1 minute would have. */
int digest_start_marker(char **out, const struct digest_loc *loc, time_t start);
/* "[P/]AWSLogs/[org/]acct/CloudTrail/region/" */
int log_list_prefix(char **out, const struct digest_loc *loc);
/* The one S3 key layout (this block builds every key text of it; the parsers
 * are digest_key_matches*, digest_key_time, log_key_time):
 * "[P/]AWSLogs/[org/]" (prefix, org_id NULL or "" for none) */
int s3_logs_base(char **out, const char *prefix, const char *org_id);
/* The key of a log file made at t:
 * ".../CloudTrail/region/YYYY/MM/DD/acct_CloudTrail_region_YYYYMMDDTHHmmZ_<unique>.json.gz" */
int log_object_key(char **out, const struct digest_loc *loc, time_t t, const char *unique);
/* The key of a digest file made at t:
 * ".../CloudTrail-Digest/region/YYYY/MM/DD/acct_CloudTrail-Digest_region_trail_home_YYYYMMDDTHHmmssZ.json.gz" */
int digest_object_key(char **out, const struct digest_loc *loc, time_t t);
/* Time in a log key "<acct>_CloudTrail_<region>_YYYYMMDDTHHmmZ_xxxx.json.gz"
 * under log_list_prefix.  0 or -1. */
int log_key_time(const struct digest_loc *loc, const char *key, time_t *out);

/* ---- --save DIR / --local DIR layout ----
 *   DIR/public-keys.json               ListPublicKeys entries (a JSON array)
 *   DIR/<bucket>/<key>                 each object, under its S3 key
 *   DIR/<bucket>/<key>.meta.json       each digest's {"signature": ...,
 *                                      "signature-algorithm": ...}
 * local_path() refuses bucket names and keys that could escape DIR or
 * collide: empty, absolute, "." or ".." or empty segments, NUL, backslash,
 * keys ending in ".meta.json" or "/".  Returns "DIR/bucket/key" (caller
 * frees) or TK_EUSAGE. */
#define LOCAL_META_SUFFIX ".meta.json"
#define LOCAL_PUBKEYS "public-keys.json"
int local_path(char **out, const char *dir, const char *bucket, const char *key,
	       size_t keylen, struct errbuf *err);
/* Create DIR/bucket/key for writing: missing directories made 0700 (never
 * following symlinks below DIR), the file opened O_WRONLY|O_CREAT|O_TRUNC|
 * O_NOFOLLOW mode 0600.  *fd_out owned by the caller.  meta != 0 opens the
 * key's .meta.json instead. */
int local_create(int *fd_out, const char *dir, const char *bucket, const char *key,
		 int meta, struct errbuf *err);
/* Read a digest's .meta.json: *sig and *alg (caller frees; NULL if absent). */
int local_read_meta(const char *json, size_t len, char **sig, char **alg,
		    struct errbuf *err);

#endif
