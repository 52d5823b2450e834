/* account.h: typed Account Management client (REST-JSON, signing name
 * "account", one global endpoint: account.us-east-1.amazonaws.com in the aws
 * partition, resolved by endpoint.h).  Only what doctor needs: whether a
 * region is enabled for the calling account.  Implemented in src/services/account.c. */
#ifndef TK_ACCOUNT_H
#define TK_ACCOUNT_H

#include <stdbool.h>

#include "aws.h"

/* GetRegionOptStatus {"RegionName"} for the caller's own account (no
 * AccountId: that form works for the management account and members alike).
 * *status gets ENABLED | ENABLING | DISABLING | DISABLED | ENABLED_BY_DEFAULT
 * (caller frees). */
int account_region_opt_status(struct aws_ctx *ctx, const char *region, char **status, struct errbuf *err);

/* Can CloudTrail run in a region with this status? (ENABLED, ENABLED_BY_DEFAULT) */
bool account_region_usable(const char *status);

#endif
