/* config_keys.c: the keys of each config section (README "Configuration"):
 * one handler per section checks a key's value and sets it in the config;
 * every problem is a FILE:LINE diagnostic (config.c). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "buf.h"
#include "config.h"
#include "config_int.h"
#include "config_lex.h"
#include "config_values.h"
#include "fileutil.h"
#include "timeutil.h"
#include "banned.h"

#define MAX_DIAGS 200

/* ---- keys ---- */

const char *const org_keys[] = {
	"id", "management_account", "log_archive_account", "home_region", "regions",
	"assume_role", "external_id", "exclude_accounts", NULL
};
const char *const central_keys[] = {
	"bucket", "key_prefix", "kms_alias", "decrypt_principals", "break_glass_principals",
	"retention_days", "object_lock", "access_log_bucket", "max_delivery_age", "apply_principals", NULL
};
const char *const trail_keys[] = {
	"name", "mode", "multi_region", "include_global_events", "log_file_validation",
	"data_events", NULL
};
const char *const monitoring_keys[] = {
	"cloudwatch_log_group", "cloudwatch_retention_days", "alarms", "notify", "topic_kms_alias",
	"subscribe", "max_cloudwatch_delivery_age", "access_log_max_age", NULL
};
const char *const account_keys[] = { "id", "regions", NULL };
const char *const section_names[] = { "organization", "central", "trail", "monitoring", "account NAME",
					     NULL };

/* Split "a, b ,c" into l; empty value = empty list.  Reports empty items
 * and duplicates. */
static void parse_list(struct pstate *st, const char *key, const char *v, struct tk_strlist *l)
{
	const char *p = v;

	tk_strlist_release(l);
	if (!*v)
		return;
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *e = comma ? comma : p + strlen(p);
		const char *s = p;
		char *item;

		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (s == e) {
			cfgp_diag(st, st->lx.lineno, "empty item in the list of '%s'", key);
		} else {
			item = xstrndup(s, (size_t)(e - s));
			if (cfgp_strlist_has(l, item))
				cfgp_diag(st, st->lx.lineno, "'%s' is listed twice in '%s'", item, key);
			else
				cfgp_strlist_add(l, s, (size_t)(e - s));
			free(item);
		}
		if (!comma)
			break;
		p = comma + 1;
	}
}

static void check_regions(struct pstate *st, const char *key, const struct tk_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!tk_region_known(l->v[i])) {
			size_t k, nr = tk_region_count();
			const char **names = xcalloc(nr + 1, sizeof(*names));
			const char *m;

			for (k = 0; k < nr; k++)
				names[k] = tk_region_name(k);
			m = cfgp_closest(l->v[i], names);
			free(names);
			if (m)
				cfgp_diag(st, st->lx.lineno, "unknown region '%s' in '%s'; did you mean '%s'?", l->v[i], key, m);
			else
				cfgp_diag(st, st->lx.lineno, "unknown region '%s' in '%s'", l->v[i], key);
		}
	}
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = *v ? xstrdup(v) : NULL;
}

/* ---- per-section handlers ---- */

/* [organization] exclude_accounts: members left out of the checks on
 * purpose (neither account_unconfigured nor prefix_unexpected). */
static void exclude_key(struct pstate *st, const char *v)
{
	struct tk_strlist *l = &st->c->exclude_accounts;
	size_t i;

	parse_list(st, "exclude_accounts", v, l);
	for (i = 0; i < l->n; i++)
		if (!cfg_all_digits(l->v[i], TK_ACCOUNT_ID_LEN))
			cfgp_diag(st, st->lx.lineno, "bad account id '%s' in 'exclude_accounts': expected 12 digits", l->v[i]);
}

/* An excluded account must not be one the config checks. */
void cfgp_check_excluded(struct pstate *st)
{
	const struct tk_config *c = st->c;
	int line = st->org_line[K_EXCLUDE];
	size_t i, k;

	for (i = 0; i < c->exclude_accounts.n; i++) {
		const char *id = c->exclude_accounts.v[i];

		if (!strcmp(id, c->management_account) || !strcmp(id, c->log_archive_account)) {
			cfgp_diag(st, line, "'exclude_accounts' lists '%s', the %s account, which is always checked", id,
			     !strcmp(id, c->management_account) ? "management" : "log archive");
			continue;
		}
		for (k = 0; k < c->naccounts; k++)
			if (!strcmp(c->accounts[k].id, id))
				cfgp_diag(st, line, "'exclude_accounts' lists '%s', which has a section [account %s] "
				     "(line %d): exclude it or configure it, not both", id, c->accounts[k].name,
				     c->accounts[k].line);
	}
}

