/* config.c: read and check the organization config (README "Configuration").
 *
 * The file is read whole (limit TK_CONFIG_MAX_BYTES) and fed to inih line by
 * line through ini_parse_stream() with the lexer of config_lex.c (line
 * numbers, long lines, section headers, malformed lines).  This file holds
 * the sections and keys, the value checks and the checks across keys.
 * Every problem becomes one "FILE:LINE: message" diagnostic; checking goes
 * on after a problem so one run reports all of them. */
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
#include "config_lex.h"
#include "config_values.h"
#include "fileutil.h"
#include "timeutil.h"
#include "banned.h"

#define MAX_DIAGS 200

/* ---- keys ---- */

enum sect { S_NONE, S_ORG, S_CENTRAL, S_TRAIL, S_MONITORING, S_ACCOUNT, S_BAD };

static const char *const org_keys[] = {
	"id", "management_account", "log_archive_account", "home_region", "regions",
	"assume_role", "external_id", "exclude_accounts", NULL
};
enum { K_ORG_ID, K_MGMT, K_LOGARCH, K_HOME, K_REGIONS, K_ROLE, K_EXTID, K_EXCLUDE, NORG_KEYS };
static const char *const central_keys[] = {
	"bucket", "key_prefix", "kms_alias", "decrypt_principals", "break_glass_principals",
	"retention_days", "object_lock", "access_log_bucket", "max_delivery_age", "apply_principals", NULL
};
enum { K_BUCKET, K_PREFIX, K_ALIAS, K_DECRYPT, K_BREAK, K_RETENTION, K_LOCK, K_ACCESSLOG,
       K_MAXAGE, K_APPLY, NCENTRAL_KEYS };
static const char *const trail_keys[] = {
	"name", "mode", "multi_region", "include_global_events", "log_file_validation",
	"data_events", NULL
};
enum { K_NAME, K_MODE, K_MULTI, K_GLOBAL, K_VALIDATION, K_DATA, NTRAIL_KEYS };
static const char *const monitoring_keys[] = {
	"cloudwatch_log_group", "cloudwatch_retention_days", "alarms", "notify", "topic_kms_alias",
	"subscribe", "max_cloudwatch_delivery_age", "access_log_max_age", NULL
};
enum { K_MON_GROUP, K_MON_RETENTION, K_MON_ALARMS, K_MON_NOTIFY, K_MON_TOPIC_KEY, K_MON_SUBSCRIBE,
       K_MON_CW_AGE, K_MON_ACCESS_AGE, NMON_KEYS };
static const char *const account_keys[] = { "id", "regions", NULL };
enum { K_ACCT_ID, K_ACCT_REGIONS, NACCOUNT_KEYS };
static const char *const section_names[] = { "organization", "central", "trail", "monitoring", "account NAME",
					     NULL };

struct acct_lines {
	int key[NACCOUNT_KEYS];
};

struct pstate {
	struct tk_config *c;
	struct tk_diags *d;
	size_t ndiags;
	const char *path;
	struct cfg_lex lx;          /* the lexer: line number, long values */
	enum sect cur;
	size_t cur_acct;            /* index into c->accounts when cur == S_ACCOUNT */
	int sect_line[S_ACCOUNT];   /* header line of org/central/trail (0: absent) */
	int org_line[NORG_KEYS];
	int central_line[NCENTRAL_KEYS];
	int trail_line[NTRAIL_KEYS];
	int mon_line[NMON_KEYS];
	struct acct_lines *alines;  /* parallel to c->accounts */
	size_t alloc_alines;
	bool bad_account[2];        /* [0]: log_archive_account, [1]: management_account
	                               was invalid (reported) */
};

static void diag(struct pstate *st, int line, const char *fmt, ...) TK_PRINTF(3, 4);

static void diag(struct pstate *st, int line, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	st->ndiags++;
	if (!st->d)
		return;
	if (st->d->n >= MAX_DIAGS)
		return;
	/* A value can be almost TK_CONFIG_MAX_LINE long: a message over the
	 * limit is cut (at a character boundary) with a visible marker, never
	 * left empty. */
	buf_init(&b, 2 * TK_CONFIG_MAX_LINE);   /* a longer path: cut, BUF_TRUNC_MARK */
	if (line > 0)
		buf_addf(&b, "%s:%d: ", st->path, line);
	else
		buf_addf(&b, "%s: ", st->path);
	{
		static const char cut[] = "...(truncated)";
		char *msg = xmalloc(TK_CONFIG_MAX_LINE);
		int n;

		va_start(ap, fmt);
		n = vsnprintf(msg, TK_CONFIG_MAX_LINE, fmt, ap);
		va_end(ap);
		if (n < 0) {
			msg[0] = '\0';
		} else if ((size_t)n >= TK_CONFIG_MAX_LINE) {
			size_t at = TK_CONFIG_MAX_LINE - sizeof(cut);

			while (at > 0 && ((unsigned char)msg[at] & 0xc0) == 0x80)
				at--;
			memcpy(msg + at, cut, sizeof(cut));
		}
		buf_adds(&b, msg);
		free(msg);
	}
	if (!st->d->v)   /* at most MAX_DIAGS: allocated once */
		st->d->v = xmallocarray(MAX_DIAGS, sizeof(*st->d->v));
	st->d->v[st->d->n++] = buf_detach_marked(&b);
}

