/* plan.c: build the plan of a config (jansson trees); plan_write.c writes
 * it.  Library code: no printing, no clock, no environment. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "buf.h"
#include "fileutil.h"
#include "plan.h"
#include "template.h"
#include "banned.h"


/* ---- variables ---- */

static void set_str(json_t *o, const char *k, const char *v);

#define MON_ROLE_NAME "trailkeep-cloudtrail-to-cloudwatch-logs"
#define ATHENA_START "2020/01/01"

/* The accounts that hold monitoring resources (README "Monitoring"): the
 * management account in organization mode, every trail owner per account. */
static size_t mon_accounts(const struct tk_config *c, const char **ids, size_t max)
{
	size_t i, n = 0;

	if (c->mode == TK_MODE_ORGANIZATION) {
		if (max)
			ids[n++] = c->management_account;
		return n;
	}
	for (i = 0; i < c->naccounts && n < max; i++)
		ids[n++] = c->accounts[i].id;
	return n;
}

static char *mon_topic_arn(const struct tk_config *c, const char *acct)
{
	if (c->notify_topic_arn)
		return xstrdup(c->notify_topic_arn);
	return xasprintf("arn:%s:sns:%s:%s:%s", c->partition, c->home_region, acct, c->notify_topic);
}

/* The "mon" object for one monitoring account. */
static json_t *mon_object(const struct tk_config *c, const char *acct)
{
	const char *part = c->partition ? c->partition : "aws";
	bool org = c->mode == TK_MODE_ORGANIZATION;
	char *trail = config_trail_arn(c, acct);
	char *topic = mon_topic_arn(c, acct);
	json_t *subs = json_array(), *m;
	size_t i;

	for (i = 0; i < c->subscribe.n; i++) {
		const char *s = c->subscribe.v[i];

		if (!strncmp(s, "mailto:", 7))
			json_array_append_new(subs, json_pack("{s:s, s:s}", "Protocol", "email", "Endpoint", s + 7));
		else
			json_array_append_new(subs, json_pack("{s:s, s:s}", "Protocol", "https", "Endpoint", s));
	}
	m = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:b, s:o}",
		      "account", acct, "trail_arn", trail, "log_group", c->cw_log_group,
		      "retention_days", (json_int_t)c->cw_retention_days,
		      "role_name", MON_ROLE_NAME, "topic_name", c->notify_topic, "topic_arn", topic,
		      "topic_key_alias", c->notify_topic_arn || !c->topic_kms_alias ? "" : c->topic_kms_alias,
		      "topic_create", !c->notify_topic_arn, "subscriptions", subs);
	json_object_set_new(m, "log_group_arn", json_sprintf("arn:%s:logs:%s:%s:log-group:%s:*", part,
							       c->home_region, acct, c->cw_log_group));
	json_object_set_new(m, "role_arn", json_sprintf("arn:%s:iam::%s:role/%s", part, acct, MON_ROLE_NAME));
	/* CloudTrail's streams: <acct>_CloudTrail_<region>; an organization
	 * trail's: <org-id>_<member>_CloudTrail_<region>, one per member */
	if (org)
		json_object_set_new(m, "stream_arn", json_sprintf("arn:%s:logs:%s:%s:log-group:%s:log-stream:%s_*",
								    part, c->home_region, acct, c->cw_log_group,
								    c->org_id));
	else
		json_object_set_new(m, "stream_arn", json_sprintf("arn:%s:logs:%s:%s:log-group:%s:log-stream:"
								    "%s_CloudTrail_*", part, c->home_region, acct,
								    c->cw_log_group, acct));
	json_object_set_new(m, "alarm_arn_pattern", json_sprintf("arn:%s:cloudwatch:%s:%s:alarm:trailkeep-*",
								   part, c->home_region, acct));
	json_object_set_new(m, "access_log_bucket_clause",
			    c->access_log_bucket ? json_sprintf(" || ($.requestParameters.bucketName = %s)",
								c->access_log_bucket) : json_string(""));
	free(trail);
	free(topic);
	return m;
}