void cfgp_org_key(struct pstate *st, int k, const char *v)
{
	struct tk_config *c = st->c;

	switch (k) {
	case K_ORG_ID:
		set_str(&c->org_id, v);
		if (*v && !cfg_valid_org_id(v))
			cfgp_diag(st, st->lx.lineno, "bad organization id '%s': expected 'o-' and 10 to 32 lower-case letters or digits", v);
		break;
	case K_MGMT:
	case K_LOGARCH: {
		char *dst = k == K_MGMT ? c->management_account : c->log_archive_account;

		dst[0] = '\0';
		if (!*v)
			break;
		if (!cfg_all_digits(v, TK_ACCOUNT_ID_LEN)) {
			st->bad_account[k == K_MGMT] = true;
			cfgp_diag(st, st->lx.lineno, "bad account id '%s' for '%s': expected 12 digits", v, org_keys[k]);
		} else
			memcpy(dst, v, TK_ACCOUNT_ID_LEN + 1);
		break;
	}
	case K_HOME:
		set_str(&c->home_region, v);
		if (*v && !tk_region_known(v)) {
			struct tk_strlist one = { NULL, 0, 0 };

			cfgp_strlist_add(&one, v, strlen(v));
			check_regions(st, "home_region", &one);
			tk_strlist_release(&one);
		}
		break;
	case K_REGIONS:
		parse_list(st, "regions", v, &c->regions);
		check_regions(st, "regions", &c->regions);
		break;
	case K_ROLE:
		set_str(&c->assume_role, v);
		if (*v && !cfg_valid_role_name(v))
			cfgp_diag(st, st->lx.lineno, "bad role name '%s' for 'assume_role': 1 to 64 letters, digits or '+=,.@_-'", v);
		break;
	case K_EXTID:
		set_str(&c->external_id, v);
		if (*v && !cfg_valid_external_id(v))
			cfgp_diag(st, st->lx.lineno, "bad 'external_id': 2 to 1224 letters, digits or '+=,.@:/_-'");
		break;
	case K_EXCLUDE:
		exclude_key(st, v);
		break;
	}
}

static void check_bucket(struct pstate *st, const char *key, const char *v)
{
	const char *why = cfg_bucket_problem(v);

	if (why)
		cfgp_diag(st, st->lx.lineno, "bad bucket name '%s' for '%s': %s", v, key, why);
}

static void check_principals(struct pstate *st, const char *key, const struct tk_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!cfg_valid_principal(l->v[i]))
			cfgp_diag(st, st->lx.lineno, "bad principal '%s' in '%s': expected an IAM ARN such as "
			     "'arn:aws:iam::123456789012:role/NAME'", l->v[i], key);
}