/* Levenshtein distance, case-insensitive, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t *row, d;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	row = xcalloc(lb + 1, sizeof(*row));
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = prev + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	d = row[lb];
	free(row);
	return d;
}

static const char *closest(const char *word, const char *const *names)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX, max, i;

	max = strlen(word) / 3;
	if (max < 2)
		max = 2;
	for (i = 0; names[i]; i++) {
		size_t dd = edit_distance(word, names[i]);
		size_t ln = strlen(names[i]);

		/* "bucket_name" for "bucket": a known name plus a suffix */
		if (dd > max && ln >= 4 && !strncmp(word, names[i], ln) && (word[ln] == '_' || word[ln] == '-'))
			dd = max;

		if (dd < bestd) {
			bestd = dd;
			best = names[i];
		}
	}
	return bestd <= max ? best : NULL;
}

static int key_index(const char *const *keys, const char *name)
{
	int i;

	for (i = 0; keys[i]; i++)
		if (!strcmp(keys[i], name))
			return i;
	return -1;
}

static void strlist_release(struct tk_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

static void strlist_add(struct tk_strlist *l, const char *s, size_t n)
{
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = xstrndup(s, n);
}

static bool strlist_has(const struct tk_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

/* Split "a, b ,c" into l; empty value = empty list.  Reports empty items
 * and duplicates. */
static void parse_list(struct pstate *st, const char *key, const char *v, struct tk_strlist *l)
{
	const char *p = v;

	strlist_release(l);
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
			diag(st, st->lx.lineno, "empty item in the list of '%s'", key);
		} else {
			item = xstrndup(s, (size_t)(e - s));
			if (strlist_has(l, item))
				diag(st, st->lx.lineno, "'%s' is listed twice in '%s'", item, key);
			else
				strlist_add(l, s, (size_t)(e - s));
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
			m = closest(l->v[i], names);
			free(names);
			if (m)
				diag(st, st->lx.lineno, "unknown region '%s' in '%s'; did you mean '%s'?", l->v[i], key, m);
			else
				diag(st, st->lx.lineno, "unknown region '%s' in '%s'", l->v[i], key);
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
			diag(st, st->lx.lineno, "bad account id '%s' in 'exclude_accounts': expected 12 digits", l->v[i]);
}

/* An excluded account must not be one the config checks. */
static void check_excluded(struct pstate *st)
{
	const struct tk_config *c = st->c;
	int line = st->org_line[K_EXCLUDE];
	size_t i, k;

	for (i = 0; i < c->exclude_accounts.n; i++) {
		const char *id = c->exclude_accounts.v[i];

		if (!strcmp(id, c->management_account) || !strcmp(id, c->log_archive_account)) {
			diag(st, line, "'exclude_accounts' lists '%s', the %s account, which is always checked", id,
			     !strcmp(id, c->management_account) ? "management" : "log archive");
			continue;
		}
		for (k = 0; k < c->naccounts; k++)
			if (!strcmp(c->accounts[k].id, id))
				diag(st, line, "'exclude_accounts' lists '%s', which has a section [account %s] "
				     "(line %d): exclude it or configure it, not both", id, c->accounts[k].name,
				     c->accounts[k].line);
	}
}

static void org_key(struct pstate *st, int k, const char *v)
{
	struct tk_config *c = st->c;

	switch (k) {
	case K_ORG_ID:
		set_str(&c->org_id, v);
		if (*v && !cfg_valid_org_id(v))
			diag(st, st->lx.lineno, "bad organization id '%s': expected 'o-' and 10 to 32 lower-case letters or digits", v);
		break;
	case K_MGMT:
	case K_LOGARCH: {
		char *dst = k == K_MGMT ? c->management_account : c->log_archive_account;

		dst[0] = '\0';
		if (!*v)
			break;
		if (!cfg_all_digits(v, TK_ACCOUNT_ID_LEN)) {
			st->bad_account[k == K_MGMT] = true;
			diag(st, st->lx.lineno, "bad account id '%s' for '%s': expected 12 digits", v, org_keys[k]);
		} else
			memcpy(dst, v, TK_ACCOUNT_ID_LEN + 1);
		break;
	}
	case K_HOME:
		set_str(&c->home_region, v);
		if (*v && !tk_region_known(v)) {
			struct tk_strlist one = { NULL, 0, 0 };

			strlist_add(&one, v, strlen(v));
			check_regions(st, "home_region", &one);
			strlist_release(&one);
		}
		break;
	case K_REGIONS:
		parse_list(st, "regions", v, &c->regions);
		check_regions(st, "regions", &c->regions);
		break;
	case K_ROLE:
		set_str(&c->assume_role, v);
		if (*v && !cfg_valid_role_name(v))
			diag(st, st->lx.lineno, "bad role name '%s' for 'assume_role': 1 to 64 letters, digits or '+=,.@_-'", v);
		break;
	case K_EXTID:
		set_str(&c->external_id, v);
		if (*v && !cfg_valid_external_id(v))
			diag(st, st->lx.lineno, "bad 'external_id': 2 to 1224 letters, digits or '+=,.@:/_-'");
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
		diag(st, st->lx.lineno, "bad bucket name '%s' for '%s': %s", v, key, why);
}

static void check_principals(struct pstate *st, const char *key, const struct tk_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!cfg_valid_principal(l->v[i]))
			diag(st, st->lx.lineno, "bad principal '%s' in '%s': expected an IAM ARN such as "
			     "'arn:aws:iam::123456789012:role/NAME'", l->v[i], key);
}

static void central_key(struct pstate *st, int k, const char *v)
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
			diag(st, st->lx.lineno, "bad 'key_prefix' '%s': at most 200 characters, no '//', no 'AWSLogs'", v);
		} else {
			size_t i;

			for (i = 0; i < n; i++)
				if (!isalnum((unsigned char)c->key_prefix[i]) && !strchr("/!_.*'()-", c->key_prefix[i])) {
					diag(st, st->lx.lineno, "bad 'key_prefix' '%s': use letters, digits and /!_.*'()-", v);
					break;
				}
		}
		break;
	}
	case K_ALIAS:
		set_str(&c->kms_alias, v);
		if (*v && !cfg_valid_alias(v))
			diag(st, st->lx.lineno, "bad 'kms_alias' '%s': expected 'alias/NAME' (letters, digits, '/_-'; not 'alias/aws/')", v);
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
			diag(st, st->lx.lineno, "bad 'retention_days' '%s': expected whole days from 0 (keep forever) to 36500", v);
		break;
	case K_LOCK:
		if (!strcmp(v, "none") || !*v) {
			c->object_lock = TK_LOCK_NONE;
			c->object_lock_days = 0;
		} else if ((!strncmp(v, "governance:", 11) && cfg_parse_uint(v + 11, 36500, &c->object_lock_days) == 0) ||
			   (!strncmp(v, "compliance:", 11) && cfg_parse_uint(v + 11, 36500, &c->object_lock_days) == 0)) {
			c->object_lock = v[0] == 'g' ? TK_LOCK_GOVERNANCE : TK_LOCK_COMPLIANCE;
			if (c->object_lock_days == 0)
				diag(st, st->lx.lineno, "bad 'object_lock' '%s': DAYS must be at least 1", v);
		} else {
			diag(st, st->lx.lineno, "bad 'object_lock' '%s': expected none, governance:DAYS or compliance:DAYS", v);
		}
		break;
	case K_ACCESSLOG:
		set_str(&c->access_log_bucket, v);
		if (*v)
			check_bucket(st, "access_log_bucket", v);
		break;
	case K_MAXAGE:
		if (tk_parse_duration(v, &secs) < 0 || secs <= 0)
			diag(st, st->lx.lineno, "bad duration '%s' for 'max_delivery_age': expected e.g. 90m, 1h, 2h30m, 1d", v);
		else
			c->max_delivery_age = secs;
		break;
	}
}

