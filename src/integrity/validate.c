/* validate.c: see validate.h. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "validate.h"
#include "aws.h"
#include "aws_async.h"
#include "buf.h"
#include "chain.h"
#include "digest.h"
#include "loghash.h"
#include "timeutil.h"
#include "xml.h"
#include "banned.h"

#define DAY_S 86400
#define META_MAX 65536
#define READ_CHUNK (256 * 1024)
#define LIST_BODY_MAX (16u << 20)
#define LOG_WINDOW_BEFORE 3600          /* keep listed logs from start - 1h */
#define LOG_WINDOW_AFTER (2 * 3600)     /* ... to end + 2h (the newest digest may end at end + 1h) */
#define CT_TARGET "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"

struct vrun;

enum cell_phase { PH_LIST, PH_DIGESTS, PH_LOGS, PH_UNREF, PH_DONE };

struct vcell {
	struct vrun *run;
	size_t index;
	const char *account, *region;
	time_t start;                   /* the window starts here (opts.start or the anchor) */
	int anchored;                   /* the chain must arrive at opts.anchors[index] */
	struct digest_loc loc;
	char *dprefix, *lprefix;
	char *dmarker, *lstart, *stop_key_d, *stop_key_l;
	struct chain *chain;
	struct cell_stats *stats;
	enum cell_phase phase;
	size_t pending;                 /* async operations of this cell in flight or queued */
	int failed;                     /* cell_unchecked reported: stop */
	size_t unref_from;              /* findings index before chain_unreferenced */
	size_t next_log;                /* PH_LOGS: next chain log to fetch */
};

/* one queued unit of online work */
enum job_kind { JOB_LIST_DIGESTS, JOB_LIST_LOGS, JOB_GET_DIGEST, JOB_GET_LOG, JOB_KEYS };

struct job {
	enum job_kind kind;
	struct vrun *run;
	struct vcell *cell;             /* NULL for JOB_KEYS */
	char *key;                      /* object key / list continuation token */
	char *bucket;                   /* GET_LOG: the log's bucket */
	char *region;                   /* JOB_KEYS */
	size_t idx;                     /* GET_LOG: chain log index, or (size_t)-1 for save-only */
	size_t pages;
	/* streaming log state */
	struct loghash *h;
	enum loghash_status hs;
	bool stopped;
	int fd;
	unsigned long long bytes;
	struct job *next;
};

struct vrun {
	const struct validate_opts *o;
	struct findings *out;
	struct vcell *cells;
	size_t ncells;
	struct keyset keys;
	json_t *saved_keys;             /* array of ListPublicKeys entries, for --save */
	char **key_fail;                /* per distinct region: error message, or NULL */
	const char **key_regions;
	size_t nkey_regions;
	struct job *qhead, *qtail;
	/* cells whose log files are being fetched, in order; each holds one
	 * "pending" token until its last log job is made (jobs are made lazily:
	 * memory stays at the keys the chain already holds) */
	struct vcell **lcells;
	size_t nlcells, lhead;
	size_t inflight, max_inflight;
	int fatal;                      /* an error that stops the run */
	struct errbuf fatal_err;
	struct validate_progress prog;
	time_t kstart;                  /* public keys from here: the earliest cell start */
};

/* ---------------------------------------------------------------- helpers */

static void day_path(time_t t, char out[16])
{
	char iso[32];

	tk_format_iso(t, iso, sizeof(iso));
	/* "YYYY-MM-DDT..." -> "YYYY/MM/DD" */
	snprintf(out, 16, "%.4s/%.2s/%.2s", iso, iso + 5, iso + 8);
}

static void progress(struct vrun *r)
{
	if (r->o->progress)
		r->o->progress(r->o->progress_ud, &r->prog);
}

static void cell_fail(struct vcell *c, const char *key, const char *what, const char *msg)
{
	if (c->failed)
		return;
	c->failed = 1;
	findings_add(c->run->out, F_CELL_UNCHECKED, c->account, c->region, c->run->o->bucket, key,
		     "%s%s", what, msg);
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->h)
		loghash_free(j->h);
	if (j->fd >= 0)
		close(j->fd);
	free(j->key);
	free(j->bucket);
	free(j->region);
	free(j);
}

static struct job *job_new(enum job_kind kind, struct vrun *r, struct vcell *c, const char *key)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	j->run = r;
	j->cell = c;
	j->key = key ? xstrdup(key) : NULL;
	j->fd = -1;
	j->idx = (size_t)-1;
	return j;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Save an object (digest or its meta) to --save DIR.  Hostile keys are
 * refused by local_path: such an object is simply not saved.  Other errors
 * stop the run. */
