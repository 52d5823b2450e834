/* hashpool.c: see hashpool.h.
 *
 * One lock guards the queues and every item's shared fields (chunks,
 * flags).  Invariant: an item with chunks waiting is either in the ready
 * queue or on a worker (running), never both, so one item is worked on by
 * one thread at a time and its chunks are hashed in the order fed. */
#define _GNU_SOURCE   /* pthread_setname_np: the workers show as tk-hash in perf/top */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fileutil.h"
#include "hashpool.h"
#include "loghash.h"
#include "banned.h"

#define READ_CHUNK (256 * 1024)
#define FIRST_CAP 1024

enum hp_kind { HP_STREAM, HP_FILE, HP_CALL };

struct hp_chunk {
	struct hp_chunk *next;
	size_t len, cap;
	unsigned char data[];
};

struct hp_item {
	enum hp_kind kind;
	struct hashpool *pool;
	void *ud;
	uint64_t max_inflated;
	struct hp_chunk *pend;          /* caller's side: the chunk being filled */
	/* under the pool lock */
	struct hp_chunk *chead, *ctail;
	bool ended, queued, running, abandoned;
	struct hp_item *next;           /* ready queue or done list */
	struct hp_item *lprev, *lnext;  /* every live item (hashpool_free) */
	atomic_int seen;                /* stream status as far as hashed */
	/* the worker's (one at a time) */
	struct loghash *h;
	char *path;
	void (*fn)(void *ud);
	/* results */
	enum loghash_status st;
	char hex[65];
	unsigned long long bytes;
	int open_errno;
};

struct hashpool {
	pthread_mutex_t lock;
	pthread_cond_t work, room, done;
	struct hp_item *rhead, *rtail;  /* ready: work to do */
	struct hp_item *dhead, *dtail;  /* finished, not collected */
	struct hp_item *live;
	size_t queued, limit;           /* bytes of chunks handed over and not yet hashed */
	size_t outstanding;             /* ended streams, files and calls not collected */
	bool stop;
	pthread_t th[HASHPOOL_MAX_THREADS];
	int nthreads;
	char *readbuf;                  /* threads 0: the caller's file read buffer */
	struct hashpool_stats stats;
};

static size_t chunk_size(const struct hp_chunk *c)
{
	return sizeof(*c) + c->cap;
}

static void free_chunks(struct hp_chunk *c)
{
	while (c) {
		struct hp_chunk *n = c->next;

		free(c);
		c = n;
	}
}

/* lock held */
static void ready_push(struct hashpool *p, struct hp_item *it)
{
	it->queued = true;
	it->next = NULL;
	if (p->rtail)
		p->rtail->next = it;
	else
		p->rhead = it;
	p->rtail = it;
	pthread_cond_signal(&p->work);
}

/* lock held */
static struct hp_item *ready_pop(struct hashpool *p)
{
	struct hp_item *it = p->rhead;

	if (!it)
		return NULL;
	p->rhead = it->next;
	if (!p->rhead)
		p->rtail = NULL;
	it->next = NULL;
	it->queued = false;
	it->running = true;
	return it;
}

/* lock held */
static void done_push(struct hashpool *p, struct hp_item *it)
{
	it->running = false;
	it->next = NULL;
	if (p->dtail)
		p->dtail->next = it;
	else
		p->dhead = it;
	p->dtail = it;
	pthread_cond_broadcast(&p->done);
}

/* lock held */
static void live_unlink(struct hashpool *p, struct hp_item *it)
{
	if (it->lprev)
		it->lprev->lnext = it->lnext;
	else if (p->live == it)
		p->live = it->lnext;
	if (it->lnext)
		it->lnext->lprev = it->lprev;
	it->lprev = it->lnext = NULL;
}

static void item_release(struct hp_item *it)
{
	free_chunks(it->pend);
	free_chunks(it->chead);
	loghash_free(it->h);
	free(it->path);
	free(it);
}

static struct hp_item *item_new(struct hashpool *p, enum hp_kind kind, uint64_t max_inflated, void *ud)
{
	struct hp_item *it = xcalloc(1, sizeof(*it));

	it->kind = kind;
	it->pool = p;
	it->ud = ud;
	it->max_inflated = max_inflated ? max_inflated : LOGHASH_MAX_INFLATED;
	atomic_init(&it->seen, LOGHASH_OK);
	pthread_mutex_lock(&p->lock);
	it->lnext = p->live;
	if (p->live)
		p->live->lprev = it;
	p->live = it;
	pthread_mutex_unlock(&p->lock);
	return it;
}

