/* orgs.c: see orgs.h. */
#include <stdlib.h>
#include <string.h>

#include "orgs.h"
#include "banned.h"

#define ORGS_TARGET "AWSOrganizationsV20161128"
#define ORGS_MAX_PAGES 100000

void org_info_release(struct org_info *o)
{
	if (!o)
		return;
	free(o->id);
	free(o->arn);
	free(o->feature_set);
	free(o->master_account_id);
	free(o->master_account_email);
	memset(o, 0, sizeof(*o));
}

int orgs_describe_organization(struct aws_ctx *ctx, struct org_info *out, struct errbuf *err)
{
	json_t *resp = NULL, *o;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = aws_json_call(ctx, "organizations", ORGS_TARGET, "DescribeOrganization", NULL, NULL, &resp, err);
	if (rc)
		return rc;
	o = json_object_get(resp, "Organization");
	if (!json_is_object(o) || !json_is_string(json_object_get(o, "Id"))) {
		rc = err_set(err, TK_EFAIL, "organizations DescribeOrganization: unexpected response: "
			     "no Organization");
	} else {
		out->id = aws_json_strdup(o, "Id");
		out->arn = aws_json_strdup(o, "Arn");
		out->feature_set = aws_json_strdup(o, "FeatureSet");
		out->master_account_id = aws_json_strdup(o, "MasterAccountId");
		out->master_account_email = aws_json_strdup(o, "MasterAccountEmail");
	}
	json_decref(resp);
	return rc;
}

void org_accounts_free(struct org_account *a, size_t n)
{
	size_t i;

	for (i = 0; a && i < n; i++) {
		free(a[i].id);
		free(a[i].arn);
		free(a[i].email);
		free(a[i].name);
		free(a[i].status);
	}
	free(a);
}

void orgs_strings_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Every page of an Organizations list operation (MaxResults 20, NextToken
 * until absent, at most ORGS_MAX_PAGES): each element of the answer's
 * list_key array goes to each(ud, element).  A list_key that is present
 * but not an array is an error. */
static int orgs_pages(struct aws_ctx *ctx, const char *op, const char *list_key,
		      void (*each)(void *ud, const json_t *elem), void *ud, struct errbuf *err)
{
	char *token = NULL;
	size_t pages = 0;
	int rc = 0;

	for (;;) {
		json_t *in = json_object(), *resp = NULL, *list, *a;
		size_t i;

		json_object_set_new(in, "MaxResults", json_integer(20));   /* steals the new integer */
		if (token)
			json_object_set_new(in, "NextToken", json_string(token));
		rc = aws_json_call(ctx, "organizations", ORGS_TARGET, op, NULL, in, &resp, err);
		json_decref(in);
		if (rc)
			break;
		list = json_object_get(resp, list_key);
		if (list && !json_is_array(list)) {
			json_decref(resp);
			rc = err_set(err, TK_EFAIL, "organizations %s: unexpected response: %s is not a list", op,
				     list_key);
			break;
		}
		json_array_foreach(list, i, a)
			each(ud, a);
		free(token);
		token = aws_json_strdup(resp, "NextToken");
		json_decref(resp);
		if (!token || !*token)
			break;
		if (++pages > ORGS_MAX_PAGES) {
			rc = err_set(err, TK_EFAIL, "organizations %s: too many pages", op);
			break;
		}
	}
	free(token);
	return rc;
}

struct strings {
	char **v;
	size_t n, alloc;
};

/* Every principal is kept (no cap: a dropped one would read as "trusted
 * access off"); the list is bounded by ORGS_MAX_PAGES answers. */
static void add_principal(void *ud, const json_t *a)
{
	struct strings *l = ud;
	const char *p = json_string_value(json_object_get(a, "ServicePrincipal"));

	if (!p)
		return;
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = xstrdup(p);
}

int orgs_list_service_access(struct aws_ctx *ctx, char ***out, size_t *n, struct errbuf *err)
{
	struct strings l = { NULL, 0, 0 };
	int rc;

	*out = NULL;
	*n = 0;
	rc = orgs_pages(ctx, "ListAWSServiceAccessForOrganization", "EnabledServicePrincipals", add_principal,
			&l, err);
	if (rc) {
		orgs_strings_free(l.v, l.n);
		return rc;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

int orgs_enable_service_access(struct aws_ctx *ctx, const char *principal, struct errbuf *err)
{
	json_t *in = json_pack("{s:s}", "ServicePrincipal", principal), *resp = NULL;
	int rc;

	rc = aws_json_call(ctx, "organizations", ORGS_TARGET, "EnableAWSServiceAccess", principal, in, &resp, err);
	json_decref(in);
	json_decref(resp);
	return rc;
}

struct accounts {
	struct org_account *v;
	size_t n, alloc;
};

static void add_account(void *ud, const json_t *a)
{
	struct accounts *l = ud;

	if (!json_is_object(a) || !json_is_string(json_object_get(a, "Id")))
		return;
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n].id = aws_json_strdup(a, "Id");
	l->v[l->n].arn = aws_json_strdup(a, "Arn");
	l->v[l->n].email = aws_json_strdup(a, "Email");
	l->v[l->n].name = aws_json_strdup(a, "Name");
	l->v[l->n].status = aws_json_strdup(a, "Status");
	l->n++;
}

int orgs_list_accounts(struct aws_ctx *ctx, struct org_account **out, size_t *n, struct errbuf *err)
{
	struct accounts l = { NULL, 0, 0 };
	int rc;

	*out = NULL;
	*n = 0;
	rc = orgs_pages(ctx, "ListAccounts", "Accounts", add_account, &l, err);
	if (rc) {
		org_accounts_free(l.v, l.n);
		return rc;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}
