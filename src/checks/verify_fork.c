/* verify_fork.c: a vstate for another thread (verify_int.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_int.h"
#include "aws_async.h"
#include "buf.h"
#include "banned.h"

int vfork_init(struct vfork *f, const struct vstate *from, struct findings *out, unsigned seq)
{
	struct errbuf e;

	memset(f, 0, sizeof(*f));
	err_clear(&e);
	if (!from->o->http_opts || aws_ctx_fork(&f->base, &f->pool, from->o->aws, from->o->http_opts, seq, &e))
		return -1;
	aws_sched_new(&f->sched, f->pool);
	if (!f->sched) {
		aws_ctx_release(&f->base);
		http_pool_free(f->pool);
		return -1;
	}
	f->o = *from->o;
	f->o.aws = &f->base;
	f->o.sched = f->sched;
	f->o.progress = NULL;
	f->v.o = &f->o;
	f->v.cfg = from->cfg;
	f->v.out = out;
	f->v.caller = from->caller ? xstrdup(from->caller) : NULL;
	f->v.cells = from->cells;
	f->v.ncells = from->ncells;
	f->v.trail_owner = from->trail_owner;
	f->v.first_shard = from->first_shard;
	/* the key planned_key() read, if it did */
	f->v.key_loaded = from->key_loaded;
	f->v.key_arn = from->key_arn ? xstrdup(from->key_arn) : NULL;
	f->v.key_rc = from->key_rc;
	memcpy(f->v.key_msg, from->key_msg, sizeof(f->v.key_msg));
	return 0;
}

void vfork_adopt(struct vfork *f, const struct acct_ctx *from)
{
	struct acct_ctx *a = verify_acct_add(&f->v, from->account);
	struct errbuf e;

	a->rc = from->rc;
	snprintf(a->msg, sizeof(a->msg), "%s", from->msg);
	err_clear(&e);
	if (!a->rc && (a->rc = aws_ctx_clone(&a->ctx, &f->base, f->v.cfg->home_region, &from->ctx.creds, &e)))
		snprintf(a->msg, sizeof(a->msg), "%s", e.msg);
}

void vfork_release(struct vfork *f)
{
	vstate_release(&f->v);
	aws_sched_free(f->sched);
	aws_ctx_release(&f->base);
	http_pool_free(f->pool);
	memset(f, 0, sizeof(*f));
}
