/* validate_s3.c: validate online (see validate.h): listings, digests, log
 * files and public keys fetched with many requests in flight on the async
 * scheduler (aws_async.h), each cell a small state machine. */
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


#define LIST_BODY_MAX (16u << 20)
#define CT_TARGET "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"

/* ---------------------------------------------------------------- online */

static void pump(struct vrun *r);
static void cell_advance(struct vcell *c);
static void collect_hashes(struct vrun *r, bool wait);
static void cell_done(struct vcell *c);

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
	vd_job_free(j);
	if (c) {
		c->pending--;
		if (!c->pending)
			cell_advance(c);
	}
	collect_hashes(r, false);
	pump(r);
	vd_progress(r);
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
		vd_cell_fail(c, NULL, "cannot list the bucket: ", res->errmsg);
		goto done;
	}
	if (xml_parse(&d, res->resp->body.data ? res->resp->body.data : "", res->resp->body.len, &e) ||
	    !d.root || strcmp(d.root->name, "ListBucketResult")) {
		vd_cell_fail(c, NULL, "malformed ListObjectsV2 response: ",
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
			vd_add_listed_log(c, k);
		else
			chain_add_listed_digest(c->chain, k);
	}
	if (more && xml_path_bool(d.root, "IsTruncated") == 1) {
		const char *t = xml_path_text(d.root, "NextContinuationToken");

		if (!t || !*t) {
			vd_cell_fail(c, NULL, "", "ListObjectsV2 is truncated without a continuation token");
		} else if (j->key && !strcmp(j->key, t)) {
			vd_cell_fail(c, NULL, "", "listing does not end (the continuation token repeats)");
		} else if (j->pages + 1 >= list_page_bound(c)) {
			char m[256];

			snprintf(m, sizeof(m), "listing does not end: more than %zu pages of ListObjectsV2, more "
				 "than the window can hold (one object a second)", list_page_bound(c));
			vd_cell_fail(c, NULL, "", m);
		} else {
			struct job *nj = vd_job_new(j->kind, r, c, t);

			nj->pages = j->pages + 1;
			enqueue(r, nj);
		}
	}
done:
	xml_doc_release(&d);
	job_done(r, j);
}

/* a fetched digest, inflated, parsed and checked on the hash pool */
struct digest_work {
	char *body;
	size_t len;
	char *sig, *alg;
	struct chain_loaded l;
};

void vd_digest_work_free(struct digest_work *dw)
{
	if (!dw)
		return;
	free(dw->body);
	free(dw->sig);
	free(dw->alg);
	chain_loaded_release(&dw->l);
	free(dw);
}

/* on a worker: touches the job's digest_work and reads the run's keys,
 * which do not change once the cells start */
static void digest_work_run(void *ud)
{
	struct job *j = ud;
	struct digest_work *dw = j->dw;

	chain_preload(&dw->l, &j->run->keys, dw->body ? dw->body : "", dw->len, dw->sig);
	free(dw->body);
	dw->body = NULL;
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
		struct digest_work *dw = xcalloc(1, sizeof(*dw));

		r->prog.digests++;
		r->prog.bytes += len;
		if (!res->rc) {
			/* a linked digest in the trail's earlier bucket goes to DIR/<that bucket>/ */
			vd_save_blob(r, j->bucket, j->key, 0, body, len);
			vd_save_meta(r, j->bucket, j->key, sig, alg);
		}
		/* the parse and the signature check go to the pool; the job (and
		 * its cell) waits for them, collected by collect_hashes */
		dw->body = xmalloc(len + 1);
		memcpy(dw->body, body, len);
		dw->len = len;
		dw->sig = sig ? xstrdup(sig) : NULL;
		dw->alg = alg ? xstrdup(alg) : NULL;
		j->dw = dw;
		r->hashing++;
		r->inflight--;
		hashpool_call(r->pool, digest_work_run, j);
		collect_hashes(r, false);
		pump(r);
		return;
	}
	chain_add_fetched(c->chain, j->bucket, j->key, fetch_status(res), NULL, 0, NULL, NULL,
			  res->errmsg);
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
	if (j->fd >= 0 && vd_write_all(j->fd, data, n)) {
		r->fatal = err_set(&r->fatal_err, TK_EFAIL, "cannot write '%s/%s/%s': %s",
				   r->o->save_dir, j->bucket, j->key, strerror(errno));
		return TK_EFAIL;
	}
	if (j->idx == (size_t)-1 || j->stopped)
		return 0;
	/* the event loop only copies the bytes: a worker inflates and hashes
	 * them (this blocks while the pool's queue is full) */
	if (!j->hi)
		j->hi = hashpool_stream(r->pool, r->o->max_inflated, j);
	if (hashpool_feed(j->hi, data, n) > LOGHASH_TRAILING_DATA) {
		/* the workers already know the answer (final) */
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

	if (j->hi) {
		hashpool_abandon(j->hi);
		j->hi = NULL;
	}
	j->stopped = false;
	j->bytes = 0;
	if (j->fd >= 0 && (ftruncate(j->fd, 0) || lseek(j->fd, 0, SEEK_SET) < 0))
		return -1;
	return 0;
}

