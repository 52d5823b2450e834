/* trail_drift.c: see trail_drift.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "trail_drift.h"
#include "banned.h"

/* ---- items ---- */

static void add_item(struct trail_drift *d, enum trail_drift_kind kind, char *setting, const char *current,
		     const char *planned)
{
	struct trail_drift_item *it;

	ALLOC_GROW(d->v, d->n + 1, d->alloc);
	it = &d->v[d->n++];
	it->kind = kind;
	it->setting = setting;   /* owned now */
	it->current = current ? xstrdup(current) : NULL;
	it->planned = planned ? xstrdup(planned) : NULL;
	if (kind == TRAIL_DRIFT_TRAIL)
		d->trail_differs = true;
	else
		d->selectors_differ = true;
}

void trail_drift_release(struct trail_drift *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->v[i].setting);
		free(d->v[i].current);
		free(d->v[i].planned);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

const struct trail_drift_item *trail_drift_find(const struct trail_drift *d, const char *setting)
{
	size_t i;

	for (i = 0; d && i < d->n; i++)
		if (!strcmp(d->v[i].setting, setting))
			return &d->v[i];
	return NULL;
}

char *trail_drift_describe(const struct trail_drift_item *it)
{
	char *cur = it->current ? xasprintf("'%s'", it->current) : xstrdup("unset");
	char *pl = it->planned ? xasprintf("'%s'", it->planned) : xstrdup("unset");
	char *s = xasprintf("%s is %s, planned %s", it->setting, cur, pl);

	free(cur);
	free(pl);
	return s;
}

/* ---- trail settings ---- */

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void cmp_bool(struct trail_drift *d, const char *setting, int cur, const json_t *create)
{
	bool want = json_is_true(json_object_get(create, setting));
	bool have = cur == 1;

	if (want != have)
		add_item(d, TRAIL_DRIFT_TRAIL, xstrdup(setting), have ? "true" : "false", want ? "true" : "false");
}

static void cmp_trail(struct trail_drift *d, const json_t *create, const struct ct_trail *cur,
		      const char *planned_key_arn)
{
	const char *pb = json_string_value(json_object_get(create, "S3BucketName"));
	const char *pp = nonempty(json_string_value(json_object_get(create, "S3KeyPrefix")));
	const char *pk = nonempty(json_string_value(json_object_get(create, "KmsKeyId")));
	const char *ck = nonempty(cur->kms_key_id);

	cmp_bool(d, "IsOrganizationTrail", cur->organization, create);
	cmp_bool(d, "IsMultiRegionTrail", cur->multi_region, create);
	cmp_bool(d, "IncludeGlobalServiceEvents", cur->global_events, create);
	cmp_bool(d, "EnableLogFileValidation", cur->log_file_validation, create);
	if (!str_same(nonempty(cur->s3_bucket), nonempty(pb)))
		add_item(d, TRAIL_DRIFT_TRAIL, xstrdup("S3BucketName"), nonempty(cur->s3_bucket), nonempty(pb));
	if (!str_same(nonempty(cur->s3_prefix), pp))
		add_item(d, TRAIL_DRIFT_TRAIL, xstrdup("S3KeyPrefix"), nonempty(cur->s3_prefix), pp);
	if (!pk) {
		if (ck)
			add_item(d, TRAIL_DRIFT_TRAIL, xstrdup("KmsKeyId"), ck, NULL);
	} else if (!ck) {
		add_item(d, TRAIL_DRIFT_TRAIL, xstrdup("KmsKeyId"), NULL, planned_key_arn ? planned_key_arn : pk);
	} else if (!planned_key_arn) {
		d->key_unknown = true;
	} else if (strcmp(ck, planned_key_arn)) {
		add_item(d, TRAIL_DRIFT_TRAIL, xstrdup("KmsKeyId"), ck, planned_key_arn);
	}
}

/* ---- event selectors: canonical form ---- */

static char *dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	return s ? s : xstrdup("null");
}

