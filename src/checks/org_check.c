/* org_check.c: see org_check.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "org_check.h"
#include "aws.h"
#include "validate.h"
#include "banned.h"

void org_view_load(struct org_view *v, struct aws_ctx *mgmt, const char *msg, bool accounts, bool access)
{
	struct errbuf e;

	if (accounts && !v->accounts_loaded) {
		v->accounts_loaded = true;
		err_clear(&e);
		if (!mgmt)
			v->accounts_rc = err_set(&e, TK_EAUTH, "%s", msg ? msg : "no management account context");
		else
			v->accounts_rc = orgs_list_accounts(mgmt, &v->accounts, &v->naccounts, &e);
		if (v->accounts_rc)
			snprintf(v->accounts_msg, sizeof(v->accounts_msg), "%s", e.msg);
	}
	if (access && !v->access_loaded) {
		char **sp = NULL;
		size_t n = 0, i;

		v->access_loaded = true;
		err_clear(&e);
		if (!mgmt)
			v->access_rc = err_set(&e, TK_EAUTH, "%s", msg ? msg : "no management account context");
		else
			v->access_rc = orgs_list_service_access(mgmt, &sp, &n, &e);
		if (v->access_rc)
			snprintf(v->access_msg, sizeof(v->access_msg), "%s", e.msg);
		for (i = 0; i < n; i++)
			if (!strcmp(sp[i], ORG_CLOUDTRAIL_PRINCIPAL))
				v->trusted = true;
		orgs_strings_free(sp, n);
	}
}

void org_view_release(struct org_view *v)
{
	if (!v)
		return;
	org_accounts_free(v->accounts, v->naccounts);
	memset(v, 0, sizeof(*v));
}

const struct org_account *org_view_find(const struct org_view *v, const char *id)
{
	size_t i;

	for (i = 0; v->accounts_rc == 0 && i < v->naccounts; i++)
		if (v->accounts[i].id && !strcmp(v->accounts[i].id, id))
			return &v->accounts[i];
	return NULL;
}

bool org_account_expected(const struct tk_config *cfg, const char *id)
{
	return config_find_account(cfg, id) || !strcmp(id, cfg->management_account) ||
	       !strcmp(id, config_central_account(cfg)) || config_account_excluded(cfg, id);
}

/* An account id as Organizations gave it, safe to print: 12 digits. */
static bool plain_id(const char *s)
{
	size_t i;

	if (!s || strlen(s) != TK_ACCOUNT_ID_LEN)
		return false;
	for (i = 0; i < TK_ACCOUNT_ID_LEN; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A status or name from Organizations, cut short and printable. */
static void printable(char *out, size_t n, const char *s)
{
	size_t i, k = 0;

	for (i = 0; s && s[i] && k + 1 < n; i++)
		out[k++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[k] = '\0';
}

static void membership(const struct org_check_opts *o, const struct org_view *v, struct findings *out)
{
	const struct tk_config *cfg = o->cfg;
	size_t i;

	for (i = 0; i < o->ncells; i++) {
		const char *id = o->cells[i].account;
		const struct org_account *a;
		char status[32];

		if (!strcmp(id, cfg->management_account))
			continue;   /* ListAccounts answered from it: it is the organization's */
		a = org_view_find(v, id);
		if (!a) {
			findings_add(out, F_ACCOUNT_NOT_IN_ORG, id, o->cells[i].region, NULL, NULL,
				     "account '%s' is not a member of organization '%s' (ListAccounts): the "
				     "organization trail no longer logs it", id, cfg->org_id ? cfg->org_id : "?");
			continue;
		}
		if (a->status && !strcmp(a->status, "ACTIVE"))
			continue;
		printable(status, sizeof(status), a->status ? a->status : "without a status");
		findings_add(out, F_ACCOUNT_NOT_IN_ORG, id, o->cells[i].region, NULL, NULL,
			     "account '%s' is %s in organization '%s' (ListAccounts), not ACTIVE: the organization "
			     "trail does not log it", id, status, cfg->org_id ? cfg->org_id : "?");
	}
	if (!o->first_shard || o->filtered)
		return;
	for (i = 0; i < v->naccounts; i++) {
		const struct org_account *a = &v->accounts[i];
		char name[72];

		if (!plain_id(a->id) || !a->status || strcmp(a->status, "ACTIVE") ||
		    org_account_expected(cfg, a->id))
			continue;
		printable(name, sizeof(name), a->name ? a->name : "");
		findings_add(out, F_ACCOUNT_UNCONFIGURED, a->id, NULL, NULL, NULL,
			     "account '%s' (%s) is an ACTIVE member of organization '%s' but not in the "
			     "configuration: the organization trail delivers its logs, nobody checks them",
			     a->id, name, cfg->org_id ? cfg->org_id : "?");
	}
}

void org_check_verify(const struct org_check_opts *o, struct findings *out)
{
	const struct tk_config *cfg = o->cfg;
	const char *mgmt = cfg->management_account, *home = cfg->home_region;
	bool need_accounts = o->ncells || (o->first_shard && !o->filtered);
	struct org_view v;

	if (cfg->mode != TK_MODE_ORGANIZATION || !o->mgmt)
		return;
	memset(&v, 0, sizeof(v));
	org_view_load(&v, o->mgmt, NULL, need_accounts || o->org_owner, o->org_owner);
	if (v.accounts_loaded && v.accounts_rc) {
		if (o->org_owner)
			findings_add(out, F_CELL_UNCHECKED, mgmt, home, NULL, NULL,
				     "cannot check the organization's membership: %s", v.accounts_msg);
	} else if (v.accounts_loaded) {
		membership(o, &v, out);
	}
	if (o->org_owner) {
		if (v.access_rc)
			findings_add(out, F_CELL_UNCHECKED, mgmt, home, NULL, NULL,
				     "cannot check CloudTrail's trusted access in the organization: %s", v.access_msg);
		else if (!v.trusted)
			findings_add(out, F_ORG_TRUSTED_ACCESS_DISABLED, mgmt, home, NULL, NULL,
				     "'%s' has no trusted access in organization '%s' "
				     "(ListAWSServiceAccessForOrganization): the organization trail logs only the "
				     "management account", ORG_CLOUDTRAIL_PRINCIPAL, cfg->org_id ? cfg->org_id : "?");
	}
	org_view_release(&v);
}
