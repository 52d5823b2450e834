/* trail_drift.h: every difference between a planned trail and the current
 * one, computed in ONE place.  apply uses it to decide what to write
 * (UpdateTrail when a TRAIL_DRIFT_TRAIL item exists, PutEventSelectors
 * when a TRAIL_DRIFT_SELECTORS item exists) and for its read-back check;
 * verify (trail_config_drift) and doctor use it so that whatever apply
 * would change on a trail is reported as drift, and nothing else.
 *
 * Inputs:
 *   planned   the plan's accounts/ID/trail.json document as plan.c renders
 *             it: {"CreateTrail": {...}, "PutEventSelectors": {...}, ...};
 *   cur       the trail as read (GetTrail or DescribeTrails, cloudtrail.h);
 *   cur_sel   the GetEventSelectors response object as read (NULL: not
 *             read, see selectors_unknown);
 *   planned_key_arn  the full ARN of the key the plan's KmsKeyId (an alias
 *             ARN) resolves to, found by the caller (DescribeKey of
 *             kms_alias); NULL when the caller could not resolve it.
 *
 * Settings compared (the `setting` names, stable):
 *   "IsOrganizationTrail", "IsMultiRegionTrail",
 *   "IncludeGlobalServiceEvents", "EnableLogFileValidation"
 *             booleans; an absent current value counts as false (what the
 *             plan's UpdateTrail would send); texts "true" / "false";
 *   "S3BucketName"  texts the bucket names;
 *   "S3KeyPrefix"   current set but planned unset -> planned NULL (apply
 *             sends S3KeyPrefix "" to clear it); unset current -> NULL;
 *   "KmsKeyId"  the trail's key ARN against planned_key_arn.  A trail
 *             without a key while the plan has one, or a key while the
 *             plan has none (planned NULL: apply sends KmsKeyId ""), is
 *             an item whatever planned_key_arn is.  When both have a key
 *             and planned_key_arn is NULL the setting is NOT compared:
 *             key_unknown is set and there is no item (the caller must
 *             report it as unchecked, never as equal);
 *   event selectors (only when the plan has PutEventSelectors), compared
 *             semantically: selector order, field order and value order do
 *             not matter, a string equals a one-element list, basic
 *             selectors' defaults (ReadWriteType All,
 *             IncludeManagementEvents true, empty lists) are filled in, and
 *             no selectors at all means AWS's default (all management
 *             events).  When they differ, the items say how:
 *       "management events"            current/planned one of "all",
 *                                      "read-only", "write-only",
 *                                      "filtered" (other field conditions or
 *                                      excluded sources), "none";
 *       "S3 data events of 'PREFIX'"   the same words, for each planned
 *                                      resources.ARN / DataResources prefix
 *                                      (a missing data-event bucket is
 *                                      current "none"); a current prefix
 *                                      the plan does not have is an item
 *                                      with planned "none";
 *       "event selector"               a selector of another kind only one
 *                                      side has (compact JSON text on that
 *                                      side, NULL on the other);
 *       "event selectors"              selectors with a filter ("filtered"
 *                                      above) on either side that are not
 *                                      the same as written: the canonical
 *                                      JSON text of both sides (two
 *                                      different filters are not the same
 *                                      coverage).
 *   Selectors that log the same events written differently (basic vs
 *   advanced form, other names, read-only plus write-only selectors) are
 *   NOT drift: no false red on a trail set up by hand, and apply leaves
 *   them alone.  A trail that never had selectors put
 *   (HasCustomEventSelectors false) is an "event selectors" item: apply
 *   writes the plan's.
 *   Not compared: logging on/off (GetTrailStatus: trail_not_logging, apply
 *   starts it separately), SNS and CloudWatch Logs settings (left alone
 *   until the plan has them), tags, insight selectors.
 *
 * Every text in an item comes from the inputs: callers printing it to a
 * terminal must escape it like any other text from outside.
 * Library code: no printing, no clock.  Implemented in src/checks/trail_drift.c. */
#ifndef TK_TRAIL_DRIFT_H
#define TK_TRAIL_DRIFT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cloudtrail.h"
#include "err.h"

enum trail_drift_kind {
	TRAIL_DRIFT_TRAIL,        /* converged by UpdateTrail */
	TRAIL_DRIFT_SELECTORS     /* converged by PutEventSelectors (replaces them all) */
};

struct trail_drift_item {
	enum trail_drift_kind kind;
	char *setting;            /* see above */
	char *current;            /* NULL: not set / none */
	char *planned;            /* NULL: planned unset (apply clears it) */
};

struct trail_drift {
	struct trail_drift_item *v;
	size_t n, alloc;
	bool key_unknown;         /* KmsKeyId not compared: planned_key_arn was NULL */
	bool selectors_unknown;   /* event selectors not compared: cur_sel was NULL */
	bool trail_differs;       /* some TRAIL_DRIFT_TRAIL item */
	bool selectors_differ;    /* some TRAIL_DRIFT_SELECTORS item */
};

/* Compare (see above).  0 with *out filled (release it in every case), or
 * TK_EUSAGE when planned has no CreateTrail object, with err saying so.
 * A malformed current answer (wrong types) is compared as what it is (an
 * absent or different value), never skipped. */
int trail_drift_compute(const json_t *planned, const struct ct_trail *cur, const json_t *cur_sel,
			const char *planned_key_arn, struct trail_drift *out, struct errbuf *err);
void trail_drift_release(struct trail_drift *d);

/* The item for setting (exact name), or NULL. */
const struct trail_drift_item *trail_drift_find(const struct trail_drift *d, const char *setting);

/* One line for an item: "S3KeyPrefix is 'x', planned unset" /
 * "management events is 'read-only', planned 'all'".  Caller frees. */
char *trail_drift_describe(const struct trail_drift_item *it);

#endif
