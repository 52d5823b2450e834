/* verify_int.h: what verify.c shares with its step modules
 * (verify_monitoring.c); not part of the library's interface.
 * Library code: no printing, no clock (now comes in verify_opts). */
#ifndef TK_VERIFY_INT_H
#define TK_VERIFY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "cloudtrail.h"
#include "err.h"
#include "findings.h"
#include "verify.h"

struct acct_ctx {
	const char *account;
	struct aws_ctx ctx;         /* home region */
	int rc;                     /* 0: ctx ready */
	char msg[ERRBUF_LEN];
};

struct vstate {
	const struct verify_opts *o;
	const struct tk_config *cfg;
	struct findings *out;
	char *caller;               /* account of the caller's credentials */
	struct acct_ctx **ac;       /* stable pointers: contexts are never moved */
	size_t nac, alloc_ac;
	struct validate_cell *cells;
	size_t ncells;
	bool trail_owner;           /* this shard reports organization trail findings */
	bool first_shard;           /* this shard reports prefix_unexpected */
	bool key_loaded;            /* planned_key() asked KMS once */
	char *key_arn;              /* the key [central] kms_alias names, NULL: unknown */
	int key_rc;                 /* planned_key()'s result */
	char key_msg[ERRBUF_LEN];
};

/* An aws_ctx for account, in the home region (the caller's own credentials
 * or STS AssumeRole of [organization] assume_role); ->rc/->msg on failure. */
struct acct_ctx *verify_ctx_for(struct vstate *v, const char *account);
/* A new entry of v's account contexts (zeroed: rc 0, no context yet) */
struct acct_ctx *verify_acct_add(struct vstate *v, const char *account);
/* Frees v's account contexts, caller and key (not its cells: borrowed) */
void vstate_release(struct vstate *v);
/* cell_unchecked for every selected cell of account (NULL: every cell) */
void verify_unchecked(struct vstate *v, const char *account, const char *what, const char *msg);
/* A trail-level finding (organization mode: once, on the management
 * account's home-region cell; per-account: every selected cell of owner). */
void verify_trail_finding(struct vstate *v, const char *owner, enum finding_code code, const char *bucket,
			  const char *fmt, ...) TK_PRINTF(5, 6);

/* verify_fork.c: a vstate for another thread (verify's control plane beside
 * the bucket's reads; the trail owners' checks in parallel): from's settings
 * and cells, findings into out, its own context (aws_ctx_fork: pool,
 * endpoint cache, the caller's credentials as they are now; seq seeds its
 * backoff), scheduler and account contexts, and the key planned_key() read,
 * if it did.  Returns 0, or -1 when there is no pool for it
 * (from->o->http_opts NULL) or it cannot be made: the caller does the work
 * itself.  vfork_adopt: account a's context (made on another thread) joins
 * f's, with a's credentials (no second AssumeRole) or a's failure. */
struct vfork {
	struct vstate v;
	struct verify_opts o;
	struct aws_ctx base;
	struct http_pool *pool;
	struct aws_sched *sched;
};
int vfork_init(struct vfork *f, const struct vstate *from, struct findings *out, unsigned seq);
void vfork_adopt(struct vfork *f, const struct acct_ctx *a);
void vfork_release(struct vfork *f);

/* verify_monitoring.c */
/* [monitoring] on the trail of owner and the resources its alarms need */
void verify_monitoring_trail(struct vstate *v, const char *owner, const struct ct_trail *t,
			     const struct ct_status *st);
/* the S3 server access logs of the central bucket; 0 or an error (the
 * caller makes the central cell unchecked) */
int verify_access_logs(struct vstate *v, struct aws_ctx *central, struct errbuf *err);
/* The region of the access-log findings: home_region when the config declares
 * (and the run selects) the central account's home-region cell, else NULL (an
 * account-level finding: no cell shows what no cell is declared for) */
const char *verify_access_log_region(const struct vstate *v);

#endif