static void trail_key(struct pstate *st, int k, const char *v)
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
			diag(st, st->lx.lineno, "bad trail name '%s': %s", v, why);
		break;
	case K_MODE:
		if (!strcmp(v, "organization"))
			c->mode = TK_MODE_ORGANIZATION;
		else if (!strcmp(v, "per-account"))
			c->mode = TK_MODE_PER_ACCOUNT;
		else
			diag(st, st->lx.lineno, "bad 'mode' '%s': expected organization or per-account", v);
		break;
	case K_MULTI: bp = &c->multi_region; break;
	case K_GLOBAL: bp = &c->include_global_events; break;
	case K_VALIDATION: bp = &c->log_file_validation; break;
	case K_DATA: {
		struct tk_strlist raw = { NULL, 0, 0 };
		size_t i;

		parse_list(st, "data_events", v, &raw);
		strlist_release(&c->data_event_buckets);
		for (i = 0; i < raw.n; i++) {
			const char *b = raw.v[i];

			if (strncmp(b, "s3:", 3)) {
				diag(st, st->lx.lineno, "bad data event '%s': expected 's3:BUCKET'", b);
				continue;
			}
			b += 3;
			why = cfg_bucket_problem(b);
			if (why) {
				diag(st, st->lx.lineno, "bad data event bucket name '%s': %s", b, why);
				continue;
			}
			strlist_add(&c->data_event_buckets, b, strlen(b));
		}
		strlist_release(&raw);
		break;
	}
	}
	if (bp && cfg_parse_bool(v, bp) < 0)
		diag(st, st->lx.lineno, "bad value '%s' for '%s': expected true or false", v, trail_keys[k]);
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
static int parse_topic_arn(const char *v, char *region, size_t rn, char *account, const char **name)
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