void cfgp_central_key(struct pstate *st, int k, const char *v)
{
	struct tk_config *c = st->c;
	long secs;

	switch (k) {
	case K_BUCKET:
		set_str(&c->bucket, v);
		if (*v)
			check_bucket(st, "bucket", v);
		break;
	case K_PREFIX: {
		size_t n;

		while (*v == '/')
			v++;
		set_str(&c->key_prefix, v);
		if (!c->key_prefix)
			break;
		n = strlen(c->key_prefix);
		while (n > 0 && c->key_prefix[n - 1] == '/')
			c->key_prefix[--n] = '\0';
		if (n == 0) {
			free(c->key_prefix);
			c->key_prefix = NULL;
		} else if (n > 200 || strstr(c->key_prefix, "//") || strstr(c->key_prefix, "AWSLogs")) {
			cfgp_diag(st, st->lx.lineno, "bad 'key_prefix' '%s': at most 200 characters, no '//', no 'AWSLogs'", v);
		} else {
			size_t i;

			for (i = 0; i < n; i++)
				if (!isalnum((unsigned char)c->key_prefix[i]) && !strchr("/!_.*'()-", c->key_prefix[i])) {
					cfgp_diag(st, st->lx.lineno, "bad 'key_prefix' '%s': use letters, digits and /!_.*'()-", v);
					break;
				}
		}
		break;
	}
	case K_ALIAS:
		set_str(&c->kms_alias, v);
		if (*v && !cfg_valid_alias(v))
			cfgp_diag(st, st->lx.lineno, "bad 'kms_alias' '%s': expected 'alias/NAME' (letters, digits, '/_-'; not 'alias/aws/')", v);
		break;
	case K_DECRYPT:
		parse_list(st, "decrypt_principals", v, &c->decrypt_principals);
		check_principals(st, "decrypt_principals", &c->decrypt_principals);
		break;
	case K_BREAK:
		parse_list(st, "break_glass_principals", v, &c->break_glass_principals);
		check_principals(st, "break_glass_principals", &c->break_glass_principals);
		break;
	case K_APPLY:
		parse_list(st, "apply_principals", v, &c->apply_principals);
		check_principals(st, "apply_principals", &c->apply_principals);
		break;
	case K_RETENTION:
		if (cfg_parse_uint(v, 36500, &c->retention_days) < 0)
			cfgp_diag(st, st->lx.lineno, "bad 'retention_days' '%s': expected whole days from 0 (keep forever) to 36500", v);
		break;
	case K_LOCK:
		if (!strcmp(v, "none") || !*v) {
			c->object_lock = TK_LOCK_NONE;
			c->object_lock_days = 0;
		} else if ((!strncmp(v, "governance:", 11) && cfg_parse_uint(v + 11, 36500, &c->object_lock_days) == 0) ||
			   (!strncmp(v, "compliance:", 11) && cfg_parse_uint(v + 11, 36500, &c->object_lock_days) == 0)) {
			c->object_lock = v[0] == 'g' ? TK_LOCK_GOVERNANCE : TK_LOCK_COMPLIANCE;
			if (c->object_lock_days == 0)
				cfgp_diag(st, st->lx.lineno, "bad 'object_lock' '%s': DAYS must be at least 1", v);
		} else {
			cfgp_diag(st, st->lx.lineno, "bad 'object_lock' '%s': expected none, governance:DAYS or compliance:DAYS", v);
		}
		break;
	case K_ACCESSLOG:
		set_str(&c->access_log_bucket, v);
		if (*v)
			check_bucket(st, "access_log_bucket", v);
		break;
	case K_MAXAGE:
		if (tk_parse_duration(v, &secs) < 0 || secs <= 0)
			cfgp_diag(st, st->lx.lineno, "bad duration '%s' for 'max_delivery_age': expected e.g. 90m, 1h, 2h30m, 1d", v);
		else
			c->max_delivery_age = secs;
		break;
	}
}

void cfgp_trail_key(struct pstate *st, int k, const char *v)
{
	struct tk_config *c = st->c;
	const char *why;
	bool *bp = NULL;

	switch (k) {
	case K_NAME:
		if (!*v)
			break;
		free(c->trail_name);
		c->trail_name = xstrdup(v);
		why = cfg_trail_name_problem(v);
		if (why)
			cfgp_diag(st, st->lx.lineno, "bad trail name '%s': %s", v, why);
		break;
	case K_MODE:
		if (!strcmp(v, "organization"))
			c->mode = TK_MODE_ORGANIZATION;
		else if (!strcmp(v, "per-account"))
			c->mode = TK_MODE_PER_ACCOUNT;
		else
			cfgp_diag(st, st->lx.lineno, "bad 'mode' '%s': expected organization or per-account", v);
		break;
	case K_MULTI: bp = &c->multi_region; break;
	case K_GLOBAL: bp = &c->include_global_events; break;
	case K_VALIDATION: bp = &c->log_file_validation; break;
	case K_DATA: {
		struct tk_strlist raw = { NULL, 0, 0 };
		size_t i;

		parse_list(st, "data_events", v, &raw);
		tk_strlist_release(&c->data_event_buckets);
		for (i = 0; i < raw.n; i++) {
			const char *b = raw.v[i];

			if (strncmp(b, "s3:", 3)) {
				cfgp_diag(st, st->lx.lineno, "bad data event '%s': expected 's3:BUCKET'", b);
				continue;
			}
			b += 3;
			why = cfg_bucket_problem(b);
			if (why) {
				cfgp_diag(st, st->lx.lineno, "bad data event bucket name '%s': %s", b, why);
				continue;
			}
			cfgp_strlist_add(&c->data_event_buckets, b, strlen(b));
		}
		tk_strlist_release(&raw);
		break;
	}
	}
	if (bp && cfg_parse_bool(v, bp) < 0)
		cfgp_diag(st, st->lx.lineno, "bad value '%s' for '%s': expected true or false", v, trail_keys[k]);
}

