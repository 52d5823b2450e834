/* verify.h: `trailkeep verify` as a library: for every configured account x
 * region (README "verify and validate"; codes: docs/findings.md)
 *   1. control plane, in the trail's home region, from the account that owns
 *      the trail (organization mode: the management account; per-account
 *      mode: each account), reached by STS AssumeRole of [organization]
 *      assume_role unless the caller already is that account: GetTrail,
 *      GetTrailStatus, GetEventSelectors, DescribeTrails ->
 *      trail_missing, trail_not_logging, trail_delivery_error,
 *      trail_config_drift, validation_disabled, global_events_duplicated;
 *   2. delivery, from S3 in the central bucket (read as the log archive
 *      account): the newest log file under the account's region prefix in
 *      the last day -> delivery_stale / delivery_none; the account prefixes
 *      under AWSLogs/[org]/ -> prefix_missing / prefix_unexpected.  Never
 *      from GetTrailStatus alone: an org trail has one LatestDeliveryTime for
 *      every member, so a silent member shows only in S3;
 *   3. integrity (validate.h) over the window, unless disabled.
 * A cell that could not be checked at all gets cell_unchecked (never "ok").
 * Trail-level findings (step 1) land, in per-account mode, on every selected
 * cell of the trail's owner (its one trail covers them all); in organization
 * mode once, on the management account's home-region cell.  An account
 * whose role cannot be assumed makes only its own cells unchecked.
 *
 * Sharding (README "verify and validate", `verify --shard K/N`): the selected cells,
 * sorted by (account id, region) with strcmp (no locale, no hashing), cell i
 * (0-based) belongs to shard (i mod N) + 1; a shard makes no call for the
 * cells of other shards.  The trail is read by every shard with cells (it
 * decides whether they are checkable at all), but its findings are reported
 * only by the shard that owns the cell they land on (organization mode: the
 * management account's home-region cell; shard 1 when that cell is not
 * selected).  prefix_unexpected comes from shard 1 only; prefix_missing is
 * per cell, so each shard reports its own.  The shards' findings and cells
 * together are exactly one unsharded run's.  A shard without cells, without
 * the trail's cell and other than shard 1 makes no call at all.
 *
 * Incremental runs (`verify --state FILE`, verify_state.h): each cell's
 * integrity window starts at the digestEndTime of the newest digest a
 * previous run verified cleanly (the anchor), unless the caller gave an
 * explicit start that is earlier; the chain walk must arrive at the anchor
 * (chain.h).  After the run, every cell without any finding whose chain had a
 * valid newer digest gets it as its new anchor; a cell with findings keeps
 * its old one, so the problem is reported again next time.
 *
 * Library code: no printing; the clock comes in opts (now).
 */
#ifndef TK_VERIFY_H
#define TK_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "err.h"
#include "findings.h"
#include "validate.h"

struct aws_ctx;
struct aws_sched;
struct plan;
struct verify_state;

/* The newest log file is looked for in the last day, or in twice
 * max_delivery_age when that is longer (so delivery_stale stays reachable);
 * a log file older than the window does not count: delivery_none. */
#define VERIFY_FRESHNESS_WINDOW 86400
time_t verify_freshness_window(const struct tk_config *cfg);

struct verify_opts {
	const struct tk_config *cfg;
	const struct plan *plan;        /* the config's plan (plan_build): the planned
	                                   trails that drift is measured against */
	const char *const *accounts;    /* filter (configured ids); NULL/0: all */
	size_t naccounts;
	const char *const *regions;     /* filter; NULL/0: all */
	size_t nregions;
	time_t now;
	time_t start, end;              /* integrity window */
	bool integrity;
	struct aws_ctx *aws;            /* the caller's credentials */
	struct aws_sched *sched;        /* async scheduler on aws->http */
	/* the pool of the control plane's own thread (step 1 runs beside steps
	 * 2 and 3, on a context of its own: aws_ctx_fork); NULL: the steps one
	 * after another on aws */
	const struct http_pool_options *http_opts;
	void (*progress)(void *ud, const struct validate_progress *p);
	void *progress_ud;
	/* --shard K/N: 1 <= shard_index <= shard_count; 0/0: no sharding */
	unsigned shard_index, shard_count;
	/* --state: anchors in, updated anchors out (NULL: none) */
	struct verify_state *state;
	bool start_explicit;            /* start came from --start (an earlier
	                                   --start wins over a stored anchor) */
};

#define VERIFY_MAX_SHARDS 1000

/* The number of account x region cells the config and the --account/--region
 * filters select (all shards together). */
size_t verify_cell_count(const struct verify_opts *o);

/* Run every check.  Findings are appended to *out; *cells_out gets *ncells
 * per-cell statistics (caller releases with cell_release + free).
 * Returns 0, or an error that stopped everything (message in err). */
int verify_run(const struct verify_opts *o, struct findings *out, struct cell_stats **cells_out,
	       size_t *ncells, struct errbuf *err);

#endif