/* Report the work the pool has finished, log hashes and digests (wait:
 * block until one is, when any is outstanding).  Not reentrant: the cells it
 * advances may start jobs, whose completions come later. */
static void collect_hashes(struct vrun *r, bool wait)
{
	struct hp_item *it;

	if (r->collecting)
		return;
	r->collecting = true;
	while (r->hashing && (it = hashpool_next_done(r->pool, wait))) {
		struct job *j = hashpool_item_ud(it);
		struct vcell *c = j->cell;

		wait = false;
		if (j->kind == JOB_GET_DIGEST) {
			chain_add_loaded(c->chain, j->bucket, j->key, j->dw->sig, j->dw->alg, &j->dw->l);
		} else {
			enum loghash_status st;
			char hex[65];

			st = hashpool_item_status(it, hex);
			r->prog.logs++;
			chain_log_result(c->chain, j->idx, CHAIN_FETCH_OK, st, hex, NULL, r->out);
		}
		hashpool_item_free(it);
		j->hi = NULL;
		r->hashing--;
		vd_job_free(j);
		c->pending--;
		if (!c->pending)
			cell_advance(c);
	}
	r->collecting = false;
	vd_progress(r);
}

static void log_done(void *ud, struct aws_async_result *res)
{
	struct job *j = ud;
	struct vcell *c = j->cell;
	struct vrun *r = c->run;

	if (j->idx == (size_t)-1) {
		/* save-only download of an unreferenced log */
		job_done(r, j);
		return;
	}
	if (res->rc == 0 || (res->rc == TK_ETAMPERED && j->stopped)) {
		/* the body is in: free its request slot now; the job (and its
		 * cell) waits for the hash, collected by collect_hashes */
		if (!j->hi)   /* empty object */
			j->hi = hashpool_stream(r->pool, r->o->max_inflated, j);
		hashpool_end(j->hi);
		r->hashing++;
		r->inflight--;
		collect_hashes(r, false);
		pump(r);
		return;
	}
	chain_log_result(c->chain, j->idx, fetch_status(res), LOGHASH_OK, NULL, res->errmsg, r->out);
	job_done(r, j);
}

/* The key failure of c's region, NULL when its keys are in */
static const char *keys_failed(const struct vrun *r, const struct vcell *c)
{
	size_t k;

	for (k = 0; k < r->nkey_regions; k++)
		if (!strcmp(r->key_regions[k], c->region))
			return r->key_fail[k];
	return NULL;
}

/* One region's ListPublicKeys is over (every page, or its failure).  After
 * the last, the listed cells that waited go on: to their digests, or
 * unchecked when their region's keys could not be had.  (Digests are
 * verified on the hash pool, which reads r->keys: none is fetched before
 * every key is in.) */
static void keys_region_over(struct vrun *r)
{
	size_t i;

	if (--r->keys_pending)
		return;
	for (i = 0; i < r->next_cell; i++) {
		struct vcell *c = &r->cells[i];

		if (c->wait_keys) {
			c->wait_keys = false;
			if (!c->pending)
				cell_advance(c);
		}
	}
}