/* Read and hash a file (--local): touches nothing but the item. */
static void hash_file(struct hp_item *t, char *tmp)
{
	struct loghash *h;
	ssize_t n;
	int fd;

	if (!t->path) {
		t->open_errno = ENOENT;
		return;
	}
	fd = tk_open_tree_file(t->path);
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

/* Work on it (just taken from the ready queue, running set).  Called and
 * returns with the lock held; drops it while hashing. */
static void run_item(struct hashpool *p, struct hp_item *it, char **readbuf, bool caller)
{
	struct hp_chunk *c, *chunks;
	size_t freed = 0, nch = 0;
	bool abandoned;
	int st = LOGHASH_OK;

	switch (it->kind) {
	case HP_FILE:
		pthread_mutex_unlock(&p->lock);
		if (!*readbuf)
			*readbuf = xmalloc(READ_CHUNK);
		hash_file(it, *readbuf);
		pthread_mutex_lock(&p->lock);
		done_push(p, it);
		return;
	case HP_CALL:
		pthread_mutex_unlock(&p->lock);
		it->fn(it->ud);
		pthread_mutex_lock(&p->lock);
		done_push(p, it);
		return;
	case HP_STREAM:
		break;
	}
	chunks = it->chead;
	it->chead = it->ctail = NULL;
	abandoned = it->abandoned;
	pthread_mutex_unlock(&p->lock);
	for (c = chunks; c; c = c->next) {
		if (!abandoned) {
			if (!it->h)
				it->h = loghash_new(it->max_inflated, 0);
			it->bytes += c->len;
			st = loghash_feed(it->h, c->data, c->len);
		}
		freed += chunk_size(c);
		nch++;
	}
	free_chunks(chunks);
	pthread_mutex_lock(&p->lock);
	p->queued -= freed;
	if (caller)
		p->stats.chunks_caller += nch;
	else
		p->stats.chunks_workers += nch;
	pthread_cond_broadcast(&p->room);
	if (!abandoned)
		atomic_store(&it->seen, st);
	if (it->chead) {                /* more came meanwhile */
		it->running = false;
		ready_push(p, it);
		return;
	}
	if (!it->ended) {
		it->running = false;
		return;
	}
	if (it->abandoned) {
		live_unlink(p, it);
		item_release(it);
		return;
	}
	pthread_mutex_unlock(&p->lock);
	if (!it->h)                     /* an empty object */
		it->h = loghash_new(it->max_inflated, 0);
	it->st = loghash_finish(it->h, it->hex);
	loghash_free(it->h);
	it->h = NULL;
	pthread_mutex_lock(&p->lock);
	done_push(p, it);
}

/* threads 0: do the ready work on the caller's thread (lock held) */
static void run_inline(struct hashpool *p)
{
	struct hp_item *it;

	if (p->nthreads)
		return;
	while ((it = ready_pop(p)))
		run_item(p, it, &p->readbuf, true);
}

static void *worker(void *ud)
{
	struct hashpool *p = ud;
	char *readbuf = NULL;
	struct sched_param sp;

	/* SCHED_BATCH: a worker woken for a new item does not preempt the
	 * event loop on its core (issue 17: on 2 cores the loop was switched
	 * out ~3,700 times a run of 4,900 requests, right after handing a
	 * finished download over, and fell behind at 256 in flight); the
	 * workers still take every core the loop leaves.  Best effort. */
	memset(&sp, 0, sizeof(sp));
	pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct hp_item *it;

		while (!p->rhead && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		it = ready_pop(p);
		run_item(p, it, &readbuf, false);
	}
	pthread_mutex_unlock(&p->lock);
	free(readbuf);
	return NULL;
}

struct hashpool *hashpool_new(int threads, size_t queue_limit)
{
	struct hashpool *p = xcalloc(1, sizeof(*p));
	int i;

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->room, NULL);
	pthread_cond_init(&p->done, NULL);
	p->limit = queue_limit ? queue_limit : HASHPOOL_QUEUE_LIMIT;
	if (threads > HASHPOOL_MAX_THREADS)
		threads = HASHPOOL_MAX_THREADS;
	for (i = 0; i < threads; i++) {
		if (pthread_create(&p->th[p->nthreads], NULL, worker, p))
			break;
		pthread_setname_np(p->th[p->nthreads], "tk-hash");
		p->nthreads++;
	}
	return p;
}

void hashpool_free(struct hashpool *p)
{
	int i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	while (p->live) {
		struct hp_item *it = p->live;

		p->live = it->lnext;
		item_release(it);
	}
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->room);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	free(p->readbuf);
	free(p);
}

int hashpool_threads(const struct hashpool *p)
{
	return p->nthreads;
}

struct hp_item *hashpool_stream(struct hashpool *p, uint64_t max_inflated, void *ud)
{
	return item_new(p, HP_STREAM, max_inflated, ud);
}