static void monitoring_vars(json_t *v, const struct tk_config *c)
{
	const char *part = c->partition ? c->partition : "aws";
	json_t *groups = json_array(), *roles = json_array(), *topics = json_array(), *alarms = json_array();
	json_t *streams = json_array();
	struct buf accts, regs;
	const char **ids = xcalloc(c->naccounts + 1, sizeof(*ids));
	size_t i, n = mon_accounts(c, ids, c->naccounts + 1);
	char *table, *p;

	json_object_set_new(v, "monitoring", json_boolean(c->monitoring));
	json_object_set_new(v, "alarms_tampering", json_boolean(c->monitoring && (c->alarm_sets & TK_ALARMS_TAMPERING)));
	json_object_set_new(v, "alarms_organizations", json_boolean(c->monitoring && (c->alarm_sets & TK_ALARMS_TAMPERING) &&
								      c->mode == TK_MODE_ORGANIZATION));
	json_object_set_new(v, "alarms_unauthorized",
			    json_boolean(c->monitoring && (c->alarm_sets & TK_ALARMS_UNAUTHORIZED)));
	json_object_set_new(v, "alarms_root", json_boolean(c->monitoring && (c->alarm_sets & TK_ALARMS_ROOT)));
	json_object_set_new(v, "mon_topic_create", json_boolean(c->monitoring && !c->notify_topic_arn));
	json_object_set_new(v, "mon_topic_key", json_boolean(c->monitoring && !c->notify_topic_arn &&
							     c->topic_kms_alias));
	json_object_set_new(v, "mon_access_logs", json_boolean(c->monitoring && c->access_log_bucket));
	for (i = 0; c->monitoring && i < n; i++) {
		json_t *m = mon_object(c, ids[i]);

		json_array_append(groups, json_object_get(m, "log_group_arn"));
		json_array_append(streams, json_object_get(m, "stream_arn"));
		json_array_append(roles, json_object_get(m, "role_arn"));
		json_array_append(topics, json_object_get(m, "topic_arn"));
		json_array_append(alarms, json_object_get(m, "alarm_arn_pattern"));
		json_decref(m);
	}
	json_object_set_new(v, "mon_log_group_arns", groups);
	json_object_set_new(v, "mon_stream_arns", streams);
	json_object_set_new(v, "mon_role_arns", roles);
	json_object_set_new(v, "mon_topic_arns", topics);
	json_object_set_new(v, "mon_alarm_arns", alarms);
	free(ids);

	/* Athena (the athena SQL files) */
	/* never full: every id and region comes from the config, which is at
	 * most TK_CONFIG_MAX_BYTES and spells each at least as long as here */
	buf_init(&accts, TK_CONFIG_MAX_BYTES);
	buf_init(&regs, TK_CONFIG_MAX_BYTES);
	for (i = 0; i < c->naccounts; i++)
		buf_addf(&accts, "%s%s", i ? "," : "", c->accounts[i].id);
	{
		/* every region some account logs from, [organization] regions first */
		struct tk_strlist seen = { NULL, 0, 0 };
		size_t j, k, alloc = 0;

		for (i = 0; i <= c->naccounts; i++) {
			const struct tk_strlist *l = i == 0 ? &c->regions : &c->accounts[i - 1].regions;

			for (j = 0; j < l->n; j++) {
				for (k = 0; k < seen.n && strcmp(seen.v[k], l->v[j]); k++)
					;
				if (k < seen.n)
					continue;
				ALLOC_GROW(seen.v, seen.n + 1, alloc);
				seen.v[seen.n++] = l->v[j];   /* borrowed */
				buf_addf(&regs, "%s%s", seen.n > 1 ? "," : "", l->v[j]);
			}
		}
		free(seen.v);
	}
	set_str(v, "athena_accounts", buf_cstr(&accts));
	set_str(v, "athena_regions", buf_cstr(&regs));
	buf_release(&accts);
	buf_release(&regs);
	table = xasprintf("cloudtrail_%s", c->bucket);
	for (p = table; *p; p++)
		if (*p == '-' || *p == '.')
			*p = '_';
	set_str(v, "athena_table", table);
	free(table);
	table = xasprintf("s3_access_logs_%s", c->bucket);
	for (p = table; *p; p++)
		if (*p == '-' || *p == '.')
			*p = '_';
	set_str(v, "athena_access_table", table);
	free(table);
	set_str(v, "athena_start", ATHENA_START);
	if (c->mode == TK_MODE_ORGANIZATION && c->org_id)
		json_object_set_new(v, "org_path", json_sprintf("%s/", c->org_id));
	else
		set_str(v, "org_path", "");
	(void)part;
}

static json_t *strlist_json(const struct tk_strlist *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));   /* steals */
	return a;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v ? v : ""));   /* steals */
}

/* who administers the protection, which buckets trailkeep manages, and the
 * data-event prefixes */
