#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "banned.h"

static const struct {
	const char *name;
	enum severity sev;
	const char *hint;
} table[F__COUNT] = {
	[F_TRAIL_MISSING] = { "trail_missing", SEV_ERROR,
		"create the trail: run 'trailkeep apply CONFIG'" },
	[F_TRAIL_NOT_LOGGING] = { "trail_not_logging", SEV_ERROR,
		"logging is stopped: run 'trailkeep doctor CONFIG' to see who stopped it, then StartLogging" },
	[F_TRAIL_DELIVERY_ERROR] = { "trail_delivery_error", SEV_ERROR,
		"CloudTrail cannot write to the bucket: check the bucket and KMS key policies with 'trailkeep doctor'" },
	[F_TRAIL_CONFIG_DRIFT] = { "trail_config_drift", SEV_ERROR,
		"the trail differs from the plan: review with 'trailkeep apply --dry-run' and converge" },
	[F_VALIDATION_DISABLED] = { "validation_disabled", SEV_ERROR,
		"turn log file validation on (EnableLogFileValidation) so digests are written" },
	[F_GLOBAL_EVENTS_DUPLICATED] = { "global_events_duplicated", SEV_WARNING,
		"keep IncludeGlobalServiceEvents on exactly one trail" },
	[F_DELIVERY_STALE] = { "delivery_stale", SEV_ERROR,
		"no recent log file: check the trail status and policies with 'trailkeep doctor'" },
	[F_DELIVERY_NONE] = { "delivery_none", SEV_ERROR,
		"no log file was ever delivered here: check the trail, bucket policy and prefix with 'trailkeep doctor'" },
	[F_PREFIX_MISSING] = { "prefix_missing", SEV_ERROR,
		"the account's prefix does not exist in the bucket: check the bucket policy and trail prefix" },
	[F_PREFIX_UNEXPECTED] = { "prefix_unexpected", SEV_WARNING,
		"an account nobody configured writes to the bucket: add it to the config or find out why" },
	[F_ACCOUNT_NOT_IN_ORG] = { "account_not_in_org", SEV_ERROR,
		"the organization trail no longer covers this account: run 'trailkeep doctor CONFIG', then invite it back or remove it from the config" },
	[F_ACCOUNT_UNCONFIGURED] = { "account_unconfigured", SEV_WARNING,
		"its logs arrive but nobody checks them: add an [account] section, or list it in [organization] exclude_accounts" },
	[F_ORG_TRUSTED_ACCESS_DISABLED] = { "org_trusted_access_disabled", SEV_ERROR,
		"CloudTrail has no trusted access in Organizations, so the organization trail stops logging member accounts: run 'trailkeep apply CONFIG'" },
	[F_CLOUDWATCH_DELIVERY_STALE] = { "cloudwatch_delivery_stale", SEV_ERROR,
		"CloudTrail has not delivered to CloudWatch Logs lately, so the alarms see nothing: check the role CloudTrail uses to write there with 'trailkeep doctor'" },
	[F_CLOUDWATCH_DELIVERY_ERROR] = { "cloudwatch_delivery_error", SEV_ERROR,
		"CloudTrail cannot write to the log group: check the log group and the CloudWatch Logs role with 'trailkeep doctor'" },
	[F_MONITORING_DRIFT] = { "monitoring_drift", SEV_ERROR,
		"the trail does not deliver to the planned log group with the planned role: run 'trailkeep apply CONFIG'" },
	[F_ACCESS_LOG_STALE] = { "access_log_stale", SEV_WARNING,
		"the log bucket's S3 server access logs stopped arriving: check the access-log bucket's policy for logging.s3.amazonaws.com" },
	[F_ACCESS_LOG_NONE] = { "access_log_none", SEV_WARNING,
		"no S3 server access log of the log bucket arrived: check its logging setting and the access-log bucket's policy" },
	[F_NOTIFY_DENIED] = { "notify_denied", SEV_ERROR,
		"the alarms fire but their topic refuses CloudWatch (topic policy or key): nobody is told; see 'trailkeep doctor CONFIG', then run 'trailkeep apply CONFIG'" },
	[F_NOTIFY_UNCONFIRMED] = { "notify_unconfirmed", SEV_WARNING,
		"nobody has confirmed a subscription to the alarm topic: the subscriber confirms the link in SNS's confirmation message" },
	[F_DIGEST_MISSING] = { "digest_missing", SEV_ERROR,
		"a digest file was deleted or never written: check the bucket's access logs and object versions" },
	[F_DIGEST_MOVED] = { "digest_moved", SEV_ERROR,
		"the digest is not where CloudTrail wrote it: it was copied or moved" },
	[F_DIGEST_FORMAT_INVALID] = { "digest_format_invalid", SEV_ERROR,
		"the digest file is not valid gzip'd JSON of the expected shape: it was altered" },
	[F_DIGEST_SIGNATURE_INVALID] = { "digest_signature_invalid", SEV_ERROR,
		"the digest's signature does not verify: the digest or its metadata was altered" },
	[F_DIGEST_PUBLIC_KEY_UNKNOWN] = { "digest_public_key_unknown", SEV_ERROR,
		"no CloudTrail public key with this fingerprint for the period: wrong home region or a forged digest" },
	[F_DIGEST_CHAIN_GAP] = { "digest_chain_gap", SEV_ERROR,
		"the digest chain restarted: logging or validation was off during the gap" },
	[F_DIGEST_LINK_UNREADABLE] = { "digest_link_unreadable", SEV_ERROR,
		"the chain continues at the trail's earlier S3 location, which cannot be read: grant the verify role s3:GetObject there, or validate that bucket separately" },
	[F_LOG_MISSING] = { "log_missing", SEV_ERROR,
		"a log file listed in a signed digest is gone: check the bucket's access logs and object versions" },
	[F_LOG_HASH_MISMATCH] = { "log_hash_mismatch", SEV_ERROR,
		"the log file's content differs from what CloudTrail signed: it was modified" },
	[F_LOG_FORMAT_INVALID] = { "log_format_invalid", SEV_ERROR,
		"the log file is not a single valid gzip stream within the size limit: it was altered" },
	[F_LOG_UNREFERENCED] = { "log_unreferenced", SEV_ERROR,
		"no digest lists this log file: it was not written by CloudTrail or its digest is gone" },
	[F_ACCESS_DENIED] = { "access_denied", SEV_ERROR,
		"the verify role may not read this: grant it the read-only policy from 'trailkeep plan'" },
	[F_CELL_UNCHECKED] = { "cell_unchecked", SEV_ERROR,
		"this account x region could not be checked at all: see the message, then rerun" },
};