/* CloudWatch Logs' retention values (PutRetentionPolicy) */
static const int cw_retention_values[] = {
	1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
	3288, 3653, 0
};

/* a log group name: 1 to 512 of letters, digits and ._-/# */
static bool valid_log_group(const char *v)
{
	size_t i, n = strlen(v);

	if (n < 1 || n > 512)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("._-/#", v[i]))
			return false;
	return true;
}

/* an SNS topic name: 1 to 256 of letters, digits, '-' and '_' */
static bool valid_topic_name(const char *v)
{
	size_t i, n = strlen(v);

	if (n < 1 || n > 256)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' && v[i] != '_')
			return false;
	return true;
}

/* arn:PARTITION:sns:REGION:ACCOUNT:NAME: 0, else -1 */
int cfgp_parse_topic_arn(const char *v, char *region, size_t rn, char *account, const char **name)
{
	const char *p[6], *s = v;
	size_t i, len;

	for (i = 0; i < 6; i++) {
		p[i] = s;
		if (i < 5) {
			s = strchr(s, ':');
			if (!s)
				return -1;
			s++;
		}
	}
	if (strncmp(p[0], "arn:", 4) || strncmp(p[2], "sns:", 4))
		return -1;
	len = (size_t)(p[4] - p[3]) - 1;
	if (len == 0 || len >= rn)
		return -1;
	memcpy(region, p[3], len);
	region[len] = '\0';
	len = (size_t)(p[5] - p[4]) - 1;
	if (len != TK_ACCOUNT_ID_LEN)
		return -1;
	memcpy(account, p[4], len);
	account[len] = '\0';
	if (!cfg_all_digits(account, TK_ACCOUNT_ID_LEN) || !valid_topic_name(p[5]))
		return -1;
	*name = p[5];
	return 0;
}

/* mailto:ADDR or https://HOST/...: NULL when fine, else why not */
static const char *subscription_problem(const char *v)
{
	const char *at;
	size_t i;

	if (!strncmp(v, "mailto:", 7)) {
		at = strchr(v + 7, '@');
		if (!at || at == v + 7 || !at[1] || strchr(at + 1, '@') || !strchr(at + 1, '.'))
			return "expected 'mailto:NAME@DOMAIN'";
		for (i = 7; v[i]; i++)
			if (isspace((unsigned char)v[i]) || v[i] == ',' || (unsigned char)v[i] < 0x20)
				return "expected 'mailto:NAME@DOMAIN'";
		return NULL;
	}
	if (!strncmp(v, "https://", 8)) {
		if (!v[8] || v[8] == '/')
			return "expected 'https://HOST/PATH'";
		for (i = 8; v[i]; i++)
			if (isspace((unsigned char)v[i]) || (unsigned char)v[i] < 0x20)
				return "expected 'https://HOST/PATH' without blanks";
		return NULL;
	}
	if (!strncmp(v, "http://", 7))
		return "plain http is refused: alarm messages go over 'https://' only";
	return "expected 'mailto:ADDR' or 'https://URL'";
}