static void monitoring_key(struct pstate *st, int k, const char *v)
{
	struct tk_config *c = st->c;
	struct tk_strlist l = { NULL, 0, 0 };
	long secs;
	size_t i;

	switch (k) {
	case K_MON_GROUP:
		if (!valid_log_group(v)) {
			diag(st, st->lx.lineno, "bad 'cloudwatch_log_group' '%s': 1 to 512 letters, digits or '._-/#'", v);
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
		diag(st, st->lx.lineno, "bad 'cloudwatch_retention_days' '%s': CloudWatch Logs accepts 1, 3, 5, 7, 14, "
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
				diag(st, st->lx.lineno, "unknown alarm set '%s' in 'alarms': expected tampering, "
				     "unauthorized, root (or none alone)", l.v[i]);
		}
		strlist_release(&l);
		break;
	case K_MON_NOTIFY:
		free(c->notify_topic_arn);
		c->notify_topic_arn = NULL;
		if (!strncmp(v, "arn:", 4)) {
			char region[32], account[TK_ACCOUNT_ID_LEN + 1];
			const char *name;

			if (parse_topic_arn(v, region, sizeof(region), account, &name) < 0) {
				diag(st, st->lx.lineno, "bad 'notify' '%s': expected a topic name or "
				     "'arn:aws:sns:REGION:ACCOUNT:NAME'", v);
				break;
			}
			c->notify_topic_arn = xstrdup(v);
			set_str(&c->notify_topic, name);
		} else if (!valid_topic_name(v)) {
			diag(st, st->lx.lineno, "bad 'notify' '%s': a topic name is 1 to 256 letters, digits, '-' or '_'", v);
		} else {
			set_str(&c->notify_topic, v);
		}
		break;
	case K_MON_TOPIC_KEY:
		if (!strcmp(v, "none")) {
			free(c->topic_kms_alias);
			c->topic_kms_alias = NULL;
		} else if (!strcmp(v, "alias/aws/sns")) {
			diag(st, st->lx.lineno, "'topic_kms_alias' may not be 'alias/aws/sns': the AWS managed key "
			     "does not let CloudWatch publish alarms to the topic; name a customer managed key "
			     "(trailkeep creates it) or 'none'");
		} else if (!cfg_valid_alias(v)) {
			diag(st, st->lx.lineno, "bad 'topic_kms_alias' '%s': expected 'alias/NAME' or 'none'", v);
		} else {
			set_str(&c->topic_kms_alias, v);
		}
		break;
	case K_MON_SUBSCRIBE:
		parse_list(st, "subscribe", v, &c->subscribe);
		for (i = 0; i < c->subscribe.n; i++) {
			const char *why = subscription_problem(c->subscribe.v[i]);

			if (why)
				diag(st, st->lx.lineno, "bad subscription '%s' in 'subscribe': %s", c->subscribe.v[i], why);
		}
		break;
	case K_MON_CW_AGE:
	case K_MON_ACCESS_AGE:
		if (tk_parse_duration(v, &secs) < 0 || secs <= 0)
			diag(st, st->lx.lineno, "bad duration '%s' for '%s': expected e.g. 90m, 1h, 2h30m, 1d", v,
			     monitoring_keys[k]);
		else if (k == K_MON_CW_AGE)
			c->max_cw_delivery_age = secs;
		else
			c->access_log_max_age = secs;
		break;
	}
}

static void account_key(struct pstate *st, int k, const char *v)
{
	struct tk_account *a = &st->c->accounts[st->cur_acct];

	switch (k) {
	case K_ACCT_ID:
		a->id[0] = '\0';
		if (!cfg_all_digits(v, TK_ACCOUNT_ID_LEN))
			diag(st, st->lx.lineno, "bad account id '%s': expected 12 digits", v);
		else
			memcpy(a->id, v, TK_ACCOUNT_ID_LEN + 1);
		break;
	case K_ACCT_REGIONS:
		parse_list(st, "regions", v, &a->regions);
		check_regions(st, "regions", &a->regions);
		break;
	}
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct pstate *st = user;
	const char *const *keys;
	int *lines, k;
	const char *sname;

	(void)section;
	value = cfg_lex_value(&st->lx, value);
	switch (st->cur) {
	case S_ORG: keys = org_keys; lines = st->org_line; sname = "organization"; break;
	case S_CENTRAL: keys = central_keys; lines = st->central_line; sname = "central"; break;
	case S_TRAIL: keys = trail_keys; lines = st->trail_line; sname = "trail"; break;
	case S_MONITORING: keys = monitoring_keys; lines = st->mon_line; sname = "monitoring"; break;
	case S_ACCOUNT:
		keys = account_keys;
		lines = st->alines[st->cur_acct].key;
		sname = "account";
		break;
	case S_NONE:
		diag(st, st->lx.lineno, "key '%s' is outside any section", name);
		return 1;
	default:
		return 1;   /* inside a bad section: already reported */
	}
	k = key_index(keys, name);
	if (k < 0) {
		const char *m = closest(name, keys);

		char where[160];

		if (st->cur == S_ACCOUNT)
			snprintf(where, sizeof(where), "account %s", st->c->accounts[st->cur_acct].name);
		else
			snprintf(where, sizeof(where), "%s", sname);
		if (m)
			diag(st, st->lx.lineno, "unknown key '%s' in [%s]; did you mean '%s'?", name, where, m);
		else
			diag(st, st->lx.lineno, "unknown key '%s' in [%s]", name, where);
		return 1;
	}
	if (lines[k]) {
		diag(st, st->lx.lineno, "duplicate key '%s' (first set at line %d)", name, lines[k]);
		return 1;
	}
	lines[k] = st->lx.lineno;
	switch (st->cur) {
	case S_ORG: org_key(st, k, value); break;
	case S_CENTRAL: central_key(st, k, value); break;
	case S_TRAIL: trail_key(st, k, value); break;
	case S_MONITORING: monitoring_key(st, k, value); break;
	case S_ACCOUNT: account_key(st, k, value); break;
	default: break;
	}
	return 1;
}

/* A [section] header: set st->cur. */
static void section_header(struct pstate *st, const char *s, size_t n)
{
	char name[128];
	const char *sp;
	size_t i;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, s, n);
	name[n] = '\0';
	st->cur = S_BAD;
	if (!strcmp(name, "organization") || !strcmp(name, "central") || !strcmp(name, "trail") ||
	    !strcmp(name, "monitoring")) {
		enum sect t = name[0] == 'o' ? S_ORG : name[0] == 'c' ? S_CENTRAL : name[0] == 't' ? S_TRAIL :
			      S_MONITORING;

		if (st->sect_line[t]) {
			diag(st, st->lx.lineno, "duplicate section '[%s]' (first at line %d)", name, st->sect_line[t]);
			return;
		}
		st->sect_line[t] = st->lx.lineno;
		st->cur = t;
		return;
	}
	if (!strncmp(name, "account", 7) && (name[7] == '\0' || isspace((unsigned char)name[7]))) {
		struct tk_account *a;

		sp = name + 7;
		while (isspace((unsigned char)*sp))
			sp++;
		if (!*sp) {
			diag(st, st->lx.lineno, "section '[account]' needs a name: [account NAME]");
			return;
		}
		for (i = 0; sp[i]; i++)
			if (!isalnum((unsigned char)sp[i]) && !strchr("._-", sp[i])) {
				diag(st, st->lx.lineno, "bad account name '%s': use letters, digits, '.', '_' and '-'", sp);
				return;
			}
		for (i = 0; i < st->c->naccounts; i++)
			if (!strcmp(st->c->accounts[i].name, sp)) {
				diag(st, st->lx.lineno, "duplicate section '[account %s]' (first at line %d)", sp,
				     st->c->accounts[i].line);
				return;
			}
		ALLOC_GROW(st->c->accounts, st->c->naccounts + 1, st->c->alloc_accounts);
		ALLOC_GROW(st->alines, st->c->naccounts + 1, st->alloc_alines);
		a = &st->c->accounts[st->c->naccounts];
		memset(a, 0, sizeof(*a));
		memset(&st->alines[st->c->naccounts], 0, sizeof(*st->alines));
		a->name = xstrdup(sp);
		a->line = st->lx.lineno;
		st->cur_acct = st->c->naccounts++;
		st->cur = S_ACCOUNT;
		return;
	}
	{
		const char *m = closest(name, section_names);

		if (m && !strcmp(m, "account NAME") && !strncmp(name, "acc", 3))
			m = NULL;
		if (m)
			diag(st, st->lx.lineno, "unknown section '[%s]'; did you mean '[%s]'?", name, m);
		else
			diag(st, st->lx.lineno, "unknown section '[%s]' (known: [organization], [central], [trail], "
			     "[monitoring], [account NAME])", name);
	}
}