const char *finding_code_name(enum finding_code c)
{
	return (unsigned)c < F__COUNT ? table[c].name : "unknown";
}

int finding_code_from_name(const char *name)
{
	int i;

	for (i = 0; i < F__COUNT; i++)
		if (!strcmp(table[i].name, name))
			return i;
	return -1;
}

enum severity finding_severity(enum finding_code c)
{
	return (unsigned)c < F__COUNT ? table[c].sev : SEV_ERROR;
}

const char *finding_hint(enum finding_code c)
{
	return (unsigned)c < F__COUNT ? table[c].hint : "";
}

const char *severity_name(enum severity s)
{
	switch (s) {
	case SEV_INFO: return "info";
	case SEV_WARNING: return "warning";
	default: return "error";
	}
}

void findings_init(struct findings *f)
{
	f->v = NULL;
	f->n = f->alloc = 0;
}

static void finding_release(struct finding *x)
{
	free(x->account);
	free(x->region);
	free(x->bucket);
	free(x->key);
	free(x->message);
}

void findings_release(struct findings *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		finding_release(&f->v[i]);
	free(f->v);
	findings_init(f);
}

void findings_move(struct findings *to, struct findings *from)
{
	if (!from->n) {
		findings_release(from);
		return;
	}
	ALLOC_GROW(to->v, to->n + from->n, to->alloc);
	memcpy(to->v + to->n, from->v, from->n * sizeof(*from->v));
	to->n += from->n;
	free(from->v);
	findings_init(from);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void findings_add(struct findings *f, enum finding_code code, const char *account,
		  const char *region, const char *bucket, const char *key,
		  const char *fmt, ...)
{
	struct finding *x;
	va_list ap;
	char *msg;

	ALLOC_GROW(f->v, f->n + 1, f->alloc);
	/* too long: what fits, then " [truncated]"; messages are for people */
	va_start(ap, fmt);
	msg = tk_vformat_cut(FINDING_MAX_MESSAGE, fmt, ap);
	va_end(ap);
	x = &f->v[f->n++];
	x->code = code;
	x->account = dup_or_null(account);
	x->region = dup_or_null(region);
	x->bucket = dup_or_null(bucket);
	x->key = dup_or_null(key);
	x->message = msg;
}

static int cmp_str(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int cmp_finding(const void *pa, const void *pb)
{
	const struct finding *a = pa, *b = pb;
	int r;

	if ((r = cmp_str(a->account, b->account)))
		return r;
	if ((r = cmp_str(a->region, b->region)))
		return r;
	if (a->code != b->code)
		return a->code < b->code ? -1 : 1;
	if ((r = cmp_str(a->bucket, b->bucket)))
		return r;
	if ((r = cmp_str(a->key, b->key)))
		return r;
	return cmp_str(a->message, b->message);
}

void findings_sort(struct findings *f)
{
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), cmp_finding);
}

