/* verify_merge.c: `verify --merge`, the shards' documents -> one run (see
 * verify_merge.h).  No printing: every refusal is an errbuf message. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "regions.h"
#include "textesc.h"
#include "verify.h"
#include "verify_merge.h"
#include "banned.h"

int verify_merge_load(const char *path, json_t **out, struct errbuf *err)
{
	struct stat sb;
	json_error_t je;

	*out = NULL;
	if (stat(path, &sb))
		return err_set(err, TK_EUSAGE, "cannot open '%s': %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode) || (unsigned long long)sb.st_size > VERIFY_MERGE_MAX_BYTES)
		return err_set(err, TK_EUSAGE, "'%s' is not a verify --json document (not a regular file of at "
			       "most %u MiB)", path, VERIFY_MERGE_MAX_BYTES >> 20);
	*out = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return err_set(err, TK_EUSAGE, "'%s' is not a verify --json document: line %d: %s", path,
			       je.line, je.text);
	return 0;
}

static const char *opt_str(json_t *o, const char *name, bool *bad)
{
	json_t *v = json_object_get(o, name);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

static bool account_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return i == TK_ACCOUNT_ID_LEN;
}

/* The config's cells, sorted by (account, region), with their position in
 * config order: the merged report lists cells as an unsharded run does. */
struct cpos {
	const char *account, *region;
	size_t pos;
};

static int cmp_cpos(const void *a, const void *b)
{
	const struct cpos *x = a, *y = b;
	int r = strcmp(x->account, y->account);

	return r ? r : strcmp(x->region, y->region);
}

static struct cpos *config_cells(const struct tk_config *cfg, size_t *n)
{
	struct cpos *v;
	size_t i, k, total = 0;

	for (i = 0; i < cfg->naccounts; i++)
		total += cfg->accounts[i].regions.n;
	v = xcalloc(total + 1, sizeof(*v));
	*n = 0;
	for (i = 0; i < cfg->naccounts; i++)
		for (k = 0; k < cfg->accounts[i].regions.n; k++) {
			v[*n].account = cfg->accounts[i].id;
			v[*n].region = cfg->accounts[i].regions.v[k];
			v[*n].pos = *n;
			(*n)++;
		}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_cpos);
	return v;
}

/* position in config order, or (size_t)-1 */
static size_t config_pos(const struct cpos *v, size_t n, const char *account, const char *region)
{
	struct cpos k = { account, region, 0 };
	const struct cpos *c = n ? bsearch(&k, v, n, sizeof(*v), cmp_cpos) : NULL;

	return c ? c->pos : (size_t)-1;
}

struct mcell {
	struct cell_stats c;
	size_t pos, file;
};

