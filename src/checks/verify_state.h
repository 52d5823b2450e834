/* verify_state.h: the state file of incremental `verify --state FILE`
 * (README "verify and validate"): per account x region cell, the newest digest that
 * a previous run validated cleanly (the anchor: its key, its signature as
 * hex, its digestEndTime).  The next run starts the cell's integrity window
 * there and requires the chain to arrive at that very digest (chain.h), so
 * each run validates only what is new and a chain cannot be cut between runs.
 *
 * File format (JSON, written atomically: a temp file in the same directory,
 * mode 0600, fsync, rename):
 *   {"trailkeep_verify_state": 1,
 *    "bucket": "...", "prefix": "..." | null, "trail": "...", "org": "o-..." | null,
 *    "cells": [{"account": "...", "region": "...", "digest": KEY,
 *               "signature": HEX, "digest_end": "YYYY-MM-DDTHH:MM:SSZ"}]}
 * A state names the bucket, prefix, trail and organization it belongs to;
 * loading it for another configuration is refused, and so is a corrupt file
 * (TK_EUSAGE: never silently ignored).  A missing file is an empty state.
 *
 * Library code: no printing, no clock.
 */
#ifndef TK_VERIFY_STATE_H
#define TK_VERIFY_STATE_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "err.h"
#include "fileutil.h"

#define VERIFY_STATE_MAX_BYTES (64u << 20)
#define VERIFY_STATE_MAX_CELLS 1000000

struct verify_state_cell {
	char *account, *region;         /* owned */
	char *key, *sig;                /* the anchor digest: S3 key, signature hex */
	time_t end;                     /* its digestEndTime */
};

struct verify_state {
	char *bucket, *prefix, *trail, *org;   /* owned; prefix/org may be NULL */
	struct verify_state_cell *v;
	size_t n, alloc;
	size_t nsorted;                 /* v[0..nsorted) sorted by (account, region) */
};

/* Load path for cfg.  Missing file: an empty state for cfg, 0.  Another
 * config's state, a corrupt or unreadable file: TK_EUSAGE (message names the
 * file).  *st is released by the caller in every case. */
int verify_state_load(struct verify_state *st, const char *path, const struct tk_config *cfg,
		      struct errbuf *err);
/* The same from memory (path only names it in messages). */
int verify_state_parse(struct verify_state *st, const char *data, size_t len, const char *path,
		       const struct tk_config *cfg, struct errbuf *err);
/* Write atomically (temp file + rename in the same directory, 0600).
 * 0 or TK_EFAIL. */
int verify_state_save(const struct verify_state *st, const char *path, struct errbuf *err);
void verify_state_release(struct verify_state *st);

const struct verify_state_cell *verify_state_find(const struct verify_state *st,
						  const char *account, const char *region);
/* Set (insert or replace) a cell's anchor.  Pointers verify_state_find
 * returned before are invalid afterwards. */
void verify_state_set(struct verify_state *st, const char *account, const char *region,
		      const char *key, const char *sig, time_t end);

/* tk_write_file_atomic: fileutil.h */

#endif