static void save_blob(struct vrun *r, const char *bucket, const char *key, int meta,
		      const void *data, size_t len)
{
	struct errbuf e;
	int fd, rc;

	if (!r->o->save_dir || r->fatal)
		return;
	rc = local_create(&fd, r->o->save_dir, bucket, key, meta, &e);
	if (rc == TK_EUSAGE)
		return;
	if (rc) {
		r->fatal = err_set(&r->fatal_err, rc, "%s", e.msg);
		return;
	}
	if (write_all(fd, data, len) || close(fd)) {
		r->fatal = err_set(&r->fatal_err, TK_EFAIL, "cannot write '%s/%s/%s': %s", r->o->save_dir,
				   bucket, key, strerror(errno));
	}
}

static void save_meta(struct vrun *r, const char *bucket, const char *key, const char *sig,
		      const char *alg)
{
	json_t *m = json_object();
	char *s;

	json_object_set_new(m, "signature", sig ? json_string(sig) : json_null());
	json_object_set_new(m, "signature-algorithm", alg ? json_string(alg) : json_null());
	s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	if (s)
		save_blob(r, bucket, key, 1, s, strlen(s));
	free(s);
	json_decref(m);
}

/* ---------------------------------------------------------------- keys */

/* ListPublicKeys entries ({"PublicKeyList": [...]} or a bare array, as in
 * DIR/public-keys.json).  digest.h decodes Value once (the wire format) and
 * still accepts base64 of base64 text; a key that does not load is kept
 * with its reason, so digests signed with it are reported as the CLI does. */
static int load_keys(struct keyset *ks, const char *data, size_t len, struct errbuf *err)
{
	return keyset_load_json(ks, data, len, err);
}

/* ---------------------------------------------------------------- cells */

static void cell_setup(struct vrun *r, struct vcell *c, size_t i)
{
	const struct validate_opts *o = r->o;
	char d[16];
	char *base;

	c->run = r;
	c->index = i;
	c->account = o->cells[i].account;
	c->region = o->cells[i].region;
	c->anchored = o->anchors && o->anchors[i].key && o->anchors[i].end < o->end;
	c->start = c->anchored ? o->anchors[i].end : o->start;
	c->loc.prefix = o->prefix && o->prefix[0] ? o->prefix : NULL;
	c->loc.org_id = o->org_id && o->org_id[0] ? o->org_id : NULL;
	c->loc.account = c->account;
	c->loc.region = c->region;
	c->loc.trail = o->trail;
	c->loc.home_region = o->home_region;
	c->dprefix = digest_list_prefix(&c->loc);
	c->lprefix = log_list_prefix(&c->loc);
	c->dmarker = digest_start_marker(&c->loc, c->start);
	day_path(c->start - LOG_WINDOW_BEFORE, d);
	base = xasprintf("%s%s", c->lprefix, d);
	c->lstart = base;   /* every key of that day sorts after "prefix/YYYY/MM/DD" */
	/* stop listing at the first key of a day after end + 1 day */
	day_path(o->end + DAY_S + 3600, d);
	c->stop_key_d = xasprintf("%s%s", c->dprefix, d);
	c->stop_key_l = xasprintf("%s%s", c->lprefix, d);
	{
		struct chain_params p;

		memset(&p, 0, sizeof(p));
		p.bucket = o->bucket;
		p.loc = c->loc;
		p.start = c->start;
		p.end = o->end;
		p.keys = &r->keys;
		if (c->anchored) {
			p.anchor_key = o->anchors[i].key;
			p.anchor_sig = o->anchors[i].sig;
		}
		c->chain = chain_new(&p);
	}
	c->stats = NULL;
	c->phase = PH_LIST;
}

static void cell_cleanup(struct vcell *c)
{
	chain_free(c->chain);
	free(c->dprefix);
	free(c->lprefix);
	free(c->dmarker);
	free(c->lstart);
	free(c->stop_key_d);
	free(c->stop_key_l);
}

/* A listed log key: keep it when its time is near the window; note the
 * newest delivery. */
static void add_listed_log(struct vcell *c, const char *key)
{
	time_t t;

	if (log_key_time(&c->loc, key, &t) < 0)
		return;
	if (!c->stats->has_newest || t > c->stats->newest_delivery) {
		c->stats->has_newest = 1;
		c->stats->newest_delivery = t;
	}
	if (t < c->start - LOG_WINDOW_BEFORE || t > c->run->o->end + LOG_WINDOW_AFTER)
		return;
	chain_add_listed_log(c->chain, key);
}

static void finish_cell_stats(struct vcell *c)
{
	struct validate_anchor *a = c->run->o->anchors ? &c->run->o->anchors[c->index] : NULL;
	const char *key, *sig;
	time_t end;

	c->stats->digests_checked = chain_digests_valid(c->chain);
	c->stats->logs_checked = chain_logs_valid(c->chain);
	if (a && !a->new_key && !c->failed &&
	    chain_newest_valid(c->chain, &key, &sig, &end) == 0) {
		a->new_key = xstrdup(key);
		a->new_sig = xstrdup(sig);
		a->new_end = end;
	}
}

/* ---------------------------------------------------------------- local */

