/* apply_org.h: what apply converges in Organizations (organization mode).
 *
 * An organization trail needs trusted access for cloudtrail.amazonaws.com in
 * Organizations: without it CreateTrail refuses an organization trail
 * (CloudTrailAccessNotEnabledException) and an existing organization trail
 * logs only the management account.  The console enables it when it creates
 * an organization trail; apply does the same, in the management account,
 * right after its preflight reads and before any other write.
 *
 * Library code: never prints, never reads the clock.  Implemented in
 * src/apply/apply_org.c. */
#ifndef TK_APPLY_ORG_H
#define TK_APPLY_ORG_H

#include <stdbool.h>

#include <jansson.h>

#include "err.h"

struct aws_ctx;

/* ListAWSServiceAccessForOrganization in the management account (mgmt).
 * Enabled: 0 with *before and *after NULL (nothing to do).  Not enabled:
 * *before and *after get the change as apply shows it ({"ServicePrincipal",
 * "TrustedAccess": false/true}; caller decrefs) and, unless dry_run,
 * EnableAWSServiceAccess is sent (*written = true) and read back: a write
 * that did not take is an error naming it.  A failed read is an error
 * (nothing written). */
int apply_org_trusted_access(struct aws_ctx *mgmt, bool dry_run, json_t **before, json_t **after,
			     bool *written, struct errbuf *err);

#endif