static void principal_vars(json_t *v, const struct tk_config *c, const char *part, const char *central,
			   const char *bucket_arn)
{
	json_t *admins, *buckets, *prefixes;
	size_t i;

	admins = strlist_json(&c->break_glass_principals);
	json_array_append_new(admins, json_sprintf("arn:%s:iam::%s:role/%s", part, central, c->assume_role));
	for (i = 0; i < c->apply_principals.n; i++)
		json_array_append_new(admins, json_string(c->apply_principals.v[i]));
	json_object_set_new(v, "protection_admins", admins);   /* steals */
	buckets = json_array();
	json_array_append_new(buckets, json_string(bucket_arn));
	if (c->access_log_bucket)
		json_array_append_new(buckets, json_sprintf("arn:%s:s3:::%s", part, c->access_log_bucket));
	json_object_set_new(v, "managed_bucket_arns", buckets);
	prefixes = json_array();
	for (i = 0; i < c->data_event_buckets.n; i++)
		json_array_append_new(prefixes, json_sprintf("arn:%s:s3:::%s/", part, c->data_event_buckets.v[i]));
	json_object_set_new(v, "data_event_prefixes", prefixes);
}

/* the accounts, the trails and who may write where (logs: the bucket's
 * .../AWSLogs ARN) */
static void trail_vars(json_t *v, const struct tk_config *c, const char *part, const char *logs)
{
	json_t *accounts = json_array(), *writers = json_array();
	json_t *trail_arns = json_array(), *ctx = json_array(), *trail_accounts = json_array();
	bool org = c->mode == TK_MODE_ORGANIZATION;
	size_t i;

	if (org) {
		char *arn = config_trail_arn(c, c->management_account);
		json_t *w;

		json_array_append_new(trail_arns, json_string(arn));
		json_array_append_new(trail_accounts, json_string(c->management_account));
		json_array_append_new(ctx, json_sprintf("arn:%s:cloudtrail:*:%s:trail/*", part, c->management_account));
		w = json_pack("{s:s, s:s+++, s:s}", "sid", "TrailkeepOrgWrite", "resource", logs, "/", c->org_id, "/*",
			      "trail_arn", arn);
		json_array_append_new(writers, w);
		w = json_pack("{s:s, s:s+++, s:s}", "sid", "TrailkeepManagementWrite", "resource", logs, "/",
			      c->management_account, "/*", "trail_arn", arn);
		json_array_append_new(writers, w);
		free(arn);
	}
	for (i = 0; i < c->naccounts; i++) {
		const struct tk_account *a = &c->accounts[i];
		char *arn = config_trail_arn(c, a->id);

		json_t *aj = json_pack("{s:s, s:s, s:s, s:o}", "name", a->name, "id", a->id, "trail_arn", arn,
				       "regions", strlist_json(&a->regions));

		if (a->implicit)   /* organization mode, no [account] section */
			json_object_set_new(aj, "implicit", json_true());
		json_array_append_new(accounts, aj);
		if (!org) {
			json_array_append_new(trail_arns, json_string(arn));
			json_array_append_new(trail_accounts, json_string(a->id));
			json_array_append_new(ctx, json_sprintf("arn:%s:cloudtrail:*:%s:trail/*", part, a->id));
			json_array_append_new(writers, json_pack("{s:s+, s:s+++, s:s}", "sid", "TrailkeepWrite", a->id,
								 "resource", logs, "/", a->id, "/*", "trail_arn", arn));
		}
		free(arn);
	}
	json_object_set_new(v, "accounts", accounts);
	json_object_set_new(v, "writers", writers);
	json_object_set_new(v, "trail_arns", trail_arns);
	json_object_set_new(v, "trail_accounts", trail_accounts);
	json_object_set_new(v, "encryption_context_arns", ctx);
}