static int read_file(const char *path, struct buf *out, size_t limit, int *err_no)
{
	char *tmp = xmalloc(READ_CHUNK);
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW), rc = 0;

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
			if (n == alloc) {
				alloc = alloc ? 2 * alloc : 64;
				names = xrealloc(names, alloc * sizeof(*names));
			}
			names[n++] = xasprintf("%s%s", rel, de->d_name);
		}
		free(full);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);   /* as S3 lists them */
	for (i = 0; i < n; i++) {
		if (logs)
			add_listed_log(c, names[i]);
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
		char *msg = xasprintf("cannot read '%s': %s", path, strerror(e));

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

/* One log file of a --local copy, hashed by a worker thread: touches
 * nothing shared (no findings, no strerror), only its own task. */
struct hash_task {
	char *path;                     /* NULL: not a usable key (refused by local_path) */
	uint64_t max_inflated;
	int open_errno;                 /* 0: opened */
	enum loghash_status st;
	char hex[65];
	unsigned long long bytes;
};

static void hash_one(struct hash_task *t, char *tmp)
{
	struct loghash *h;
	ssize_t n;
	int fd;

	if (!t->path) {
		t->open_errno = ENOENT;
		return;
	}
	fd = open(t->path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0) {
		t->open_errno = errno ? errno : EIO;
		return;
	}
	h = loghash_new(t->max_inflated, 0);
	while ((n = read(fd, tmp, READ_CHUNK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		t->bytes += (unsigned long long)n;
		if (loghash_feed(h, tmp, (size_t)n) > LOGHASH_TRAILING_DATA)
			break;
	}
	close(fd);
	t->st = loghash_finish(h, t->hex);
	loghash_free(h);
}

struct hash_pool {
	struct hash_task *tasks;
	size_t n, next;
	pthread_mutex_t lock;
};

static void *hash_worker(void *ud)
{
	struct hash_pool *p = ud;
	char *tmp = xmalloc(READ_CHUNK);

	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->lock);
		i = p->next < p->n ? p->next++ : p->n;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			break;
		hash_one(&p->tasks[i], tmp);
	}
	free(tmp);
	return NULL;
}

/* Hash every log file of the cell's valid digests, on up to o->threads
 * threads (inflate + SHA-256 is CPU-bound offline), then report in order. */
static void local_hash_logs(struct vcell *c)
{
	struct vrun *r = c->run;
	const struct validate_opts *o = r->o;
	size_t n = chain_nlogs(c->chain), i, nt;
	struct hash_pool p;
	pthread_t th[VALIDATE_MAX_THREADS];
	size_t started = 0;

	if (!n)
		return;
	memset(&p, 0, sizeof(p));
	p.tasks = xcalloc(n, sizeof(*p.tasks));
	p.n = n;
	pthread_mutex_init(&p.lock, NULL);
	for (i = 0; i < n; i++) {
		const struct chain_log *l = chain_log(c->chain, i);

		p.tasks[i].max_inflated = o->max_inflated ? o->max_inflated : LOGHASH_MAX_INFLATED;
		/* in its own bucket (after a bucket change, the earlier one) */
		if (local_path(&p.tasks[i].path, o->local_dir, l->bucket, l->key, strlen(l->key), NULL))
			p.tasks[i].path = NULL;
	}
	nt = o->threads > 1 ? (size_t)o->threads : 1;
	if (nt > VALIDATE_MAX_THREADS)
		nt = VALIDATE_MAX_THREADS;
	if (nt > n)
		nt = n;
	for (i = 1; i < nt; i++)
		if (pthread_create(&th[started], NULL, hash_worker, &p) == 0)
			started++;
	hash_worker(&p);   /* this thread works too */
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.lock);
	for (i = 0; i < n; i++) {
		struct hash_task *t = &p.tasks[i];

		if (t->open_errno == ENOENT || t->open_errno == ENOTDIR) {
			chain_log_result(c->chain, i, CHAIN_FETCH_NOT_FOUND, LOGHASH_OK, NULL, NULL, r->out);
		} else if (t->open_errno) {
			char *msg = xasprintf("cannot open '%s': %s", t->path, strerror(t->open_errno));

			chain_log_result(c->chain, i, CHAIN_FETCH_ERROR, LOGHASH_OK, NULL, msg, r->out);
			free(msg);
		} else {
			chain_log_result(c->chain, i, CHAIN_FETCH_OK, t->st, t->hex, NULL, r->out);
			r->prog.logs++;
			r->prog.bytes += t->bytes;
		}
		free(t->path);
	}
	free(p.tasks);
}

static int local_load_keys(struct vrun *r, struct errbuf *err)
{
	char *path = xasprintf("%s/%s", r->o->local_dir, LOCAL_PUBKEYS);
	struct buf b;
	struct errbuf e;
	int en, rc;

	rc = read_file(path, &b, MAX_PUBKEYS_JSON, &en);
	if (rc == -1)
		rc = err_set(err, TK_EUSAGE, "cannot open '%s': %s", path, strerror(en));
	else if (rc == -2)
		rc = err_set(err, TK_EUSAGE, "'%s' is too big", path);
	else if (load_keys(&r->keys, b.data ? b.data : "", b.len, &e))
		rc = err_set(err, TK_EUSAGE, "'%s': %s", path, e.msg);
	buf_release(&b);
	free(path);
	return rc;
}

