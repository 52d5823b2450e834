/* doctor_select.c: which cells doctor examines when it runs without a
 * verify report (see doctor.h): the newest delivery per cell, trail-level
 * drift, duplicated global events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "doctor_int.h"
#include "account.h"
#include "apply.h"
#include "aws.h"
#include "buf.h"
#include "cloudtrail.h"
#include "diff.h"
#include "endpoint.h"
#include "kms.h"
#include "org_check.h"
#include "policy.h"
#include "s3.h"
#include "sts.h"
#include "timeutil.h"
#include "trail_drift.h"
#include "digest.h"
#include "banned.h"

/* ---- selection without verify --------------------------------------------- */

char *doctor_cell_prefix(const struct tk_config *c, const char *account, const char *region)
{
	struct digest_loc loc;
	char *p = NULL;

	memset(&loc, 0, sizeof(loc));
	loc.prefix = c->key_prefix;
	loc.org_id = c->mode == TK_MODE_ORGANIZATION ? c->org_id : NULL;
	loc.account = account;
	loc.region = region;
	return log_list_prefix(&p, &loc) ? xstrdup("?") : p;
}

/* Epoch of a log key's ..._YYYYMMDDTHHMMZ_xxxx.json.gz stamp, or 0. */
static time_t key_stamp(const char *key)
{
	const char *base = strrchr(key, '/');
	const char *u;
	struct tk_time t;
	int i;

	base = base ? base + 1 : key;
	/* the stamp is the 4th '_'-separated field */
	u = base;
	for (i = 0; i < 3 && u; i++) {
		u = strchr(u, '_');
		if (u)
			u++;
	}
	if (!u || strlen(u) < 14 || tk_time_parse(u, 14, TK_TS_COMPACT_MIN, &t))
		return 0;
	return t.sec;
}

static int newest_cb(void *ud, const struct s3_object *o)
{
	time_t *newest = ud;
	time_t t = key_stamp(o->key);

	if (t > *newest)
		*newest = t;
	return 0;
}