json_t *plan_vars(const struct tk_config *c)
{
	json_t *v = json_object();
	const char *part = c->partition ? c->partition : "aws";
	const char *central = config_central_account(c);
	char *bucket_arn = xasprintf("arn:%s:s3:::%s", part, c->bucket);
	char *kp = c->key_prefix ? xasprintf("%s/", c->key_prefix) : xstrdup("");
	char *logs = xasprintf("%s/%sAWSLogs", bucket_arn, kp);
	bool org = c->mode == TK_MODE_ORGANIZATION;

	set_str(v, "partition", part);
	set_str(v, "home_region", c->home_region);
	set_str(v, "org_id", c->org_id);
	set_str(v, "management_account", c->management_account);
	set_str(v, "central_account", central);
	set_str(v, "bucket", c->bucket);
	set_str(v, "bucket_arn", bucket_arn);
	set_str(v, "key_prefix", kp);
	set_str(v, "key_prefix_name", c->key_prefix);
	set_str(v, "logs_arn", logs);
	set_str(v, "access_log_bucket", c->access_log_bucket);
	set_str(v, "access_log_bucket_arn", "");
	if (c->access_log_bucket) {
		json_object_set_new(v, "access_log_bucket_arn",
				    json_sprintf("arn:%s:s3:::%s", part, c->access_log_bucket));
		json_object_set_new(v, "access_log_prefix", json_sprintf("%s/", c->bucket));
	} else {
		set_str(v, "access_log_prefix", "");
	}
	set_str(v, "kms_alias", c->kms_alias);
	json_object_set_new(v, "kms_key_arn",
			    json_sprintf("arn:%s:kms:%s:%s:%s", part, c->home_region, central, c->kms_alias));
	set_str(v, "trail_name", c->trail_name);
	set_str(v, "mode", org ? "organization" : "per-account");
	json_object_set_new(v, "is_org", json_boolean(org));
	json_object_set_new(v, "is_per_account", json_boolean(!org));
	json_object_set_new(v, "multi_region", json_boolean(c->multi_region));
	json_object_set_new(v, "include_global_events", json_boolean(c->include_global_events));
	json_object_set_new(v, "log_file_validation", json_boolean(c->log_file_validation));
	json_object_set_new(v, "retention_days", json_integer(c->retention_days));
	json_object_set_new(v, "object_lock", json_boolean(c->object_lock != TK_LOCK_NONE));
	set_str(v, "object_lock_mode", c->object_lock == TK_LOCK_COMPLIANCE ? "COMPLIANCE" : "GOVERNANCE");
	json_object_set_new(v, "object_lock_days", json_integer(c->object_lock_days));
	set_str(v, "assume_role", c->assume_role);
	json_object_set_new(v, "regions", strlist_json(&c->regions));
	json_object_set_new(v, "decrypt_principals", strlist_json(&c->decrypt_principals));
	json_object_set_new(v, "break_glass_principals", strlist_json(&c->break_glass_principals));
	principal_vars(v, c, part, central, bucket_arn);
	monitoring_vars(v, c);
	trail_vars(v, c, part, logs);
	free(bucket_arn);
	free(kp);
	free(logs);
	return v;
}

/* ---- building ---- */

char *plan_dump(const json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	char *t;

	if (!s)
		return xstrdup("null\n");
	t = xasprintf("%s\n", s);
	free(s);
	return t;
}

size_t plan_policy_size(const json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	size_t n = s ? strlen(s) : 0;

	free(s);
	return n;
}

static void add_file(struct plan *p, const char *path, json_t *doc)
{
	ALLOC_GROW(p->files, p->nfiles + 1, p->alloc_files);
	p->files[p->nfiles].path = xstrdup(path);
	p->files[p->nfiles].doc = doc;   /* owned by the plan now */
	p->files[p->nfiles].text = NULL;
	p->nfiles++;
}

const struct plan_file *plan_find(const struct plan *p, const char *path)
{
	size_t i;

	for (i = 0; i < p->nfiles; i++)
		if (!strcmp(p->files[i].path, path))
			return &p->files[i];
	return NULL;
}

/* A policy apply merges (bucket, key, access-log bucket): apply replaces
 * only statements whose Sid starts with APPLY_SID_PREFIX and refuses a plan
 * with any other, so plan refuses it first, naming the template. */
static int check_owned_sids(const json_t *doc, const char *dir, const char *tmpl, struct errbuf *err)
{
	const json_t *sts = json_object_get(doc, "Statement"), *st;
	size_t i, j, n = json_array_size(sts);

	if (!json_is_object(doc) || !json_is_array(sts))
		return err_set(err, TK_EUSAGE, "%s/%s: the policy has no \"Statement\" list", dir, tmpl);
	for (i = 0; i < n; i++) {
		const char *sid;

		st = json_array_get(sts, i);
		sid = json_string_value(json_object_get(st, "Sid"));
		if (!sid || strncmp(sid, APPLY_SID_PREFIX, strlen(APPLY_SID_PREFIX)))
			return err_set(err, TK_EUSAGE, "%s/%s: statement %zu has no \"Sid\" starting with '%s' "
				       "(apply changes only statements it can recognise as its own)", dir, tmpl, i + 1,
				       APPLY_SID_PREFIX);
		for (j = 0; j < i; j++)
			if (!strcmp(sid, json_string_value(json_object_get(json_array_get(sts, j), "Sid"))))
				return err_set(err, TK_EUSAGE, "%s/%s: statements %zu and %zu have the same Sid '%s'",
					       dir, tmpl, j + 1, i + 1, sid);
	}
	return 0;
}