/* The lexer's callbacks. */
static void lex_problem(void *ctx, int line, const char *msg)
{
	diag(ctx, line, "%s", msg);
}

static void lex_section(void *ctx, const char *name, size_t n)
{
	struct pstate *st = ctx;

	if (!name)
		st->cur = S_BAD;
	else
		section_header(st, name, n);
}

/* ---- loading ---- */

/* The config is an input: symbolic links are followed to a regular file
 * (Kubernetes ConfigMap mounts), anything else is refused before open()
 * (src/core/fileutil.c).  Every problem is a usage error (exit 2). */
static int read_file(const char *path, char **text, size_t *len, struct errbuf *err)
{
	int rc = tk_read_file(path, TK_CONFIG_MAX_BYTES, text, len, err);

	return rc < 0 ? TK_EUSAGE : 0;
}

static void account_regions_default(struct pstate *st)
{
	struct tk_config *c = st->c;
	size_t i, j;

	for (i = 0; i < c->naccounts; i++) {
		struct tk_account *a = &c->accounts[i];
		const struct acct_lines *al = &st->alines[i];

		if (!al->key[K_ACCT_REGIONS])
			for (j = 0; j < c->regions.n; j++)
				strlist_add(&a->regions, c->regions.v[j], strlen(c->regions.v[j]));
	}
}

