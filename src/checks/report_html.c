/* report_html.c: see report_html.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report_html.h"
#include "textesc.h"
#include "timeutil.h"
#include "banned.h"

/* times verify writes: 2013-01-01 .. 2100-01-01 (as verify --merge) */
#define T_MIN 1356998400LL
#define T_MAX 4102444800LL
#define MAX_CELLS 1000000u
#define MAX_GRID 4000000u       /* accounts x regions shown */

struct rcell {
	const char *account, *region, *status;
	bool has_newest;
	json_int_t newest, digests, logs, nfindings;
	size_t acct_ix, reg_ix;
	long group;                 /* index in groups, or -1 */
};

struct rfinding {
	const char *code, *severity, *account, *region, *bucket, *key, *message, *hint;
};

struct rgroup {
	const char *account, *region;   /* either may be NULL */
	size_t first, n;                 /* in the sorted finding order */
	int worst;                       /* 0 info, 1 warning, 2 error */
};

/* ------------------------------------------------------------ output */

/* the page being written: the first failed add (TK_ELIMIT) sticks, so a
 * page that hit the limit is an error, never a page with a part missing */
struct page {
	struct buf *b;
	int rc;
};

static void pg_adds(struct page *pg, const char *s)
{
	if (!pg->rc)
		pg->rc = buf_adds(pg->b, s);
}

static void pg_addf(struct page *pg, const char *fmt, ...) TK_PRINTF(2, 3);
static void pg_addf(struct page *pg, const char *fmt, ...)
{
	va_list ap;

	if (pg->rc)
		return;
	va_start(ap, fmt);
	pg->rc = buf_vaddf(pg->b, fmt, ap);
	va_end(ap);
}


/* s shown with visible escapes (no control or bidi character reaches the
 * page), then HTML escaped: safe in text and in a double-quoted attribute */
static void add_esc(struct page *out, const char *s)
{
	struct buf t = BUF_INIT_LIMIT(out->b->limit);
	const char *p;

	if (!s || out->rc)
		return;
	if (tk_text_escape(&t, s)) {
		buf_release(&t);
		out->rc = TK_ELIMIT;
		return;
	}
	for (p = buf_cstr(&t); *p && !out->rc; p++) {
		switch (*p) {
		case '&': pg_adds(out, "&amp;"); break;
		case '<': pg_adds(out, "&lt;"); break;
		case '>': pg_adds(out, "&gt;"); break;
		case '"': pg_adds(out, "&quot;"); break;
		case '\'': pg_adds(out, "&#39;"); break;
		default: out->rc = buf_addc(out->b, *p); break;
		}
	}
	buf_release(&t);
}

/* ------------------------------------------------------------ reading */

static int bad(struct errbuf *err, const char *what)
{
	return err_set(err, TK_EUSAGE, "not a verify --json document: %s", what);
}

/* a string, or (when nullable) null/absent -> *out NULL; else -1 */
static int get_str(const json_t *o, const char *name, bool nullable, const char **out)
{
	const json_t *v = json_object_get(o, name);

	*out = NULL;
	if (!v || json_is_null(v))
		return nullable ? 0 : -1;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static int get_count(const json_t *o, const char *name, json_int_t *out)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int get_time(const json_t *o, const char *name, bool *has, json_int_t *out)
{
	const json_t *v = json_object_get(o, name);

	*has = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < T_MIN || json_integer_value(v) > T_MAX)
		return -1;
	*has = true;
	*out = json_integer_value(v);
	return 0;
}

static int sev_rank(const char *s)
{
	return !strcmp(s, "error") ? 2 : !strcmp(s, "warning") ? 1 : !strcmp(s, "info") ? 0 : -1;
}

