/* chain.h: walking a trail's digest chain for one account x region and
 * window, the AWS CLI's DigestTraverser semantics plus what it misses
 * (reference/cloudtrail-integrity.md sections 5 and 6).
 *
 * Driven in phases so the caller can do all I/O in parallel:
 *   1. chain_new(); chain_add_listed_digest() for every key the digest
 *      listing returned (regular and backfill, any order) and
 *      chain_add_listed_log() for every log key listed for the window.
 *   2. loop: n = chain_wanted(c, &refs); if n == 0 break; fetch those
 *      bucket/key pairs (in parallel) and hand each result to
 *      chain_add_fetched().  The first round asks for every listed digest;
 *      later rounds ask only for chain links that were not listed (the
 *      digest before the window, a deleted one, the digests at an earlier S3
 *      location of the trail), one at a time.
 *   3. chain_walk(c, findings): digest findings; then chain_nlogs()/
 *      chain_log() list the log files of the VALID digests to fetch + hash
 *      (loghash.h); give each result to chain_log_result().
 *   4. chain_unreferenced(c, findings): listed logs no digest lists.
 *
 * Walk (regular digests; as validation.py DigestTraverser.traverse):
 * start from the newest listed digest (by key date, listed = key date in
 * [start, end + 1h]); while the last valid digest's digestStartTime >=
 * start: validate it (format, required keys, "moved", signature metadata
 * present, public key fingerprint known, RSA signature); valid -> follow
 * previousDigestS3Object, or when previousDigestS3Bucket is null (restart)
 * jump to the newest listed digest older than it and report the gap
 * (digest_chain_gap).  Invalid or not found -> finding, jump to the newest
 * listed digest older than it.  Beyond the CLI: a listed digest the walk
 * never reached is digest_missing ("not part of the chain"), no digest at
 * all in the window is digest_missing, and the signature-algorithm metadata
 * must be SHA256withRSA.
 * Location changes (reference section 5): CloudTrail keeps one chain when
 * the trail's bucket or S3KeyPrefix changes; the first digest at the new
 * location links to the last one at the old location.  The walk follows a
 * link wherever it points, as the CLI does: the link must name a valid
 * bucket and a key of this trail's digest pattern (account, region, trail,
 * home region; any prefix, the trail's organization id or none) older than
 * the linking digest, else digest_format_invalid.  The linked digest is
 * checked like any other (moved check against where it was read, signature)
 * and its log files are hashed wherever they are.  A linked digest at
 * another location (another bucket, or a key outside the listed prefix)
 * that cannot be read (access denied, or any error after retries) is
 * digest_link_unreadable naming s3://bucket/key and the S3 error; one that
 * does not exist is digest_missing.  After a failure there the walk goes on
 * with the newest listed digest older than it (other locations are not
 * listed).
 * Backfill digests ("_backfill.json.gz") are each validated on their own
 * (no chain/gap analysis: the 2.9.19 CLI predates them); their logFiles
 * count like regular ones.
 * A log file counts as referenced when any format-valid digest lists it;
 * only logs of signature-valid digests are hashed (nothing is trusted from a
 * digest that did not verify).
 */
#ifndef TK_CHAIN_H
#define TK_CHAIN_H

#include <stddef.h>
#include <time.h>

#include "digest.h"
#include "findings.h"
#include "loghash.h"

struct chain_params {
	const char *bucket;
	struct digest_loc loc;
	time_t start, end;
	const struct keyset *keys;     /* borrowed; public keys for the window */
	/* incremental runs (verify --state): the newest digest a previous run
	 * verified (NULL: none).  start should be its digestEndTime.  The walk
	 * must arrive at it: the digest that links to it must carry its
	 * signature as previousDigestSignature (else digest_chain_gap naming it),
	 * it must still exist (else digest_missing) with the same signature
	 * metadata and still verify; it is not counted or re-hashed. */
	const char *anchor_key, *anchor_sig;
};

enum chain_fetch {
	CHAIN_FETCH_OK,
	CHAIN_FETCH_NOT_FOUND,         /* NoSuchKey (404) */
	CHAIN_FETCH_DENIED,            /* AccessDenied (403) */
	CHAIN_FETCH_ERROR              /* anything else, after retries */
};

