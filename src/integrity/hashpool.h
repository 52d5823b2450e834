/* hashpool.h: the CPU-bound part of integrity checking (log hashing,
 * loghash.h: inflate + SHA-256; digest parsing and signature checks) on
 * worker threads, so that the thread that moves the bytes (validate's
 * online event loop, or --local's walk) does not inflate or hash itself.
 * One pool per validate run, used by both back ends.
 *
 * Items:
 *  - a stream: the compressed bytes of one log object, fed as they arrive
 *    (copied), hashed in order by one worker at a time;
 *  - a file: a local file (--local), opened, read and hashed on a worker;
 *  - a call: any function on a worker (validate_s3.c: a fetched digest).
 * Finished items are collected with hashpool_next_done(), in completion
 * order; the collector frees them (hashpool_item_free).
 *
 * Bounded memory: fed bytes go to the workers in chunks of at most
 * HASHPOOL_CHUNK bytes through a queue of at most queue_limit bytes;
 * when the queue is full, hashpool_feed() blocks until the workers have
 * taken enough (backpressure: the event loop stops reading, nothing is
 * buffered without bound).  Besides the queue, an open stream buffers less
 * than HASHPOOL_CHUNK bytes.  One chunk larger than queue_limit still goes
 * through when the queue is empty.
 *
 * threads 0: no worker thread; the work is done by the calling thread
 * (in hashpool_feed when a chunk is full, hashpool_end, hashpool_file,
 * hashpool_call), with the same results.
 *
 * Only the thread that made the pool calls these functions; workers touch
 * nothing but their items (and what a call's function touches: it must be
 * safe to run beside the caller).  Library code: no printing, no clock. */
#ifndef TK_HASHPOOL_H
#define TK_HASHPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loghash.h"

#define HASHPOOL_CHUNK (64 * 1024)
#define HASHPOOL_MAX_THREADS 16
#define HASHPOOL_QUEUE_LIMIT (8u << 20)  /* validate's queue: 8 MiB */

struct hashpool;
struct hp_item;

/* threads: worker threads (0: none, see above; at most
 * HASHPOOL_MAX_THREADS).  A thread that cannot be started is left out
 * (with none at all, the pool works on the caller's thread). */
struct hashpool *hashpool_new(int threads, size_t queue_limit);
/* Stops the workers after their current item.  Items not collected and
 * streams not ended are freed; their ud is not touched. */
void hashpool_free(struct hashpool *p);
/* worker threads actually running */
int hashpool_threads(const struct hashpool *p);

/* A log object's hash: max_inflated as loghash_new (0: LOGHASH_MAX_INFLATED). */
struct hp_item *hashpool_stream(struct hashpool *p, uint64_t max_inflated, void *ud);
/* Copy n bytes into the stream (may block while the queue is full).
 * Returns the stream's status as far as the workers got (a status above
 * LOGHASH_TRAILING_DATA is final: the caller may stop reading). */
enum loghash_status hashpool_feed(struct hp_item *it, const void *data, size_t n);
/* No more bytes: the item finishes (hashpool_next_done) once hashed. */
void hashpool_end(struct hp_item *it);
/* Drop a stream that is not ended (a download that starts again): its
 * bytes are discarded and it is never reported as done. */
void hashpool_abandon(struct hp_item *it);

/* Hash the file at path (opened with tk_open_tree_file: no symlinks). */
struct hp_item *hashpool_file(struct hashpool *p, const char *path, uint64_t max_inflated,
			      void *ud);

/* Run fn(ud) on a worker. */
struct hp_item *hashpool_call(struct hashpool *p, void (*fn)(void *ud), void *ud);

/* The next finished item, or NULL: none finished yet (wait false), or none
 * outstanding (wait true blocks until one finishes while any is). */
struct hp_item *hashpool_next_done(struct hashpool *p, bool wait);
/* items made and not yet collected (abandoned streams excluded) */
size_t hashpool_outstanding(struct hashpool *p);

/* results of a finished item */
void *hashpool_item_ud(const struct hp_item *it);
/* streams and files: the loghash status and hex (loghash_finish) */
enum loghash_status hashpool_item_status(const struct hp_item *it, char hex[65]);
/* compressed bytes hashed (streams) or read (files) */
unsigned long long hashpool_item_bytes(const struct hp_item *it);
/* files: 0, or the errno of opening the file (ENOENT ... ) */
int hashpool_item_errno(const struct hp_item *it);
void hashpool_item_free(struct hp_item *it);

struct hashpool_stats {
	size_t max_queued;              /* the most bytes ever in the queue */
	size_t waits;                   /* times hashpool_feed blocked on a full queue */
	size_t chunks_caller;           /* chunks hashed on the caller's thread (threads 0) */
	size_t chunks_workers;          /* chunks hashed on worker threads */
};
void hashpool_get_stats(struct hashpool *p, struct hashpool_stats *s);

#endif
