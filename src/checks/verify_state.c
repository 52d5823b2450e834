/* verify_state.c: see verify_state.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "verify_state.h"
#include "buf.h"
#include "timeutil.h"
#include "banned.h"

#define STATE_VERSION 1
#define MAX_SIG_HEX 4096
#define MAX_KEY 1024

static const char *nz(const char *s)
{
	return s && *s ? s : NULL;
}

static int same(const char *a, const char *b)
{
	a = nz(a);
	b = nz(b);
	if (!a || !b)
		return !a && !b;
	return !strcmp(a, b);
}

void verify_state_release(struct verify_state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		free(st->v[i].account);
		free(st->v[i].region);
		free(st->v[i].key);
		free(st->v[i].sig);
	}
	free(st->v);
	free(st->bucket);
	free(st->prefix);
	free(st->trail);
	free(st->org);
	memset(st, 0, sizeof(*st));
}

static int cmp_cell(const void *a, const void *b)
{
	const struct verify_state_cell *x = a, *y = b;
	int r = strcmp(x->account, y->account);

	return r ? r : strcmp(x->region, y->region);
}

static struct verify_state_cell *find(const struct verify_state *st, const char *account,
				      const char *region)
{
	struct verify_state_cell k;
	size_t i;

	k.account = (char *)(uintptr_t)account;
	k.region = (char *)(uintptr_t)region;
	if (st->nsorted) {
		struct verify_state_cell *c = bsearch(&k, st->v, st->nsorted, sizeof(*st->v),
						      cmp_cell);

		if (c)
			return c;
	}
	for (i = st->nsorted; i < st->n; i++)
		if (!cmp_cell(&k, &st->v[i]))
			return &st->v[i];
	return NULL;
}

const struct verify_state_cell *verify_state_find(const struct verify_state *st,
						  const char *account, const char *region)
{
	return find(st, account, region);
}

static void sort_all(struct verify_state *st)
{
	if (st->n > 1)
		qsort(st->v, st->n, sizeof(*st->v), cmp_cell);
	st->nsorted = st->n;
}

void verify_state_set(struct verify_state *st, const char *account, const char *region,
		      const char *key, const char *sig, time_t end)
{
	struct verify_state_cell *c = find(st, account, region);

	if (!c) {
		ALLOC_GROW(st->v, st->n + 1, st->alloc);
		c = &st->v[st->n++];
		c->account = xstrdup(account);
		c->region = xstrdup(region);
		c->key = xstrdup(key);
		c->sig = xstrdup(sig);
		c->end = end;
		/* keep the unsorted tail short: lookups stay O(log n) amortized */
		if (st->n - st->nsorted > 64 + st->nsorted / 4)
			sort_all(st);
		return;
	}
	free(c->key);
	free(c->sig);
	c->key = xstrdup(key);
	c->sig = xstrdup(sig);
	c->end = end;
}

static int all_digits(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int region_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return i > 0 && i < 64;
}

static int hex_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return i > 0 && i <= MAX_SIG_HEX && i % 2 == 0;
}

static int key_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > MAX_KEY)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* a string member, or NULL for null/absent when nullable; -1: wrong type */
static int get_str(json_t *o, const char *name, int nullable, const char **out)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (!v || json_is_null(v))
		return nullable ? 0 : -1;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static int read_all(const char *path, struct buf *b, int *missing, struct errbuf *err)
{
	char chunk[65536];
	/* O_NONBLOCK: a FIFO is refused below instead of blocking open() */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK), rc = 0;
	struct stat sb;

	*missing = 0;
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = 1;
			return 0;
		}
		if (errno == ELOOP)
			return err_set(err, TK_EUSAGE, "cannot open state file '%s': it is a symbolic link (trailkeep "
				       "replaces its state file and never writes through a link)", path);
		return err_set(err, TK_EUSAGE, "cannot open state file '%s': %s", path,
			       strerror(errno));
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		rc = err_set(err, TK_EUSAGE, "state file '%s' is not a regular file", path);
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(err, TK_EUSAGE, "cannot read state file '%s': %s", path,
				     strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if (buf_add(b, chunk, (size_t)n)) {
			rc = err_set(err, TK_EUSAGE, "state file '%s' is larger than %u bytes", path,
				     VERIFY_STATE_MAX_BYTES);
			goto done;
		}
	}
