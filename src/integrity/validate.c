/* validate.c: see validate.h.  The run: options, cells and their findings,
 * the public keys, saving (--save); the parts: validate_int.h. */
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
#include "validate_int.h"
#include "aws.h"
#include "aws_async.h"
#include "buf.h"
#include "chain.h"
#include "digest.h"
#include "loghash.h"
#include "timeutil.h"
#include "xml.h"
#include "banned.h"


/* ---------------------------------------------------------------- helpers */

void vd_day_path(time_t t, char out[16])
{
	char iso[32];

	tk_format_iso(t, iso, sizeof(iso));
	/* "YYYY-MM-DDT..." -> "YYYY/MM/DD" */
	snprintf(out, 16, "%.4s/%.2s/%.2s", iso, iso + 5, iso + 8);
}

void vd_progress(struct vrun *r)
{
	if (r->o->progress)
		r->o->progress(r->o->progress_ud, &r->prog);
}

void vd_cell_fail(struct vcell *c, const char *key, const char *what, const char *msg)
{
	if (c->failed)
		return;
	c->failed = 1;
	findings_add(c->run->out, F_CELL_UNCHECKED, c->account, c->region, c->run->o->bucket, key,
		     "%s%s", what, msg);
}

void vd_job_free(struct job *j)
{
	if (!j)
		return;
	if (j->hi)
		hashpool_abandon(j->hi);
	vd_digest_work_free(j->dw);
	if (j->fd >= 0)
		close(j->fd);
	free(j->key);
	free(j->bucket);
	free(j->region);
	free(j);
}

struct job *vd_job_new(enum job_kind kind, struct vrun *r, struct vcell *c, const char *key)
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

int vd_write_all(int fd, const void *p, size_t n)
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
void vd_save_blob(struct vrun *r, const char *bucket, const char *key, int meta,
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
	if (vd_write_all(fd, data, len) || close(fd)) {
		r->fatal = err_set(&r->fatal_err, TK_EFAIL, "cannot write '%s/%s/%s': %s", r->o->save_dir,
				   bucket, key, strerror(errno));
	}
}

void vd_save_meta(struct vrun *r, const char *bucket, const char *key, const char *sig,
		  const char *alg)
{
	json_t *m = json_object();
	char *s;

	json_object_set_new(m, "signature", sig ? json_string(sig) : json_null());
	json_object_set_new(m, "signature-algorithm", alg ? json_string(alg) : json_null());
	s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	if (s)
		vd_save_blob(r, bucket, key, 1, s, strlen(s));
	free(s);
	json_decref(m);
}

/* ---------------------------------------------------------------- keys */

/* ListPublicKeys entries ({"PublicKeyList": [...]} or a bare array, as in
 * DIR/public-keys.json).  digest.h decodes Value once (the wire format) and
 * still accepts base64 of base64 text; a key that does not load is kept
 * with its reason, so digests signed with it are reported as the CLI does. */
int vd_load_keys(struct keyset *ks, const char *data, size_t len, struct errbuf *err)
{
	return keyset_load_json(ks, data, len, err);
}

/* ---------------------------------------------------------------- cells */

/* 0, or TK_ELIMIT when the location's key texts do not fit (err says) */
static int cell_setup(struct vrun *r, struct vcell *c, size_t i, struct errbuf *err)
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
	if (digest_list_prefix(&c->dprefix, &c->loc) || log_list_prefix(&c->lprefix, &c->loc) ||
	    digest_start_marker(&c->dmarker, &c->loc, c->start))
		return err_set(err, TK_ELIMIT, "account %s region %s: the S3 key prefix of the trail's "
			       "objects would be longer than %d bytes", c->account, c->region,
			       DIGEST_MAX_KEY_TEXT);
	vd_day_path(c->start - LOG_WINDOW_BEFORE, d);
	base = xasprintf("%s%s", c->lprefix, d);
	c->lstart = base;   /* every key of that day sorts after "prefix/YYYY/MM/DD" */
	/* stop listing at the first key of a day after end + 1 day */
	vd_day_path(o->end + DAY_S + 3600, d);
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
	return 0;
}

/* A cell's working state (the chain: listings, parsed digests; its key
 * texts), freed as soon as the cell is done: memory is per cell in flight,
 * not per cell of the run.  Its stats stay.  Idempotent. */
void vd_cell_release(struct vcell *c)
{
	chain_free(c->chain);
	free(c->dprefix);
	free(c->lprefix);
	free(c->dmarker);
	free(c->lstart);
	free(c->stop_key_d);
	free(c->stop_key_l);
	c->chain = NULL;
	c->dprefix = c->lprefix = c->dmarker = c->lstart = c->stop_key_d = c->stop_key_l = NULL;
}

/* A listed log key: keep it when its time is near the window; note the
 * newest delivery. */
void vd_add_listed_log(struct vcell *c, const char *key)
{
	time_t t;

	if (log_key_time(&c->loc, key, &t) < 0)
		return;
	if (!c->stats->has_newest || t > c->stats->newest_delivery) {
		c->stats->has_newest = 1;
		c->stats->newest_delivery = t;
	}
	/* list_only (freshness) needs only the newest delivery */
	if (c->run->o->list_only ||
	    t < c->start - LOG_WINDOW_BEFORE || t > c->run->o->end + LOG_WINDOW_AFTER)
		return;
	chain_add_listed_log(c->chain, key);
}

void vd_finish_cell_stats(struct vcell *c)
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
		if ((rc = cell_setup(&r, &r.cells[i], i, err)))
			goto done;
		r.cells[i].stats = &stats[i];
	}
	if (!o->list_only) {
		long nt = o->threads;

		if (nt <= 0)
			nt = sysconf(_SC_NPROCESSORS_ONLN);
		if (nt > VALIDATE_MAX_THREADS)
			nt = VALIDATE_MAX_THREADS;
		r.pool = hashpool_new(nt > 1 ? (int)nt : 0, HASHPOOL_QUEUE_LIMIT);
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
		rc = vd_local_load_keys(&r, err);
		if (rc)
			goto done;
		for (i = 0; i < r.ncells; i++) {
			vd_local_cell(&r.cells[i]);
			vd_cell_release(&r.cells[i]);
		}
	} else {
		rc = vd_online_run(&r, err);
	}
done:
	while (r.qhead) {
		struct job *j = r.qhead;

		r.qhead = j->next;
		vd_job_free(j);
	}
	hashpool_free(r.pool);
	for (i = 0; i < r.ncells; i++)
		vd_cell_release(&r.cells[i]);
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