static void local_cell(struct vcell *c)
{
	const struct validate_opts *o = c->run->o;
	const struct chain_ref *want;
	size_t n, i, rounds = 0;
	time_t t;

	for (t = c->start - DAY_S; t <= o->end + DAY_S + 3600; t += DAY_S) {
		char d[16];

		day_path(t, d);
		local_list_day(c, c->dprefix, d, 0);
		local_list_day(c, c->lprefix, d, 1);
	}
	while ((n = chain_wanted(c->chain, &want)) > 0 && rounds++ < 100000)
		for (i = 0; i < n; i++)
			local_fetch_digest(c, want[i].bucket, want[i].key);
	chain_walk(c->chain, c->run->out);
	local_hash_logs(c);
	chain_unreferenced(c->chain, c->run->out);
	finish_cell_stats(c);
	c->run->prog.cells_done++;
	progress(c->run);
}

/* ---------------------------------------------------------------- online */

static void pump(struct vrun *r);
static void cell_advance(struct vcell *c);

static void enqueue(struct vrun *r, struct job *j)
{
	if (j->cell)
		j->cell->pending++;
	if (r->qtail)
		r->qtail->next = j;
	else
		r->qhead = j;
	r->qtail = j;
}

/* A job is over: account for it and move its cell on. */
static void job_done(struct vrun *r, struct job *j)
{
	struct vcell *c = j->cell;

	r->inflight--;
	job_free(j);
	if (c) {
		c->pending--;
		if (!c->pending)
			cell_advance(c);
	}
	pump(r);
	progress(r);
}

static enum chain_fetch fetch_status(const struct aws_async_result *res)
{
	if (res->rc == TK_ENOTFOUND)
		return CHAIN_FETCH_NOT_FOUND;
	if (res->rc == TK_EAUTH)
		return CHAIN_FETCH_DENIED;
	return CHAIN_FETCH_ERROR;
}

/* The pages one listing of cell c may take.  CloudTrail writes about one
 * log file per cell every 5 minutes and one digest an hour; a listing may
 * hold at most one object a second (300 times that rate: several trails
 * into one prefix, busy accounts) over the span it covers (from the day
 * before the cell's start to the stop key two days after the end), 1000
 * keys a page, plus 10 pages.  A listing past it (a server that always
 * answers "truncated" with a fresh token) makes the cell unchecked. */
static size_t list_page_bound(const struct vcell *c)
{
	long long from = (long long)c->start - LOG_WINDOW_BEFORE - DAY_S;
	long long to = (long long)c->run->o->end + 2 * DAY_S + 3600;
	long long span = to > from ? to - from : 0;

	return (size_t)(span / 1000) + 10;
}

/* ListObjectsV2 page */
static void list_done(void *ud, struct aws_async_result *res)
{
	struct job *j = ud;
	struct vcell *c = j->cell;
	struct vrun *r = c->run;
	int logs = j->kind == JOB_LIST_LOGS;
	const char *stop = logs ? c->stop_key_l : c->stop_key_d;
	struct xml_doc d;
	struct errbuf e;
	const struct xml_node *n;
	bool more = true;

	memset(&d, 0, sizeof(d));
	if (res->rc) {
		if (res->rc == TK_EAUTH)
			findings_add(r->out, F_ACCESS_DENIED, c->account, c->region, r->o->bucket,
				     logs ? c->lprefix : c->dprefix, "cannot list: %s", res->errmsg);
		cell_fail(c, NULL, "cannot list the bucket: ", res->errmsg);
		goto done;
	}
	if (xml_parse(&d, res->resp->body.data ? res->resp->body.data : "", res->resp->body.len, &e) ||
	    !d.root || strcmp(d.root->name, "ListBucketResult")) {
		cell_fail(c, NULL, "malformed ListObjectsV2 response: ",
			  d.root ? "no ListBucketResult" : e.msg);
		goto done;
	}
	for (n = xml_child(d.root, "Contents"); n; n = xml_next(n)) {
		const char *k = xml_path_text(n, "Key");

		if (!k || strlen(k) > VALIDATE_MAX_KEY)
			continue;
		if (strcmp(k, stop) >= 0) {
			more = false;
			break;
		}
		if (logs)
			add_listed_log(c, k);
		else
			chain_add_listed_digest(c->chain, k);
	}
	if (more && xml_path_bool(d.root, "IsTruncated") == 1) {
		const char *t = xml_path_text(d.root, "NextContinuationToken");

		if (!t || !*t) {
			cell_fail(c, NULL, "", "ListObjectsV2 is truncated without a continuation token");
		} else if (j->key && !strcmp(j->key, t)) {
			cell_fail(c, NULL, "", "listing does not end (the continuation token repeats)");
		} else if (j->pages + 1 >= list_page_bound(c)) {
			char m[256];

			snprintf(m, sizeof(m), "listing does not end: more than %zu pages of ListObjectsV2, more "
				 "than the window can hold (one object a second)", list_page_bound(c));
			cell_fail(c, NULL, "", m);
		} else {
			struct job *nj = job_new(j->kind, r, c, t);

			nj->pages = j->pages + 1;
			enqueue(r, nj);
		}
	}
done:
	xml_doc_release(&d);
	job_done(r, j);
}