void cfgp_monitoring_key(struct pstate *st, int k, const char *v)
{
	struct tk_config *c = st->c;
	struct tk_strlist l = { NULL, 0, 0 };
	long secs;
	size_t i;

	switch (k) {
	case K_MON_GROUP:
		if (!valid_log_group(v)) {
			cfgp_diag(st, st->lx.lineno, "bad 'cloudwatch_log_group' '%s': 1 to 512 letters, digits or '._-/#'", v);
			break;
		}
		set_str(&c->cw_log_group, v);
		break;
	case K_MON_RETENTION: {
		int days = -1;

		if (cfg_parse_uint(v, 3653, &days) == 0)
			for (i = 0; cw_retention_values[i]; i++)
				if (cw_retention_values[i] == days) {
					c->cw_retention_days = days;
					return;
				}
		cfgp_diag(st, st->lx.lineno, "bad 'cloudwatch_retention_days' '%s': CloudWatch Logs accepts 1, 3, 5, 7, 14, "
		     "30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653", v);
		break;
	}
	case K_MON_ALARMS:
		parse_list(st, "alarms", v, &l);
		c->alarm_sets = 0;
		for (i = 0; i < l.n; i++) {
			if (!strcmp(l.v[i], "tampering"))
				c->alarm_sets |= TK_ALARMS_TAMPERING;
			else if (!strcmp(l.v[i], "unauthorized"))
				c->alarm_sets |= TK_ALARMS_UNAUTHORIZED;
			else if (!strcmp(l.v[i], "root"))
				c->alarm_sets |= TK_ALARMS_ROOT;
			else if (!strcmp(l.v[i], "none") && l.n == 1)
				c->alarm_sets = 0;
			else
				cfgp_diag(st, st->lx.lineno, "unknown alarm set '%s' in 'alarms': expected tampering, "
				     "unauthorized, root (or none alone)", l.v[i]);
		}
		tk_strlist_release(&l);
		break;
	case K_MON_NOTIFY:
		free(c->notify_topic_arn);
		c->notify_topic_arn = NULL;
		if (!strncmp(v, "arn:", 4)) {
			char region[32], account[TK_ACCOUNT_ID_LEN + 1];
			const char *name;

			if (cfgp_parse_topic_arn(v, region, sizeof(region), account, &name) < 0) {
				cfgp_diag(st, st->lx.lineno, "bad 'notify' '%s': expected a topic name or "
				     "'arn:aws:sns:REGION:ACCOUNT:NAME'", v);
				break;
			}
			c->notify_topic_arn = xstrdup(v);
			set_str(&c->notify_topic, name);
		} else if (!valid_topic_name(v)) {
			cfgp_diag(st, st->lx.lineno, "bad 'notify' '%s': a topic name is 1 to 256 letters, digits, '-' or '_'", v);
		} else {
			set_str(&c->notify_topic, v);
		}
		break;
	case K_MON_TOPIC_KEY:
		if (!strcmp(v, "none")) {
			free(c->topic_kms_alias);
			c->topic_kms_alias = NULL;
		} else if (!strcmp(v, "alias/aws/sns")) {
			cfgp_diag(st, st->lx.lineno, "'topic_kms_alias' may not be 'alias/aws/sns': the AWS managed key "
			     "does not let CloudWatch publish alarms to the topic; name a customer managed key "
			     "(trailkeep creates it) or 'none'");
		} else if (!cfg_valid_alias(v)) {
			cfgp_diag(st, st->lx.lineno, "bad 'topic_kms_alias' '%s': expected 'alias/NAME' or 'none'", v);
		} else {
			set_str(&c->topic_kms_alias, v);
		}
		break;
	case K_MON_SUBSCRIBE:
		parse_list(st, "subscribe", v, &c->subscribe);
		for (i = 0; i < c->subscribe.n; i++) {
			const char *why = subscription_problem(c->subscribe.v[i]);

			if (why)
				cfgp_diag(st, st->lx.lineno, "bad subscription '%s' in 'subscribe': %s", c->subscribe.v[i], why);
		}
		break;
	case K_MON_CW_AGE:
	case K_MON_ACCESS_AGE:
		if (tk_parse_duration(v, &secs) < 0 || secs <= 0)
			cfgp_diag(st, st->lx.lineno, "bad duration '%s' for '%s': expected e.g. 90m, 1h, 2h30m, 1d", v,
			     monitoring_keys[k]);
		else if (k == K_MON_CW_AGE)
			c->max_cw_delivery_age = secs;
		else
			c->access_log_max_age = secs;
		break;
	}
}

void cfgp_account_key(struct pstate *st, int k, const char *v)
{
	struct tk_account *a = &st->c->accounts[st->cur_acct];

	switch (k) {
	case K_ACCT_ID:
		a->id[0] = '\0';
		if (!cfg_all_digits(v, TK_ACCOUNT_ID_LEN))
			cfgp_diag(st, st->lx.lineno, "bad account id '%s': expected 12 digits", v);
		else
			memcpy(a->id, v, TK_ACCOUNT_ID_LEN + 1);
		break;
	case K_ACCT_REGIONS:
		parse_list(st, "regions", v, &a->regions);
		check_regions(st, "regions", &a->regions);
		break;
	}
}