static int cmp_text(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A list of values as a sorted list (a single value is a one-element list). */
static json_t *sorted_list(const json_t *v)
{
	json_t *out = json_array();
	char **t;
	size_t i, n;

	if (!json_is_array(v)) {
		json_array_append_new(out, json_deep_copy(v));   /* a copy: v is only read */
		return out;
	}
	n = json_array_size(v);
	t = xcalloc(n ? n : 1, sizeof(*t));
	for (i = 0; i < n; i++)
		t[i] = dump(json_array_get(v, i));
	qsort(t, n, sizeof(*t), cmp_text);
	for (i = 0; i < n; i++) {
		json_t *e = json_loads(t[i], JSON_DECODE_ANY, NULL);

		json_array_append_new(out, e ? e : json_null());   /* steals */
		free(t[i]);
	}
	free(t);
	return out;
}

static json_t *canon_field(const json_t *f)
{
	json_t *o;
	const char *k;
	json_t *v;

	if (!json_is_object(f))
		return json_pack("{s:o}", "(not an object)", json_deep_copy(f));
	o = json_object();
	json_object_foreach((json_t *)(uintptr_t)f, k, v) {
		if (!strcmp(k, "Field"))
			json_object_set_new(o, k, json_deep_copy(v));   /* a copy: v is only read */
		else if (!(json_is_array(v) && json_array_size(v) == 0))
			json_object_set_new(o, k, sorted_list(v));   /* steals */
	}
	return o;
}

static json_t *canon_advanced(const json_t *s)
{
	json_t *o, *fs, *f;
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(s))
		return json_pack("{s:o}", "(not an object)", json_deep_copy(s));
	o = json_object();
	fs = json_array();
	json_object_foreach((json_t *)(uintptr_t)s, k, v) {
		if (!strcmp(k, "FieldSelectors")) {
			json_array_foreach(v, i, f)
				json_array_append_new(fs, canon_field(f));   /* steals */
		} else {
			json_object_set_new(o, k, json_deep_copy(v));   /* a copy: v is only read */
		}
	}
	json_object_set_new(o, "FieldSelectors", sorted_list(fs));   /* steals */
	json_decref(fs);
	return o;
}

static json_t *canon_basic(const json_t *s)
{
	json_t *o, *dr, *r;
	const json_t *v;
	size_t i;

	if (!json_is_object(s))
		return json_pack("{s:o}", "(not an object)", json_deep_copy(s));
	o = json_object();
	dr = json_array();
	/* defaults filled in; a value of the wrong type stays as it is (and
	 * then counts as a filter, never as the default) */
	v = json_object_get(s, "ReadWriteType");
	if (v)
		json_object_set_new(o, "ReadWriteType", json_deep_copy(v));   /* a copy */
	else
		json_object_set_new(o, "ReadWriteType", json_string("All"));   /* steals */
	v = json_object_get(s, "IncludeManagementEvents");
	if (v)
		json_object_set_new(o, "IncludeManagementEvents", json_deep_copy(v));   /* a copy */
	else
		json_object_set_new(o, "IncludeManagementEvents", json_true());   /* steals */
	v = json_object_get(s, "DataResources");
	if (v && !json_is_array(v))
		json_array_append_new(dr, json_deep_copy(v));   /* a copy, kept as it is */
	json_array_foreach(v, i, r) {
		json_t *c = json_object();
		const json_t *vals = json_object_get(r, "Values");

		if (json_object_get(r, "Type"))
			json_object_set_new(c, "Type", json_deep_copy(json_object_get(r, "Type")));   /* a copy */
		if (vals && !(json_is_array(vals) && !json_array_size(vals)))
			json_object_set_new(c, "Values", sorted_list(vals));   /* steals */
		json_array_append_new(dr, c);   /* steals */
	}
	if (json_array_size(dr))
		json_object_set_new(o, "DataResources", sorted_list(dr));   /* steals */
	json_decref(dr);
	v = json_object_get(s, "ExcludeManagementEventSources");
	if (v && !(json_is_array(v) && !json_array_size(v)))
		json_object_set_new(o, "ExcludeManagementEventSources", sorted_list(v));   /* steals */
	return o;
}

