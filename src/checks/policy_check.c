/* policy_check.c: the structure check and parser of a policy document
 * (policy_check, policy_parse; see policy.h): every shape and POLICY_MAX_*
 * limit is checked here, before any evaluation. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "policy.h"
#include "policy_int.h"
#include "timeutil.h"
#include "banned.h"


/* --- structure check ---------------------------------------------------- */

const char *pol_stmt_label(const json_t *st, size_t idx, char *tmp, size_t n)
{
	const json_t *sid = json_object_get(st, "Sid");

	char e[POLICY_SID_LEN];

	if (json_is_string(sid) && json_string_length(sid) > 0)
		snprintf(tmp, n, "'%s'", pol_esc(e, sizeof(e), json_string_value(sid)));
	else
		snprintf(tmp, n, "#%zu", idx + 1);
	return tmp;
}

static int check_strings(const json_t *v, int scalars_ok, const char *what, const char *lbl,
                         struct errbuf *err)
{
	size_t i, n = pol_list_len(v);

	if (json_is_array(v) && n > POLICY_MAX_VALUES)
		return err_set(err, TK_ELIMIT, "policy statement %s: '%s' has more than %d values",
		               lbl, what, POLICY_MAX_VALUES);
	if (json_is_array(v) && n == 0 && !scalars_ok)
		return err_set(err, TK_EUSAGE, "policy statement %s: '%s' is an empty list", lbl, what);
	for (i = 0; i < n; i++) {
		const json_t *e = pol_list_get(v, i);

		if (!(json_is_string(e) || (scalars_ok && pol_is_scalar(e))))
			return err_set(err, TK_EUSAGE, "policy statement %s: '%s' must be %s", lbl, what,
			               scalars_ok ? "a string, number, boolean or a list of them"
			                          : "a string or a list of strings");
		if (json_is_string(e) && json_string_length(e) > POLICY_MAX_STRING)
			return err_set(err, TK_ELIMIT, "policy statement %s: a value of '%s' is longer than %d bytes",
			               lbl, what, POLICY_MAX_STRING);
		if (json_is_string(e) && strlen(json_string_value(e)) != json_string_length(e))
			return err_set(err, TK_EUSAGE, "policy statement %s: a value of '%s' contains a NUL byte",
			               lbl, what);
	}
	return 0;
}

static int check_principal(const json_t *p, const char *field, const char *lbl, struct errbuf *err)
{
	char ek[128];
	const char *k;
	json_t *v;
	int rc;

	if (json_is_string(p)) {
		if (strcmp(json_string_value(p), "*") == 0)
			return 0;
		return err_set(err, TK_EUSAGE, "policy statement %s: '%s' must be \"*\" or an object",
		               lbl, field);
	}
	if (!json_is_object(p))
		return err_set(err, TK_EUSAGE, "policy statement %s: '%s' must be \"*\" or an object",
		               lbl, field);
	json_object_foreach(pol_unconst(p), k, v) {
		if (strcmp(k, "AWS") && strcmp(k, "Service") && strcmp(k, "Federated") &&
		    strcmp(k, "CanonicalUser"))
			return err_set(err, TK_EUSAGE, "policy statement %s: unknown principal type '%s' in '%s'",
			               lbl, pol_esc(ek, sizeof(ek), k), field);
		if (!pol_is_strlist(v))
			return err_set(err, TK_EUSAGE, "policy statement %s: '%s' %s must be a string or a list of strings",
			               lbl, field, k);
		if ((rc = check_strings(v, 0, field, lbl, err)))
			return rc;
	}
	return 0;
}

static int check_condition(const json_t *c, const char *lbl, struct errbuf *err)
{
	char ek[128];
	const char *opname, *key;
	json_t *kv, *vals;
	struct op op;
	int rc;

	if (!json_is_object(c))
		return err_set(err, TK_EUSAGE, "policy statement %s: 'Condition' must be an object", lbl);
	json_object_foreach(pol_unconst(c), opname, kv) {
		if (pol_op_parse(&op, opname))
			return err_set(err, TK_EUSAGE, "policy statement %s: unknown condition operator '%s'",
			               lbl, pol_esc(ek, sizeof(ek), opname));
		if (!json_is_object(kv))
			return err_set(err, TK_EUSAGE, "policy statement %s: condition '%s' must be an object",
			               lbl, opname);
		json_object_foreach(kv, key, vals) {
			if (strlen(key) > POLICY_MAX_STRING)
				return err_set(err, TK_ELIMIT, "policy statement %s: condition key too long", lbl);
			if ((rc = check_strings(vals, 1, opname, lbl, err)))
				return rc;
		}
	}
	return 0;
}