done:
	close(fd);
	return rc;
}

static void state_init(struct verify_state *st, const struct tk_config *cfg)
{
	const char *org = cfg->mode == TK_MODE_ORGANIZATION ? cfg->org_id : NULL;

	memset(st, 0, sizeof(*st));
	st->bucket = xstrdup(cfg->bucket);
	st->prefix = nz(cfg->key_prefix) ? xstrdup(cfg->key_prefix) : NULL;
	st->trail = xstrdup(cfg->trail_name);
	st->org = nz(org) ? xstrdup(org) : NULL;
}

int verify_state_load(struct verify_state *st, const char *path, const struct tk_config *cfg,
		      struct errbuf *err)
{
	struct buf b = BUF_INIT_LIMIT(VERIFY_STATE_MAX_BYTES);
	int missing, rc;

	state_init(st, cfg);
	rc = read_all(path, &b, &missing, err);
	if (!rc && !missing) {
		verify_state_release(st);
		rc = verify_state_parse(st, b.data ? b.data : "", b.len, path, cfg, err);
	}
	buf_release(&b);
	return rc;
}

int verify_state_parse(struct verify_state *st, const char *data, size_t len, const char *path,
		       const struct tk_config *cfg, struct errbuf *err)
{
	const char *org = cfg->mode == TK_MODE_ORGANIZATION ? cfg->org_id : NULL;
	const char *bucket, *prefix, *trail, *sorg;
	json_t *doc = NULL, *cells, *ver, *c;
	json_error_t je;
	int rc = 0;
	size_t i;

	state_init(st, cfg);
	if (len > VERIFY_STATE_MAX_BYTES) {
		rc = err_set(err, TK_EUSAGE, "state file '%s' is larger than %u bytes", path,
			     VERIFY_STATE_MAX_BYTES);
		goto done;
	}
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		rc = err_set(err, TK_EUSAGE, "state file '%s' is corrupt: line %d: %s", path, je.line,
			     je.text);
		goto done;
	}
	ver = json_object_get(doc, "trailkeep_verify_state");
	if (!json_is_object(doc) || !json_is_integer(ver)) {
		rc = err_set(err, TK_EUSAGE, "'%s' is not a trailkeep verify state file", path);
		goto done;
	}
	if (json_integer_value(ver) != STATE_VERSION) {
		rc = err_set(err, TK_EUSAGE, "state file '%s' has version %lld, expected %d", path,
			     (long long)json_integer_value(ver), STATE_VERSION);
		goto done;
	}
	cells = json_object_get(doc, "cells");
	if (get_str(doc, "bucket", 0, &bucket) || get_str(doc, "prefix", 1, &prefix) ||
	    get_str(doc, "trail", 0, &trail) || get_str(doc, "org", 1, &sorg) ||
	    !json_is_array(cells)) {
		rc = err_set(err, TK_EUSAGE, "state file '%s' is corrupt: 'bucket', 'prefix', "
			     "'trail', 'org' or 'cells' missing or of the wrong type", path);
		goto done;
	}
	if (!same(bucket, cfg->bucket) || !same(prefix, cfg->key_prefix) ||
	    !same(trail, cfg->trail_name) || !same(sorg, org)) {
		rc = err_set(err, TK_EUSAGE, "state file '%s' belongs to another configuration "
			     "(bucket '%.80s', prefix '%.80s', trail '%.80s', org '%.40s'), not to "
			     "bucket '%s', prefix '%s', trail '%s', org '%s'", path, bucket,
			     prefix ? prefix : "", trail, sorg ? sorg : "", cfg->bucket,
			     cfg->key_prefix ? cfg->key_prefix : "", cfg->trail_name, org ? org : "");
		goto done;
	}
	if (json_array_size(cells) > VERIFY_STATE_MAX_CELLS) {
		rc = err_set(err, TK_EUSAGE, "state file '%s' has more than %d cells", path,
			     VERIFY_STATE_MAX_CELLS);
		goto done;
	}
	json_array_foreach(cells, i, c) {
		const char *acct, *region, *key, *sig, *end_s;
		time_t end;

		if (!json_is_object(c) || get_str(c, "account", 0, &acct) ||
		    get_str(c, "region", 0, &region) || get_str(c, "digest", 0, &key) ||
		    get_str(c, "signature", 0, &sig) || get_str(c, "digest_end", 0, &end_s) ||
		    !all_digits(acct, 12) || !region_ok(region) || !key_ok(key) || !hex_ok(sig) ||
		    tk_parse_time(end_s, &end)) {
			rc = err_set(err, TK_EUSAGE, "state file '%s' is corrupt: cell %zu is not "
				     "{account, region, digest, signature (hex), digest_end (time)}",
				     path, i);
			goto done;
		}
		ALLOC_GROW(st->v, st->n + 1, st->alloc);
		st->v[st->n].account = xstrdup(acct);
		st->v[st->n].region = xstrdup(region);
		st->v[st->n].key = xstrdup(key);
		st->v[st->n].sig = xstrdup(sig);
		st->v[st->n].end = end;
		st->n++;
	}
	sort_all(st);
	for (i = 1; i < st->n; i++)
		if (!cmp_cell(&st->v[i - 1], &st->v[i])) {
			rc = err_set(err, TK_EUSAGE, "state file '%s' is corrupt: cell %s %s given "
				     "twice", path, st->v[i].account, st->v[i].region);
			goto done;
		}
