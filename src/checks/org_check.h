/* org_check.h: in organization mode the organization itself decides whose
 * logs the organization trail writes.  Two facts from Organizations, read
 * in the management account (README "verify", "doctor", "apply"):
 *
 *   membership      ListAccounts.  A configured account that is not an
 *                   ACTIVE member (gone, SUSPENDED, PENDING_CLOSURE) is no
 *                   longer covered by the organization trail: its logs stop
 *                   silently -> account_not_in_org (error) on each of its
 *                   selected cells.  An ACTIVE member the config does not
 *                   name -> account_unconfigured (warning; account, no
 *                   region): its logs arrive and nobody checks them.  The
 *                   expected accounts are the [account] sections, the
 *                   management and log archive accounts (always), and
 *                   [organization] exclude_accounts (left out on purpose).
 *   trusted access  ListAWSServiceAccessForOrganization.  Without
 *                   cloudtrail.amazonaws.com the organization trail logs
 *                   only the management account ->
 *                   org_trusted_access_disabled (error) on the management
 *                   account's home-region cell.
 *
 * A call that fails leaves what it decides unchecked: cell_unchecked on the
 * management account's home-region cell (exit 3), never "passed".
 *
 * Library code: never prints, never reads the clock. */
#ifndef TK_ORG_CHECK_H
#define TK_ORG_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "findings.h"
#include "orgs.h"

struct aws_ctx;
struct validate_cell;

#define ORG_CLOUDTRAIL_PRINCIPAL "cloudtrail.amazonaws.com"

/* What Organizations says, read once per run. */
struct org_view {
	bool accounts_loaded;
	int accounts_rc;                /* ListAccounts: 0 or the error */
	char accounts_msg[ERRBUF_LEN];
	struct org_account *accounts;
	size_t naccounts;
	bool access_loaded;
	int access_rc;                  /* ListAWSServiceAccessForOrganization: 0 or the error */
	char access_msg[ERRBUF_LEN];
	bool trusted;                   /* cloudtrail.amazonaws.com has trusted access */
};

/* Load what is asked for and not loaded yet (mgmt: a context in the
 * management account; NULL records msg as the error of both). */
void org_view_load(struct org_view *v, struct aws_ctx *mgmt, const char *msg, bool accounts, bool access);
void org_view_release(struct org_view *v);
/* The member with this id, NULL when ListAccounts did not list it. */
const struct org_account *org_view_find(const struct org_view *v, const char *id);
/* Is id an expected account of cfg (an [account] section, the management or
 * log archive account, or excluded on purpose)? */
bool org_account_expected(const struct tk_config *cfg, const char *id);

/* verify's organization checks (organization mode only; nothing otherwise). */
struct org_check_opts {
	const struct tk_config *cfg;
	struct aws_ctx *mgmt;                 /* the management account; NULL: unreachable (the
	                                         trail check has made every cell unchecked) */
	const struct validate_cell *cells;    /* this run's (shard's) selected cells */
	size_t ncells;
	bool org_owner;                       /* reports org-level findings (trusted access,
	                                         a failed call) on the management account's
	                                         home-region cell */
	bool first_shard;                     /* reports account_unconfigured */
	bool filtered;                        /* --account given: no account_unconfigured */
};
void org_check_verify(const struct org_check_opts *o, struct findings *out);

#endif
