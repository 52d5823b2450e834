/* chain.h: walking a trail's digest chain for one account x region and
 * window, the AWS CLI's DigestTraverser semantics plus what it misses
 * (reference/cloudtrail-integrity.md sections 5 and 6).
 *
 * Driven in phases so the caller can do all I/O in parallel:
 *   1. chain_new(); chain_add_listed_digest() for every key the digest
 *      listing returned (regular and backfill, any order) and
 *      chain_add_listed_log() for every log key listed for the window.
 *   2. loop: n = chain_wanted(c, &keys); if n == 0 break; fetch those keys
 *      (in parallel) and hand each result to chain_add_fetched().  The
 *      first round asks for every listed digest; later rounds ask only for
 *      chain links that were not listed (the digest before the window, a
 *      deleted one), usually one or two.
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
 * never reached is digest_missing ("not part of the chain"), a link into
 * another bucket is not followed (digest_chain_gap, the chain continues
 * elsewhere), no digest at all in the window is digest_missing, and the
 * signature-algorithm metadata must be SHA256withRSA.
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

/* Keys not matching the trail's digest pattern are ignored (returns 1). */
int chain_add_listed_digest(struct chain *c, const char *key);
/* Keys not matching the log pattern are ignored (returns 1). */
int chain_add_listed_log(struct chain *c, const char *key);

/* Digest keys whose fetch the walk needs now (borrowed until the next
 * call).  0 when done. */
size_t chain_wanted(struct chain *c, const char *const **keys);
/* Result of fetching digest key: for OK the gzip'd body and the
 * x-amz-meta-signature / -signature-algorithm values (NULL if absent);
 * errmsg describes DENIED/ERROR. */
void chain_add_fetched(struct chain *c, const char *key, enum chain_fetch st,
		       const void *gz, size_t len, const char *sig, const char *sig_alg,
		       const char *errmsg);

/* Decide.  Appends findings.  0, or TK_EUSAGE when chain_wanted() is not 0. */
int chain_walk(struct chain *c, struct findings *out);

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
/* The newest (by digestEndTime) valid regular digest: its key, its signature
 * (hex, from the x-amz-meta-signature) and digestEndTime, borrowed until
 * chain_free.  0 when there is one, -1 when none. */
int chain_newest_valid(const struct chain *c, const char **key, const char **sig, time_t *end);

#endif
