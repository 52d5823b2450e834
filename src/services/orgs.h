/* orgs.h: typed Organizations client (awsJson1_1, X-Amz-Target
 * AWSOrganizationsV20161128.<Op>; the endpoint is us-east-1 in the aws
 * partition, resolved by endpoint.h).  Implemented in src/services/orgs.c. */
#ifndef TK_ORGS_H
#define TK_ORGS_H

#include <stddef.h>

#include "aws.h"

struct org_info {
	char *id;
	char *arn;
	char *feature_set;          /* "ALL" / "CONSOLIDATED_BILLING" */
	char *master_account_id;
	char *master_account_email;
};
void org_info_release(struct org_info *o);
/* DescribeOrganization (TK_ENOTFOUND-like code AWSOrganizationsNotInUseException
 * is in ctx->last_error; it maps to TK_EFAIL). */
int orgs_describe_organization(struct aws_ctx *ctx, struct org_info *out, struct errbuf *err);

struct org_account {
	char *id;
	char *arn;
	char *email;
	char *name;
	char *status;               /* ACTIVE / SUSPENDED / PENDING_CLOSURE */
};
/* ListAccounts: every page until NextToken is absent (empty pages included). */
int orgs_list_accounts(struct aws_ctx *ctx, struct org_account **out, size_t *n, struct errbuf *err);
void org_accounts_free(struct org_account *a, size_t n);

/* ListAWSServiceAccessForOrganization: the service principals with trusted
 * access (every page).  Caller frees with orgs_strings_free. */
int orgs_list_service_access(struct aws_ctx *ctx, char ***out, size_t *n, struct errbuf *err);
void orgs_strings_free(char **v, size_t n);
/* EnableAWSServiceAccess / DisableAWSServiceAccess for one service principal
 * (management account only). */
int orgs_enable_service_access(struct aws_ctx *ctx, const char *principal, struct errbuf *err);

#endif