/* NULL sorts first */
static int nstrcmp(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* ------------------------------------------------ interning (first seen order) */

struct ient {
	const char *s;
	size_t first;     /* index of first occurrence */
	size_t id;        /* rank in first-seen order */
};

static int ient_by_str(const void *a, const void *b)
{
	const struct ient *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	return c ? c : (x->first > y->first) - (x->first < y->first);
}

static int ient_by_first(const void *a, const void *b)
{
	const struct ient *x = *(const struct ient *const *)a, *y = *(const struct ient *const *)b;

	return (x->first > y->first) - (x->first < y->first);
}

/* ids[i] = rank of strs[i] among the distinct strings in first-seen order;
 * *names (caller frees) lists them in that order. */
static size_t intern(const char **strs, size_t n, size_t *ids, const char ***names)
{
	struct ient *e = xcalloc(n ? n : 1, sizeof(*e));
	struct ient **u = xcalloc(n ? n : 1, sizeof(*u));
	size_t i, k = 0, r;

	for (i = 0; i < n; i++) {
		e[i].s = strs[i];
		e[i].first = i;
	}
	qsort(e, n, sizeof(*e), ient_by_str);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(e[i].s, e[i - 1].s))
			u[k++] = &e[i];
	qsort(u, k, sizeof(*u), ient_by_first);
	*names = xcalloc(k ? k : 1, sizeof(**names));
	for (i = 0; i < k; i++) {
		u[i]->id = i;
		(*names)[i] = u[i]->s;
	}
	for (i = 0, r = 0; i < n; i++) {
		if (strcmp(e[i].s, e[r].s))
			r = i;                  /* the run of equal strings starts here */
		ids[e[i].first] = e[r].id;
	}
	free(u);
	free(e);
	return k;
}

/* -------------------------------------------------------------- grouping */

static const struct rfinding *sort_fs;

static int find_order(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = nstrcmp(sort_fs[x].account, sort_fs[y].account);

	if (!c)
		c = nstrcmp(sort_fs[x].region, sort_fs[y].region);
	return c ? c : (x > y) - (x < y);
}