bool dr_listed(const char *const *v, size_t n, const char *s)
{
	size_t i;

	if (!v || !n)
		return true;
	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* More than one trail in the account records global service events (one
 * DescribeTrails in home_region per account; unreadable: not judged). */
static char *global_duplicated(struct dstate *st, const char *account, const struct trail_cache *t)
{
	struct aws_ctx *ctx;
	struct ct_trail *list = NULL;
	size_t n = 0, i, nglobal = 0;
	struct errbuf e;
	char *sym = NULL;

	err_clear(&e);
	ctx = dr_ctx_for(st, account, st->o->cfg->home_region, &e);
	if (!ctx)
		return NULL;
	st->calls++;
	if (ct_describe_trails(ctx, NULL, 0, true, &list, &n, &e))
		return NULL;
	for (i = 0; i < n; i++)
		if (list[i].global_events == 1)
			nglobal++;
	if (nglobal > 1)
		sym = xasprintf("global_events_duplicated: %zu trails record global service events besides '%s'",
				nglobal - 1, t->arn);
	ct_trails_free(list, n);
	return sym;
}

/* verify's trail drift (trail_drift.h: whatever apply would change on the
 * trail), as a symptom (NULL when none).  A setting that cannot be compared
 * (the key, the selectors or the plan unreadable) is a cell_unchecked
 * symptom: fail closed. */
char *dr_control_plane_drift(struct dstate *st, struct trail_cache *t)
{
	const struct tk_config *cfg = st->o->cfg;
	char *path = xasprintf("accounts/%s/trail.json", t->owner);
	const json_t *planned = dr_plan_doc(st, path);
	const json_t *create = json_object_get(planned, "CreateTrail");
	const char *karn = NULL;
	struct trail_drift d;
	struct errbuf e;
	char *sym = NULL;

	free(path);
	memset(&d, 0, sizeof(d));
	if (!planned)
		return xasprintf("cell_unchecked: the plan has no trail for account %s", t->owner);
	if (dr_trail_selectors(st, t))
		return xasprintf("cell_unchecked: cannot read the event selectors of trail '%s': %s", t->arn,
				 t->sel_l.msg);
	if (json_string_value(json_object_get(create, "KmsKeyId")) && t->trail.kms_key_id &&
	    *t->trail.kms_key_id && cfg->kms_alias && *cfg->kms_alias) {
		struct res_cache *key = dr_key_desc(st, cfg->kms_alias);

		if (key->rc == TK_ENOTFOUND)
			return xasprintf("trail_config_drift: KmsKeyId %s, and %s does not exist",
					 t->trail.kms_key_id, cfg->kms_alias);
		if (key->rc || !key->key.arn)
			return xasprintf("cell_unchecked: cannot tell which key %s names: %s", cfg->kms_alias,
					 key->rc ? key->msg : "no key ARN");
		karn = key->key.arn;
	}
	err_clear(&e);
	if (trail_drift_compute(planned, &t->trail, t->selectors, karn, &d, &e)) {
		sym = xasprintf("cell_unchecked: cannot compare trail '%s' with the plan: %s", t->arn, e.msg);
	} else if (d.key_unknown) {
		sym = xasprintf("cell_unchecked: cannot compare the KMS key of trail '%s'", t->arn);
	} else {
		size_t i;

		/* what stops or hides this cell's delivery: not multi-region (the
		 * region check above decides per cell) nor validation (it does
		 * not stop delivery: verify reports it on the owner's cell) */
		for (i = 0; i < d.n && !sym; i++) {
			char *line;

			if (!strcmp(d.v[i].setting, "IsMultiRegionTrail") ||
			    !strcmp(d.v[i].setting, "EnableLogFileValidation"))
				continue;
			line = trail_drift_describe(&d.v[i]);
			sym = xasprintf("trail_config_drift: %s", line);
			free(line);
		}
	}
	trail_drift_release(&d);
	return sym;
}

void doctor_cells_free(struct doctor_cell_in *c, size_t n)
{
	size_t i;

	for (i = 0; c && i < n; i++) {
		free((void *)(uintptr_t)c[i].account);   /* doctor_select allocated them */
		free((void *)(uintptr_t)c[i].region);
		free((void *)(uintptr_t)c[i].symptom);
	}
	free(c);
}

/* The cell's delivery from the bucket: the newest log object today or
 * yesterday (UTC).  The symptom, or NULL when it is fresh. */
static char *delivery_symptom(struct dstate *st, struct aws_ctx *ctx, const char *account, const char *r)
{
	const struct doctor_opts *o = st->o;
	const struct tk_config *cfg = o->cfg;
	char *sym = NULL;
	char *prefix = doctor_cell_prefix(cfg, account, r);
	time_t newest = 0, day;
	int k;

	for (k = 0; k < 2 && !newest; k++) {
		struct s3_list_params lp;
		struct tm tm;
		char ymd[16];
		char *p;
		struct errbuf e;

		day = o->now - (time_t)k * 86400;
		if (!gmtime_r(&day, &tm)) {
			sym = xstrdup("cell_unchecked: the time is out of range");
			break;
		}
		strftime(ymd, sizeof(ymd), "%Y/%m/%d/", &tm);
		p = xasprintf("%s%s", prefix, ymd);
		memset(&lp, 0, sizeof(lp));
		lp.prefix = p;
		lp.on_object = newest_cb;
		lp.ud = &newest;
		/* a day holds at most 86400 objects (one a second,
		 * 300x CloudTrail's rate): more pages is an error */
		lp.max_pages = 100;
		st->calls++;
		if (s3_list_objects(ctx, cfg->bucket, &lp, &e)) {
			sym = xasprintf("access_denied: %s", e.msg);
			free(p);
			break;
		}
		free(p);
	}
	free(prefix);
	if (!sym && !newest)
		sym = xstrdup("delivery_none: no log object today or yesterday");
	else if (!sym && o->now - newest > cfg->max_delivery_age) {
		char when[32];

		tk_format_iso(newest, when, sizeof(when));
		sym = xasprintf("delivery_stale: newest log object %s", when);
	}
	return sym;
}

int doctor_select(struct doctor_cell_in **out, size_t *n, const struct doctor_opts *o,
		  const char *const *accounts, size_t naccounts, const char *const *regions,
		  size_t nregions, struct errbuf *err)
{
	const struct tk_config *cfg = o->cfg;
	struct dstate st;
	struct doctor_cell_in *v = NULL;
	size_t nv = 0, alloc = 0, i, j;
	struct aws_ctx *ctx;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	st.o = o;
	*out = NULL;
	*n = 0;
	ctx = dr_ctx_for(&st, config_central_account(cfg), cfg->home_region, err);
	if (!ctx) {
		rc = TK_EAUTH;
		goto done;
	}
	for (i = 0; i < cfg->naccounts; i++) {
		const struct tk_account *a = &cfg->accounts[i];

		if (!dr_listed(accounts, naccounts, a->id))
			continue;
		for (j = 0; j < a->regions.n; j++) {
			const char *r = a->regions.v[j];
			struct doctor_cell_in *c;
			struct trail_cache *t;
			char *sym = NULL;

			if (!dr_listed(regions, nregions, r))
				continue;
			ALLOC_GROW(v, nv + 1, alloc);
			c = &v[nv++];
			memset(c, 0, sizeof(*c));
			c->account = xstrdup(a->id);
			c->region = xstrdup(r);
			t = dr_trail_get(&st, a->id);
			if (t->rc == TK_ENOTFOUND) {
				sym = xstrdup("trail_missing");
			} else if (t->rc == 0 && dr_trail_status(&st, t) == 0 && !t->status.is_logging) {
				sym = xstrdup("trail_not_logging");
			} else if (t->rc == 0 && t->trail.multi_region != 1 && strcmp(r, t->home)) {
				sym = xstrdup("trail_config_drift: not multi-region");
			} else if (t->rc == 0) {
				sym = dr_control_plane_drift(&st, t);
			}
			if (!sym && t->rc == 0 && cfg->include_global_events && !strcmp(r, cfg->home_region))
				sym = global_duplicated(&st, a->id, t);
			if (!sym)
				sym = delivery_symptom(&st, ctx, a->id, r);
			c->red = sym != NULL;
			c->symptom = sym;
		}
	}
	*out = v;
	*n = nv;
	v = NULL;
done:
	doctor_cells_free(v, nv);
	dr_state_release(&st);
	return rc;
}