static int render_into(struct plan *p, const char *dir, const char *tmpl, const char *path, json_t *vars,
		       struct errbuf *err)
{
	json_t *doc = NULL;
	int rc = tmpl_render_file(&doc, dir, tmpl, vars, err);

	if (rc < 0)
		return rc;
	if ((!strcmp(tmpl, "bucket-policy.json") || !strcmp(tmpl, "kms-key-policy.json") ||
	     !strcmp(tmpl, "access-log-bucket-policy.json")) &&
	    (rc = check_owned_sids(doc, dir, tmpl, err)) < 0) {
		json_decref(doc);
		return rc;
	}
	add_file(p, path, doc);
	return 0;
}

/* A text template (the athena SQL files): "${name}" is replaced by the variable's
 * value (a string or an integer), "$${" is a literal "${"; anything else is
 * copied.  TK_EUSAGE names the file and line of an unknown placeholder. */
static int render_text(struct plan *p, const char *dir, const char *tmpl, const char *path, json_t *vars,
		       struct errbuf *err)
{
	char *file = xasprintf("%s/%s", dir, tmpl), *text = NULL;
	size_t len = 0, i, line = 1;
	struct buf out;
	int rc;

	if ((rc = tk_read_file(file, TK_TEMPLATE_MAX_BYTES, &text, &len, err)) < 0) {
		free(file);
		return TK_EUSAGE;
	}
	buf_init(&out, TK_TEMPLATE_MAX_OUTPUT);
	for (i = 0; i < len; i++) {
		if (text[i] == '\n')
			line++;
		if (text[i] == '$' && i + 2 < len && text[i + 1] == '$' && text[i + 2] == '{') {
			buf_adds(&out, "${");
			i += 2;
		} else if (text[i] == '$' && i + 1 < len && text[i + 1] == '{') {
			const char *end = memchr(text + i + 2, '}', len - i - 2);
			char *name;
			json_t *val;

			if (!end) {
				rc = err_set(err, TK_EUSAGE, "%s:%zu: '${' without '}'", file, line);
				goto done;
			}
			name = xstrndup(text + i + 2, (size_t)(end - text - i - 2));
			val = json_object_get(vars, name);
			if (json_is_string(val))
				buf_adds(&out, json_string_value(val));
			else if (json_is_integer(val))
				buf_addf(&out, "%lld", (long long)json_integer_value(val));
			else {
				rc = err_set(err, TK_EUSAGE, "%s:%zu: unknown placeholder '${%s}'", file, line, name);
				free(name);
				goto done;
			}
			free(name);
			i = (size_t)(end - text);
		} else {
			buf_add(&out, text + i, 1);
		}
	}
	if (buf_error(&out)) {
		rc = err_set(err, TK_EUSAGE, "%s: renders to more than %u bytes", file, TK_TEMPLATE_MAX_OUTPUT);
		goto done;
	}
	ALLOC_GROW(p->files, p->nfiles + 1, p->alloc_files);
	p->files[p->nfiles].path = xstrdup(path);
	p->files[p->nfiles].doc = NULL;
	p->files[p->nfiles].text = xstrdup(buf_cstr(&out));
	p->nfiles++;
	rc = 0;
done:
	buf_release(&out);
	free(text);
	free(file);
	return rc;
}

