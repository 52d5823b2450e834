/* findings.h: the stable table of finding codes (docs/findings.md), a
 * findings list, per account x region cell statistics, and their rendering
 * as the --json document and as Prometheus text exposition format.
 *
 * Single-threaded: the HTTP layer drives everything from one thread (curl
 * multi), so a findings list has no lock.  Do not share one across threads.
 *
 * JSON schema (version 1, stable; fields are never removed or renamed):
 *   {"version": 1,
 *    "findings": [{"code", "severity", "account", "region", "bucket", "key",
 *                  "message", "hint"}],          absent values are null
 *    "cells": [{"account", "region", "newest_delivery" (epoch s or null),
 *               "digests_checked", "logs_checked", "findings",
 *               "status": "ok" | "findings" | "unchecked"}]}
 */
#ifndef TK_FINDINGS_H
#define TK_FINDINGS_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "buf.h"

enum finding_code {
	F_TRAIL_MISSING,
	F_TRAIL_NOT_LOGGING,
	F_TRAIL_DELIVERY_ERROR,
	F_TRAIL_CONFIG_DRIFT,
	F_VALIDATION_DISABLED,
	F_GLOBAL_EVENTS_DUPLICATED,
	F_DELIVERY_STALE,
	F_DELIVERY_NONE,
	F_PREFIX_MISSING,
	F_PREFIX_UNEXPECTED,
	F_ACCOUNT_NOT_IN_ORG,          /* organization mode: a configured account is not an ACTIVE member */
	F_ACCOUNT_UNCONFIGURED,        /* organization mode: an ACTIVE member the config does not name */
	F_ORG_TRUSTED_ACCESS_DISABLED, /* CloudTrail has no trusted access in Organizations */
	F_CLOUDWATCH_DELIVERY_STALE,   /* [monitoring]: LatestCloudWatchLogsDeliveryTime too old or never */
	F_CLOUDWATCH_DELIVERY_ERROR,   /* [monitoring]: LatestCloudWatchLogsDeliveryError */
	F_MONITORING_DRIFT,            /* [monitoring]: the trail's log group/role differ from the plan */
	F_ACCESS_LOG_STALE,            /* [monitoring]: newest S3 server access log too old */
	F_ACCESS_LOG_NONE,             /* [monitoring]: no S3 server access log at all */
	F_NOTIFY_DENIED,               /* [monitoring]: the alarm topic (policy, key) refuses CloudWatch */
	F_NOTIFY_UNCONFIRMED,          /* [monitoring]: the alarm topic has no confirmed subscription */
	F_DIGEST_MISSING,
	F_DIGEST_MOVED,
	F_DIGEST_FORMAT_INVALID,
	F_DIGEST_SIGNATURE_INVALID,
	F_DIGEST_PUBLIC_KEY_UNKNOWN,
	F_DIGEST_CHAIN_GAP,
	F_DIGEST_LINK_UNREADABLE,      /* a chain link into another bucket/prefix that cannot be read */
	F_LOG_MISSING,
	F_LOG_HASH_MISMATCH,
	F_LOG_FORMAT_INVALID,
	F_LOG_UNREFERENCED,
	F_ACCESS_DENIED,
	F_CELL_UNCHECKED,
	F__COUNT
};

/* Severity decides the exit status (README "Exit codes"): a run with a
 * finding of severity error exits 1; warnings (and info) are reported (text,
 * --json, --metrics) but alone leave the exit status 0.  cell_unchecked is an
 * error and makes the exit status 3. */
enum severity {
	SEV_INFO,      /* worth knowing, not a failure by itself */
	SEV_WARNING,   /* degraded or unusual: reported, exit status 0 */
	SEV_ERROR      /* logging broken, or would be changed by apply, or tampering: exit 1 */
};

const char *finding_code_name(enum finding_code c);   /* "log_missing" */
int finding_code_from_name(const char *name);           /* code or -1 */
enum severity finding_severity(enum finding_code c);
const char *finding_hint(enum finding_code c);          /* one line */
const char *severity_name(enum severity s);             /* "error" */

struct finding {
	enum finding_code code;
	char *account, *region, *bucket, *key;   /* owned, each may be NULL */
	char *message;                           /* owned, never NULL */
};

struct findings {
	struct finding *v;
	size_t n, alloc;
};

void findings_init(struct findings *f);
void findings_release(struct findings *f);
/* A message longer than this is cut and ends with " [truncated]". */
#define FINDING_MAX_MESSAGE 4096
/* Append (strings are copied; NULL allowed for account..key). */
void findings_add(struct findings *f, enum finding_code code, const char *account,
		  const char *region, const char *bucket, const char *key,
		  const char *fmt, ...) TK_PRINTF(7, 8);
/* Move every finding of from to the end of to, in order; from is left empty. */
void findings_move(struct findings *to, struct findings *from);
/* Stable order: account, region, code, bucket, key, message. */
void findings_sort(struct findings *f);
size_t findings_count(const struct findings *f, enum finding_code code);
/* How many findings have severity sev. */
size_t findings_count_severity(const struct findings *f, enum severity sev);

enum cell_status { CELL_OK, CELL_FINDINGS, CELL_UNCHECKED };

struct cell_stats {
	char *account, *region;          /* owned */
	int has_newest;                  /* newest_delivery is valid */
	time_t newest_delivery;          /* epoch of the newest log object */
	size_t digests_checked, logs_checked;
	size_t findings;                 /* set by cells_tally */
	enum cell_status status;         /* set by cells_tally */
};

void cell_init(struct cell_stats *c, const char *account, const char *region);
void cell_release(struct cell_stats *c);
/* Count each cell's findings (matched by account and region) and set its
 * status: unchecked when it has a cell_unchecked finding, else findings/ok. */
void cells_tally(struct cell_stats *cells, size_t n, const struct findings *f);

/* The --json document (findings in their current order: sort first). */
json_t *findings_to_json(const struct findings *f, const struct cell_stats *cells,
			 size_t ncells);
/* Prometheus text format (README "--metrics": every series documented
 * there), no sample timestamps: trailkeep_last_run_timestamp_seconds (now),
 * trailkeep_cells{status}, trailkeep_cell_status{account,region,status}
 * (status ok|warning|red|unchecked, 1 for the cell's, 0 for the others),
 * trailkeep_delivery_age_seconds{account,region} (+Inf when nothing was ever
 * delivered), trailkeep_integrity_failures{account,region},
 * trailkeep_cell_findings{account,region,code,severity} (present ones only),
 * trailkeep_findings{code} for every code,
 * trailkeep_objects_checked_total{kind="digest"|"log"}.  Label values from
 * outside are escaped; bytes outside printable ASCII become '?'.
 * now is the command layer's clock.  0 or TK_ELIMIT. */
int findings_to_prometheus(struct buf *out, const struct findings *f,
			   const struct cell_stats *cells, size_t ncells, time_t now);

#endif