static long group_of(const struct rgroup *g, size_t ng, const char *account, const char *region)
{
	size_t lo = 0, hi = ng;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = nstrcmp(g[mid].account, account);

		if (!c)
			c = nstrcmp(g[mid].region, region);
		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* -------------------------------------------------------------- page */

static const char css[] =
	"body{font-family:system-ui,sans-serif;margin:1.5em;color:#111;background:#fff}"
	"h1{font-size:1.4em}h2{font-size:1.2em;margin-top:1.5em}h3{font-size:1em;margin:1em 0 .3em}"
	"dl.run{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}dd{margin:0}"
	"table.grid{border-collapse:collapse}table.grid th,table.grid td{border:1px solid #999;padding:.3em .6em;"
	"text-align:center;white-space:nowrap}table.grid th[scope=row]{text-align:left;font-family:monospace}"
	"td.cell a{color:inherit;text-decoration:none;display:block}"
	"td.status-ok{background:#b9e4bd}td.status-findings{background:#f4b4b4}"
	"td.status-findings.worst-warning,td.status-findings.worst-info{background:#fde2a7}"
	"td.status-unchecked{background:repeating-linear-gradient(45deg,#cfd4da,#cfd4da 6px,#e6e9ec 6px,#e6e9ec 12px)}"
	"td.nocell{background:#f7f7f7;color:#999}"
	".age{font-size:.85em;display:block}.status{font-weight:bold}"
	"ul.findings{padding-left:1.2em}li.finding{margin:.4em 0}"
	"li.sev-error .sev{color:#b00020}li.sev-warning .sev{color:#8a5a00}.sev{font-weight:bold}"
	".hint{color:#444;font-size:.9em;margin:.1em 0 0}.obj{font-family:monospace;font-size:.85em;word-break:break-all}"
	".legend span{display:inline-block;padding:.1em .5em;margin-right:.5em;border:1px solid #999}";

static void add_time(struct page *out, bool has, json_int_t t)
{
	char s[32];

	if (!has) {
		pg_adds(out, "not recorded");
		return;
	}
	pg_adds(out, tk_format_iso((time_t)t, s, sizeof(s)));
}

/* a verify --json document, read and indexed for the page */
struct report {
	const char *config;
	bool has_time, has_start, has_end;
	json_int_t run_time, wstart, wend;
	struct rcell *cells;
	size_t nc;
	struct rfinding *fs;
	size_t nf;
	size_t *order;              /* findings sorted by (account, region, ...) */
	struct rgroup *groups;
	size_t ng;
	const char **accts, **regs; /* the grid's rows and columns */
	size_t na, nr;
	long *grid;                 /* na x nr: index in cells, or -1 */
};

static void report_free(struct report *r)
{
	free(r->grid);
	free(r->accts);
	free(r->regs);
	free(r->groups);
	free(r->order);
	free(r->fs);
	free(r->cells);
}

/* ------------------------------------------------------------ the page */

/* the title, the run and the counts */
static void render_head(struct page *out, const struct report_html_opts *o, const struct report *r,
			time_t now)
{
	size_t i, nok = 0, nfind = 0, nunch = 0, nerr = 0, nwarn = 0;
	const char *config = r->config;

	for (i = 0; i < r->nc; i++) {
		if (!strcmp(r->cells[i].status, "ok"))
			nok++;
		else if (!strcmp(r->cells[i].status, "findings"))
			nfind++;
		else
			nunch++;
	}
	for (i = 0; i < r->nf; i++) {
		if (!strcmp(r->fs[i].severity, "error"))
			nerr++;
		else if (!strcmp(r->fs[i].severity, "warning"))
			nwarn++;
	}
	pg_adds(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		 "<meta name=\"generator\" content=\"trailkeep report\">\n<title>trailkeep verify: ");
	add_esc(out, config ? config : "report");
	pg_adds(out, "</title>\n<style>");
	pg_adds(out, css);
	pg_adds(out, "</style>\n</head>\n<body>\n<h1>trailkeep verify: ");
	add_esc(out, config ? config : "(config not recorded)");
	pg_adds(out, "</h1>\n<dl class=\"run\">\n<dt>Config</dt><dd id=\"run-config\">");
	add_esc(out, config ? config : "not recorded");
	pg_adds(out, "</dd>\n<dt>Run at</dt><dd id=\"run-time\">");
	add_time(out, r->has_time, r->run_time);
	pg_adds(out, "</dd>\n<dt>Window</dt><dd id=\"run-window\">");
	if (r->has_start || r->has_end) {
		add_time(out, r->has_start, r->wstart);
		pg_adds(out, " .. ");
		add_time(out, r->has_end, r->wend);
	} else {
		pg_adds(out, "not recorded");
	}
	pg_adds(out, "</dd>\n");
	if (o->source) {
		pg_adds(out, "<dt>Document</dt><dd id=\"run-source\">");
		add_esc(out, o->source);
		pg_adds(out, "</dd>\n");
	}
	pg_addf(out, "<dt>Cells</dt><dd id=\"run-summary\">%zu: %zu ok, %zu with findings, %zu unchecked; "
		 "%zu errors, %zu warnings</dd>\n</dl>\n", r->nc, nok, nfind, nunch, nerr, nwarn);
	if (!r->has_time) {
		char s[32];

		pg_addf(out, "<p>Delivery ages as of %s (the document does not record its run time).</p>\n",
			 tk_format_iso(now, s, sizeof(s)));
	}
	pg_adds(out, "<p class=\"legend\"><span class=\"status-ok\" style=\"background:#b9e4bd\">ok</span>"
		 "<span style=\"background:#f4b4b4\">findings (error)</span>"
		 "<span style=\"background:#fde2a7\">findings (warnings only)</span>"
		 "<span style=\"background:#cfd4da\">unchecked</span>"
		 "<span style=\"background:#f7f7f7\">not configured</span></p>\n");
}

/* one cell of the grid (ci: index in cells, or -1) */
static void render_cell(struct page *out, const struct report *r, long ci, time_t now)
{
	static const char *const worst[] = { "worst-info", "worst-warning", "worst-error" };
	const struct rcell *c;
	char age[32];

	if (ci < 0) {
		pg_adds(out, "<td class=\"nocell\">-</td>");
		return;
	}
	c = &r->cells[ci];
	pg_adds(out, "<td class=\"cell status-");
	add_esc(out, c->status);
	if (c->group >= 0) {
		pg_adds(out, " ");
		pg_adds(out, worst[r->groups[c->group].worst]);
	}
	pg_adds(out, "\" data-account=\"");
	add_esc(out, c->account);
	pg_adds(out, "\" data-region=\"");
	add_esc(out, c->region);
	pg_adds(out, "\" data-status=\"");
	add_esc(out, c->status);
	pg_adds(out, "\">");
	if (c->group >= 0)
		pg_addf(out, "<a href=\"#g%ld\">", c->group);
	pg_adds(out, "<span class=\"status\">");
	add_esc(out, c->status);
	pg_adds(out, "</span><span class=\"age\">");
	if (c->has_newest)
		pg_addf(out, "newest %s", tk_format_age(now, (time_t)c->newest, age, sizeof(age)));
	else
		pg_adds(out, "no delivery");
	pg_adds(out, "</span>");
	if (c->nfindings)
		pg_addf(out, "<span class=\"age\">%lld finding%s</span>", (long long)c->nfindings,
			 c->nfindings == 1 ? "" : "s");
	if (c->group >= 0)
		pg_adds(out, "</a>");
	pg_adds(out, "</td>");
}

static void render_grid(struct page *out, const struct report *r, time_t now)
{
	size_t i, j;

	pg_adds(out, "<h2>Accounts x regions</h2>\n<table class=\"grid\" id=\"grid\">\n<thead><tr><th>account</th>");
	for (j = 0; j < r->nr; j++) {
		pg_adds(out, "<th scope=\"col\">");
		add_esc(out, r->regs[j]);
		pg_adds(out, "</th>");
	}
	pg_adds(out, "</tr></thead>\n<tbody>\n");
	for (i = 0; i < r->na; i++) {
		pg_adds(out, "<tr><th scope=\"row\">");
		add_esc(out, r->accts[i]);
		pg_adds(out, "</th>");
		for (j = 0; j < r->nr; j++)
			render_cell(out, r, r->grid[i * r->nr + j], now);
		pg_adds(out, "</tr>\n");
	}
	pg_adds(out, "</tbody>\n</table>\n");
}

static void render_finding(struct page *out, const struct rfinding *x)
{
	pg_adds(out, "<li class=\"finding sev-");
	add_esc(out, x->severity);
	pg_adds(out, "\"><span class=\"sev\">");
	add_esc(out, x->severity);
	pg_adds(out, "</span> <code class=\"code\">");
	add_esc(out, x->code);
	pg_adds(out, "</code> <span class=\"msg\">");
	add_esc(out, x->message);
	pg_adds(out, "</span>");
	if (x->bucket || x->key) {
		pg_adds(out, "<div class=\"obj\">s3://");
		add_esc(out, x->bucket ? x->bucket : "");
		if (x->key) {
			pg_adds(out, "/");
			add_esc(out, x->key);
		}
		pg_adds(out, "</div>");
	}
	if (x->hint) {
		pg_adds(out, "<p class=\"hint\">");
		add_esc(out, x->hint);
		pg_adds(out, "</p>");
	}
	pg_adds(out, "</li>\n");
}

/* findings by cell */
static void render_findings(struct page *out, const struct report *r)
{
	size_t i, j;

	pg_addf(out, "<h2>Findings (%zu)</h2>\n", r->nf);
	if (!r->nf)
		pg_adds(out, "<p id=\"no-findings\">No findings.</p>\n");
	for (i = 0; i < r->ng; i++) {
		const struct rgroup *g = &r->groups[i];

		pg_addf(out, "<section class=\"group\" id=\"g%zu\" data-account=\"", i);
		add_esc(out, g->account ? g->account : "");
		pg_adds(out, "\" data-region=\"");
		add_esc(out, g->region ? g->region : "");
		pg_adds(out, "\">\n<h3>");
		if (g->account) {
			pg_adds(out, "account ");
			add_esc(out, g->account);
		} else {
			pg_adds(out, "organization");
		}
		pg_adds(out, ", ");
		if (g->region)
			add_esc(out, g->region);
		else
			pg_adds(out, "no region");
		pg_addf(out, " (%zu)</h3>\n<ul class=\"findings\">\n", g->n);
		for (j = g->first; j < g->first + g->n; j++)
			render_finding(out, &r->fs[r->order[j]]);
		pg_adds(out, "</ul>\n</section>\n");
	}
}

static int render(struct page *out, const struct report_html_opts *o, const struct report *r)
{
	time_t now = r->has_time ? (time_t)r->run_time : o->now;

	render_head(out, o, r, now);
	render_grid(out, r, now);
	render_findings(out, r);
	pg_adds(out, "</body>\n</html>\n");
	return out->rc;
}

/* ------------------------------------------------------------ the document */

/* "run": {config, time, window: {start, end}}, or absent / null */
static int read_run(struct report *r, const json_t *run, struct errbuf *err)
{
	const json_t *w;

	if (!run || json_is_null(run))
		return 0;
	w = json_object_get(run, "window");
	if (!json_is_object(run) || get_str(run, "config", true, &r->config) ||
	    get_time(run, "time", &r->has_time, &r->run_time) ||
	    (w && !json_is_null(w) && !json_is_object(w)) ||
	    get_time(w, "start", &r->has_start, &r->wstart) || get_time(w, "end", &r->has_end, &r->wend))
		return bad(err, "\"run\" is not {config, time, window: {start, end}} (times 2013..2100)");
	return 0;
}

static int read_cells(struct report *r, const json_t *jc, struct errbuf *err)
{
	size_t i;

	r->cells = xcalloc(r->nc ? r->nc : 1, sizeof(*r->cells));
	for (i = 0; i < r->nc; i++) {
		struct rcell *c = &r->cells[i];
		const json_t *x = json_array_get(jc, i);

		if (!json_is_object(x) || get_str(x, "account", false, &c->account) ||
		    get_str(x, "region", false, &c->region) || get_str(x, "status", false, &c->status) ||
		    get_count(x, "digests_checked", &c->digests) || get_count(x, "logs_checked", &c->logs) ||
		    get_count(x, "findings", &c->nfindings) ||
		    get_time(x, "newest_delivery", &c->has_newest, &c->newest))
			return err_set(err, TK_EUSAGE, "not a verify --json document: cell %zu is not {account, "
				       "region, newest_delivery (2013..2100 or null), digests_checked, logs_checked, "
				       "findings, status}", i);
		if (strcmp(c->status, "ok") && strcmp(c->status, "findings") && strcmp(c->status, "unchecked"))
			return err_set(err, TK_EUSAGE, "not a verify --json document: cell %zu has status '%s' "
				       "(ok, findings or unchecked expected)", i, c->status);
		c->group = -1;
	}
	return 0;
}

static int read_findings(struct report *r, const json_t *jf, struct errbuf *err)
{
	size_t i;

	r->fs = xcalloc(r->nf ? r->nf : 1, sizeof(*r->fs));
	for (i = 0; i < r->nf; i++) {
		struct rfinding *f = &r->fs[i];
		const json_t *x = json_array_get(jf, i);

		if (!json_is_object(x) || get_str(x, "code", false, &f->code) ||
		    get_str(x, "severity", false, &f->severity) || get_str(x, "message", false, &f->message) ||
		    get_str(x, "account", true, &f->account) || get_str(x, "region", true, &f->region) ||
		    get_str(x, "bucket", true, &f->bucket) || get_str(x, "key", true, &f->key) ||
		    get_str(x, "hint", true, &f->hint) || sev_rank(f->severity) < 0)
			return err_set(err, TK_EUSAGE, "not a verify --json document: finding %zu is not {code, "
				       "severity (error, warning or info), account, region, bucket, key, message, "
				       "hint}", i);
	}
	return 0;
}

/* groups: findings by (account, region), NULL first */
static void build_groups(struct report *r)
{
	size_t i;

	r->order = xcalloc(r->nf ? r->nf : 1, sizeof(*r->order));
	for (i = 0; i < r->nf; i++)
		r->order[i] = i;
	sort_fs = r->fs;
	qsort(r->order, r->nf, sizeof(*r->order), find_order);
	sort_fs = NULL;
	r->groups = xcalloc(r->nf ? r->nf : 1, sizeof(*r->groups));
	for (i = 0; i < r->nf; i++) {
		const struct rfinding *f = &r->fs[r->order[i]];
		struct rgroup *g = r->ng ? &r->groups[r->ng - 1] : NULL;

		if (!g || nstrcmp(g->account, f->account) || nstrcmp(g->region, f->region)) {
			g = &r->groups[r->ng++];
			g->account = f->account;
			g->region = f->region;
			g->first = i;
			g->worst = 0;
		}
		g->n++;
		if (sev_rank(f->severity) > g->worst)
			g->worst = sev_rank(f->severity);
	}
}

/* the grid: accounts x regions in the order the document lists them */
static int build_grid(struct report *r, struct errbuf *err)
{
	size_t nc = r->nc, i, *aid, *rid;
	const char **tmp;
	int rc = 0;

	aid = xcalloc(nc ? nc : 1, sizeof(*aid));
	rid = xcalloc(nc ? nc : 1, sizeof(*rid));
	tmp = xcalloc(nc ? nc : 1, sizeof(*tmp));
	for (i = 0; i < nc; i++)
		tmp[i] = r->cells[i].account;
	r->na = intern(tmp, nc, aid, &r->accts);
	for (i = 0; i < nc; i++)
		tmp[i] = r->cells[i].region;
	r->nr = intern(tmp, nc, rid, &r->regs);
	if (r->na && r->nr > MAX_GRID / r->na) {
		rc = err_set(err, TK_ELIMIT, "not shown: %zu accounts x %zu regions is more than %u cells",
			     r->na, r->nr, MAX_GRID);
		goto done;
	}
	/* na x nr <= MAX_GRID: no overflow */
	r->grid = xcalloc(r->na * r->nr + 1, sizeof(*r->grid));
	for (i = 0; i < r->na * r->nr; i++)
		r->grid[i] = -1;
	for (i = 0; i < nc; i++) {
		size_t g = aid[i] * r->nr + rid[i];

		if (r->grid[g] >= 0) {
			rc = err_set(err, TK_EUSAGE, "not a verify --json document: cell %zu repeats account "
				     "'%s' region '%s'", i, r->cells[i].account, r->cells[i].region);
			goto done;
		}
		r->grid[g] = (long)i;
		r->cells[i].group = group_of(r->groups, r->ng, r->cells[i].account, r->cells[i].region);
	}
done:
	free(tmp);
	free(aid);
	free(rid);
	return rc;
}

int report_html_render(const json_t *doc, const struct report_html_opts *o, struct buf *out,
		       struct errbuf *err)
{
	const json_t *jc = json_object_get(doc, "cells"), *jf = json_object_get(doc, "findings");
	struct report r;
	struct page pg = { out, 0 };
	int rc;

	if (!json_is_object(doc) || !json_is_integer(json_object_get(doc, "version")) ||
	    json_integer_value(json_object_get(doc, "version")) != 1 || !json_is_array(jc) ||
	    !json_is_array(jf))
		return bad(err, "version 1 with \"cells\" and \"findings\" arrays expected");
	memset(&r, 0, sizeof(r));
	r.nc = json_array_size(jc);
	r.nf = json_array_size(jf);
	if (r.nc > MAX_CELLS || r.nf > 10 * (size_t)MAX_CELLS)
		return err_set(err, TK_ELIMIT, "not shown: more than %u cells or %u findings", MAX_CELLS,
			       10 * MAX_CELLS);
	rc = read_run(&r, json_object_get(doc, "run"), err);
	if (rc)
		return rc;
	rc = read_cells(&r, jc, err);
	if (rc == 0)
		rc = read_findings(&r, jf, err);
	if (rc == 0) {
		build_groups(&r);
		rc = build_grid(&r, err);
	}
	if (rc == 0) {
		rc = render(&pg, o, &r);
		if (rc)
			err_set(err, rc, "the page is larger than %zu bytes", out->limit);
	}
	report_free(&r);
	return rc;
}

json_t *report_run_json(const char *config, time_t now, time_t start, time_t end)
{
	json_t *run = json_object(), *w = json_object();
	json_t *c = config ? json_string(config) : NULL;

	json_object_set_new(run, "config", c ? c : json_null());   /* NULL: not UTF-8 */
	json_object_set_new(run, "time", json_integer((json_int_t)now));
	json_object_set_new(w, "start", json_integer((json_int_t)start));
	json_object_set_new(w, "end", json_integer((json_int_t)end));
	json_object_set_new(run, "window", w);
	return run;
}

json_t *report_run_copy(const json_t *run)
{
	const json_t *w = json_object_get(run, "window");
	const char *config = NULL;
	bool ht, hs, he;
	json_int_t t, st, en;

	if (!json_is_object(run) || !json_is_object(w) || get_str(run, "config", true, &config) ||
	    get_time(run, "time", &ht, &t) || get_time(w, "start", &hs, &st) ||
	    get_time(w, "end", &he, &en) || !ht || !hs || !he || (config && strlen(config) > 4096))
		return NULL;
	return report_run_json(config, (time_t)t, (time_t)st, (time_t)en);
}