/* Organization mode: the management and log-archive accounts are always
 * expected accounts (the organization trail writes their prefixes).  One
 * without an [account] section is added here, flagged implicit, named
 * "management" / "log-archive" (or NAME-ID when a section took the name),
 * with the [organization] regions; a section for the same id narrows it. */
static void implicit_account(struct pstate *st, const char *id, const char *name)
{
	struct tk_config *c = st->c;
	struct tk_account *a;
	size_t i;
	bool taken = false;

	if (!id[0] || config_find_account(c, id))
		return;
	for (i = 0; i < c->naccounts; i++)
		if (!strcmp(c->accounts[i].name, name))
			taken = true;
	ALLOC_GROW(c->accounts, c->naccounts + 1, c->alloc_accounts);
	ALLOC_GROW(st->alines, c->naccounts + 1, st->alloc_alines);
	memset(&st->alines[c->naccounts], 0, sizeof(*st->alines));
	a = &c->accounts[c->naccounts++];
	memset(a, 0, sizeof(*a));
	a->name = taken ? xasprintf("%s-%s", name, id) : xstrdup(name);
	memcpy(a->id, id, sizeof(a->id));
	a->implicit = true;
	for (i = 0; i < c->regions.n; i++)
		strlist_add(&a->regions, c->regions.v[i], strlen(c->regions.v[i]));
}

/* regions and home region; the partition */
static void region_checks(struct pstate *st)
{
	struct tk_config *c = st->c;
	size_t i;
	int org_line = st->sect_line[S_ORG];

	if (!c->home_region && c->regions.n)
		c->home_region = xstrdup(c->regions.v[0]);
	if (c->home_region && !c->regions.n && !st->org_line[K_REGIONS])
		strlist_add(&c->regions, c->home_region, strlen(c->home_region));
	if (!c->home_region) {
		if (org_line)
			diag(st, org_line, "[organization] needs 'home_region' or 'regions'");
		else
			diag(st, 0, "missing section [organization] (it needs at least 'home_region' or 'regions')");
	}
	c->partition = tk_region_partition(c->home_region);
	if (!c->partition)
		c->partition = "aws";
	for (i = 0; c->home_region && i < c->regions.n; i++) {
		const char *p = tk_region_partition(c->regions.v[i]);

		if (p && tk_region_partition(c->home_region) && strcmp(p, c->partition))
			diag(st, st->org_line[K_REGIONS], "region '%s' is in partition '%s', home_region '%s' in '%s'",
			     c->regions.v[i], p, c->home_region, c->partition);
	}
	account_regions_default(st);
}

/* [central] and [trail] values against each other */
static void central_checks(struct pstate *st)
{
	struct tk_config *c = st->c;

	if (!c->bucket) {
		if (st->central_line[K_BUCKET])
			diag(st, st->central_line[K_BUCKET], "'bucket' may not be empty");
		else if (st->sect_line[S_CENTRAL])
			diag(st, st->sect_line[S_CENTRAL], "[central] needs 'bucket'");
		else
			diag(st, 0, "missing section [central] (it needs at least 'bucket')");
	}
	if (c->bucket && c->access_log_bucket && !strcmp(c->bucket, c->access_log_bucket))
		diag(st, st->central_line[K_ACCESSLOG], "'access_log_bucket' must differ from 'bucket' "
		     "(a bucket cannot log into itself)");
	if (c->bucket && strlist_has(&c->data_event_buckets, c->bucket))
		diag(st, st->trail_line[K_DATA], "data events on the log bucket '%s' itself would log the trail's own writes",
		     c->bucket);
	if (c->object_lock != TK_LOCK_NONE && c->retention_days && c->retention_days < c->object_lock_days)
		diag(st, st->central_line[K_RETENTION], "'retention_days' (%d) is shorter than the object lock period (%d days)",
		     c->retention_days, c->object_lock_days);

	/* CloudTrail refuses a multi-region trail without global service
	 * events (InvalidParameterCombinationException) */
	if (c->multi_region && !c->include_global_events)
		diag(st, st->trail_line[K_GLOBAL], "'include_global_events = false' needs 'multi_region = false': "
		     "CloudTrail refuses a multi-region trail without global service events");
}