size_t findings_count(const struct findings *f, enum finding_code code)
{
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		n += f->v[i].code == code;
	return n;
}

size_t findings_count_severity(const struct findings *f, enum severity sev)
{
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		n += finding_severity(f->v[i].code) == sev;
	return n;
}

void cell_init(struct cell_stats *c, const char *account, const char *region)
{
	memset(c, 0, sizeof(*c));
	c->account = dup_or_null(account);
	c->region = dup_or_null(region);
	c->status = CELL_OK;
}

void cell_release(struct cell_stats *c)
{
	free(c->account);
	free(c->region);
	c->account = c->region = NULL;
}

void cells_tally(struct cell_stats *cells, size_t n, const struct findings *f)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		int unchecked = 0;

		cells[i].findings = 0;
		for (j = 0; j < f->n; j++) {
			if (cmp_str(f->v[j].account, cells[i].account) ||
			    cmp_str(f->v[j].region, cells[i].region))
				continue;
			cells[i].findings++;
			if (f->v[j].code == F_CELL_UNCHECKED)
				unchecked = 1;
		}
		cells[i].status = unchecked ? CELL_UNCHECKED :
				  cells[i].findings ? CELL_FINDINGS : CELL_OK;
	}
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *status_name(enum cell_status s)
{
	switch (s) {
	case CELL_OK: return "ok";
	case CELL_FINDINGS: return "findings";
	default: return "unchecked";
	}
}

json_t *findings_to_json(const struct findings *f, const struct cell_stats *cells,
			 size_t ncells)
{
	json_t *doc = json_object(), *arr = json_array(), *carr = json_array();
	size_t i;

	/* every *_set_new / *_append_new below steals the fresh reference */
	for (i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];
		json_t *o = json_object(), *m;

		json_object_set_new(o, "code", json_string(finding_code_name(x->code)));
		json_object_set_new(o, "severity",
				    json_string(severity_name(finding_severity(x->code))));
		json_object_set_new(o, "account", str_or_null(x->account));
		json_object_set_new(o, "region", str_or_null(x->region));
		json_object_set_new(o, "bucket", str_or_null(x->bucket));
		json_object_set_new(o, "key", str_or_null(x->key));
		/* messages may quote hostile bytes: jansson needs valid UTF-8 */
		m = json_string(x->message);
		json_object_set_new(o, "message", m ? m : json_string("(message not UTF-8)"));
		json_object_set_new(o, "hint", json_string(finding_hint(x->code)));
		json_array_append_new(arr, o);
	}
	for (i = 0; i < ncells; i++) {
		const struct cell_stats *c = &cells[i];
		json_t *o = json_object();

		json_object_set_new(o, "account", str_or_null(c->account));
		json_object_set_new(o, "region", str_or_null(c->region));
		json_object_set_new(o, "newest_delivery", c->has_newest ?
				    json_integer((json_int_t)c->newest_delivery) : json_null());
		json_object_set_new(o, "digests_checked", json_integer((json_int_t)c->digests_checked));
		json_object_set_new(o, "logs_checked", json_integer((json_int_t)c->logs_checked));
		json_object_set_new(o, "findings", json_integer((json_int_t)c->findings));
		json_object_set_new(o, "status", json_string(status_name(c->status)));
		json_array_append_new(carr, o);
	}
	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "findings", arr);
	json_object_set_new(doc, "cells", carr);
	return doc;
}

/* Prometheus label value: escape backslash, double quote and newline; any
 * other byte outside printable ASCII (a hostile S3 key's account, invalid
 * UTF-8) becomes '?', so one bad value cannot make node_exporter reject the
 * whole textfile. */