/* {"form": "advanced"|"basic", "selectors": sorted canonical list} */
static json_t *canon_doc(const json_t *doc)
{
	const json_t *adv = json_object_get(doc, "AdvancedEventSelectors");
	const json_t *basic = json_object_get(doc, "EventSelectors");
	json_t *list = json_array(), *out, *s, *def = NULL;
	const char *form;
	size_t i;

	if (adv && !json_is_null(adv)) {
		form = "advanced";
		json_array_foreach(adv, i, s)
			json_array_append_new(list, canon_advanced(s));   /* steals */
		if (!json_is_array(adv))
			json_array_append_new(list, json_string("(not a list)"));   /* steals */
	} else {
		form = "basic";
		if (!basic || json_is_null(basic)) {   /* AWS's default selector */
			def = json_pack("[{s:s, s:b}]", "ReadWriteType", "All", "IncludeManagementEvents", 1);
			basic = def;
		}
		json_array_foreach(basic, i, s)
			json_array_append_new(list, canon_basic(s));   /* steals */
		if (!json_is_array(basic))
			json_array_append_new(list, json_string("(not a list)"));   /* steals */
	}
	out = json_pack("{s:s, s:o}", "form", form, "selectors", sorted_list(list));   /* o steals */
	json_decref(list);
	json_decref(def);
	return out;
}

/* ---- event selectors: what they log ---- */

#define F_READ 1u
#define F_WRITE 2u
#define F_FILTERED 4u

static const char *state_word(unsigned f)
{
	if ((f & (F_READ | F_WRITE)) == (F_READ | F_WRITE))
		return "all";
	if (f & F_FILTERED)
		return "filtered";
	if (f & F_READ)
		return "read-only";
	if (f & F_WRITE)
		return "write-only";
	return "none";
}

struct target {
	char *prefix;     /* S3 resource ARN prefix ("arn:aws:s3" covers every bucket); "*": every bucket */
	unsigned flags;
};

struct summary {
	unsigned mgmt;
	struct target *data;
	size_t ndata, alloc_data;
	char **other;     /* canonical texts of other selectors */
	size_t nother, alloc_other;
};

static void summary_release(struct summary *s)
{
	size_t i;

	for (i = 0; i < s->ndata; i++)
		free(s->data[i].prefix);
	for (i = 0; i < s->nother; i++)
		free(s->other[i]);
	free(s->data);
	free(s->other);
	memset(s, 0, sizeof(*s));
}

static void add_target(struct summary *s, const char *prefix, unsigned flags)
{
	size_t i;

	for (i = 0; i < s->ndata; i++)
		if (!strcmp(s->data[i].prefix, prefix)) {
			s->data[i].flags |= flags;
			return;
		}
	ALLOC_GROW(s->data, s->ndata + 1, s->alloc_data);
	s->data[s->ndata].prefix = xstrdup(prefix);
	s->data[s->ndata++].flags = flags;
}

static void add_other(struct summary *s, const json_t *canon)
{
	ALLOC_GROW(s->other, s->nother + 1, s->alloc_other);
	s->other[s->nother++] = dump(canon);
}

/* A list that is exactly [one] (string or one-element list). */
static bool only(const json_t *v, const char *one)
{
	if (json_is_string(v))
		return !strcmp(json_string_value(v), one);
	return json_is_array(v) && json_array_size(v) == 1 && json_is_string(json_array_get(v, 0)) &&
	       !strcmp(json_string_value(json_array_get(v, 0)), one);
}

/* readOnly Equals ["true"] / ["false"]: the read/write bits it keeps; a
 * readOnly condition of another shape is a filter. */
static unsigned rw_of(const json_t *ro)
{
	const json_t *eq = json_object_get(ro, "Equals");

	if (!ro)
		return F_READ | F_WRITE;
	if (json_object_size(ro) == 2 && only(eq, "true"))
		return F_READ;
	if (json_object_size(ro) == 2 && only(eq, "false"))
		return F_WRITE;
	return F_FILTERED;
}

