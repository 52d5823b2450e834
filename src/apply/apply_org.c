/* apply_org.c: see apply_org.h. */
#include <string.h>

#include "apply_org.h"
#include "aws.h"
#include "org_check.h"
#include "orgs.h"
#include "banned.h"

static int trusted(struct aws_ctx *mgmt, bool *out, struct errbuf *err)
{
	char **sp = NULL;
	size_t n = 0, i;
	int rc;

	*out = false;
	rc = orgs_list_service_access(mgmt, &sp, &n, err);
	if (rc) {
		err_prefix(err, rc, "cannot read CloudTrail's trusted access in the organization");
		return rc;
	}
	for (i = 0; i < n; i++)
		if (!strcmp(sp[i], ORG_CLOUDTRAIL_PRINCIPAL))
			*out = true;
	orgs_strings_free(sp, n);
	return 0;
}

int apply_org_trusted_access(struct aws_ctx *mgmt, bool dry_run, json_t **before, json_t **after,
			     bool *written, struct errbuf *err)
{
	bool on = false;
	int rc;

	*before = *after = NULL;
	*written = false;
	if ((rc = trusted(mgmt, &on, err)) || on)
		return rc;
	*before = json_pack("{s:s, s:b}", "ServicePrincipal", ORG_CLOUDTRAIL_PRINCIPAL, "TrustedAccess", 0);
	*after = json_pack("{s:s, s:b}", "ServicePrincipal", ORG_CLOUDTRAIL_PRINCIPAL, "TrustedAccess", 1);
	if (dry_run)
		return 0;
	rc = orgs_enable_service_access(mgmt, ORG_CLOUDTRAIL_PRINCIPAL, err);
	if (rc)
		return err_prefix(err, rc, "cannot enable trusted access for '%s' in the organization",
				  ORG_CLOUDTRAIL_PRINCIPAL);
	*written = true;
	/* the read that decides "nothing to do" next time must agree */
	if ((rc = trusted(mgmt, &on, err)))
		return rc;
	if (!on)
		return err_set(err, TK_EFAIL, "organizations EnableAWSServiceAccess '%s' did not take: "
			       "ListAWSServiceAccessForOrganization still does not list it", ORG_CLOUDTRAIL_PRINCIPAL);
	return 0;
}