static int add_label(struct buf *out, const char *s)
{
	int rc = 0;

	for (; s && *s && !rc; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\\')
			rc = buf_adds(out, "\\\\");
		else if (ch == '"')
			rc = buf_adds(out, "\\\"");
		else if (ch == '\n')
			rc = buf_adds(out, "\\n");
		else if (ch < 0x20 || ch >= 0x7f)
			rc = buf_addc(out, '?');
		else
			rc = buf_addc(out, *s);
	}
	return rc;
}

/* {account="A",region="R" (no closing brace) */
static int add_cell_labels(struct buf *out, const char *account, const char *region)
{
	int rc = buf_adds(out, "{account=\"");

	rc |= add_label(out, account);
	rc |= buf_adds(out, "\",region=\"");
	rc |= add_label(out, region);
	return rc | buf_adds(out, "\"");
}

/* The digest-chain and log-file codes (README "Log file integrity"). */
static int is_integrity(enum finding_code c)
{
	switch (c) {
	case F_DIGEST_MISSING: case F_DIGEST_MOVED: case F_DIGEST_FORMAT_INVALID:
	case F_DIGEST_SIGNATURE_INVALID: case F_DIGEST_PUBLIC_KEY_UNKNOWN:
	case F_DIGEST_CHAIN_GAP: case F_DIGEST_LINK_UNREADABLE: case F_LOG_MISSING:
	case F_LOG_HASH_MISMATCH: case F_LOG_FORMAT_INVALID: case F_LOG_UNREFERENCED:
		return 1;
	default:
		return 0;
	}
}

/* findings ordered by account, region, code (through pointers: the list
 * itself is left as the caller sorted it) */
static int cmp_cell_code(const void *pa, const void *pb)
{
	const struct finding *a = *(const struct finding *const *)pa;
	const struct finding *b = *(const struct finding *const *)pb;
	int r;

	if ((r = cmp_str(a->account, b->account)))
		return r;
	if ((r = cmp_str(a->region, b->region)))
		return r;
	return a->code == b->code ? 0 : a->code < b->code ? -1 : 1;
}

/* The first index in idx[0..n) whose finding is not before (account, region). */
static size_t lower_bound_cell(const struct finding *const *idx, size_t n, const char *account,
			       const char *region)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = cmp_str(idx[mid]->account, account);

		if (!r)
			r = cmp_str(idx[mid]->region, region);
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum metric_state { MS_OK, MS_WARNING, MS_RED, MS_UNCHECKED, MS__COUNT };
static const char *const metric_state_name[MS__COUNT] = { "ok", "warning", "red", "unchecked" };

/* A cell's state and integrity failures from its findings idx[lo..) */
static enum metric_state cell_state(const struct finding *const *idx, size_t n, size_t lo,
				    const struct cell_stats *c, size_t *integrity)
{
	enum metric_state st = MS_OK;
	size_t j;

	*integrity = 0;
	for (j = lo; j < n && !cmp_str(idx[j]->account, c->account) &&
		     !cmp_str(idx[j]->region, c->region); j++) {
		enum severity sev = finding_severity(idx[j]->code);

		if (is_integrity(idx[j]->code))
			(*integrity)++;
		if (idx[j]->code == F_CELL_UNCHECKED)
			st = MS_UNCHECKED;
		else if (sev == SEV_ERROR && st < MS_RED)
			st = MS_RED;
		else if (sev == SEV_WARNING && st < MS_WARNING)
			st = MS_WARNING;
	}
	if (c->status == CELL_UNCHECKED)
		st = MS_UNCHECKED;
	return st;
}