static void digest_done(void *ud, struct aws_async_result *res)
{
	struct job *j = ud;
	struct vcell *c = j->cell;
	struct vrun *r = c->run;

	if (res->rc == 0 || res->rc == TK_ELIMIT) {
		const char *sig = http_header_get(res->resp, "x-amz-meta-signature");
		const char *alg = http_header_get(res->resp, "x-amz-meta-signature-algorithm");
		const char *body = res->resp->body.data ? res->resp->body.data : "";
		size_t len = res->rc ? 0 : res->resp->body.len;

		r->prog.digests++;
		r->prog.bytes += len;
		chain_add_fetched(c->chain, j->bucket, j->key, CHAIN_FETCH_OK, body, len, sig, alg,
				  NULL);
		if (!res->rc) {
			/* a linked digest in the trail's earlier bucket goes to DIR/<that bucket>/ */
			save_blob(r, j->bucket, j->key, 0, body, len);
			save_meta(r, j->bucket, j->key, sig, alg);
		}
	} else {
		chain_add_fetched(c->chain, j->bucket, j->key, fetch_status(res), NULL, 0, NULL, NULL,
				  res->errmsg);
	}
	job_done(r, j);
}

static int log_sink(void *ud, const void *data, size_t n)
{
	struct job *j = ud;
	struct vrun *r = j->cell->run;

	j->bytes += n;
	r->prog.bytes += n;
	if (r->o->save_dir && j->fd < 0 && !r->fatal) {
		struct errbuf e;
		int rc = local_create(&j->fd, r->o->save_dir, j->bucket, j->key, 0, &e);

		if (rc && rc != TK_EUSAGE)
			r->fatal = err_set(&r->fatal_err, rc, "%s", e.msg);
		if (rc)
			j->fd = -2;   /* do not try again */
	}
	if (j->fd >= 0 && write_all(j->fd, data, n)) {
		r->fatal = err_set(&r->fatal_err, TK_EFAIL, "cannot write '%s/%s/%s': %s",
				   r->o->save_dir, j->bucket, j->key, strerror(errno));
		return TK_EFAIL;
	}
	if (j->idx == (size_t)-1 || j->stopped)
		return 0;
	if (!j->h)
		j->h = loghash_new(r->o->max_inflated ? r->o->max_inflated : LOGHASH_MAX_INFLATED, 0);
	if (loghash_feed(j->h, data, n) > LOGHASH_TRAILING_DATA) {
		j->stopped = true;
		/* nothing more to learn: stop reading, unless saving a copy */
		if (j->fd < 0)
			return TK_ETAMPERED;
	}
	return 0;
}

static int log_sink_reset(void *ud)
{
	struct job *j = ud;

	if (j->h) {
		loghash_free(j->h);
		j->h = NULL;
	}
	j->stopped = false;
	j->bytes = 0;
	if (j->fd >= 0 && (ftruncate(j->fd, 0) || lseek(j->fd, 0, SEEK_SET) < 0))
		return -1;
	return 0;
}

static void log_done(void *ud, struct aws_async_result *res)
{
	struct job *j = ud;
	struct vcell *c = j->cell;
	struct vrun *r = c->run;
	char hex[65] = "";

	if (j->idx == (size_t)-1) {
		/* save-only download of an unreferenced log */
		job_done(r, j);
		return;
	}
	if (res->rc == 0 || (res->rc == TK_ETAMPERED && j->stopped)) {
		enum loghash_status st;

		if (!j->h)   /* empty object */
			j->h = loghash_new(r->o->max_inflated ? r->o->max_inflated : LOGHASH_MAX_INFLATED, 0);
		st = loghash_finish(j->h, hex);
		r->prog.logs++;
		chain_log_result(c->chain, j->idx, CHAIN_FETCH_OK, st, hex, NULL, r->out);
	} else {
		chain_log_result(c->chain, j->idx, fetch_status(res), LOGHASH_OK, NULL, res->errmsg, r->out);
	}
	job_done(r, j);
}

