/* trail_reads.h: the reads verify and doctor make of each account's trail,
 * issued together on the async scheduler (aws_async.h) instead of one after
 * another: per account its context (STS AssumeRole when it is not the
 * caller's own account) and, as soon as that is there, GetTrail,
 * GetEventSelectors, GetTrailStatus and optionally DescribeTrails at once.
 * For 1000 accounts that is two round trips deep, not 5000 calls in a row.
 *
 * Every read keeps its own result: the code and message the synchronous
 * call would have returned, so a check made from it is the same check; a
 * read that failed, or was never made because the account's context could
 * not be had, carries an error the caller reports (unchecked, never passed).
 * Library code: no printing, no clock.  Implemented in trail_reads.c. */
#ifndef TK_TRAIL_READS_H
#define TK_TRAIL_READS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aws.h"
#include "aws_async.h"
#include "cloudtrail.h"
#include "err.h"

struct tr_result {
	int rc;                     /* 0, or the call's error code */
	char msg[ERRBUF_LEN];
};

struct trail_read;
struct trail_reads_opts;

/* private: what a callback needs to find its read */
struct tr_cb {
	struct trail_reads_opts *o;
	struct trail_read *r;
	struct tr_result *res;
};

struct trail_read {
	/* in (borrowed) */
	const char *account;        /* the trail's owner */
	const char *arn;            /* the trail */
	const char *role_arn;       /* NULL: the caller's own account (ctx: a clone of base) */
	const struct aws_ctx *ctx_in;   /* set: the account's context exists (ctx: its clone) */
	/* out */
	struct tr_result ctx_r;     /* AssumeRole's (or the clone's) result */
	struct aws_creds creds;     /* the assumed role's credentials (role_arn set, ctx_r 0) */
	bool has_ctx;               /* ctx is valid (clear it when you take ctx) */
	struct aws_ctx ctx;         /* the account's context in the options' region */
	struct tr_result trail_r, sel_r, status_r, list_r;
	struct ct_trail trail;      /* GetTrail */
	json_t *selectors;          /* GetEventSelectors' response */
	struct ct_status status;    /* GetTrailStatus */
	struct ct_trail *all;       /* DescribeTrails (options' describe) */
	size_t nall;
	struct tr_cb cb[5];
};

struct trail_reads_opts {
	struct aws_sched *sched;    /* over base->http */
	struct aws_ctx *base;       /* the caller's context: AssumeRole is made with it */
	const char *region;         /* the accounts' contexts' region (the trails' home) */
	const char *session_name;
	const char *external_id;    /* NULL: none */
	bool describe;              /* DescribeTrails too */
	size_t calls;               /* out: the requests submitted */
};

/* Read v[0..n).  0 once every read is done (its own result in v), or the
 * scheduler's own error (err): then results not yet in are errors too. */
int trail_reads_run(struct trail_reads_opts *o, struct trail_read *v, size_t n, struct errbuf *err);
/* What r holds (its ctx only when has_ctx is still set). */
void trail_read_release(struct trail_read *r);

#endif
