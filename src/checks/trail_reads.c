/* trail_reads.c: see trail_reads.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trail_reads.h"
#include "sts.h"
#include "banned.h"

#define TR_PENDING (-1000)   /* a result not in yet */

static void set_result(struct tr_result *res, int rc, const char *msg)
{
	res->rc = rc;
	snprintf(res->msg, sizeof(res->msg), "%s", rc && msg ? msg : "");
}

static void read_done(void *ud, int rc, const char *errmsg)
{
	struct tr_cb *cb = ud;

	set_result(cb->res, rc, errmsg);
}

/* the reads of r that were not made, with why (the context's error) */
static void reads_fail(struct trail_read *r, int rc, const char *msg)
{
	struct tr_result *res[] = { &r->trail_r, &r->sel_r, &r->status_r, &r->list_r };
	size_t i;

	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		if (res[i]->rc == TR_PENDING)
			set_result(res[i], rc, msg);
}

/* a read submitted (counted) or not (its error is its result) */
static void submitted(struct trail_reads_opts *o, struct tr_result *res, int rc, const struct errbuf *e)
{
	if (rc)
		set_result(res, rc, e->msg);
	else
		o->calls++;
}

static void submit_reads(struct trail_reads_opts *o, struct trail_read *r)
{
	struct errbuf e;

	err_clear(&e);
	r->cb[1] = (struct tr_cb){ o, r, &r->trail_r };
	submitted(o, &r->trail_r, ct_get_trail_async(o->sched, &r->ctx, r->arn, &r->trail, read_done,
						     &r->cb[1], &e), &e);
	r->cb[2] = (struct tr_cb){ o, r, &r->sel_r };
	submitted(o, &r->sel_r, ct_get_event_selectors_async(o->sched, &r->ctx, r->arn, &r->selectors,
							     read_done, &r->cb[2], &e), &e);
	r->cb[3] = (struct tr_cb){ o, r, &r->status_r };
	submitted(o, &r->status_r, ct_get_trail_status_async(o->sched, &r->ctx, r->arn, &r->status,
							     read_done, &r->cb[3], &e), &e);
	if (!o->describe)
		return;
	r->cb[4] = (struct tr_cb){ o, r, &r->list_r };
	submitted(o, &r->list_r, ct_describe_trails_async(o->sched, &r->ctx, true, &r->all, &r->nall,
							  read_done, &r->cb[4], &e), &e);
}

/* the account's context is settled: clone it and read, or fail its reads */
static void ctx_ready(struct trail_reads_opts *o, struct trail_read *r, int rc, const char *msg)
{
	struct errbuf e;

	err_clear(&e);
	if (!rc) {
		if (r->ctx_in)
			rc = aws_ctx_clone(&r->ctx, r->ctx_in, NULL, NULL, &e);
		else
			rc = aws_ctx_clone(&r->ctx, o->base, o->region, r->role_arn ? &r->creds : NULL, &e);
		msg = e.msg;
	}
	set_result(&r->ctx_r, rc, msg);
	if (rc) {
		reads_fail(r, rc, msg);
		return;
	}
	r->has_ctx = true;
	submit_reads(o, r);
}

static void assumed(void *ud, int rc, const char *errmsg)
{
	struct tr_cb *cb = ud;

	ctx_ready(cb->o, cb->r, rc, errmsg);
}

int trail_reads_run(struct trail_reads_opts *o, struct trail_read *v, size_t n, struct errbuf *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		struct trail_read *r = &v[i];

		r->ctx_r.rc = r->trail_r.rc = r->sel_r.rc = r->status_r.rc = TR_PENDING;
		r->list_r.rc = o->describe ? TR_PENDING : 0;
		if (!r->role_arn || r->ctx_in) {
			ctx_ready(o, r, 0, NULL);
			continue;
		}
		err_clear(err);
		r->cb[0] = (struct tr_cb){ o, r, &r->ctx_r };
		rc = sts_assume_role_async(o->sched, o->base, r->role_arn, o->session_name, o->external_id, 0,
					   &r->creds, assumed, &r->cb[0], err);
		if (rc)
			ctx_ready(o, r, rc, err->msg);
		else
			o->calls++;
	}
	err_clear(err);
	rc = aws_sched_run(o->sched, err);
	for (i = 0; i < n; i++) {
		/* the scheduler stopped (--timeout): what is not in is an error */
		if (v[i].ctx_r.rc == TR_PENDING)
			set_result(&v[i].ctx_r, rc ? rc : TK_EFAIL, rc ? err->msg : "the call did not complete");
		reads_fail(&v[i], rc ? rc : TK_EFAIL, rc ? err->msg : "the call did not complete");
	}
	return rc;
}

void trail_read_release(struct trail_read *r)
{
	aws_creds_release(&r->creds);
	if (r->has_ctx)
		aws_ctx_release(&r->ctx);
	r->has_ctx = false;
	ct_trail_release(&r->trail);
	json_decref(r->selectors);
	r->selectors = NULL;
	ct_status_release(&r->status);
	ct_trails_free(r->all, r->nall);
	r->all = NULL;
	r->nall = 0;
}