done:
	json_decref(doc);
	return rc;
}

static int cmp_cellp(const void *a, const void *b)
{
	return cmp_cell(*(const struct verify_state_cell *const *)a,
			*(const struct verify_state_cell *const *)b);
}

int verify_state_save(const struct verify_state *st, const char *path, struct errbuf *err)
{
	const struct verify_state_cell **sorted = xcalloc(st->n + 1, sizeof(*sorted));
	json_t *doc = json_object(), *cells = json_array();
	char *text = NULL;
	size_t i;
	int rc;

	for (i = 0; i < st->n; i++)
		sorted[i] = &st->v[i];
	if (st->n > 1)
		qsort(sorted, st->n, sizeof(*sorted), cmp_cellp);
	json_object_set_new(doc, "trailkeep_verify_state", json_integer(STATE_VERSION));
	json_object_set_new(doc, "bucket", json_string(st->bucket));
	json_object_set_new(doc, "prefix", st->prefix ? json_string(st->prefix) : json_null());
	json_object_set_new(doc, "trail", json_string(st->trail));
	json_object_set_new(doc, "org", st->org ? json_string(st->org) : json_null());
	for (i = 0; i < st->n; i++) {
		json_t *c = json_object();
		char t[32];

		json_object_set_new(c, "account", json_string(sorted[i]->account));
		json_object_set_new(c, "region", json_string(sorted[i]->region));
		json_object_set_new(c, "digest", json_string(sorted[i]->key));
		json_object_set_new(c, "signature", json_string(sorted[i]->sig));
		json_object_set_new(c, "digest_end",
				    json_string(tk_format_iso(sorted[i]->end, t, sizeof(t))));
		json_array_append_new(cells, c);
	}
	json_object_set_new(doc, "cells", cells);
	text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = err_set(err, TK_EFAIL, "cannot render the state file");
		goto done;
	}
	{
		size_t len = strlen(text);
		char *withnl = xmalloc(len + 2);

		memcpy(withnl, text, len);
		withnl[len] = '\n';
		withnl[len + 1] = '\0';
		rc = tk_write_file_atomic(path, withnl, len + 1, 0600, err);
		free(withnl);
	}
done:
	free(text);
	json_decref(doc);
	free(sorted);
	return rc;
}