static void keys_done(void *ud, struct aws_async_result *res)
{
	struct job *j = ud;
	struct vrun *r = j->run;
	size_t ri = j->idx;
	json_t *doc = NULL, *list;
	json_error_t je;
	struct errbuf e;

	if (res->rc) {
		r->key_fail[ri] = xstrdup(res->errmsg);
		goto done;
	}
	doc = json_loadb(res->resp->body.data ? res->resp->body.data : "", res->resp->body.len, 0, &je);
	if (!doc || !json_is_object(doc)) {
		r->key_fail[ri] = xasprintf("cloudtrail ListPublicKeys: malformed JSON response");
		goto done;
	}
	if (load_keys(&r->keys, res->resp->body.data, res->resp->body.len, &e)) {
		r->key_fail[ri] = xasprintf("cloudtrail ListPublicKeys: %s", e.msg);
		goto done;
	}
	list = json_object_get(doc, "PublicKeyList");
	if (json_is_array(list))
		json_array_extend(r->saved_keys, list);
	{
		const char *t = json_string_value(json_object_get(doc, "NextToken"));

		if (t && *t) {
			if (j->pages + 1 >= VALIDATE_MAX_KEY_PAGES) {
				r->key_fail[ri] = xasprintf("cloudtrail ListPublicKeys: listing does not end (more "
							    "than %d pages)", VALIDATE_MAX_KEY_PAGES);
			} else {
				struct job *nj = job_new(JOB_KEYS, r, NULL, t);

				nj->idx = ri;
				nj->region = xstrdup(j->region);
				nj->pages = j->pages + 1;
				enqueue(r, nj);
			}
		}
	}
done:
	json_decref(doc);
	job_done(r, j);
}

/* Start one job: build and submit its request. */
static void job_start(struct vrun *r, struct job *j)
{
	struct aws_request q;
	struct buf query = BUF_INIT_LIMIT(8192);
	struct errbuf e;
	char *subject = NULL, *body = NULL;
	aws_async_done_fn done = NULL;
	int (*reset)(void *) = NULL;
	struct sigv4_header h[2];
	int rc;

	memset(&q, 0, sizeof(q));
	q.service = "s3";
	q.proto = AWS_PROTO_RESTXML;
	q.method = "GET";
	q.bucket = r->o->bucket;
	switch (j->kind) {
	case JOB_LIST_DIGESTS:
	case JOB_LIST_LOGS: {
		struct vcell *c = j->cell;
		int logs = j->kind == JOB_LIST_LOGS;

		if (j->key)
			aws_query_add(&query, "continuation-token", j->key);
		aws_query_add(&query, "list-type", "2");
		aws_query_add(&query, "prefix", logs ? c->lprefix : c->dprefix);
		if (!j->key)
			aws_query_add(&query, "start-after", logs ? c->lstart : c->dmarker);
		q.operation = "ListObjectsV2";
		q.query = buf_cstr(&query);
		q.subject = r->o->bucket;
		q.body_limit = LIST_BODY_MAX;
		done = list_done;
		break;
	}
	case JOB_GET_DIGEST:
		q.operation = "GetObject";
		q.bucket = j->bucket;
		q.key = j->key;
		subject = xasprintf("%s/%s", j->bucket, j->key);
		q.subject = subject;
		q.body_limit = MAX_DIGEST_GZ;
		done = digest_done;
		break;
	case JOB_GET_LOG:
		q.operation = "GetObject";
		q.bucket = j->bucket;
		q.key = j->key;
		subject = xasprintf("%s/%s", j->bucket, j->key);
		q.subject = subject;
		q.sink = log_sink;
		q.sink_ud = j;
		reset = log_sink_reset;
		done = log_done;
		break;
	case JOB_KEYS: {
		json_t *in = json_object();
		json_object_set_new(in, "StartTime", json_integer((json_int_t)r->kstart));
		json_object_set_new(in, "EndTime", json_integer((json_int_t)r->o->end));
		if (j->key)
			json_object_set_new(in, "NextToken", json_string(j->key));
		body = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(in);
		h[0].name = "Content-Type";
		h[0].value = "application/x-amz-json-1.1";
		h[1].name = "X-Amz-Target";
		h[1].value = CT_TARGET ".ListPublicKeys";
		q.service = "cloudtrail";
		q.proto = AWS_PROTO_JSON;
		q.method = "POST";
		q.bucket = NULL;
		q.path = "/";
		q.operation = "ListPublicKeys";
		q.region = j->region;
		q.subject = j->region;
		q.headers = h;
		q.nheaders = 2;
		q.body = body;
		q.body_len = body ? strlen(body) : 0;
		q.body_limit = MAX_PUBKEYS_JSON;
		done = keys_done;
		break;
	}
	}
	r->inflight++;
	/* the body of a JSON call is borrowed until done: keep it with the job */
	rc = aws_call_async(r->o->sched, r->o->aws, &q, reset, done, j, &e);
	if (body) {
		free(j->bucket);
		j->bucket = body;   /* freed with the job (JOB_KEYS has no bucket) */
	}
	free(subject);
	buf_release(&query);
	if (rc) {
		/* could not even be sent (bad endpoint, no credentials): fail the cell */
		struct aws_async_result res;
		struct http_response resp;
		struct aws_error none;

		memset(&none, 0, sizeof(none));
		http_response_init(&resp);
		res.rc = rc;
		res.resp = &resp;
		res.error = &none;
		res.errmsg = e.msg;
		res.attempts = 0;
		if (j->kind == JOB_GET_LOG && j->idx != (size_t)-1)
			j->idx = (size_t)-1;   /* reported below as the cell's failure */
		if (j->cell)
			cell_fail(j->cell, NULL, "", e.msg);
		if (j->kind == JOB_KEYS)
			done(j, &res);
		else
			job_done(r, j);
		http_response_release(&resp);
	}
}