int findings_to_prometheus(struct buf *out, const struct findings *f,
			   const struct cell_stats *cells, size_t ncells, time_t now)
{
	unsigned long long digests = 0, logs = 0;
	size_t i, j, nstate[MS__COUNT] = { 0 };
	const struct finding **idx;
	unsigned char *state;
	size_t *integ;
	int rc = 0, c, s;

	idx = xcalloc(f->n ? f->n : 1, sizeof(*idx));
	state = xcalloc(ncells ? ncells : 1, sizeof(*state));
	integ = xcalloc(ncells ? ncells : 1, sizeof(*integ));
	for (i = 0; i < f->n; i++)
		idx[i] = &f->v[i];
	if (f->n > 1)
		qsort(idx, f->n, sizeof(*idx), cmp_cell_code);
	for (i = 0; i < ncells; i++) {
		size_t lo = lower_bound_cell(idx, f->n, cells[i].account, cells[i].region);

		state[i] = (unsigned char)cell_state(idx, f->n, lo, &cells[i], &integ[i]);
		nstate[state[i]]++;
	}

	/* no sample timestamps: node_exporter's textfile collector refuses them */
	rc |= buf_addf(out, "# HELP trailkeep_last_run_timestamp_seconds When this run of trailkeep "
		       "checked (epoch seconds).\n"
		       "# TYPE trailkeep_last_run_timestamp_seconds gauge\n"
		       "trailkeep_last_run_timestamp_seconds %lld\n", (long long)now);
	rc |= buf_adds(out, "# HELP trailkeep_cells Account x region cells by status.\n"
		       "# TYPE trailkeep_cells gauge\n");
	for (s = 0; s < MS__COUNT && !rc; s++)
		rc |= buf_addf(out, "trailkeep_cells{status=\"%s\"} %zu\n", metric_state_name[s],
			       nstate[s]);
	rc |= buf_adds(out, "# HELP trailkeep_cell_status Status of each account x region cell: 1 for "
		       "its status (ok, warning, red: an error finding, unchecked), 0 for the others.\n"
		       "# TYPE trailkeep_cell_status gauge\n");
	for (i = 0; i < ncells && !rc; i++)
		for (s = 0; s < MS__COUNT && !rc; s++) {
			rc |= buf_adds(out, "trailkeep_cell_status");
			rc |= add_cell_labels(out, cells[i].account, cells[i].region);
			rc |= buf_addf(out, ",status=\"%s\"} %d\n", metric_state_name[s],
				       state[i] == s);
		}
	rc |= buf_adds(out, "# HELP trailkeep_delivery_age_seconds Seconds since the newest log "
		       "object was delivered, per account and region (+Inf: never).\n"
		       "# TYPE trailkeep_delivery_age_seconds gauge\n");
	for (i = 0; i < ncells && !rc; i++) {
		rc |= buf_adds(out, "trailkeep_delivery_age_seconds");
		rc |= add_cell_labels(out, cells[i].account, cells[i].region);
		if (cells[i].has_newest) {
			long long age = (long long)now - (long long)cells[i].newest_delivery;

			rc |= buf_addf(out, "} %lld\n", age < 0 ? 0 : age);
		} else {
			rc |= buf_adds(out, "} +Inf\n");
		}
		digests += cells[i].digests_checked;
		logs += cells[i].logs_checked;
	}
	rc |= buf_adds(out, "# HELP trailkeep_integrity_failures Digest and log file integrity "
		       "findings per account and region.\n"
		       "# TYPE trailkeep_integrity_failures gauge\n");
	for (i = 0; i < ncells && !rc; i++) {
		rc |= buf_adds(out, "trailkeep_integrity_failures");
		rc |= add_cell_labels(out, cells[i].account, cells[i].region);
		rc |= buf_addf(out, "} %zu\n", integ[i]);
	}
	rc |= buf_adds(out, "# HELP trailkeep_cell_findings Findings by account, region and code "
		       "(only those present; region or account empty when the finding has none).\n"
		       "# TYPE trailkeep_cell_findings gauge\n");
	for (i = 0; i < f->n && !rc; i = j) {
		for (j = i + 1; j < f->n && !cmp_cell_code(&idx[i], &idx[j]); j++)
			;
		rc |= buf_adds(out, "trailkeep_cell_findings");
		rc |= add_cell_labels(out, idx[i]->account, idx[i]->region);
		rc |= buf_addf(out, ",code=\"%s\",severity=\"%s\"} %zu\n",
			       finding_code_name(idx[i]->code),
			       severity_name(finding_severity(idx[i]->code)), j - i);
	}
	rc |= buf_adds(out, "# HELP trailkeep_findings Findings of the last run by code.\n"
		       "# TYPE trailkeep_findings gauge\n");
	for (c = 0; c < F__COUNT && !rc; c++)
		rc |= buf_addf(out, "trailkeep_findings{code=\"%s\"} %zu\n",
			       finding_code_name((enum finding_code)c),
			       findings_count(f, (enum finding_code)c));
	rc |= buf_adds(out, "# HELP trailkeep_objects_checked_total Digest and log objects "
		       "checked by the last run.\n"
		       "# TYPE trailkeep_objects_checked_total counter\n");
	if (!rc)
		rc |= buf_addf(out, "trailkeep_objects_checked_total{kind=\"digest\"} %llu\n"
			       "trailkeep_objects_checked_total{kind=\"log\"} %llu\n", digests, logs);
	free(idx);
	free(state);
	free(integ);
	return rc ? TK_ELIMIT : 0;
}
