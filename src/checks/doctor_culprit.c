/* doctor_culprit.c: who did it: the newest CloudTrail LookupEvents event
 * that made a change doctor found (see doctor.h), cached per query. */
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

/* ---- events (who did it) --------------------------------------------------- */

struct ev_search {
	const char *const *match;      /* requestParameters values that name the resource */
	size_t nmatch;
	json_t *found;                 /* the parsed CloudTrailEvent (owned) */
	time_t found_time;
	time_t best_time;
	json_t *best;
};

static bool params_match(json_t *rp, const char *const *match, size_t n)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(rp))
		return false;
	json_object_foreach(rp, k, v) {
		const char *s = json_string_value(v);

		(void)k;
		if (!s)
			continue;
		for (i = 0; i < n; i++) {
			size_t ls = strlen(s), lm = strlen(match[i]);

			if (!strcmp(s, match[i]))
				return true;
			/* a key id matches the key ARN that ends with it */
			if (ls > lm && s[ls - lm - 1] == '/' && !strcmp(s + ls - lm, match[i]))
				return true;
			if (lm > ls && match[i][lm - ls - 1] == '/' && !strcmp(match[i] + lm - ls, s))
				return true;
		}
	}
	return false;
}

static int ev_cb(void *ud, json_t *event)
{
	struct ev_search *s = ud;
	const char *text = json_string_value(json_object_get(event, "CloudTrailEvent"));
	json_t *doc;
	time_t t = aws_json_time(event, "EventTime");

	if (!text)
		return 0;
	doc = json_loads(text, 0, NULL);
	if (!doc)
		return 0;
	/* no match strings: any event of that name (LeaveOrganization names nothing) */
	if (json_object_get(doc, "errorCode") || (s->nmatch &&
	    !params_match(json_object_get(doc, "requestParameters"), s->match, s->nmatch))) {
		json_decref(doc);
		return 0;
	}
	s->found = doc;
	s->found_time = t;
	return 1;   /* newest first: the first match is the last change */
}

/* The culprit of c: who made event (CloudTrail's userIdentity), when,
 * from where; one evidence line. */
static void set_culprit(struct doctor_cell *c, const json_t *event, const char *account, const char *region)
{
	const json_t *ui = json_object_get(event, "userIdentity");
	const char *who = json_string_value(json_object_get(ui, "arn"));
	const char *issuer = json_string_value(json_object_get(json_object_get(json_object_get(ui, "sessionContext"),
									       "sessionIssuer"), "arn"));

	dr_culprit_release(&c->culprit);
	if (who && issuer && strcmp(who, issuer))
		c->culprit.who = xasprintf("%s (role %s)", who, issuer);
	else
		c->culprit.who = xstrdup(who ? who : "unknown principal");
	c->culprit.when = aws_json_strdup(event, "eventTime");
	c->culprit.source_ip = aws_json_strdup(event, "sourceIPAddress");
	c->culprit.event = aws_json_strdup(event, "eventName");
	c->culprit.event_id = aws_json_strdup(event, "eventID");
	dr_ev(c, "cloudtrail event %s by %s at %s from %s (event id %s, %s %s)",
	      c->culprit.event ? c->culprit.event : "?", c->culprit.who,
	      c->culprit.when ? c->culprit.when : "?", c->culprit.source_ip ? c->culprit.source_ip : "?",
	      c->culprit.event_id ? c->culprit.event_id : "?", account, region);
}

/* The newest event named one of names, in account x region, whose request
 * parameters name one of match[].  Fills c->culprit and an evidence line.
 * Returns 1 when found, 0 when not, < 0 when LookupEvents failed (evidence
 * says so). */
int dr_find_culprit(struct dstate *st, struct doctor_cell *c, const char *account, const char *region,
		    const char *const *names, size_t nnames, const char *const *match, size_t nmatch)
{
	struct ev_search s;
	struct aws_ctx *ctx;
	struct errbuf e;
	size_t i;
	long lookback = st->o->lookback_s > 0 ? st->o->lookback_s : DOCTOR_LOOKBACK_S;
	time_t start = st->o->now > lookback ? st->o->now - lookback : 1;
	struct buf names_b;

	memset(&s, 0, sizeof(s));
	s.match = match;
	s.nmatch = nmatch;
	err_clear(&e);
	ctx = dr_ctx_for(st, account, region, &e);
	if (!ctx) {
		dr_ev(c, "cloudtrail LookupEvents in %s %s: not possible: %s", account, region, e.msg);
		return TK_EAUTH;
	}
	for (i = 0; i < nnames; i++) {
		struct ev_cache *hit = NULL;
		char *key;
		size_t k;
		int rc;

		/* one question per run: many cells share the trail, bucket and key */
		key = xasprintf("%s|%s|%s", account, region, names[i]);
		for (k = 0; k < nmatch; k++) {
			char *longer = xasprintf("%s|%s", key, match[k]);

			free(key);
			key = longer;
		}
		for (k = 0; k < st->nevc; k++)
			if (!strcmp(st->evc[k].key, key))
				hit = &st->evc[k];
		if (!hit) {
			json_t *attrs = json_pack("[{s:s, s:s}]", "AttributeKey", "EventName", "AttributeValue",
						  names[i]);

			s.found = NULL;
			st->calls++;
			err_clear(&e);
			rc = ct_lookup_events(ctx, attrs, start, st->o->now, DOCTOR_MAX_EVENT_PAGES, ev_cb, &s, &e);
			json_decref(attrs);
			ALLOC_GROW(st->evc, st->nevc + 1, st->alloc_evc);
			hit = &st->evc[st->nevc++];
			hit->key = key;
			hit->rc = rc;
			snprintf(hit->msg, sizeof(hit->msg), "%s", e.msg);
			hit->doc = rc ? NULL : s.found;   /* the cache owns it */
			hit->time = s.found_time;
			if (rc)
				json_decref(s.found);
		} else {
			free(key);
		}
		rc = hit->rc;
		snprintf(e.msg, sizeof(e.msg), "%s", hit->msg);
		s.found = hit->doc ? json_incref(hit->doc) : NULL;
		s.found_time = hit->time;
		if (rc) {
			json_decref(s.best);
			dr_ev(c, "cloudtrail LookupEvents %s in %s %s: %s", names[i], account, region, e.msg);
			return rc;
		}
		if (s.found && (!s.best || s.found_time > s.best_time)) {
			json_decref(s.best);
			s.best = s.found;
			s.best_time = s.found_time;
		} else {
			json_decref(s.found);
		}
	}
	buf_init(&names_b, LINE_LIMIT);
	for (i = 0; i < nnames; i++)
		(void)buf_addf(&names_b, "%s%s", i ? "/" : "", names[i]);
	if (!s.best) {
		char *list = buf_detach_marked(&names_b);   /* too many: cut, " [truncated]" */

		dr_ev(c, "cloudtrail LookupEvents %s in %s %s: no such event in the last %ld days",
		   list, account, region, lookback / 86400);
		free(list);
		return 0;
	}
	buf_release(&names_b);
	set_culprit(c, s.best, account, region);
	json_decref(s.best);
	return 1;
}