/* The next log job of the first cell in r->lcells, or NULL when none. */
static struct job *next_log_job(struct vrun *r)
{
	while (r->lhead < r->nlcells) {
		struct vcell *c = r->lcells[r->lhead];
		size_t n = chain_nlogs(c->chain);

		while (!c->failed && c->next_log < n) {
			size_t i = c->next_log++;
			const struct chain_log *l = chain_log(c->chain, i);
			struct job *j;

			/* in its own bucket (after a bucket change, the earlier one) */
			j = job_new(JOB_GET_LOG, r, c, l->key);
			j->bucket = xstrdup(l->bucket);
			j->idx = i;
			c->pending++;
			return j;
		}
		/* all made: release the cell's token */
		r->lhead++;
		c->pending--;
		if (!c->pending)
			cell_advance(c);
	}
	return NULL;
}

static void pump(struct vrun *r)
{
	while (r->inflight < r->max_inflight && !r->fatal) {
		struct job *j = r->qhead;

		if (!j) {
			j = next_log_job(r);
			if (!j)
				break;
			job_start(r, j);
			continue;
		}

		r->qhead = j->next;
		if (!r->qhead)
			r->qtail = NULL;
		j->next = NULL;
		if (j->cell && j->cell->failed) {
			/* the cell is already unchecked: drop its remaining work */
			struct vcell *c = j->cell;

			job_free(j);
			c->pending--;
			if (!c->pending)
				cell_advance(c);
			continue;
		}
		job_start(r, j);
	}
}

static void cell_advance(struct vcell *c)
{
	struct vrun *r = c->run;
	const struct chain_ref *want;
	size_t n, i;

	if (c->failed && c->phase != PH_DONE) {
		finish_cell_stats(c);
		c->phase = PH_DONE;
		r->prog.cells_done++;
		return;
	}
	switch (c->phase) {
	case PH_LIST:
		if (r->o->list_only) {
			c->phase = PH_DONE;
			r->prog.cells_done++;
			return;
		}
		c->phase = PH_DIGESTS;
		/* fall through */
	case PH_DIGESTS:
		n = chain_wanted(c->chain, &want);
		if (n) {
			for (i = 0; i < n; i++) {
				struct job *j = job_new(JOB_GET_DIGEST, r, c, want[i].key);

				j->bucket = xstrdup(want[i].bucket);
				enqueue(r, j);
			}
			return;
		}
		chain_walk(c->chain, r->out);
		c->phase = PH_LOGS;
		c->next_log = 0;
		if (chain_nlogs(c->chain)) {
			c->pending++;   /* the token, released by pump after the last log job */
			r->lcells[r->nlcells++] = c;
			return;
		}
		/* fall through */
	case PH_LOGS:
		c->phase = PH_UNREF;
		c->unref_from = r->out->n;
		chain_unreferenced(c->chain, r->out);
		if (r->o->save_dir) {
			/* keep a copy of the files no digest lists, so --local finds them too */
			for (i = c->unref_from; i < r->out->n; i++) {
				const struct finding *f = &r->out->v[i];
				struct job *j;

				if (f->code != F_LOG_UNREFERENCED || !f->key)
					continue;
				j = job_new(JOB_GET_LOG, r, c, f->key);
				j->bucket = xstrdup(r->o->bucket);
				enqueue(r, j);
			}
			if (c->pending)
				return;
		}
		/* fall through */
	case PH_UNREF:
		finish_cell_stats(c);
		c->phase = PH_DONE;
		r->prog.cells_done++;
		return;
	case PH_DONE:
		return;
	}
}

