/* doctor_accounts.h: doctor's account-level causes.
 *
 * verify reports two warnings on an account, not on a cell:
 * `account_unconfigured` (an ACTIVE member the config neither declares nor
 * excludes) and `prefix_unexpected` (logs under the prefix of an account that
 * is not expected).  doctor names a cause for each such account, from what
 * verify established (ListAccounts and the bucket listing), without further
 * calls: `account_unconfigured` when the account is an ACTIVE member, else
 * `prefix_foreign`.  Both are severity warning (alone, doctor exits 0, as
 * verify does).  README "doctor", docs/findings.md. */
#ifndef TK_DOCTOR_ACCOUNTS_H
#define TK_DOCTOR_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "config.h"
#include "doctor.h"

struct doctor_account_in {
	const char *account;
	bool unconfigured;           /* verify: account_unconfigured */
	bool prefix_unexpected;      /* verify: prefix_unexpected */
	const char *symptom;         /* verify's findings on the account, "; "-joined */
};

struct doctor_account {
	char *account;
	enum doctor_cause cause;     /* DC_ACCOUNT_UNCONFIGURED or DC_PREFIX_FOREIGN */
	char *symptom;
	char **evidence;
	size_t nevidence, alloc_ev;
	char *fix;
};

/* One doctor_account per input (same order).  config_path names the config in
 * the fix line.  Never fails (allocation failure follows the OOM policy). */
void doctor_accounts(struct doctor_account **out, size_t *nout, const struct doctor_account_in *in,
		     size_t nin, const struct tk_config *cfg, const char *config_path);
void doctor_accounts_free(struct doctor_account *v, size_t n);
/* [{"account", "cause", "hint", "severity": "warning", "symptom", "evidence": [...], "fix"}] */
json_t *doctor_accounts_json(const struct doctor_account *v, size_t n);

#endif