static void keys_done(void *ud, struct aws_async_result *res)
{
	struct job *j = ud;
	struct vrun *r = j->run;
	size_t ri = j->idx;
	json_t *doc = NULL, *list;
	json_error_t je;
	struct errbuf e;
	bool more = false;

	if (res->rc) {
		r->key_fail[ri] = xstrdup(res->errmsg);
		goto done;
	}
	doc = json_loadb(res->resp->body.data ? res->resp->body.data : "", res->resp->body.len, 0, &je);
	if (!doc || !json_is_object(doc)) {
		r->key_fail[ri] = xasprintf("cloudtrail ListPublicKeys: malformed JSON response");
		goto done;
	}
	if (vd_load_keys(&r->keys, res->resp->body.data, res->resp->body.len, &e)) {
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
				struct job *nj = vd_job_new(JOB_KEYS, r, NULL, t);

				nj->idx = ri;
				nj->region = xstrdup(j->region);
				nj->pages = j->pages + 1;
				enqueue(r, nj);
				more = true;
			}
		}
	}
done:
	json_decref(doc);
	if (!more)
		keys_region_over(r);
	job_done(r, j);
}

/* Start one job: build and submit its request. */
/* ListPublicKeys (CloudTrail, JSON protocol) for j into q; h holds q's two
 * headers.  Returns the body q borrows (the caller keeps it with the job). */
static char *keys_request(struct vrun *r, struct job *j, struct aws_request *q, struct sigv4_header h[2])
{
	json_t *in = json_object();
	char *body;

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
	q->service = "cloudtrail";
	q->proto = AWS_PROTO_JSON;
	q->method = "POST";
	q->bucket = NULL;
	q->path = "/";
	q->operation = "ListPublicKeys";
	q->region = j->region;
	q->subject = j->region;
	q->headers = h;
	q->nheaders = 2;
	q->body = body;
	q->body_len = body ? strlen(body) : 0;
	q->body_limit = MAX_PUBKEYS_JSON;
	return body;
}

/* A job that could not even be sent (bad endpoint, no credentials): fail
 * the cell. */
static void job_not_sent(struct vrun *r, struct job *j, aws_async_done_fn done, int rc, const char *msg)
{
	struct aws_async_result res;
	struct http_response resp;
	struct aws_error none;

	memset(&none, 0, sizeof(none));
	http_response_init(&resp);
	res.rc = rc;
	res.resp = &resp;
	res.error = &none;
	res.errmsg = msg;
	res.attempts = 0;
	if (j->kind == JOB_GET_LOG && j->idx != (size_t)-1)
		j->idx = (size_t)-1;   /* reported below as the cell's failure */
	if (j->cell)
		vd_cell_fail(j->cell, NULL, "", msg);
	if (j->kind == JOB_KEYS)
		done(j, &res);
	else
		job_done(r, j);
	http_response_release(&resp);
}

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
		q.query = buf_error(&query) ? NULL : buf_cstr(&query);   /* checked below */
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
	case JOB_KEYS:
		body = keys_request(r, j, &q, h);
		done = keys_done;
		break;
	}
	r->inflight++;
	if (buf_error(&query)) {
		/* never a listing with a parameter cut off (a shorter prefix, or
		 * none): the cell fails (a hostile continuation token gets here) */
		rc = err_set(&e, TK_ELIMIT, "the ListObjectsV2 query would be longer than %zu bytes",
			     query.limit);
	} else {
		/* the body of a JSON call is borrowed until done: keep it with the job */
		rc = aws_call_async(r->o->sched, r->o->aws, &q, reset, done, j, &e);
	}
	if (body) {
		free(j->bucket);
		j->bucket = body;   /* freed with the job (JOB_KEYS has no bucket) */
	}
	free(subject);
	buf_release(&query);
	if (rc)
		job_not_sent(r, j, done, rc, e.msg);
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
			j = vd_job_new(JOB_GET_LOG, r, c, l->key);
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

			vd_job_free(j);
			c->pending--;
			if (!c->pending)
				cell_advance(c);
			continue;
		}
		job_start(r, j);
	}
}

/* Start cells in order while fewer than VALIDATE_ACTIVE_CELLS are in
 * progress: list their digests and log files (or fail them at once when
 * their region's public keys could not be had). */
static void start_cells(struct vrun *r)
{
	const char *why;

	if (r->starting)
		return;
	r->starting = true;
	while (r->next_cell < r->ncells && r->prog.cells_active < r->max_active) {
		struct vcell *c = &r->cells[r->next_cell++];

		r->prog.cells_active++;
		if (!r->keys_pending && (why = keys_failed(r, c)))
			vd_cell_fail(c, NULL, "cannot get the public keys: ", why);
		if (c->failed) {
			cell_advance(c);
			continue;
		}
		if (!r->o->list_only)
			enqueue(r, vd_job_new(JOB_LIST_DIGESTS, r, c, NULL));
		enqueue(r, vd_job_new(JOB_LIST_LOGS, r, c, NULL));
	}
	r->starting = false;
	vd_progress(r);
}