/* the trail mode and the accounts it needs */
static void mode_checks(struct pstate *st)
{
	struct tk_config *c = st->c;
	int org_line = st->sect_line[S_ORG];
	int trail_line = st->sect_line[S_TRAIL];

	if (!st->trail_line[K_MODE])
		c->mode = c->org_id ? TK_MODE_ORGANIZATION : TK_MODE_PER_ACCOUNT;
	if (c->mode == TK_MODE_ORGANIZATION) {
		int l = st->trail_line[K_MODE];

		if (!c->org_id)
			diag(st, l, "mode = organization needs 'id' (the organization id) in [organization]");
		if (!c->management_account[0] && !st->bad_account[1])
			diag(st, l ? l : org_line, "organization mode needs 'management_account' in [organization]");
	} else {
		if (!c->management_account[0] && !c->log_archive_account[0] &&
		    !st->bad_account[0] && !st->bad_account[1])
			diag(st, org_line, "set 'log_archive_account' (or 'management_account') in [organization]: "
			     "the account that owns the bucket and the key");
		if (c->naccounts == 0)
			diag(st, trail_line, "per-account mode needs at least one [account NAME] section");
	}
	if (!c->log_archive_account[0])
		memcpy(c->log_archive_account, c->management_account, sizeof(c->log_archive_account));
}

/* each [account NAME]; then the implicit accounts of organization mode */
static void account_checks(struct pstate *st)
{
	struct tk_config *c = st->c;
	size_t i, j;

	for (i = 0; i < c->naccounts; i++) {
		struct tk_account *a = &c->accounts[i];
		const struct acct_lines *al = &st->alines[i];

		if (!a->id[0] && !al->key[K_ACCT_ID])
			diag(st, a->line, "[account %s] needs 'id' (12 digits)", a->name);
		if (a->id[0])
			for (j = 0; j < i; j++)
				if (!strcmp(c->accounts[j].id, a->id)) {
					diag(st, al->key[K_ACCT_ID], "duplicate account id '%s' (also [account %s] at line %d)",
					     a->id, c->accounts[j].name, c->accounts[j].line);
					break;
				}
		if (!a->regions.n && (al->key[K_ACCT_REGIONS] || c->home_region))
			diag(st, al->key[K_ACCT_REGIONS] ? al->key[K_ACCT_REGIONS] : a->line,
			     "account '%s' (%s) is listed in no region", a->name, a->id[0] ? a->id : "no id");
		for (j = 0; al->key[K_ACCT_REGIONS] && j < a->regions.n && c->home_region; j++) {
			const char *p = tk_region_partition(a->regions.v[j]);

			if (p && strcmp(p, c->partition))
				diag(st, al->key[K_ACCT_REGIONS], "region '%s' is in partition '%s', home_region '%s' in '%s'",
				     a->regions.v[j], p, c->home_region, c->partition);
		}
	}
	if (c->mode == TK_MODE_ORGANIZATION && c->regions.n) {
		implicit_account(st, c->management_account, "management");
		implicit_account(st, c->log_archive_account, "log-archive");
	}
}

/* [monitoring] against the rest: an existing topic must be where the
 * alarms are (CloudWatch publishes only to a topic of the alarm's region;
 * organization mode: the management account), access_log_max_age needs the
 * access-log bucket, the topic key is not the log key */
static void monitoring_checks(struct pstate *st)
{
	struct tk_config *c = st->c;

	c->monitoring = st->sect_line[S_MONITORING] != 0;
	if (!c->monitoring)
		return;
	if (c->notify_topic_arn && c->home_region) {
		char region[32], account[TK_ACCOUNT_ID_LEN + 1];
		const char *name;

		if (parse_topic_arn(c->notify_topic_arn, region, sizeof(region), account, &name) == 0) {
			if (strcmp(region, c->home_region))
				diag(st, st->mon_line[K_MON_NOTIFY], "'notify' names a topic in '%s': CloudWatch alarms "
				     "publish only to a topic of their own region, home_region '%s'", region, c->home_region);
			else if (c->mode == TK_MODE_ORGANIZATION && c->management_account[0] &&
				 strcmp(account, c->management_account))
				diag(st, st->mon_line[K_MON_NOTIFY], "'notify' names a topic of account %s: in "
				     "organization mode the alarms live in the management account %s", account,
				     c->management_account);
			else if (c->mode == TK_MODE_PER_ACCOUNT)
				diag(st, st->mon_line[K_MON_NOTIFY], "'notify' names an existing topic: in per-account "
				     "mode every account gets its own topic, so give a topic name");
		}
	}
	if (st->mon_line[K_MON_ACCESS_AGE] && !c->access_log_bucket)
		diag(st, st->mon_line[K_MON_ACCESS_AGE], "'access_log_max_age' needs 'access_log_bucket' in [central]");
	if (c->topic_kms_alias && c->kms_alias && !strcmp(c->topic_kms_alias, c->kms_alias))
		diag(st, st->mon_line[K_MON_TOPIC_KEY] ? st->mon_line[K_MON_TOPIC_KEY] : st->sect_line[S_MONITORING],
		     "'topic_kms_alias' must differ from [central] 'kms_alias' (the log key is only for logs)");
	if (c->notify_topic_arn && st->mon_line[K_MON_TOPIC_KEY])
		diag(st, st->mon_line[K_MON_TOPIC_KEY], "'topic_kms_alias' applies to a topic trailkeep creates; "
		     "'notify' names an existing topic");
	if (c->notify_topic_arn && c->subscribe.n)
		diag(st, st->mon_line[K_MON_SUBSCRIBE], "'subscribe' applies to a topic trailkeep creates; "
		     "'notify' names an existing topic (subscribe to it there)");
}

