#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <openssl/evp.h>

#include "buf.h"
#include "loghash.h"
#include "banned.h"

#define OUTBUF (64 * 1024)

struct loghash {
	z_stream zs;
	int zs_ok;
	EVP_MD_CTX *md;
	enum loghash_status st;
	int ended;                   /* Z_STREAM_END seen */
	int finished;
	uint64_t inflated, max_inflated;
	size_t keep_limit;
	struct buf kept;
	/* the inflate output buffer lives on loghash_feed's stack: a hasher is
	 * made per log object, and zeroing 64 KiB in each loghash_new was up to
	 * 30% of verify's CPU (bench/replay_integrity.py, perf) */
};

struct loghash *loghash_new(uint64_t max_inflated, size_t keep_limit)
{
	struct loghash *h = xcalloc(1, sizeof(*h));

	h->max_inflated = max_inflated ? max_inflated : LOGHASH_MAX_INFLATED;
	h->keep_limit = keep_limit;
	if (keep_limit)
		buf_init(&h->kept, keep_limit);
	/* 16 + MAX_WBITS: gzip wrapper only, as the AWS CLI asks zlib for */
	if (inflateInit2(&h->zs, 16 + MAX_WBITS) != Z_OK)
		tk_oom();   /* Z_MEM_ERROR; the other codes cannot happen with these arguments */
	h->zs_ok = 1;
	h->md = EVP_MD_CTX_new();
	if (!h->md)
		tk_oom();
	if (EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)
		tk_bug("SHA-256 initialisation failed");
	return h;
}

void loghash_free(struct loghash *h)
{
	if (!h)
		return;
	if (h->zs_ok)
		inflateEnd(&h->zs);
	EVP_MD_CTX_free(h->md);
	if (h->keep_limit)
		buf_release(&h->kept);
	free(h);
}

static int consume(struct loghash *h, const unsigned char *out, size_t n)
{
	if (h->max_inflated - h->inflated < n) {
		h->st = LOGHASH_TOO_BIG;
		return -1;
	}
	h->inflated += n;
	if (EVP_DigestUpdate(h->md, out, n) != 1)
		tk_bug("SHA-256 update failed");
	if (h->keep_limit && buf_add(&h->kept, out, n) < 0) {
		h->st = LOGHASH_TOO_BIG;
		return -1;
	}
	return 0;
}

enum loghash_status loghash_feed(struct loghash *h, const void *p, size_t n)
{
	const unsigned char *in = p;
	unsigned char out[OUTBUF];

	if (h->st != LOGHASH_OK && h->st != LOGHASH_TRAILING_DATA)
		return h->st;
	if (h->ended) {
		if (n)
			h->st = LOGHASH_TRAILING_DATA;
		return h->st;
	}
	while (n) {
		uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
		int zr;

		h->zs.next_in = (Bytef *)(uintptr_t)in;
		h->zs.avail_in = chunk;
		do {
			h->zs.next_out = out;
			h->zs.avail_out = OUTBUF;
			zr = inflate(&h->zs, Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
				h->st = LOGHASH_BAD_GZIP;
				return h->st;
			}
			if (consume(h, out, OUTBUF - h->zs.avail_out) < 0)
				return h->st;
			if (zr == Z_STREAM_END) {
				h->ended = 1;
				break;
			}
			if (zr == Z_BUF_ERROR)
				break;
		} while (h->zs.avail_out == 0 || h->zs.avail_in > 0);
		if (h->ended) {
			size_t used = chunk - h->zs.avail_in;

			if (n - used > 0)
				h->st = LOGHASH_TRAILING_DATA;
			return h->st;
		}
		in += chunk;
		n -= chunk;
	}
	return h->st;
}

enum loghash_status loghash_finish(struct loghash *h, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	static const char digits[] = "0123456789abcdef";

	hex[0] = '\0';
	if (h->finished)
		return h->st;
	h->finished = 1;
	if (h->st == LOGHASH_OK && !h->ended)
		h->st = LOGHASH_TRUNCATED;
	if (h->st == LOGHASH_BAD_GZIP || h->st == LOGHASH_TOO_BIG)
		return h->st;
	if (EVP_DigestFinal_ex(h->md, md, &mdlen) != 1 || mdlen != 32)
		tk_bug("SHA-256 final failed");
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	return h->st;
}

uint64_t loghash_inflated(const struct loghash *h)
{
	return h->inflated;
}

const char *loghash_kept(const struct loghash *h, size_t *len)
{
	if (len)
		*len = h->keep_limit ? h->kept.len : 0;
	return h->keep_limit ? buf_cstr(&h->kept) : "";
}

const char *loghash_status_str(enum loghash_status s)
{
	switch (s) {
	case LOGHASH_OK: return "ok";
	case LOGHASH_TRUNCATED: return "gzip stream truncated";
	case LOGHASH_TRAILING_DATA: return "data after the end of the gzip member";
	case LOGHASH_BAD_GZIP: return "not a valid gzip stream";
	case LOGHASH_TOO_BIG: return "uncompressed size over the limit";
	}
	return "unknown";
}

enum loghash_status loghash_buffer(const void *gz, size_t n, uint64_t max_inflated,
				   char hex[65])
{
	struct loghash *h = loghash_new(max_inflated, 0);
	enum loghash_status st;

	loghash_feed(h, gz, n);
	st = loghash_finish(h, hex);
	loghash_free(h);
	return st;
}