struct chain;

struct chain *chain_new(const struct chain_params *p);
void chain_free(struct chain *c);

/* Keys (in the bucket of chain_params) not matching the trail's digest
 * pattern are ignored (returns 1). */
int chain_add_listed_digest(struct chain *c, const char *key);
/* Keys not matching the log pattern are ignored (returns 1). */
int chain_add_listed_log(struct chain *c, const char *key);

/* A digest object to fetch. */
struct chain_ref {
	const char *bucket, *key;
};
/* Digests whose fetch the walk needs now (borrowed until the next call).
 * 0 when done.  A bucket other than chain_params' is a link into the
 * trail's earlier bucket; its name passed digest_bucket_name_ok. */
size_t chain_wanted(struct chain *c, const struct chain_ref **refs);
/* Result of fetching digest bucket/key: for OK the gzip'd body and the
 * x-amz-meta-signature / -signature-algorithm values (NULL if absent);
 * errmsg describes NOT_FOUND (optional), DENIED and ERROR. */
void chain_add_fetched(struct chain *c, const char *bucket, const char *key,
		       enum chain_fetch st, const void *gz, size_t len, const char *sig,
		       const char *sig_alg, const char *errmsg);

/* The CPU-bound part of chain_add_fetched (inflate, parse, and the RSA
 * signature check with the key the walk will pick: keyset_find on the
 * digest's fingerprint), done off the chain's thread (validate_s3.c: on
 * the hash pool's workers).  chain_preload touches only *l and reads keys
 * (which must not change meanwhile); chain_add_loaded then hands the result
 * to the chain (the digest is moved out of *l; release *l after), with the
 * same findings as chain_add_fetched(CHAIN_FETCH_OK, gz, ...). */
struct chain_loaded {
	int load_rc;                    /* digest_load_gz's */
	char *load_msg;
	struct digest d;
	const struct pubkey *key;       /* checked: the key used */
	int checked;                    /* digest_verify ran */
	int verify_rc;
	char *verify_msg;
};
void chain_preload(struct chain_loaded *l, const struct keyset *keys, const void *gz, size_t len,
		   const char *sig);
void chain_add_loaded(struct chain *c, const char *bucket, const char *key, const char *sig,
		      const char *sig_alg, struct chain_loaded *l);
void chain_loaded_release(struct chain_loaded *l);

/* Decide.  Appends findings.  0, or TK_EUSAGE when chain_wanted() is not 0. */
int chain_walk(struct chain *c, struct findings *out);

/* bucket: wherever the signed digest says (after a bucket change, the
 * earlier bucket) */
struct chain_log {
	const char *bucket, *key, *hash;   /* hash: expected hex SHA-256 */
};
size_t chain_nlogs(const struct chain *c);
const struct chain_log *chain_log(const struct chain *c, size_t i);
/* Report log i's outcome (fetch status, and for OK the loghash status and
 * hex).  Appends log_missing / access_denied / cell_unchecked /
 * log_format_invalid / log_hash_mismatch as due. */
void chain_log_result(struct chain *c, size_t i, enum chain_fetch st,
		      enum loghash_status hs, const char *hex, const char *errmsg,
		      struct findings *out);
/* log_unreferenced for listed logs no format-valid digest lists, with key
 * time in [start, newest valid digest end]. */
void chain_unreferenced(struct chain *c, struct findings *out);

size_t chain_digests_valid(const struct chain *c);
size_t chain_logs_valid(const struct chain *c);
/* newest digestEndTime of a valid digest, 0 when none */
time_t chain_newest_end(const struct chain *c);
/* The newest (by digestEndTime) valid regular digest in the bucket of
 * chain_params (the --state anchor names no bucket): its key, its signature
 * (hex, from the x-amz-meta-signature) and digestEndTime, borrowed until
 * chain_free.  0 when there is one, -1 when none. */
int chain_newest_valid(const struct chain *c, const char **key, const char **sig, time_t *end);

#endif
