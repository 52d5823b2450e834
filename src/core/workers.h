/* workers.h: the one way trailkeep runs work on threads that each make
 * dependent calls (apply's trail accounts, doctor's accounts): start up to n
 * threads running fn(arg), each taking its next item from arg under its own
 * lock; if no thread can be started, fn runs on the calling thread, so the
 * work is done either way.  Returns when every thread has returned.
 * See docs/architecture.md, "Concurrency".  Implemented in src/core/workers.c. */
#ifndef TK_WORKERS_H
#define TK_WORKERS_H

#define TK_MAX_WORKERS 64

/* n is clamped to 1..TK_MAX_WORKERS */
void tk_run_workers(int n, void *(*fn)(void *), void *arg);

#endif