static int online_run(struct vrun *r, struct errbuf *err)
{
	const struct validate_opts *o = r->o;
	size_t i, k;
	int rc;

	if (!o->aws || !o->sched)
		return err_set(err, TK_EFAIL, "validate: no AWS context");
	if (o->save_dir && mkdir(o->save_dir, 0700) && errno != EEXIST)
		return err_set(err, TK_EUSAGE, "cannot create '%s': %s", o->save_dir, strerror(errno));
	if (o->list_only)
		goto cells;
	/* 1. public keys, once per region of the cells (and the home region) */
	r->key_regions = xcalloc(o->ncells + 1, sizeof(*r->key_regions));
	r->key_fail = xcalloc(o->ncells + 1, sizeof(*r->key_fail));
	for (i = 0; i <= o->ncells; i++) {
		const char *reg = i < o->ncells ? o->cells[i].region : o->home_region;

		for (k = 0; k < r->nkey_regions; k++)
			if (!strcmp(r->key_regions[k], reg))
				break;
		if (k == r->nkey_regions)
			r->key_regions[r->nkey_regions++] = reg;
	}
	for (k = 0; k < r->nkey_regions; k++) {
		struct job *j = job_new(JOB_KEYS, r, NULL, NULL);

		j->idx = k;
		j->region = xstrdup(r->key_regions[k]);
		enqueue(r, j);
	}
	pump(r);
	rc = aws_sched_run(o->sched, err);
	if (rc)
		return rc;
	if (r->fatal)
		return err_set(err, r->fatal, "%s", r->fatal_err.msg);
cells:
	/* 2. every cell: list, digests, logs */
	for (i = 0; i < r->ncells; i++) {
		struct vcell *c = &r->cells[i];

		for (k = 0; k < r->nkey_regions; k++)
			if (!strcmp(r->key_regions[k], c->region) && r->key_fail[k])
				cell_fail(c, NULL, "cannot get the public keys: ", r->key_fail[k]);
		if (c->failed) {
			cell_advance(c);
			continue;
		}
		if (!o->list_only)
			enqueue(r, job_new(JOB_LIST_DIGESTS, r, c, NULL));
		enqueue(r, job_new(JOB_LIST_LOGS, r, c, NULL));
	}
	pump(r);
	rc = aws_sched_run(o->sched, err);
	if (rc)
		return rc;
	if (r->fatal)
		return err_set(err, r->fatal, "%s", r->fatal_err.msg);
	for (i = 0; i < r->ncells; i++)
		if (r->cells[i].phase != PH_DONE)
			cell_fail(&r->cells[i], NULL, "", "validation did not complete");
	if (o->save_dir && !o->list_only) {
		char *s = json_dumps(r->saved_keys, JSON_INDENT(1) | JSON_SORT_KEYS);
		int fd;

		{
			char *p = xasprintf("%s/%s", o->save_dir, LOCAL_PUBKEYS);

			fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
			if (fd < 0 || write_all(fd, s, strlen(s)) || close(fd))
				rc = err_set(err, TK_EFAIL, "cannot write '%s': %s", p, strerror(errno));
			free(p);
		}
		free(s);
	}
	return rc;
}

/* ---------------------------------------------------------------- run */

int validate_run(const struct validate_opts *o, struct findings *out,
		 struct cell_stats **cells_out, struct errbuf *err)
{
	struct vrun r;
	struct cell_stats *stats;
	size_t i;
	int rc = 0;

	*cells_out = NULL;
	if (!o->bucket || !o->trail || !o->home_region || o->end < o->start)
		return err_set(err, TK_EUSAGE, "validate: incomplete options");
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.out = out;
	r.ncells = o->ncells;
	r.max_inflight = 256;
	r.saved_keys = json_array();
	keyset_init(&r.keys);
	r.prog.cells = o->ncells;
	stats = xcalloc(o->ncells + 1, sizeof(*stats));
	r.cells = xcalloc(o->ncells + 1, sizeof(*r.cells));
	r.lcells = xcalloc(o->ncells + 1, sizeof(*r.lcells));
	for (i = 0; i < o->ncells; i++) {
		cell_init(&stats[i], o->cells[i].account, o->cells[i].region);
		cell_setup(&r, &r.cells[i], i);
		r.cells[i].stats = &stats[i];
	}
	r.kstart = o->start;
	for (i = 0; i < o->ncells; i++)
		if (r.cells[i].start < r.kstart)
			r.kstart = r.cells[i].start;
	if (o->local_dir) {
		struct stat st;

		if (stat(o->local_dir, &st)) {
			rc = err_set(err, TK_EUSAGE, "cannot open '%s': %s", o->local_dir, strerror(errno));
			goto done;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = err_set(err, TK_EUSAGE, "cannot open '%s': Not a directory", o->local_dir);
			goto done;
		}
		rc = local_load_keys(&r, err);
		if (rc)
			goto done;
		for (i = 0; i < r.ncells; i++)
			local_cell(&r.cells[i]);
	} else {
		rc = online_run(&r, err);
	}
done:
	while (r.qhead) {
		struct job *j = r.qhead;

		r.qhead = j->next;
		job_free(j);
	}
	for (i = 0; i < r.ncells; i++)
		cell_cleanup(&r.cells[i]);
	free(r.cells);
	free(r.lcells);
	for (i = 0; i < r.nkey_regions; i++)
		free(r.key_fail[i]);
	free(r.key_fail);
	free(r.key_regions);
	keyset_release(&r.keys);
	json_decref(r.saved_keys);
	if (rc) {
		for (i = 0; i < o->ncells; i++)
			cell_release(&stats[i]);
		free(stats);
		return rc;
	}
	*cells_out = stats;
	return 0;
}
