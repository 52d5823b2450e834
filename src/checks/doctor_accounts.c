/* doctor_accounts.c: doctor's account-level causes (doctor_accounts.h). */
#include <stdlib.h>
#include <string.h>

#include "doctor_accounts.h"
#include "buf.h"
#include "banned.h"

static void add_ev(struct doctor_account *a, char *line)
{
	ALLOC_GROW(a->evidence, a->nevidence + 1, a->alloc_ev);
	a->evidence[a->nevidence++] = line;
}

static void one(struct doctor_account *a, const struct doctor_account_in *in, const struct tk_config *cfg,
		const char *path)
{
	bool org = cfg->mode == TK_MODE_ORGANIZATION;

	a->account = xstrdup(in->account);
	a->symptom = in->symptom ? xstrdup(in->symptom) : NULL;
	add_ev(a, xasprintf("%s has no [account] section in %s%s", in->account, path,
			    org ? " and is not in [organization] exclude_accounts" : ""));
	if (in->unconfigured) {
		a->cause = DC_ACCOUNT_UNCONFIGURED;
		add_ev(a, xasprintf("organizations ListAccounts (management account %s): %s is an ACTIVE member",
				    cfg->management_account[0] ? cfg->management_account : "?", in->account));
		if (in->prefix_unexpected)
			add_ev(a, xasprintf("the organization trail delivers its logs to s3://%s (prefix_unexpected)",
					    cfg->bucket ? cfg->bucket : "?"));
		a->fix = xasprintf("add an [account] section with id = %s to %s (verify then checks its cells), "
				   "or list %s in [organization] exclude_accounts to leave it out on purpose",
				   in->account, path, in->account);
		return;
	}
	a->cause = DC_PREFIX_FOREIGN;
	add_ev(a, xasprintf("s3 ListObjectsV2 s3://%s: log objects under the prefix of %s",
			    cfg->bucket ? cfg->bucket : "?", in->account));
	if (org)
		add_ev(a, xasprintf("%s is not an ACTIVE member of the organization (verify's ListAccounts did not "
				    "report it as account_unconfigured)", in->account));
	if (org)
		a->fix = xasprintf("if these are logs of a former member, keep them (retention removes them) or list %s "
				   "in [organization] exclude_accounts; if %s should be checked, add an [account] section "
				   "for it to %s", in->account, in->account, path);
	else
		a->fix = xasprintf("if %s should be checked, add an [account] section for it to %s; if it should "
				   "not write here, find the statement that lets it (trailkeep apply %s keeps only the "
				   "configured accounts' statements; a foreign statement stays and is shown)",
				   in->account, path, path);
}

void doctor_accounts(struct doctor_account **out, size_t *nout, const struct doctor_account_in *in,
		     size_t nin, const struct tk_config *cfg, const char *config_path)
{
	struct doctor_account *v = nin ? xcalloc(nin, sizeof(*v)) : NULL;
	const char *path = config_path ? config_path : cfg->path;
	size_t i;

	for (i = 0; i < nin; i++)
		one(&v[i], &in[i], cfg, path ? path : "CONFIG");
	*out = v;
	*nout = nin;
}

void doctor_accounts_free(struct doctor_account *v, size_t n)
{
	size_t i, j;

	for (i = 0; v && i < n; i++) {
		free(v[i].account);
		free(v[i].symptom);
		for (j = 0; j < v[i].nevidence; j++)
			free(v[i].evidence[j]);
		free(v[i].evidence);
		free(v[i].fix);
	}
	free(v);
}

json_t *doctor_accounts_json(const struct doctor_account *v, size_t n)
{
	json_t *arr = json_array();
	size_t i, j;

	for (i = 0; i < n; i++) {
		json_t *o = json_object(), *evs = json_array();

		json_object_set_new(o, "account", json_string(v[i].account));
		json_object_set_new(o, "cause", json_string(doctor_cause_name(v[i].cause)));
		json_object_set_new(o, "hint", json_string(doctor_cause_hint(v[i].cause)));
		json_object_set_new(o, "severity", json_string("warning"));
		json_object_set_new(o, "symptom", v[i].symptom ? json_string(v[i].symptom) : json_null());
		for (j = 0; j < v[i].nevidence; j++)
			json_array_append_new(evs, json_string(v[i].evidence[j]));
		json_object_set_new(o, "evidence", evs);
		json_object_set_new(o, "fix", json_string(v[i].fix));
		json_array_append_new(arr, o);
	}
	return arr;
}