/* The monitoring files of one account (README "Monitoring"). */
static int render_monitoring(struct plan *p, const char *dir, const struct tk_config *c, const char *acct,
			     json_t *vars, bool no_limits, struct errbuf *err)
{
	json_t *m = mon_object(c, acct);
	char *path;
	int rc;
	static const struct {
		const char *tmpl, *file;
		size_t limit;
		const char *what;
		int when;      /* 0: always, 1: topic created, 2: topic key */
	} files[] = {
		{ "monitoring.json", "monitoring.json", 0, NULL, 0 },
		{ "cloudwatch-logs-role-trust.json", "cloudwatch-logs-role-trust.json", TK_ROLE_TRUST_LIMIT,
		  "the CloudWatch Logs role's trust policy", 0 },
		{ "cloudwatch-logs-role-policy.json", "cloudwatch-logs-role-policy.json", TK_ROLE_INLINE_LIMIT,
		  "the CloudWatch Logs role's permissions", 0 },
		{ "alarm-topic-policy.json", "topic-policy.json", TK_TOPIC_POLICY_LIMIT, "the alarm topic's policy", 1 },
		{ "alarm-topic-key-policy.json", "topic-key-policy.json", TK_KEY_POLICY_LIMIT,
		  "the alarm topic key's policy", 2 },
	};
	size_t i;

	json_object_set_new(vars, "mon", m);   /* steals; m stays valid */
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const struct plan_file *f;

		if ((files[i].when == 1 && c->notify_topic_arn) ||
		    (files[i].when == 2 && (c->notify_topic_arn || !c->topic_kms_alias)))
			continue;
		path = xasprintf("monitoring/%s/%s", acct, files[i].file);
		rc = render_into(p, dir, files[i].tmpl, path, vars, err);
		free(path);
		if (rc < 0)
			goto done;
		f = &p->files[p->nfiles - 1];
		if (files[i].limit && !no_limits && plan_policy_size(f->doc) > files[i].limit) {
			rc = err_set(err, TK_ELIMIT, "%s would be %zu bytes, over AWS's limit of %zu bytes", files[i].what,
				     plan_policy_size(f->doc), files[i].limit);
			goto done;
		}
	}
	rc = 0;
done:
	json_object_del(vars, "mon");
	return rc;
}

static size_t count_statements(const json_t *doc)
{
	return json_array_size(json_object_get(doc, "Statement"));
}

static json_t *step(json_t *order, const char *type, const char *account, const char *region,
		    const char *name)
{
	json_t *s = json_pack("{s:I, s:s, s:s, s:s, s:s}", "step", (json_int_t)json_array_size(order) + 1,
			      "type", type, "account", account, "region", region, "name", name);

	json_array_append_new(order, s);   /* steals; s stays valid as the array holds it */
	return s;
}

static size_t count_regions(const struct tk_config *c)
{
	struct tk_strlist seen = { NULL, 0, 0 };
	size_t i, j, k, n, alloc = 0;

	for (i = 0; i <= c->naccounts; i++) {
		const struct tk_strlist *l = i < c->naccounts ? &c->accounts[i].regions : &c->regions;

		for (j = 0; j < l->n; j++) {
			for (k = 0; k < seen.n; k++)
				if (!strcmp(seen.v[k], l->v[j]))
					break;
			if (k == seen.n) {
				ALLOC_GROW(seen.v, seen.n + 1, alloc);
				seen.v[seen.n++] = l->v[j];   /* borrowed */
			}
		}
	}
	n = seen.n;
	free(seen.v);
	return n;
}

/* one trail in organization mode, one per account otherwise */
static size_t trail_count(const struct tk_config *c)
{
	return c->mode == TK_MODE_ORGANIZATION ? 1 : c->naccounts;
}

/* the trails' files: accounts/ACCOUNT/trail.json.  0 or negative. */
static int render_trails(struct plan *out, const char *dir, const struct tk_config *c, json_t *vars,
			 struct errbuf *err)
{
	bool org = c->mode == TK_MODE_ORGANIZATION;
	json_t *trailvar = json_object();
	size_t i;
	int rc = 0;

	json_object_set_new(vars, "trail", trailvar);   /* steals; trailvar stays valid */
	for (i = 0; i < trail_count(c) && rc >= 0; i++) {
		const char *acct = org ? c->management_account : c->accounts[i].id;
		char *arn = config_trail_arn(c, acct);
		char *path = xasprintf("accounts/%s/trail.json", acct);

		json_object_set_new(trailvar, "account", json_string(acct));
		json_object_set_new(trailvar, "arn", json_string(arn));
		rc = render_into(out, dir, "trail.json", path, vars, err);
		free(arn);
		free(path);
	}
	json_object_del(vars, "trail");
	return rc < 0 ? rc : 0;
}

/* Every file of the plan but plan.json, from the templates.  0 or negative. */
static int render_files(struct plan *out, const struct tk_config *c, const struct plan_opts *o, json_t *vars,
			struct errbuf *err)
{
	const char *dir = o->templates_dir;
	size_t i;
	int rc;

