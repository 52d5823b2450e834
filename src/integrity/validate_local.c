/* validate_local.c: validate a local copy of the log bucket (--local, see
 * validate.h): listing by directory, digests read from files, the log files
 * hashed on a thread pool. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "validate.h"
#include "validate_int.h"
#include "aws.h"
#include "aws_async.h"
#include "buf.h"
#include "chain.h"
#include "digest.h"
#include "fileutil.h"
#include "loghash.h"
#include "timeutil.h"
#include "xml.h"
#include "banned.h"


#define META_MAX 65536
#define READ_CHUNK (256 * 1024)

/* ---------------------------------------------------------------- local */

static int read_file(const char *path, struct buf *out, size_t limit, int *err_no)
{
	char *tmp = xmalloc(READ_CHUNK);
	ssize_t n;
	int fd = tk_open_tree_file(path), rc = 0;

	buf_init(out, limit);
	*err_no = 0;
	if (fd < 0) {
		*err_no = errno;
		free(tmp);
		return -1;
	}
	while ((n = read(fd, tmp, READ_CHUNK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*err_no = errno;
			rc = -1;
			break;
		}
		if (buf_add(out, tmp, (size_t)n) < 0) {
			rc = -2;
			break;
		}
	}
	close(fd);
	free(tmp);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The regular files directly in DIR/bucket/<prefix><day>/ as keys. */
static void local_list_day(struct vcell *c, const char *prefix, const char *day, int logs)
{
	const struct validate_opts *o = c->run->o;
	char *rel = xasprintf("%s%s/", prefix, day);
	char *path = NULL;
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	struct dirent *de;
	DIR *d;

	if (local_path(&path, o->local_dir, o->bucket, rel, strlen(rel) - 1, NULL))
		goto done;
	d = opendir(path);
	if (!d)
		goto done;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char *full;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (l > strlen(LOCAL_META_SUFFIX) &&
		    !strcmp(de->d_name + l - strlen(LOCAL_META_SUFFIX), LOCAL_META_SUFFIX))
			continue;
		full = xasprintf("%s/%s", path, de->d_name);
		if (lstat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			ALLOC_GROW(names, n + 1, alloc);
			names[n++] = xasprintf("%s%s", rel, de->d_name);
		}
		free(full);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);   /* as S3 lists them */
	for (i = 0; i < n; i++) {
		if (logs)
			vd_add_listed_log(c, names[i]);
		else
			chain_add_listed_digest(c->chain, names[i]);
		free(names[i]);
	}
	free(names);
done:
	free(path);
	free(rel);
}

/* bucket: the listed bucket, or where a chain link points (the trail's
 * earlier bucket: --save keeps those digests under DIR/<bucket>/ too) */
static void local_fetch_digest(struct vcell *c, const char *bucket, const char *key)
{
	const struct validate_opts *o = c->run->o;
	struct buf b, m;
	char *path = NULL, *meta, *sig = NULL, *alg = NULL;
	int e, rc;

	if (local_path(&path, o->local_dir, bucket, key, strlen(key), NULL)) {
		chain_add_fetched(c->chain, bucket, key, CHAIN_FETCH_NOT_FOUND, NULL, 0, NULL, NULL,
				  NULL);
		return;
	}
	meta = xasprintf("%s%s", path, LOCAL_META_SUFFIX);
	rc = read_file(path, &b, MAX_DIGEST_GZ, &e);
	if (rc == -1 && (e == ENOENT || e == ENOTDIR)) {
		chain_add_fetched(c->chain, bucket, key, CHAIN_FETCH_NOT_FOUND, NULL, 0, NULL, NULL,
				  NULL);
	} else if (rc == -1) {
		char *msg = xasprintf("cannot read '%s': %s", path, tk_open_strerror(e));

		chain_add_fetched(c->chain, bucket, key, CHAIN_FETCH_ERROR, NULL, 0, NULL, NULL, msg);
		free(msg);
	} else {
		/* over the limit (rc -2): handed over cut short, an invalid digest */
		if (read_file(meta, &m, META_MAX, &e) == 0)
			(void)local_read_meta(m.data ? m.data : "", m.len, &sig, &alg, NULL);
		buf_release(&m);
		chain_add_fetched(c->chain, bucket, key, CHAIN_FETCH_OK, b.data ? b.data : "",
				  rc ? 0 : b.len, sig, alg, NULL);
		c->run->prog.digests++;
	}
	buf_release(&b);
	free(sig);
	free(alg);
	free(meta);
	free(path);
}

/* Hash every log file of the cell's valid digests on the run's hash pool
 * (inflate + SHA-256 is CPU-bound offline), then report in order. */
static void local_hash_logs(struct vcell *c)
{
	struct vrun *r = c->run;
	const struct validate_opts *o = r->o;
	size_t n = chain_nlogs(c->chain), i;
	struct hp_item **done, *it;
	char **paths;

	if (!n)
		return;
	done = xcalloc(n, sizeof(*done));
	paths = xcalloc(n, sizeof(*paths));
	for (i = 0; i < n; i++) {
		const struct chain_log *l = chain_log(c->chain, i);

		/* in its own bucket (after a bucket change, the earlier one); a
		 * key local_path refuses is not there (NULL path: ENOENT) */
		(void)local_path(&paths[i], o->local_dir, l->bucket, l->key, strlen(l->key), NULL);
		hashpool_file(r->pool, paths[i], o->max_inflated, (void *)(uintptr_t)i);
	}
	/* the pool works for this cell only: every item done is one of these */
	while ((it = hashpool_next_done(r->pool, true)))
		done[(uintptr_t)hashpool_item_ud(it)] = it;
	for (i = 0; i < n; i++) {
		char hex[65];
		enum loghash_status st;
		int en;

		it = done[i];
		en = hashpool_item_errno(it);
		st = hashpool_item_status(it, hex);
		if (en == ENOENT || en == ENOTDIR) {
			chain_log_result(c->chain, i, CHAIN_FETCH_NOT_FOUND, LOGHASH_OK, NULL, NULL, r->out);
		} else if (en) {
			char *msg = xasprintf("cannot open '%s': %s", paths[i], tk_open_strerror(en));

			chain_log_result(c->chain, i, CHAIN_FETCH_ERROR, LOGHASH_OK, NULL, msg, r->out);
			free(msg);
		} else {
			chain_log_result(c->chain, i, CHAIN_FETCH_OK, st, hex, NULL, r->out);
			r->prog.logs++;
			r->prog.bytes += hashpool_item_bytes(it);
		}
		hashpool_item_free(it);
		free(paths[i]);
	}
	free(paths);
	free(done);
}

int vd_local_load_keys(struct vrun *r, struct errbuf *err)
{
	char *path = xasprintf("%s/%s", r->o->local_dir, LOCAL_PUBKEYS);
	struct buf b;
	struct errbuf e;
	int en, rc;

	rc = read_file(path, &b, MAX_PUBKEYS_JSON, &en);
	if (rc == -1)
		rc = err_set(err, TK_EUSAGE, "cannot open '%s': %s", path, tk_open_strerror(en));
	else if (rc == -2)
		rc = err_set(err, TK_EUSAGE, "'%s' is too big", path);
	else if (vd_load_keys(&r->keys, b.data ? b.data : "", b.len, &e))
		rc = err_set(err, TK_EUSAGE, "'%s': %s", path, e.msg);
	buf_release(&b);
	free(path);
	return rc;
}

void vd_local_cell(struct vcell *c)
{
	const struct validate_opts *o = c->run->o;
	const struct chain_ref *want;
	size_t n, i, rounds = 0;
	time_t t;

	for (t = c->start - DAY_S; t <= o->end + DAY_S + 3600; t += DAY_S) {
		char d[16];

		vd_day_path(t, d);
		local_list_day(c, c->dprefix, d, 0);
		local_list_day(c, c->lprefix, d, 1);
	}
	while ((n = chain_wanted(c->chain, &want)) > 0 && rounds++ < 100000)
		for (i = 0; i < n; i++)
			local_fetch_digest(c, want[i].bucket, want[i].key);
	chain_walk(c->chain, c->run->out);
	local_hash_logs(c);
	chain_unreferenced(c->chain, c->run->out);
	vd_finish_cell_stats(c);
	c->run->prog.cells_done++;
	vd_progress(c->run);
}