/* The cell is done: free what it held, start the next. */
static void cell_done(struct vcell *c)
{
	struct vrun *r = c->run;

	c->phase = PH_DONE;
	r->prog.cells_done++;
	vd_cell_release(c);
	r->prog.cells_active--;
	start_cells(r);
}

static void cell_advance(struct vcell *c)
{
	struct vrun *r = c->run;
	const struct chain_ref *want;
	const char *why;
	size_t n, i;

	if (c->failed && c->phase != PH_DONE) {
		vd_finish_cell_stats(c);
		cell_done(c);
		return;
	}
	switch (c->phase) {
	case PH_LIST:
		if (r->o->list_only) {
			cell_done(c);
			return;
		}
		if (r->keys_pending) {
			c->wait_keys = true;   /* keys_region_over goes on */
			return;
		}
		if ((why = keys_failed(r, c))) {
			vd_cell_fail(c, NULL, "cannot get the public keys: ", why);
			vd_finish_cell_stats(c);
			cell_done(c);
			return;
		}
		c->phase = PH_DIGESTS;
		/* fall through */
	case PH_DIGESTS:
		n = chain_wanted(c->chain, &want);
		if (n) {
			for (i = 0; i < n; i++) {
				struct job *j = vd_job_new(JOB_GET_DIGEST, r, c, want[i].key);

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
				j = vd_job_new(JOB_GET_LOG, r, c, f->key);
				j->bucket = xstrdup(r->o->bucket);
				enqueue(r, j);
			}
			if (c->pending)
				return;
		}
		/* fall through */
	case PH_UNREF:
		vd_finish_cell_stats(c);
		cell_done(c);
		return;
	case PH_DONE:
		return;
	}
}

/* A run that stops: the jobs waiting for their hash are freed unreported. */
static void drop_hashes(struct vrun *r)
{
	struct hp_item *it;

	while (r->hashing && (it = hashpool_next_done(r->pool, true))) {
		struct job *j = hashpool_item_ud(it);

		hashpool_item_free(it);
		j->hi = NULL;
		r->hashing--;
		vd_job_free(j);
	}
}

int vd_online_run(struct vrun *r, struct errbuf *err)
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
	/* 1. public keys, once per region of the cells (and the home region),
	 * asked for with the cells' first listings: a listed cell waits for
	 * them before its digests (cell_advance) */
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
		struct job *j = vd_job_new(JOB_KEYS, r, NULL, NULL);

		j->idx = k;
		j->region = xstrdup(r->key_regions[k]);
		enqueue(r, j);
	}
	r->keys_pending = r->nkey_regions;
cells:
	/* 2. every cell: list, digests, logs (max_active at a time) */
	r->max_active = o->max_active_cells ? o->max_active_cells : VALIDATE_ACTIVE_CELLS;
	start_cells(r);
	pump(r);
	for (;;) {
		rc = aws_sched_run(o->sched, err);
		if (rc) {
			drop_hashes(r);
			return rc;
		}
		if (!r->hashing)
			break;
		/* the network is idle, hashes are not: their cells may go on */
		collect_hashes(r, true);
		pump(r);
	}
	if (r->fatal)
		return err_set(err, r->fatal, "%s", r->fatal_err.msg);
	for (i = 0; i < r->ncells; i++)
		if (r->cells[i].phase != PH_DONE)
			vd_cell_fail(&r->cells[i], NULL, "", "validation did not complete");
	if (o->save_dir && !o->list_only) {
		char *s = json_dumps(r->saved_keys, JSON_INDENT(1) | JSON_SORT_KEYS);
		int fd;

		{
			char *p = xasprintf("%s/%s", o->save_dir, LOCAL_PUBKEYS);

			fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
			if (fd < 0 || vd_write_all(fd, s, strlen(s)) || close(fd))
				rc = err_set(err, TK_EFAIL, "cannot write '%s': %s", p, strerror(errno));
			free(p);
		}
		free(s);
	}
	return rc;
}
