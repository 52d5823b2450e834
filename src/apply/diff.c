/* diff.c: unified line diff and policy normalisation (see diff.h).
 * Library code: no printing, no clock, no environment. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "banned.h"

struct line {
	const char *p;
	size_t len;
};

struct lines {
	struct line *v;
	size_t n;
};

/* Split text into lines (without their '\n'); a final line without a
 * newline counts as a line. */
static int split_lines(struct lines *out, const char *text)
{
	const char *p = text ? text : "", *nl;
	size_t cap = 0;

	out->v = NULL;
	out->n = 0;
	while (*p) {
		nl = strchr(p, '\n');
		ALLOC_GROW(out->v, out->n + 1, cap);
		out->v[out->n].p = p;
		out->v[out->n].len = nl ? (size_t)(nl - p) : strlen(p);
		out->n++;
		if (out->n > DIFF_MAX_LINES) {
			free(out->v);
			out->v = NULL;
			out->n = 0;
			return TK_ELIMIT;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

static bool line_eq(const struct line *a, const struct line *b)
{
	return a->len == b->len && !memcmp(a->p, b->p, a->len);
}

enum op { OP_EQ = 0, OP_DEL = 1, OP_INS = 2 };

struct edit {
	enum op op;
	size_t ai, bi;   /* index in a (EQ, DEL) and in b (EQ, INS) */
};

/* The edit script a -> b: LCS by dynamic programming over the part between
 * the common prefix and suffix; too large -> delete all, insert all. */
static struct edit *edit_script(const struct lines *a, const struct lines *b, size_t *nout)
{
	size_t pre = 0, suf = 0, n, m, i, j, cells, k = 0, total;
	struct edit *e;
	uint32_t *L = NULL;

	while (pre < a->n && pre < b->n && line_eq(&a->v[pre], &b->v[pre]))
		pre++;
	while (suf < a->n - pre && suf < b->n - pre &&
	       line_eq(&a->v[a->n - 1 - suf], &b->v[b->n - 1 - suf]))
		suf++;
	n = a->n - pre - suf;
	m = b->n - pre - suf;
	total = a->n + b->n;
	e = xcalloc(total ? total : 1, sizeof(*e));
	for (i = 0; i < pre; i++)
		e[k++] = (struct edit){ OP_EQ, i, i };
	if (n && m && !st_mult(&cells, n + 1, m + 1) && cells <= DIFF_MAX_CELLS) {
		/* L[i][j] = LCS length of a[pre+i..pre+n) and b[pre+j..pre+m) */
		L = xcalloc(cells, sizeof(*L));
		for (i = n; i-- > 0;)
			for (j = m; j-- > 0;) {
				if (line_eq(&a->v[pre + i], &b->v[pre + j]))
					L[i * (m + 1) + j] = L[(i + 1) * (m + 1) + j + 1] + 1;
				else {
					uint32_t x = L[(i + 1) * (m + 1) + j], y = L[i * (m + 1) + j + 1];

					L[i * (m + 1) + j] = x >= y ? x : y;
				}
			}
		i = j = 0;
		while (i < n && j < m) {
			if (line_eq(&a->v[pre + i], &b->v[pre + j])) {
				e[k++] = (struct edit){ OP_EQ, pre + i, pre + j };
				i++;
				j++;
			} else if (L[(i + 1) * (m + 1) + j] >= L[i * (m + 1) + j + 1]) {
				e[k++] = (struct edit){ OP_DEL, pre + i, pre + j };
				i++;
			} else {
				e[k++] = (struct edit){ OP_INS, pre + i, pre + j };
				j++;
			}
		}
		free(L);
	} else {
		i = j = 0;
	}
	for (; i < n; i++)
		e[k++] = (struct edit){ OP_DEL, pre + i, pre + m };
	for (; j < m; j++)
		e[k++] = (struct edit){ OP_INS, pre + n, pre + j };
	for (i = 0; i < suf; i++)
		e[k++] = (struct edit){ OP_EQ, a->n - suf + i, b->n - suf + i };
	*nout = k;
	return e;
}

static int add_line(struct buf *out, char tag, const struct line *l)
{
	int rc = buf_addc(out, tag);

	rc |= buf_add(out, l->p, l->len);
	rc |= buf_addc(out, '\n');
	return rc ? TK_ELIMIT : 0;
}

/* "@@ -s,n +s,n @@": an empty range starts at the line before it. */
static int add_range(struct buf *out, char sign, size_t start, size_t count)
{
	if (count == 1)
		return buf_addf(out, "%c%zu", sign, start + 1);
	return buf_addf(out, "%c%zu,%zu", sign, count ? start + 1 : start, count);
}

int diff_unified(struct buf *out, const char *a, const char *b, const char *name_a,
		 const char *name_b, int context)
{
	struct lines la = { NULL, 0 }, lb = { NULL, 0 };
	struct edit *e = NULL;
	size_t ne = 0, i, h, end, last, ctx = context < 0 ? DIFF_CONTEXT : (size_t)context;
	int rc;

	if ((rc = split_lines(&la, a)) < 0 || (rc = split_lines(&lb, b)) < 0)
		goto done;
	e = edit_script(&la, &lb, &ne);
	for (i = 0; i < ne && e[i].op == OP_EQ; i++)
		;
	if (i == ne) {
		rc = 0;
		goto done;
	}
	rc = buf_addf(out, "--- %s\n+++ %s\n", name_a ? name_a : "a", name_b ? name_b : "b");
	if (rc)
		goto limit;
	while (i < ne) {
		/* i is the first change of a hunk; extend while the next change is
		 * within 2*ctx equal lines */
		size_t first = i >= ctx ? i - ctx : 0, acount = 0, bcount = 0, astart, bstart;

		last = i;
		for (h = i + 1; h < ne; h++) {
			if (e[h].op != OP_EQ) {
				if (h - last - 1 > 2 * ctx)
					break;
				last = h;
			}
		}
		end = last + ctx + 1 < ne ? last + ctx + 1 : ne;
		for (h = first; h < end; h++) {
			if (e[h].op != OP_INS)
				acount++;
			if (e[h].op != OP_DEL)
				bcount++;
		}
		astart = e[first].ai;
		bstart = e[first].bi;
		rc = buf_adds(out, "@@ ");
		rc |= add_range(out, '-', astart, acount);
		rc |= buf_addc(out, ' ');
		rc |= add_range(out, '+', bstart, bcount);
		rc |= buf_adds(out, " @@\n");
		if (rc)
			goto limit;
		for (h = first; h < end; h++) {
			if (e[h].op == OP_EQ)
				rc = add_line(out, ' ', &la.v[e[h].ai]);
			else if (e[h].op == OP_DEL)
				rc = add_line(out, '-', &la.v[e[h].ai]);
			else
				rc = add_line(out, '+', &lb.v[e[h].bi]);
			if (rc)
				goto limit;
		}
		for (i = end; i < ne && e[i].op == OP_EQ; i++)
			;
	}
	rc = 1;
	goto done;
limit:
	rc = TK_ELIMIT;
done:
	free(la.v);
	free(lb.v);
	free(e);
	return rc;
}

/* ---- policy normalisation ---- */

static int str_cmp(const void *x, const void *y)
{
	const char *a = json_string_value(*(json_t *const *)x);
	const char *b = json_string_value(*(json_t *const *)y);

	return strcmp(a ? a : "", b ? b : "");
}

/* A canonical value: ["x"] -> "x"; a list of strings sorted, duplicates
 * dropped; anything else copied as it is.  Returns a new reference. */
static json_t *canon_value(const json_t *v)
{
	json_t **items, *out;
	size_t n, i, k;

	if (!json_is_array(v))
		return json_deep_copy(v);
	n = json_array_size(v);
	for (i = 0; i < n; i++)
		if (!json_is_string(json_array_get(v, i)))
			return json_deep_copy(v);
	if (n == 1)
		return json_deep_copy(json_array_get(v, 0));
	items = xcalloc(n ? n : 1, sizeof(*items));
	for (i = 0; i < n; i++)
		items[i] = json_array_get(v, i);
	qsort(items, n, sizeof(*items), str_cmp);
	out = json_array();
	for (i = 0, k = 0; i < n; i++) {
		if (k && !strcmp(json_string_value(items[i]), json_string_value(items[k - 1])))
			continue;
		items[k++] = items[i];
		/* copies: v may be the plan's, read by several threads at once
		 * (a reference count is a write) */
		json_array_append_new(out, json_deep_copy(items[i]));
	}
	if (k == 1) {
		json_t *s = json_deep_copy(items[0]);

		json_decref(out);
		out = s;
	}
	free(items);
	return out;
}

/* Each member of an object made canonical (Principal, Condition operators). */
static json_t *canon_members(const json_t *o)
{
	json_t *out, *v;
	const char *k;

	if (!json_is_object(o))
		return canon_value(o);
	out = json_object();
	json_object_foreach((json_t *)(uintptr_t)o, k, v)
		json_object_set_new(out, k, canon_value(v));   /* steals */
	return out;
}

static json_t *canon_statement(const json_t *st)
{
	static const char *const lists[] = { "Action", "NotAction", "Resource", "NotResource" };
	json_t *out, *v, *cond, *op;
	const char *k;
	size_t i;

	if (!json_is_object(st))
		return json_deep_copy(st);
	out = json_deep_copy(st);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if ((v = json_object_get(st, lists[i])))
			json_object_set_new(out, lists[i], canon_value(v));   /* steals */
	if ((v = json_object_get(st, "Principal")))
		json_object_set_new(out, "Principal", canon_members(v));
	if ((v = json_object_get(st, "NotPrincipal")))
		json_object_set_new(out, "NotPrincipal", canon_members(v));
	if ((v = json_object_get(st, "Condition")) && json_is_object(v)) {
		cond = json_object();
		json_object_foreach(v, k, op)
			json_object_set_new(cond, k, canon_members(op));   /* steals */
		json_object_set_new(out, "Condition", cond);
	}
	return out;
}

json_t *diff_policy_normalize(const json_t *doc)
{
	json_t *out, *st, *sts;
	size_t i;

	if (!json_is_object(doc))
		return json_deep_copy(doc);
	out = json_deep_copy(doc);
	st = json_object_get(doc, "Statement");
	if (json_is_object(st)) {
		sts = json_array();
		json_array_append_new(sts, canon_statement(st));   /* steals */
		json_object_set_new(out, "Statement", sts);
	} else if (json_is_array(st)) {
		sts = json_array();
		for (i = 0; i < json_array_size(st); i++)
			json_array_append_new(sts, canon_statement(json_array_get(st, i)));
		json_object_set_new(out, "Statement", sts);
	}
	return out;
}

bool diff_policy_equal(const json_t *a, const json_t *b)
{
	json_t *na, *nb;
	bool eq;

	if (!a || !b)
		return a == b;
	na = diff_policy_normalize(a);
	nb = diff_policy_normalize(b);
	eq = json_equal(na, nb);
	json_decref(na);
	json_decref(nb);
	return eq;
}

char *diff_json_text(const json_t *doc, bool policy)
{
	/* doc is read, never referenced: doctor's workers share the plan's
	 * documents (a reference count is a write) */
	json_t *n = policy ? diff_policy_normalize(doc) : NULL;
	const json_t *d = policy ? n : doc;
	char *s = d ? json_dumps(d, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
	char *t;

	json_decref(n);
	if (!s)
		return xstrdup("null\n");
	t = xasprintf("%s\n", s);
	free(s);
	return t;
}
