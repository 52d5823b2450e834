/* config.c: read and check the organization config (README "Configuration").
 *
 * The file is read whole (limit TK_CONFIG_MAX_BYTES) and fed to inih line by
 * line through ini_parse_stream() with the lexer of config_lex.c (line
 * numbers, long lines, section headers, malformed lines).  This file holds
 * the sections and the key dispatch, the checks across keys, loading and
 * releasing; each section's keys are in config_keys.c (config_int.h).
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
#include "config_int.h"
#include "config_lex.h"
#include "config_values.h"
#include "fileutil.h"
#include "timeutil.h"
#include "banned.h"

#define MAX_DIAGS 200

void cfgp_diag(struct pstate *st, int line, const char *fmt, ...)
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

const char *cfgp_closest(const char *word, const char *const *names)
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

void tk_strlist_release(struct tk_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

void cfgp_strlist_add(struct tk_strlist *l, const char *s, size_t n)
{
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = xstrndup(s, n);
}

bool cfgp_strlist_has(const struct tk_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
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
		cfgp_diag(st, st->lx.lineno, "key '%s' is outside any section", name);
		return 1;
	default:
		return 1;   /* inside a bad section: already reported */
	}
	k = key_index(keys, name);
	if (k < 0) {
		const char *m = cfgp_closest(name, keys);

		char where[160];

		if (st->cur == S_ACCOUNT)
			snprintf(where, sizeof(where), "account %s", st->c->accounts[st->cur_acct].name);
		else
			snprintf(where, sizeof(where), "%s", sname);
		if (m)
			cfgp_diag(st, st->lx.lineno, "unknown key '%s' in [%s]; did you mean '%s'?", name, where, m);
		else
			cfgp_diag(st, st->lx.lineno, "unknown key '%s' in [%s]", name, where);
		return 1;
	}
	if (lines[k]) {
		cfgp_diag(st, st->lx.lineno, "duplicate key '%s' (first set at line %d)", name, lines[k]);
		return 1;
	}
	lines[k] = st->lx.lineno;
	switch (st->cur) {
	case S_ORG: cfgp_org_key(st, k, value); break;
	case S_CENTRAL: cfgp_central_key(st, k, value); break;
	case S_TRAIL: cfgp_trail_key(st, k, value); break;
	case S_MONITORING: cfgp_monitoring_key(st, k, value); break;
	case S_ACCOUNT: cfgp_account_key(st, k, value); break;
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
			cfgp_diag(st, st->lx.lineno, "duplicate section '[%s]' (first at line %d)", name, st->sect_line[t]);
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
			cfgp_diag(st, st->lx.lineno, "section '[account]' needs a name: [account NAME]");
			return;
		}
		for (i = 0; sp[i]; i++)
			if (!isalnum((unsigned char)sp[i]) && !strchr("._-", sp[i])) {
				cfgp_diag(st, st->lx.lineno, "bad account name '%s': use letters, digits, '.', '_' and '-'", sp);
				return;
			}
		for (i = 0; i < st->c->naccounts; i++)
			if (!strcmp(st->c->accounts[i].name, sp)) {
				cfgp_diag(st, st->lx.lineno, "duplicate section '[account %s]' (first at line %d)", sp,
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
		const char *m = cfgp_closest(name, section_names);

		if (m && !strcmp(m, "account NAME") && !strncmp(name, "acc", 3))
			m = NULL;
		if (m)
			cfgp_diag(st, st->lx.lineno, "unknown section '[%s]'; did you mean '[%s]'?", name, m);
		else
			cfgp_diag(st, st->lx.lineno, "unknown section '[%s]' (known: [organization], [central], [trail], "
			     "[monitoring], [account NAME])", name);
	}
}

