/* validate.h: the integrity engine behind `trailkeep validate` and the
 * integrity part of `trailkeep verify`: for each account x region cell,
 * list the digests and log files of the window, walk the digest chain
 * (chain.h), fetch and hash the log files as streams (loghash.h), and
 * report findings (findings.h) plus per-cell statistics.
 *
 * Two back ends, same findings:
 *  - online: every cell at once over one HTTP pool (aws_async.h): the
 *    listings (ListObjectsV2 from the digest start marker / the log date
 *    path), digest GETs with their signature metadata, streaming log GETs;
 *    ListPublicKeys once per region for the window.  `save_dir` writes
 *    everything fetched in the --local layout (digest.h local_create: 0600
 *    files, 0700 directories, hostile keys refused) plus public-keys.json;
 *    log files no digest lists are downloaded too, so that `--local` on the
 *    copy reports them as well.
 *  - local (`local_dir`): the same walk over a saved copy, no network.
 *
 * Library code: no printing, no clock (the window comes in opts), no env.
 */
#ifndef TK_VALIDATE_H
#define TK_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "findings.h"

struct aws_ctx;
struct aws_sched;

/* Object listings are bounded by what the window can hold (validate_s3.c
 * list_page_bound: one object a second); ListPublicKeys (a few keys a
 * region and year) by this: */
#define VALIDATE_MAX_KEY_PAGES 100
#define VALIDATE_MAX_KEY 1024              /* S3 keys are at most 1024 bytes */
#define VALIDATE_MAX_THREADS 16            /* hashing threads */
/* Cells in progress at once, online.  Each holds its listings and parsed
 * digests until it is done; 1024 cells keep 256 requests in flight (a
 * cell has 2 listings, then its digests, then its log files) with the
 * memory of 1024 cells, not of the whole organization (17,000 cells). */
#define VALIDATE_ACTIVE_CELLS 1024

struct validate_cell {
	const char *account;
	const char *region;
};

/* Incremental runs (verify --state): per cell, in: the digest a previous run
 * verified (key NULL: none; the cell's window then starts at end instead of
 * opts.start, when end < opts.end; chain.h anchor); out: the newest regular
 * digest that validated in this run (new_key NULL: none; malloc'd, the
 * caller frees new_key and new_sig). */
struct validate_anchor {
	const char *key, *sig;
	time_t end;
	char *new_key, *new_sig;
	time_t new_end;
};

struct validate_progress {
	size_t cells, cells_done;
	size_t cells_active;            /* online: started and not done (at most max_active_cells) */
	size_t digests, logs;           /* fetched so far */
	unsigned long long bytes;       /* compressed bytes received */
};

struct validate_opts {
	const char *bucket;
	const char *prefix;             /* S3KeyPrefix, NULL or "" for none */
	const char *trail;              /* trail name (in digest keys) */
	const char *org_id;             /* organization trails: o-xxxx, else NULL */
	const char *home_region;        /* trail's home region (in digest keys) */
	const struct validate_cell *cells;
	size_t ncells;
	time_t start, end;              /* the window */
	uint64_t max_inflated;          /* per log file; 0: LOGHASH_MAX_INFLATED */
	int list_only;                  /* only list the log files (freshness: each cell's
	                                   newest_delivery); no digests, no findings */

	const char *local_dir;          /* non-NULL: offline, from a saved copy */
	int threads;                    /* log hashing and digest checks, online and --local
	                                   (hashpool.h): that many worker threads; 1: on this
	                                   thread only; 0: one per online CPU (sysconf) */
	const char *save_dir;           /* online: also write a --local copy here */

	/* online */
	struct aws_ctx *aws;            /* S3 reads + ListPublicKeys (region set per call) */
	struct aws_sched *sched;        /* the async scheduler over aws->http */

	struct validate_anchor *anchors;  /* NULL, or ncells entries (online and local) */
	size_t max_active_cells;        /* online: cells in progress at once (each holds its
	                                   listings and digests until done); 0:
	                                   VALIDATE_ACTIVE_CELLS (1024) */

	/* optional progress callback (the command layer prints it) */
	void (*progress)(void *ud, const struct validate_progress *p);
	void *progress_ud;
};

/* Run.  Findings are appended to *out (not sorted); cells_out gets
 * ncells statistics (caller releases each with cell_release and frees the
 * array; tally with cells_tally).  A cell that could not be checked at all
 * gets a cell_unchecked finding.  Returns 0, or an error that stopped the
 * whole run (TK_EUSAGE: bad --local/--save directory; TK_EFAIL ...). */
int validate_run(const struct validate_opts *o, struct findings *out,
		 struct cell_stats **cells_out, struct errbuf *err);

#endif