/* Hand the chunk to the workers, waiting while the queue is full. */
static void submit(struct hp_item *it, struct hp_chunk *c)
{
	struct hashpool *p = it->pool;
	size_t sz = chunk_size(c);

	pthread_mutex_lock(&p->lock);
	while (p->nthreads && p->queued > 0 && p->queued + sz > p->limit) {
		p->stats.waits++;
		pthread_cond_wait(&p->room, &p->lock);
	}
	c->next = NULL;
	if (it->ctail)
		it->ctail->next = c;
	else
		it->chead = c;
	it->ctail = c;
	p->queued += sz;
	if (p->queued > p->stats.max_queued)
		p->stats.max_queued = p->queued;
	if (!it->queued && !it->running)
		ready_push(p, it);
	run_inline(p);
	pthread_mutex_unlock(&p->lock);
}

enum loghash_status hashpool_feed(struct hp_item *it, const void *data, size_t n)
{
	const unsigned char *s = data;

	while (n) {
		struct hp_chunk *c = it->pend;
		size_t take;

		if (!c || c->len == c->cap) {
			size_t cap = c ? 2 * c->cap : (n > FIRST_CAP ? n : FIRST_CAP);

			if (cap > HASHPOOL_CHUNK)
				cap = HASHPOOL_CHUNK;
			c = xrealloc(c, sizeof(*c) + cap);
			if (!it->pend)
				c->len = 0;
			c->cap = cap;
			c->next = NULL;
			it->pend = c;
		}
		take = c->cap - c->len < n ? c->cap - c->len : n;
		memcpy(c->data + c->len, s, take);
		c->len += take;
		s += take;
		n -= take;
		if (c->len == HASHPOOL_CHUNK) {
			it->pend = NULL;
			submit(it, c);
		}
	}
	return (enum loghash_status)atomic_load(&it->seen);
}

void hashpool_end(struct hp_item *it)
{
	struct hashpool *p = it->pool;
	struct hp_chunk *c = it->pend;

	it->pend = NULL;
	if (c && c->len)
		submit(it, c);
	else
		free(c);
	pthread_mutex_lock(&p->lock);
	it->ended = true;
	p->outstanding++;
	if (!it->queued && !it->running)
		ready_push(p, it);
	run_inline(p);
	pthread_mutex_unlock(&p->lock);
}

void hashpool_abandon(struct hp_item *it)
{
	struct hashpool *p = it->pool;

	free_chunks(it->pend);
	it->pend = NULL;
	pthread_mutex_lock(&p->lock);
	if (it->queued || it->running) {
		/* a worker has its chunks: it frees it when through */
		it->abandoned = true;
		it->ended = true;
	} else {
		live_unlink(p, it);
		item_release(it);
	}
	pthread_mutex_unlock(&p->lock);
}

static struct hp_item *submit_whole(struct hashpool *p, struct hp_item *it)
{
	pthread_mutex_lock(&p->lock);
	it->ended = true;
	p->outstanding++;
	ready_push(p, it);
	run_inline(p);
	pthread_mutex_unlock(&p->lock);
	return it;
}

struct hp_item *hashpool_file(struct hashpool *p, const char *path, uint64_t max_inflated, void *ud)
{
	struct hp_item *it = item_new(p, HP_FILE, max_inflated, ud);

	it->path = path ? xstrdup(path) : NULL;
	return submit_whole(p, it);
}

struct hp_item *hashpool_call(struct hashpool *p, void (*fn)(void *ud), void *ud)
{
	struct hp_item *it = item_new(p, HP_CALL, 0, ud);

	it->fn = fn;
	return submit_whole(p, it);
}

struct hp_item *hashpool_next_done(struct hashpool *p, bool wait)
{
	struct hp_item *it;

	pthread_mutex_lock(&p->lock);
	while (!p->dhead && wait && p->outstanding > 0)
		pthread_cond_wait(&p->done, &p->lock);
	it = p->dhead;
	if (it) {
		p->dhead = it->next;
		if (!p->dhead)
			p->dtail = NULL;
		it->next = NULL;
		p->outstanding--;
	}
	pthread_mutex_unlock(&p->lock);
	return it;
}

size_t hashpool_outstanding(struct hashpool *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->outstanding;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void *hashpool_item_ud(const struct hp_item *it)
{
	return it->ud;
}

enum loghash_status hashpool_item_status(const struct hp_item *it, char hex[65])
{
	memcpy(hex, it->hex, sizeof(it->hex));
	return it->st;
}

unsigned long long hashpool_item_bytes(const struct hp_item *it)
{
	return it->bytes;
}

int hashpool_item_errno(const struct hp_item *it)
{
	return it->open_errno;
}

void hashpool_item_free(struct hp_item *it)
{
	struct hashpool *p;

	if (!it)
		return;
	p = it->pool;
	pthread_mutex_lock(&p->lock);
	live_unlink(p, it);
	pthread_mutex_unlock(&p->lock);
	item_release(it);
}

void hashpool_get_stats(struct hashpool *p, struct hashpool_stats *s)
{
	pthread_mutex_lock(&p->lock);
	*s = p->stats;
	pthread_mutex_unlock(&p->lock);
}