/* Checks across keys, after the whole file was read. */
static void cross_checks(struct pstate *st)
{
	region_checks(st);
	central_checks(st);
	mode_checks(st);
	account_checks(st);
	monitoring_checks(st);
}

int config_load(struct tk_config *out, const char *path, struct tk_diags *diags, struct errbuf *err)
{
	struct pstate st;
	char *text = NULL;
	size_t len = 0;
	unsigned byte = 0;
	int rc, line;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	out->path = xstrdup(path);
	out->multi_region = out->include_global_events = out->log_file_validation = true;
	out->max_delivery_age = 3600;
	out->assume_role = xstrdup("OrganizationAccountAccessRole");
	out->kms_alias = xstrdup("alias/trailkeep-cloudtrail");
	out->trail_name = xstrdup("trailkeep");
	out->partition = "aws";
	out->cw_log_group = xstrdup("/trailkeep/cloudtrail");
	out->cw_retention_days = 365;
	out->alarm_sets = TK_ALARMS_TAMPERING;
	out->notify_topic = xstrdup("trailkeep-alarms");
	out->topic_kms_alias = xstrdup("alias/trailkeep-alarms");
	out->max_cw_delivery_age = 3600;
	out->access_log_max_age = 6 * 3600;
	if (diags) {
		diags->v = NULL;
		diags->n = 0;
	}
	rc = read_file(path, &text, &len, err);
	if (rc < 0)
		goto done;
	line = cfg_lex_binary_line(text, len, &byte);
	if (line) {
		rc = err_set(err, TK_EUSAGE, "%s:%d: binary data (byte 0x%02x): '%s' is not a text INI file",
			     path, line, byte, path);
		goto done;
	}
	st.c = out;
	st.d = diags;
	st.path = path;
	cfg_lex_init(&st.lx, text, len, &st, lex_problem, lex_section);
	st.cur = S_NONE;
	rc = ini_parse_stream(cfg_lex_reader, &st.lx, handler, &st);
	if (rc != 0 && st.ndiags == 0)
		diag(&st, rc > 0 ? rc : 0, "cannot parse this line");
	cross_checks(&st);
	check_excluded(&st);
	if (st.ndiags) {
		rc = err_set(err, TK_EUSAGE, "'%s': %zu problem%s", path, st.ndiags, st.ndiags == 1 ? "" : "s");
		goto done;
	}
	rc = 0;
done:
	free(text);
	free(st.alines);
	cfg_lex_release(&st.lx);
	if (rc < 0)
		config_release(out);
	return rc;
}

void config_release(struct tk_config *c)
{
	size_t i;

	if (!c)
		return;
	free(c->path);
	free(c->org_id);
	free(c->home_region);
	strlist_release(&c->regions);
	free(c->assume_role);
	free(c->external_id);
	strlist_release(&c->exclude_accounts);
	free(c->bucket);
	free(c->key_prefix);
	free(c->kms_alias);
	strlist_release(&c->decrypt_principals);
	strlist_release(&c->break_glass_principals);
	strlist_release(&c->apply_principals);
	free(c->access_log_bucket);
	free(c->trail_name);
	strlist_release(&c->data_event_buckets);
	free(c->cw_log_group);
	free(c->notify_topic);
	free(c->notify_topic_arn);
	free(c->topic_kms_alias);
	strlist_release(&c->subscribe);
	for (i = 0; i < c->naccounts; i++) {
		free(c->accounts[i].name);
		strlist_release(&c->accounts[i].regions);
	}
	free(c->accounts);
	memset(c, 0, sizeof(*c));
}

void diags_release(struct tk_diags *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

const struct tk_account *config_find_account(const struct tk_config *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->naccounts; i++)
		if (!strcmp(c->accounts[i].id, id))
			return &c->accounts[i];
	return NULL;
}

char *config_trail_arn(const struct tk_config *c, const char *account_id)
{
	const char *owner = c->mode == TK_MODE_ORGANIZATION ? c->management_account : account_id;

	return xasprintf("arn:%s:cloudtrail:%s:%s:trail/%s", c->partition ? c->partition : "aws",
			 c->home_region ? c->home_region : "", owner, c->trail_name);
}

bool config_account_excluded(const struct tk_config *c, const char *id)
{
	return id && strlist_has(&c->exclude_accounts, id);
}

const char *config_central_account(const struct tk_config *c)
{
	return c->log_archive_account[0] ? c->log_archive_account : c->management_account;
}