static int check_statement(const json_t *st, size_t idx, struct errbuf *err)
{
	char ek[128];
	static const char *known[] = { "Sid", "Effect", "Principal", "NotPrincipal", "Action",
		"NotAction", "Resource", "NotResource", "Condition" };
	char lbl[POLICY_SID_LEN + 8];
	const char *k, *eff;
	json_t *v;
	size_t i;
	int rc;

	if (!json_is_object(st))
		return err_set(err, TK_EUSAGE, "policy statement #%zu must be an object", idx + 1);
	v = json_object_get(st, "Sid");
	if (v && !json_is_string(v))
		return err_set(err, TK_EUSAGE, "policy statement #%zu: 'Sid' must be a string", idx + 1);
	if (v && json_string_length(v) >= POLICY_SID_LEN)
		return err_set(err, TK_ELIMIT, "policy statement #%zu: 'Sid' longer than %d bytes",
		               idx + 1, POLICY_SID_LEN - 1);
	pol_stmt_label(st, idx, lbl, sizeof(lbl));
	json_object_foreach(pol_unconst(st), k, v) {
		for (i = 0; i < sizeof(known) / sizeof(*known); i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(*known))
			return err_set(err, TK_EUSAGE, "policy statement %s: unknown field '%s'", lbl, pol_esc(ek, sizeof(ek), k));
	}
	v = json_object_get(st, "Effect");
	eff = json_string_value(v);
	if (!eff || (strcmp(eff, "Allow") && strcmp(eff, "Deny")))
		return err_set(err, TK_EUSAGE, "policy statement %s: 'Effect' must be \"Allow\" or \"Deny\"", lbl);
	if (json_object_get(st, "Principal") && json_object_get(st, "NotPrincipal"))
		return err_set(err, TK_EUSAGE, "policy statement %s: both 'Principal' and 'NotPrincipal'", lbl);
	if ((v = json_object_get(st, "Principal")) && (rc = check_principal(v, "Principal", lbl, err)))
		return rc;
	if ((v = json_object_get(st, "NotPrincipal")) && (rc = check_principal(v, "NotPrincipal", lbl, err)))
		return rc;
	if (!!json_object_get(st, "Action") == !!json_object_get(st, "NotAction"))
		return err_set(err, TK_EUSAGE, "policy statement %s: needs exactly one of 'Action' and 'NotAction'",
		               lbl);
	if (json_object_get(st, "Resource") && json_object_get(st, "NotResource"))
		return err_set(err, TK_EUSAGE, "policy statement %s: both 'Resource' and 'NotResource'", lbl);
	for (i = 4; i < 8; i++) {
		v = json_object_get(st, known[i]);
		if (!v)
			continue;
		if (!pol_is_strlist(v))
			return err_set(err, TK_EUSAGE, "policy statement %s: '%s' must be a string or a list of strings",
			               lbl, known[i]);
		if ((rc = check_strings(v, 0, known[i], lbl, err)))
			return rc;
	}
	if ((v = json_object_get(st, "Condition")) && (rc = check_condition(v, lbl, err)))
		return rc;
	return 0;
}

int policy_check(const json_t *policy, struct errbuf *err)
{
	char ek[128];
	const json_t *sts;
	const char *k;
	json_t *v;
	size_t i, n;
	int rc;

	if (!json_is_object(policy))
		return err_set(err, TK_EUSAGE, "policy must be a JSON object");
	json_object_foreach(pol_unconst(policy), k, v) {
		if (strcmp(k, "Version") && strcmp(k, "Id") && strcmp(k, "Statement"))
			return err_set(err, TK_EUSAGE, "policy has an unknown field '%s'", pol_esc(ek, sizeof(ek), k));
		if (strcmp(k, "Statement") && !json_is_string(v))
			return err_set(err, TK_EUSAGE, "policy field '%s' must be a string", k);
	}
	sts = json_object_get(policy, "Statement");
	if (!sts)
		return err_set(err, TK_EUSAGE, "policy has no 'Statement'");
	if (!json_is_array(sts) && !json_is_object(sts))
		return err_set(err, TK_EUSAGE, "policy 'Statement' must be an object or a list of objects");
	n = pol_list_len(sts);
	if (n > POLICY_MAX_STATEMENTS)
		return err_set(err, TK_ELIMIT, "policy has more than %d statements", POLICY_MAX_STATEMENTS);
	for (i = 0; i < n; i++)
		if ((rc = check_statement(pol_list_get(sts, i), i, err)))
			return rc;
	return 0;
}

int policy_parse(json_t **out, const char *text, size_t len, struct errbuf *err)
{
	json_error_t je;

	*out = NULL;
	if (len > POLICY_MAX_TEXT)
		return err_set(err, TK_ELIMIT, "policy is larger than %d bytes", POLICY_MAX_TEXT);
	*out = json_loadb(text, len, 0, &je);
	if (!*out)
		return err_set(err, TK_EUSAGE, "policy is not valid JSON: line %d column %d: %s",
		               je.line, je.column, je.text);
	return 0;
}