	if ((rc = render_into(out, dir, "bucket-policy.json", "central/bucket-policy.json", vars, err)) < 0 ||
	    (rc = render_into(out, dir, "kms-key-policy.json", "central/kms-key-policy.json", vars, err)) < 0 ||
	    (rc = render_into(out, dir, "bucket-settings.json", "central/bucket-settings.json", vars, err)) < 0)
		return rc;
	if (c->access_log_bucket &&
	    (rc = render_into(out, dir, "access-log-bucket-policy.json", "central/access-log-bucket-policy.json",
			      vars, err)) < 0)
		return rc;
	if ((rc = render_trails(out, dir, c, vars, err)) < 0)
		return rc;
	if (c->monitoring) {
		const char **ids = xcalloc(c->naccounts + 1, sizeof(*ids));
		size_t n = mon_accounts(c, ids, c->naccounts + 1);

		for (i = 0; i < n; i++)
			if ((rc = render_monitoring(out, dir, c, ids[i], vars, o->no_limits, err)) < 0)
				break;
		free(ids);
		if (rc < 0)
			return rc;
	}
	/* Athena tables come with [monitoring] (README "Athena") */
	if (c->monitoring &&
	    ((rc = render_text(out, dir, "athena/cloudtrail.sql", "athena/cloudtrail.sql", vars, err)) < 0 ||
	     (c->access_log_bucket &&
	      (rc = render_text(out, dir, "athena/s3-access-logs.sql", "athena/s3-access-logs.sql", vars, err)) < 0)))
		return rc;
	if ((rc = render_into(out, dir, "apply-role-policy.json", "iam/apply-role-policy.json", vars, err)) < 0 ||
	    (rc = render_into(out, dir, "verify-role-policy.json", "iam/verify-role-policy.json", vars, err)) < 0)
		return rc;
	return 0;
}

/* The policies' sizes and counts; over a service's limit is TK_ELIMIT
 * (unless o->no_limits).  0 or negative. */
static int measure(struct plan *out, const struct tk_config *c, const struct plan_opts *o, struct errbuf *err)
{
	bool org = c->mode == TK_MODE_ORGANIZATION;

	out->bucket_policy_size = plan_policy_size(plan_find(out, "central/bucket-policy.json")->doc);
	out->key_policy_size = plan_policy_size(plan_find(out, "central/kms-key-policy.json")->doc);
	if (c->access_log_bucket)
		out->access_log_policy_size = plan_policy_size(plan_find(out, "central/access-log-bucket-policy.json")->doc);
	out->naccounts = c->naccounts;
	out->nregions = count_regions(c);
	out->ntrails = trail_count(c);
	out->nstatements = count_statements(plan_find(out, "central/bucket-policy.json")->doc) +
			   count_statements(plan_find(out, "central/kms-key-policy.json")->doc);
	if (o->no_limits)
		return 0;
	if (out->bucket_policy_size > TK_BUCKET_POLICY_LIMIT)
		return err_set(err, TK_ELIMIT, "the bucket policy would be %zu bytes, over S3's limit of %d bytes "
			       "(20 KB)%s", out->bucket_policy_size, TK_BUCKET_POLICY_LIMIT,
			       org ? ": shorten the bucket name or key_prefix" :
			       ": use mode = organization (one trail, two write statements) "
			       "or split the accounts over several buckets");
	if (out->key_policy_size > TK_KEY_POLICY_LIMIT)
		return err_set(err, TK_ELIMIT, "the KMS key policy would be %zu bytes, over KMS's limit of %d bytes "
			       "(32 KB)%s", out->key_policy_size, TK_KEY_POLICY_LIMIT,
			       org ? ": list fewer decrypt_principals or break_glass_principals" :
			       ": use mode = organization or split the accounts over several keys");
	if (out->access_log_policy_size > TK_BUCKET_POLICY_LIMIT)
		return err_set(err, TK_ELIMIT, "the access-log bucket policy would be %zu bytes, over S3's limit "
			       "of %d bytes (20 KB)", out->access_log_policy_size, TK_BUCKET_POLICY_LIMIT);
	return 0;
}