static void summarize_advanced(struct summary *s, const json_t *sel, const json_t *canon)
{
	const json_t *cat = NULL, *type = NULL, *arn = NULL, *ro = NULL, *f;
	bool extra = false;
	unsigned flags;
	size_t i;

	json_array_foreach(json_object_get(sel, "FieldSelectors"), i, f) {
		const char *field = json_string_value(json_object_get(f, "Field"));

		if (!field)
			extra = true;
		else if (!strcmp(field, "eventCategory") && !cat)
			cat = f;
		else if (!strcmp(field, "resources.type") && !type)
			type = f;
		else if (!strcmp(field, "resources.ARN") && !arn)
			arn = f;
		else if (!strcmp(field, "readOnly") && !ro)
			ro = f;
		else
			extra = true;
	}
	if (cat && json_object_size(cat) == 2 && only(json_object_get(cat, "Equals"), "Management") && !type &&
	    !arn) {
		flags = rw_of(ro);
		s->mgmt |= extra ? F_FILTERED : flags;
		return;
	}
	if (cat && json_object_size(cat) == 2 && only(json_object_get(cat, "Equals"), "Data") && type &&
	    json_object_size(type) == 2 && only(json_object_get(type, "Equals"), "AWS::S3::Object")) {
		const char *k;
		json_t *v, *e;

		flags = extra ? F_FILTERED : rw_of(ro);
		if (!arn) {
			add_target(s, "*", flags);   /* every bucket */
			return;
		}
		json_object_foreach((json_t *)(uintptr_t)arn, k, v) {
			if (!strcmp(k, "Field"))
				continue;
			if (strcmp(k, "StartsWith") && strcmp(k, "Equals")) {
				add_other(s, canon);   /* NotStartsWith, ...: not a plain bucket list */
				return;
			}
		}
		json_object_foreach((json_t *)(uintptr_t)arn, k, v) {
			if (!strcmp(k, "Field"))
				continue;
			if (json_is_string(v)) {
				add_target(s, json_string_value(v), flags);
			} else {
				json_array_foreach(v, i, e)
					if (json_is_string(e))
						add_target(s, json_string_value(e), flags);
			}
		}
		return;
	}
	add_other(s, canon);
}

static void summarize_basic(struct summary *s, const json_t *canon)
{
	const json_t *rwv = json_object_get(canon, "ReadWriteType");
	const char *rw = json_string_value(rwv) ? json_string_value(rwv) : "";
	unsigned flags = !strcmp(rw, "All") ? (F_READ | F_WRITE) : !strcmp(rw, "ReadOnly") ? F_READ :
			 !strcmp(rw, "WriteOnly") ? F_WRITE : F_FILTERED;
	const json_t *r, *v;
	size_t i, j;

	if (json_is_true(json_object_get(canon, "IncludeManagementEvents")))
		s->mgmt |= json_object_get(canon, "ExcludeManagementEventSources") ? F_FILTERED : flags;
	json_array_foreach(json_object_get(canon, "DataResources"), i, r) {
		const char *type = json_string_value(json_object_get(r, "Type"));

		if (!type || strcmp(type, "AWS::S3::Object")) {
			json_t *one = json_pack("{s:O, s:[O]}", "ReadWriteType", rwv, "DataResources", r);

			add_other(s, one);
			json_decref(one);
			continue;
		}
		json_array_foreach(json_object_get(r, "Values"), j, v)
			if (json_is_string(v))
				add_target(s, json_string_value(v), flags);
	}
}

static void summarize(struct summary *s, const json_t *doc, const json_t *canon)
{
	const json_t *adv = json_object_get(doc, "AdvancedEventSelectors");
	const json_t *list = json_object_get(canon, "selectors"), *c, *sel;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (!strcmp(json_string_value(json_object_get(canon, "form")), "advanced")) {
		/* the summary reads the original selectors (the canonical list is
		 * sorted differently); "other" entries keep the canonical text */
		json_array_foreach(adv, i, sel) {
			json_t *cs = canon_advanced(sel);

			summarize_advanced(s, sel, cs);
			json_decref(cs);
		}
		if (!json_is_array(adv))
			add_other(s, adv);
		return;
	}
	json_array_foreach(list, i, c) {
		if (json_is_object(c) && !json_object_get(c, "(not an object)"))
			summarize_basic(s, c);
		else
			add_other(s, c);
	}
}

/* What the targets of s that cover prefix log together.  "arn:aws:s3" (or
 * any prefix of it) covers every bucket. */
static unsigned covered(const struct summary *s, const char *prefix)
{
	unsigned f = 0;
	size_t i;

	for (i = 0; i < s->ndata; i++) {
		const char *p = s->data[i].prefix;

		if (!strcmp(p, "*") || !strncmp(prefix, p, strlen(p)))
			f |= s->data[i].flags;
	}
	return f;
}

static bool summary_filtered(const struct summary *s)
{
	size_t i;

	if (s->mgmt & F_FILTERED)
		return true;
	for (i = 0; i < s->ndata; i++)
		if (s->data[i].flags & F_FILTERED)
			return true;
	return false;
}

