/* validate_int.h: what the parts of validate share (not an API; validate.h is).
 *
 *   validate.c        the run: options, cells and their findings, the
 *                     public keys, saving (--save)
 *   validate_local.c  a local copy (--local): listing by directory, digests
 *                     from files, log files hashed on the run's hash pool
 *   validate_s3.c     online: listings, digests, logs and keys fetched with
 *                     many requests in flight on the async scheduler; the
 *                     event loop only moves bytes: log bodies are hashed on
 *                     the run's hash pool (hashpool.h) */
#ifndef TK_VALIDATE_INT_H
#define TK_VALIDATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "chain.h"
#include "digest.h"
#include "err.h"
#include "hashpool.h"
#include "loghash.h"
#include "validate.h"

#define DAY_S 86400
#define LOG_WINDOW_BEFORE 3600          /* keep listed logs from start - 1h */
#define LOG_WINDOW_AFTER (2 * 3600)     /* ... to end + 2h (the newest digest may end at end + 1h) */

struct vrun;
struct digest_work;

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
	bool wait_keys;                 /* listed; its digests wait for the public keys */
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
	/* streaming log state: the body goes to the hash pool as it arrives */
	struct hp_item *hi;
	bool stopped;
	struct digest_work *dw;         /* GET_DIGEST: the body's check on the pool */
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
	size_t keys_pending;            /* regions whose ListPublicKeys is not over */
	struct job *qhead, *qtail;
	/* cells whose log files are being fetched, in order; each holds one
	 * "pending" token until its last log job is made (jobs are made lazily:
	 * memory stays at the keys the chain already holds) */
	struct vcell **lcells;
	size_t nlcells, lhead;
	size_t inflight, max_inflight;
	struct hashpool *pool;          /* log hashing (and digest checks) off this thread */
	size_t hashing;                 /* GET_LOG jobs whose body is received, hash not collected */
	bool collecting;
	/* online: cells are started in order, at most max_active at
	 * once (a cell's memory is freed when it is done) */
	size_t next_cell, max_active;
	bool starting;
	int fatal;                      /* an error that stops the run */
	struct errbuf fatal_err;
	struct validate_progress prog;
	time_t kstart;                  /* public keys from here: the earliest cell start */
};

/* validate.c */
void vd_day_path(time_t t, char out[16]);
void vd_progress(struct vrun *r);
void vd_cell_fail(struct vcell *c, const char *key, const char *what, const char *msg);
void vd_job_free(struct job *j);
struct job *vd_job_new(enum job_kind kind, struct vrun *r, struct vcell *c, const char *key);
int vd_write_all(int fd, const void *p, size_t n);
void vd_save_blob(struct vrun *r, const char *bucket, const char *key, int meta,
		  const void *data, size_t len);
void vd_save_meta(struct vrun *r, const char *bucket, const char *key, const char *sig,
		  const char *alg);
int vd_load_keys(struct keyset *ks, const char *data, size_t len, struct errbuf *err);
void vd_add_listed_log(struct vcell *c, const char *key);
void vd_finish_cell_stats(struct vcell *c);
void vd_cell_release(struct vcell *c);

/* validate_local.c */
int vd_local_load_keys(struct vrun *r, struct errbuf *err);
void vd_local_cell(struct vcell *c);

/* validate_s3.c */
int vd_online_run(struct vrun *r, struct errbuf *err);
void vd_digest_work_free(struct digest_work *dw);

#endif