/* The lexer's callbacks. */
static void lex_problem(void *ctx, int line, const char *msg)
{
	cfgp_diag(ctx, line, "%s", msg);
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
				cfgp_strlist_add(&a->regions, c->regions.v[j], strlen(c->regions.v[j]));
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
		cfgp_strlist_add(&a->regions, c->regions.v[i], strlen(c->regions.v[i]));
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
		cfgp_strlist_add(&c->regions, c->home_region, strlen(c->home_region));
	if (!c->home_region) {
		if (org_line)
			cfgp_diag(st, org_line, "[organization] needs 'home_region' or 'regions'");
		else
			cfgp_diag(st, 0, "missing section [organization] (it needs at least 'home_region' or 'regions')");
	}
	c->partition = tk_region_partition(c->home_region);
	if (!c->partition)
		c->partition = "aws";
	for (i = 0; c->home_region && i < c->regions.n; i++) {
		const char *p = tk_region_partition(c->regions.v[i]);

		if (p && tk_region_partition(c->home_region) && strcmp(p, c->partition))
			cfgp_diag(st, st->org_line[K_REGIONS], "region '%s' is in partition '%s', home_region '%s' in '%s'",
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
			cfgp_diag(st, st->central_line[K_BUCKET], "'bucket' may not be empty");
		else if (st->sect_line[S_CENTRAL])
			cfgp_diag(st, st->sect_line[S_CENTRAL], "[central] needs 'bucket'");
		else
			cfgp_diag(st, 0, "missing section [central] (it needs at least 'bucket')");
	}
	if (c->bucket && c->access_log_bucket && !strcmp(c->bucket, c->access_log_bucket))
		cfgp_diag(st, st->central_line[K_ACCESSLOG], "'access_log_bucket' must differ from 'bucket' "
		     "(a bucket cannot log into itself)");
	if (c->bucket && cfgp_strlist_has(&c->data_event_buckets, c->bucket))
		cfgp_diag(st, st->trail_line[K_DATA], "data events on the log bucket '%s' itself would log the trail's own writes",
		     c->bucket);
	if (c->object_lock != TK_LOCK_NONE && c->retention_days && c->retention_days < c->object_lock_days)
		cfgp_diag(st, st->central_line[K_RETENTION], "'retention_days' (%d) is shorter than the object lock period (%d days)",
		     c->retention_days, c->object_lock_days);

	/* CloudTrail refuses a multi-region trail without global service
	 * events (InvalidParameterCombinationException) */
	if (c->multi_region && !c->include_global_events)
		cfgp_diag(st, st->trail_line[K_GLOBAL], "'include_global_events = false' needs 'multi_region = false': "
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
			cfgp_diag(st, l, "mode = organization needs 'id' (the organization id) in [organization]");
		if (!c->management_account[0] && !st->bad_account[1])
			cfgp_diag(st, l ? l : org_line, "organization mode needs 'management_account' in [organization]");
	} else {
		if (!c->management_account[0] && !c->log_archive_account[0] &&
		    !st->bad_account[0] && !st->bad_account[1])
			cfgp_diag(st, org_line, "set 'log_archive_account' (or 'management_account') in [organization]: "
			     "the account that owns the bucket and the key");
		if (c->naccounts == 0)
			cfgp_diag(st, trail_line, "per-account mode needs at least one [account NAME] section");
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
			cfgp_diag(st, a->line, "[account %s] needs 'id' (12 digits)", a->name);
		if (a->id[0])
			for (j = 0; j < i; j++)
				if (!strcmp(c->accounts[j].id, a->id)) {
					cfgp_diag(st, al->key[K_ACCT_ID], "duplicate account id '%s' (also [account %s] at line %d)",
					     a->id, c->accounts[j].name, c->accounts[j].line);
					break;
				}
		if (!a->regions.n && (al->key[K_ACCT_REGIONS] || c->home_region))
			cfgp_diag(st, al->key[K_ACCT_REGIONS] ? al->key[K_ACCT_REGIONS] : a->line,
			     "account '%s' (%s) is listed in no region", a->name, a->id[0] ? a->id : "no id");
		for (j = 0; al->key[K_ACCT_REGIONS] && j < a->regions.n && c->home_region; j++) {
			const char *p = tk_region_partition(a->regions.v[j]);

			if (p && strcmp(p, c->partition))
				cfgp_diag(st, al->key[K_ACCT_REGIONS], "region '%s' is in partition '%s', home_region '%s' in '%s'",
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

		if (cfgp_parse_topic_arn(c->notify_topic_arn, region, sizeof(region), account, &name) == 0) {
			if (strcmp(region, c->home_region))
				cfgp_diag(st, st->mon_line[K_MON_NOTIFY], "'notify' names a topic in '%s': CloudWatch alarms "
				     "publish only to a topic of their own region, home_region '%s'", region, c->home_region);
			else if (c->mode == TK_MODE_ORGANIZATION && c->management_account[0] &&
				 strcmp(account, c->management_account))
				cfgp_diag(st, st->mon_line[K_MON_NOTIFY], "'notify' names a topic of account %s: in "
				     "organization mode the alarms live in the management account %s", account,
				     c->management_account);
			else if (c->mode == TK_MODE_PER_ACCOUNT)
				cfgp_diag(st, st->mon_line[K_MON_NOTIFY], "'notify' names an existing topic: in per-account "
				     "mode every account gets its own topic, so give a topic name");
		}
	}
	if (st->mon_line[K_MON_ACCESS_AGE] && !c->access_log_bucket)
		cfgp_diag(st, st->mon_line[K_MON_ACCESS_AGE], "'access_log_max_age' needs 'access_log_bucket' in [central]");
	if (c->topic_kms_alias && c->kms_alias && !strcmp(c->topic_kms_alias, c->kms_alias))
		cfgp_diag(st, st->mon_line[K_MON_TOPIC_KEY] ? st->mon_line[K_MON_TOPIC_KEY] : st->sect_line[S_MONITORING],
		     "'topic_kms_alias' must differ from [central] 'kms_alias' (the log key is only for logs)");
	if (c->notify_topic_arn && st->mon_line[K_MON_TOPIC_KEY])
		cfgp_diag(st, st->mon_line[K_MON_TOPIC_KEY], "'topic_kms_alias' applies to a topic trailkeep creates; "
		     "'notify' names an existing topic");
	if (c->notify_topic_arn && c->subscribe.n)
		cfgp_diag(st, st->mon_line[K_MON_SUBSCRIBE], "'subscribe' applies to a topic trailkeep creates; "
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
		cfgp_diag(&st, rc > 0 ? rc : 0, "cannot parse this line");
	cross_checks(&st);
	cfgp_check_excluded(&st);
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
	tk_strlist_release(&c->regions);
	free(c->assume_role);
	free(c->external_id);
	tk_strlist_release(&c->exclude_accounts);
	free(c->bucket);
	free(c->key_prefix);
	free(c->kms_alias);
	tk_strlist_release(&c->decrypt_principals);
	tk_strlist_release(&c->break_glass_principals);
	tk_strlist_release(&c->apply_principals);
	free(c->access_log_bucket);
	free(c->trail_name);
	tk_strlist_release(&c->data_event_buckets);
	free(c->cw_log_group);
	free(c->notify_topic);
	free(c->notify_topic_arn);
	free(c->topic_kms_alias);
	tk_strlist_release(&c->subscribe);
	for (i = 0; i < c->naccounts; i++) {
		free(c->accounts[i].name);
		tk_strlist_release(&c->accounts[i].regions);
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

char *config_role_arn(const struct tk_config *c, const char *account_id, const char *role)
{
	return xasprintf("arn:%s:iam::%s:role/%s", c->partition ? c->partition : "aws", account_id, role);
}

bool config_account_excluded(const struct tk_config *c, const char *id)
{
	return id && cfgp_strlist_has(&c->exclude_accounts, id);
}

const char *config_central_account(const struct tk_config *c)
{
	return c->log_archive_account[0] ? c->log_archive_account : c->management_account;
}