/* plan.json's apply order: every resource and its desired state */
static json_t *apply_order(const struct tk_config *c)
{
	bool org = c->mode == TK_MODE_ORGANIZATION;
	const char *central = config_central_account(c);
	json_t *order = json_array(), *s;
	size_t i;

	s = step(order, "kms_key", central, c->home_region, c->kms_alias);
	json_object_set_new(s, "desired", json_pack("{s:s, s:s, s:b, s:s}", "KeySpec", "SYMMETRIC_DEFAULT",
						     "KeyUsage", "ENCRYPT_DECRYPT", "KeyRotationEnabled", 1,
						     "Policy", "central/kms-key-policy.json"));
	s = step(order, "kms_alias", central, c->home_region, c->kms_alias);
	s = step(order, "s3_bucket", central, c->home_region, c->bucket);
	json_object_set_new(s, "desired", json_pack("{s:s}", "Settings", "central/bucket-settings.json"));
	s = step(order, "s3_bucket_policy", central, c->home_region, c->bucket);
	json_object_set_new(s, "desired", json_pack("{s:s}", "Policy", "central/bucket-policy.json"));
	if (c->access_log_bucket) {
		s = step(order, "s3_access_log_bucket", central, c->home_region, c->access_log_bucket);
		json_object_set_new(s, "desired", json_pack("{s:s, s:s}", "Settings",
							     "central/bucket-settings.json#AccessLogBucket",
							     "Policy", "central/access-log-bucket-policy.json"));
	}
	for (i = 0; i < trail_count(c); i++) {
		const char *acct = org ? c->management_account : c->accounts[i].id;
		char *path = xasprintf("accounts/%s/trail.json", acct);
		char *arn = config_trail_arn(c, acct);

		s = step(order, "cloudtrail_trail", acct, c->home_region, c->trail_name);
		json_object_set_new(s, "arn", json_string(arn));
		json_object_set_new(s, "desired", json_pack("{s:s}", "Trail", path));
		s = step(order, "cloudtrail_event_selectors", acct, c->home_region, c->trail_name);
		json_object_set_new(s, "desired", json_pack("{s:s+}", "Selectors", path, "#PutEventSelectors"));
		s = step(order, "cloudtrail_logging", acct, c->home_region, c->trail_name);
		json_object_set_new(s, "desired", json_pack("{s:b}", "IsLogging", 1));
		free(path);
		free(arn);
	}
	return order;
}

/* plan.json: the run's settings, the apply order, the sizes, the files */
static json_t *plan_meta(const struct plan *out, const struct tk_config *c, const json_t *vars)
{
	bool org = c->mode == TK_MODE_ORGANIZATION;
	json_t *meta, *files;
	size_t i;

	meta = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
			 "format", 1,
			 "mode", org ? "organization" : "per-account",
			 "partition", c->partition ? c->partition : "aws",
			 "home_region", c->home_region,
			 "central_account", config_central_account(c),
			 "bucket", c->bucket,
			 "trail_name", c->trail_name,
			 "kms_alias", c->kms_alias,
			 "accounts", json_incref(json_object_get(vars, "accounts")),
			 "apply_order", apply_order(c),
			 "sizes", json_pack("{s:{s:I, s:i}, s:{s:I, s:i}}",
					    "bucket_policy", "bytes", (json_int_t)out->bucket_policy_size,
					    "limit", TK_BUCKET_POLICY_LIMIT,
					    "kms_key_policy", "bytes", (json_int_t)out->key_policy_size,
					    "limit", TK_KEY_POLICY_LIMIT));
	if (!meta)
		return NULL;
	if (c->org_id)
		json_object_set_new(meta, "organization_id", json_string(c->org_id));
	if (c->management_account[0])
		json_object_set_new(meta, "management_account", json_string(c->management_account));
	files = json_array();
	for (i = 1; i < out->nfiles; i++)
		json_array_append_new(files, json_string(out->files[i].path));
	json_object_set_new(meta, "files", files);
	return meta;
}

int plan_build(struct plan *out, const struct tk_config *c, const struct plan_opts *o, struct errbuf *err)
{
	json_t *vars = plan_vars(c);
	int rc;

	memset(out, 0, sizeof(*out));
	add_file(out, "plan.json", NULL);   /* filled in at the end */
	rc = render_files(out, c, o, vars, err);
	if (rc == 0)
		rc = measure(out, c, o, err);
	if (rc == 0) {
		out->files[0].doc = plan_meta(out, c, vars);
		if (!out->files[0].doc)
			rc = err_set(err, TK_EFAIL, "cannot build plan.json");
	}
	json_decref(vars);
	if (rc < 0)
		plan_release(out);
	return rc;
}

void plan_release(struct plan *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nfiles; i++) {
		free(p->files[i].path);
		free(p->files[i].text);
		json_decref(p->files[i].doc);
	}
	free(p->files);
	memset(p, 0, sizeof(*p));
}