static bool has_text(char **v, size_t n, const char *t)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], t))
			return true;
	return false;
}

static void cmp_selectors(struct trail_drift *d, const json_t *pes, const json_t *cur_sel)
{
	json_t *pc = canon_doc(pes), *cc = canon_doc(cur_sel);
	struct summary ps, cs;
	size_t i, before = d->n;

	if (json_equal(pc, cc)) {
		json_decref(pc);
		json_decref(cc);
		return;
	}
	summarize(&ps, pes, pc);
	summarize(&cs, cur_sel, cc);
	if (strcmp(state_word(ps.mgmt), state_word(cs.mgmt)))
		add_item(d, TRAIL_DRIFT_SELECTORS, xstrdup("management events"), state_word(cs.mgmt),
			 state_word(ps.mgmt));
	for (i = 0; i < ps.ndata; i++) {
		const char *want = state_word(ps.data[i].flags), *have = state_word(covered(&cs, ps.data[i].prefix));

		if (strcmp(want, have))
			add_item(d, TRAIL_DRIFT_SELECTORS, xasprintf("S3 data events of '%s'", ps.data[i].prefix),
				 have, want);
	}
	for (i = 0; i < cs.ndata; i++) {
		size_t j;
		bool planned = false;

		for (j = 0; j < ps.ndata; j++)
			if (!strcmp(ps.data[j].prefix, cs.data[i].prefix))
				planned = true;
		if (!planned)
			add_item(d, TRAIL_DRIFT_SELECTORS, xasprintf("S3 data events of '%s'", cs.data[i].prefix),
				 state_word(cs.data[i].flags), "none");
	}
	for (i = 0; i < cs.nother; i++)
		if (!has_text(ps.other, ps.nother, cs.other[i]))
			add_item(d, TRAIL_DRIFT_SELECTORS, xstrdup("event selector"), cs.other[i], NULL);
	for (i = 0; i < ps.nother; i++)
		if (!has_text(cs.other, cs.nother, ps.other[i]))
			add_item(d, TRAIL_DRIFT_SELECTORS, xstrdup("event selector"), NULL, ps.other[i]);
	/* the same coverage written differently (basic vs advanced form, other
	 * selector names, read-only plus write-only selectors) logs the same
	 * events: not drift, and apply leaves it alone (no false red on a trail
	 * someone set up by hand or with the console).  But "filtered" says
	 * only that some condition narrows what is logged: two different
	 * filters are not the same coverage, so with a filter on either side
	 * the selectors must be the same as written. */
	if (d->n == before && (summary_filtered(&ps) || summary_filtered(&cs))) {
		char *a = dump(json_object_get(cc, "selectors")), *b = dump(json_object_get(pc, "selectors"));

		add_item(d, TRAIL_DRIFT_SELECTORS, xstrdup("event selectors"), a, b);
		free(a);
		free(b);
	}
	summary_release(&ps);
	summary_release(&cs);
	json_decref(pc);
	json_decref(cc);
}

int trail_drift_compute(const json_t *planned, const struct ct_trail *cur, const json_t *cur_sel,
			const char *planned_key_arn, struct trail_drift *out, struct errbuf *err)
{
	const json_t *create = json_object_get(planned, "CreateTrail");
	const json_t *pes = json_object_get(planned, "PutEventSelectors");

	memset(out, 0, sizeof(*out));
	if (!json_is_object(create))
		return err_set(err, TK_EUSAGE, "the planned trail has no CreateTrail object");
	cmp_trail(out, create, cur, nonempty(planned_key_arn));
	if (json_is_object(pes)) {
		if (!cur_sel)
			out->selectors_unknown = true;
		else
			cmp_selectors(out, pes, cur_sel);
		/* a trail that never had selectors put (HasCustomEventSelectors
		 * false: AWS's default, e.g. a create whose PutEventSelectors was
		 * interrupted) gets the plan's: the same coverage, but not what
		 * apply leaves behind */
		if (cur_sel && cur->custom_event_selectors == 0 && !out->selectors_differ)
			add_item(out, TRAIL_DRIFT_SELECTORS, xstrdup("event selectors"),
				 "AWS default (HasCustomEventSelectors false)", "the plan's");

	}
	return 0;
}
