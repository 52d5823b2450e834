/* loghash.h: streaming gunzip + SHA-256 of the UNCOMPRESSED bytes, fed as
 * the bytes arrive from the network; no object is held whole.
 *
 * Semantics match the AWS CLI 2.9.19 validator (validation.py _download_log:
 * zlib.decompressobj(16 + MAX_WBITS), decompress chunks, flush, hash):
 *  - gzip wrapper only (no raw zlib/deflate), first member only: a second
 *    gzip member, like any byte after the end of the first member, is NOT
 *    hashed (decompressobj leaves it in unused_data).  We report those bytes
 *    as LOGHASH_TRAILING_DATA (newer CLIs reject them; 2.9.19 ignores them).
 *  - a stream that ends early is not an error for the CLI: it hashes what
 *    was inflated (a mismatch unless only the trailer was cut).  We report
 *    LOGHASH_TRUNCATED and still give the hash of what was inflated.
 *  - a deflate/header error (zlib.error) is LOGHASH_BAD_GZIP: "invalid format".
 *  - more than max_inflated uncompressed bytes (gzip bomb) stops inflating:
 *    LOGHASH_TOO_BIG (our limit; becomes log_format_invalid).
 * With keep_limit > 0 the uncompressed bytes are also kept (digest files,
 * which must then be parsed); more than keep_limit is LOGHASH_TOO_BIG.
 */
#ifndef TK_LOGHASH_H
#define TK_LOGHASH_H

#include <stddef.h>
#include <stdint.h>

enum loghash_status {
	LOGHASH_OK = 0,
	LOGHASH_TRUNCATED,       /* input ended before the end of the gzip member */
	LOGHASH_TRAILING_DATA,   /* bytes after the end of the first gzip member */
	LOGHASH_BAD_GZIP,        /* not gzip, or corrupt deflate data / header */
	LOGHASH_TOO_BIG          /* uncompressed size over the limit */
};

/* default decompressed-size cap for log files (gzip bomb guard) */
#define LOGHASH_MAX_INFLATED ((uint64_t)4 << 30)

struct loghash;

struct loghash *loghash_new(uint64_t max_inflated, size_t keep_limit);
void loghash_free(struct loghash *h);
/* Feed compressed bytes.  Returns LOGHASH_OK while it makes sense to keep
 * feeding, else the (final) error status: the caller may stop reading. */
enum loghash_status loghash_feed(struct loghash *h, const void *p, size_t n);
/* End of input.  hex gets the lowercase hex SHA-256 of the bytes inflated so
 * far (also for TRUNCATED and TRAILING_DATA; "" for BAD_GZIP/TOO_BIG). */
enum loghash_status loghash_finish(struct loghash *h, char hex[65]);
uint64_t loghash_inflated(const struct loghash *h);
/* kept uncompressed bytes (keep_limit > 0), NUL-terminated; borrowed */
const char *loghash_kept(const struct loghash *h, size_t *len);
const char *loghash_status_str(enum loghash_status s);

/* One-shot helper: hash a whole buffer. */
enum loghash_status loghash_buffer(const void *gz, size_t n, uint64_t max_inflated,
				   char hex[65]);

#endif