static int cmp_mcell(const void *a, const void *b)
{
	const struct mcell *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The work of one merge. */
struct merge {
	const struct tk_config *cfg;
	const char *config_path;
	json_t **docs;               /* NULL entries: read from names[i] first */
	const char *const *names;
	size_t n;
	struct cpos *cpos;
	size_t ncpos;
	struct mcell *mc;
	size_t ncells;
	struct findings *f;
};

/* Every document a version 1 shard document, all of one N, each K once.
 * *total: the cells of all documents. */
static int check_shards(const struct merge *m, size_t *total, struct errbuf *err)
{
	const char **by_index = NULL;
	json_int_t count = 0;
	size_t i, j;
	int rc = TK_EUSAGE;

	*total = 0;
	for (i = 0; i < m->n; i++) {
		json_t *d, *ver, *sh, *fs, *cs, *ix, *cn;

		if (!m->docs[i] && verify_merge_load(m->names[i], &m->docs[i], err))
			goto done;
		d = m->docs[i];
		ver = json_object_get(d, "version");
		fs = json_object_get(d, "findings");
		cs = json_object_get(d, "cells");
		if (!json_is_object(d) || !json_is_integer(ver) || json_integer_value(ver) != 1 ||
		    !json_is_array(fs) || !json_is_array(cs)) {
			err_set(err, rc, "'%s' is not a verify --json document (version 1 with "
				"\"findings\" and \"cells\")", m->names[i]);
			goto done;
		}
		sh = json_object_get(d, "shard");
		ix = json_object_get(sh, "index");
		cn = json_object_get(sh, "count");
		if (!json_is_object(sh) || !json_is_integer(ix) || !json_is_integer(cn) ||
		    json_integer_value(cn) < 1 || json_integer_value(cn) > VERIFY_MAX_SHARDS ||
		    json_integer_value(ix) < 1 || json_integer_value(ix) > json_integer_value(cn)) {
			err_set(err, rc, "'%s' is not the output of 'verify --shard K/N --json' (no valid "
				"\"shard\")", m->names[i]);
			goto done;
		}
		if (i == 0) {
			count = json_integer_value(cn);
			by_index = xcalloc((size_t)count + 1, sizeof(*by_index));
		} else if (json_integer_value(cn) != count) {
			err_set(err, rc, "'%s' is shard %lld of %lld, but '%s' is of %lld shards",
				m->names[i], (long long)json_integer_value(ix),
				(long long)json_integer_value(cn), m->names[0], (long long)count);
			goto done;
		}
		j = (size_t)json_integer_value(ix);
		if (by_index[j]) {
			err_set(err, rc, "'%s' and '%s' are both shard %zu/%lld", by_index[j], m->names[i],
				j, (long long)count);
			goto done;
		}
		by_index[j] = m->names[i];
		*total += json_array_size(cs);
	}
	for (j = 1; j <= (size_t)count; j++)
		if (!by_index[j]) {
			err_set(err, rc, "shard %zu/%lld is missing (%zu file%s given)", j,
				(long long)count, m->n, m->n == 1 ? "" : "s");
			goto done;
		}
	rc = 0;
done:
	free(by_index);
	return rc;
}

/* The cells of document i, checked, into m->mc. */
static int merge_cells(struct merge *m, size_t i, struct errbuf *err)
{
	const char *name = m->names[i];
	json_t *x;
	size_t k;

	json_array_foreach(json_object_get(m->docs[i], "cells"), k, x) {
		bool bad = !json_is_object(x);
		const char *acct = bad ? NULL : opt_str(x, "account", &bad);
		const char *reg = bad ? NULL : opt_str(x, "region", &bad);
		json_t *nd = json_object_get(x, "newest_delivery");
		json_t *dc = json_object_get(x, "digests_checked");
		json_t *lc = json_object_get(x, "logs_checked");
		struct cell_stats *c;
		size_t pos;

		if (bad || !acct || !reg || !json_is_integer(dc) || !json_is_integer(lc) ||
		    json_integer_value(dc) < 0 || json_integer_value(lc) < 0 ||
		    json_integer_value(dc) > VERIFY_MERGE_MAX_COUNT ||
		    json_integer_value(lc) > VERIFY_MERGE_MAX_COUNT ||
		    (nd && !json_is_null(nd) && !json_is_integer(nd)))
			return err_set(err, TK_EUSAGE, "'%s': cell %zu is not a verify cell (counts from 0 to %lld)",
				       name, k, (long long)VERIFY_MERGE_MAX_COUNT);
		/* a hostile newest_delivery (INT64_MIN, far future) must not
		 * overflow an age and pass as fresh */
		if (json_is_integer(nd) && (json_integer_value(nd) < VERIFY_MERGE_MIN_TIME ||
					    json_integer_value(nd) > VERIFY_MERGE_MAX_TIME))
			return err_set(err, TK_EUSAGE, "'%s': cell %zu: newest_delivery %lld is not a time from "
				       "2013 to 2100", name, k, (long long)json_integer_value(nd));
		pos = config_pos(m->cpos, m->ncpos, acct, reg);
		if (pos == (size_t)-1) {
			char *ea = tk_text_escaped(acct), *er = tk_text_escaped(reg);
			int rc = err_set(err, TK_EUSAGE, "'%s': cell %.20s %.40s is not in '%s'", name, ea, er,
					 m->config_path);

			free(ea);
			free(er);
			return rc;
		}
		m->mc[m->ncells].pos = pos;
		m->mc[m->ncells].file = i;
		c = &m->mc[m->ncells++].c;
		cell_init(c, acct, reg);
		if (json_is_integer(nd)) {
			c->has_newest = 1;
			c->newest_delivery = (time_t)json_integer_value(nd);
		}
		c->digests_checked = (size_t)json_integer_value(dc);
		c->logs_checked = (size_t)json_integer_value(lc);
	}
	return 0;
}

/* The findings of document i, checked, into m->f. */
static int merge_findings(struct merge *m, size_t i, struct errbuf *err)
{
	const char *name = m->names[i];
	json_t *x;
	size_t k;

	json_array_foreach(json_object_get(m->docs[i], "findings"), k, x) {
		bool bad = !json_is_object(x);
		const char *code = bad ? NULL : opt_str(x, "code", &bad);
		const char *acct = bad ? NULL : opt_str(x, "account", &bad);
		const char *reg = bad ? NULL : opt_str(x, "region", &bad);
		const char *bucket = bad ? NULL : opt_str(x, "bucket", &bad);
		const char *key = bad ? NULL : opt_str(x, "key", &bad);
		const char *msg = bad ? NULL : opt_str(x, "message", &bad);
		int fc = code ? finding_code_from_name(code) : -1;

		if (bad || fc < 0 || !msg)
			return err_set(err, TK_EUSAGE, "'%s': finding %zu is not a verify finding", name, k);
		/* hostile input: ids and regions as verify writes them, every
		 * string bounded */
		if ((acct && !account_ok(acct)) || (reg && !tk_region_known(reg)) ||
		    (bucket && strlen(bucket) > 63) || (key && strlen(key) > 1024) ||
		    strlen(msg) > VERIFY_MERGE_MAX_MESSAGE)
			return err_set(err, TK_EUSAGE, "'%s': finding %zu is not a verify finding (account of 12 "
				       "digits, a known region, bucket up to 63, key up to 1024, message up to %d "
				       "bytes)", name, k, VERIFY_MERGE_MAX_MESSAGE);
		findings_add(m->f, (enum finding_code)fc, acct, reg, bucket, key, "%s", msg);
	}
	return 0;
}

/* the "run" object when it is the same in every shard */
static json_t *common_run(json_t *const *docs, size_t n)
{
	json_t *run = json_object_get(docs[0], "run");
	size_t i;

	for (i = 1; run && i < n; i++)
		if (!json_equal(run, json_object_get(docs[i], "run")))
			return NULL;
	return json_incref(run);
}

static int merge_docs(struct verify_merged *out, const struct tk_config *cfg, const char *config_path,
		      json_t **docs, const char *const *names, size_t n, struct errbuf *err)
{
	struct merge m;
	size_t i, total = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	findings_init(&out->f);
	memset(&m, 0, sizeof(m));
	m.cfg = cfg;
	m.config_path = config_path;
	m.docs = docs;
	m.names = names;
	m.n = n;
	m.f = &out->f;
	if (!n) {
		rc = err_set(err, TK_EUSAGE, "no shard documents to merge");
		goto done;
	}
	if ((rc = check_shards(&m, &total, err)))
		goto done;
	m.cpos = config_cells(cfg, &m.ncpos);
	m.mc = xcalloc(total + 1, sizeof(*m.mc));
	for (i = 0; i < n; i++)
		if ((rc = merge_cells(&m, i, err)) || (rc = merge_findings(&m, i, err)))
			goto done;
	if (m.ncells > 1)
		qsort(m.mc, m.ncells, sizeof(*m.mc), cmp_mcell);
	for (i = 1; i < m.ncells; i++)
		if (m.mc[i].pos == m.mc[i - 1].pos) {
			rc = err_set(err, TK_EUSAGE, "'%s': cell %s %s is in '%s' too", names[m.mc[i].file],
				     m.mc[i].c.account, m.mc[i].c.region, names[m.mc[i - 1].file]);
			goto done;
		}
	out->cells = xcalloc(m.ncells + 1, sizeof(*out->cells));
	for (i = 0; i < m.ncells; i++)
		out->cells[i] = m.mc[i].c;     /* moved: owned by out->cells now */
	out->ncells = m.ncells;
	m.ncells = 0;
	out->run = common_run(docs, n);
	rc = 0;
done:
	for (i = 0; i < m.ncells; i++)
		cell_release(&m.mc[i].c);
	free(m.mc);
	free(m.cpos);
	if (rc)
		verify_merged_release(out);
	return rc;
}

int verify_merge(struct verify_merged *out, const struct tk_config *cfg, const char *config_path,
		 json_t *const *docs, const char *const *names, size_t n, struct errbuf *err)
{
	json_t **v = xcalloc(n + 1, sizeof(*v));
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		v[i] = json_incref(docs[i]);
	rc = merge_docs(out, cfg, config_path, v, names, n, err);
	for (i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
	return rc;
}

int verify_merge_files(struct verify_merged *out, const struct tk_config *cfg, const char *config_path,
		       const char *const *files, size_t n, struct errbuf *err)
{
	json_t **v = xcalloc(n + 1, sizeof(*v));
	size_t i;
	int rc = merge_docs(out, cfg, config_path, v, files, n, err);

	for (i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
	return rc;
}

void verify_merged_release(struct verify_merged *m)
{
	size_t i;

	for (i = 0; i < m->ncells; i++)
		cell_release(&m->cells[i]);
	free(m->cells);
	json_decref(m->run);
	findings_release(&m->f);
	memset(m, 0, sizeof(*m));
}
