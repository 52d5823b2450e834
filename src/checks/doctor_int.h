/* doctor_int.h: what the parts of doctor share (not an API; doctor.h is).
 *
 *   doctor.c             the run: cells diagnosed in order, evidence, fixes
 *   doctor_causes.c      the cause table and names, the report as JSON
 *   doctor_cache.c       the run cache: credentials (AssumeRole), contexts,
 *                        trails, bucket and key lookups, each read once
 *   doctor_culprit.c     the culprit search (LookupEvents)
 *   doctor_checks.c      the checks on the trail and the organization
 *   doctor_check_store.c the checks on the bucket, the key and the region
 *   doctor_select.c      cell selection without a verify report
 *   doctor_monitoring.c  the [monitoring] causes */
#ifndef TK_DOCTOR_INT_H
#define TK_DOCTOR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "aws.h"
#include "buf.h"
#include "cloudtrail.h"
#include "doctor.h"
#include "kms.h"
#include "org_check.h"
#include "policy.h"
#include "trail_reads.h"

#define FIX_DIFF_LIMIT (256u * 1024)
#define LINE_LIMIT 4096

struct acct_creds {
	char account[TK_ACCOUNT_ID_LEN + 1];
	struct aws_creds creds;
	int rc;
	char msg[ERRBUF_LEN];
};

struct rctx {
	char account[TK_ACCOUNT_ID_LEN + 1];
	char *region;
	struct aws_ctx ctx;
	int rc;
	char msg[ERRBUF_LEN];
};

/* A per-trail call made once per run: whether it was made, its result and
 * its error message. */
struct lazy {
	bool loaded;
	int rc;
	char msg[ERRBUF_LEN];
};

struct trail_cache {
	char *arn;
	char *owner;
	char *home;
	bool loaded;
	int rc;                  /* GetTrail: 0, TK_ENOTFOUND, other */
	char msg[ERRBUF_LEN];
	struct ct_trail trail;
	struct lazy status_l;
	struct ct_status status;
	struct lazy sel_l;
	json_t *selectors;
};

struct res_cache {           /* bucket policy / key policy / location, by name */
	char *name;
	int rc;
	char msg[ERRBUF_LEN];
	char *text;
	json_t *doc;
	char *region;
	struct kms_key key;
};

struct ev_cache {
	char *key;               /* account|region|event name|match... */
	int rc;
	char msg[ERRBUF_LEN];
	json_t *doc;             /* the newest matching event, or NULL */
	time_t time;
};

struct dstate {
	const struct doctor_opts *o;
	char *self_account;
	struct acct_creds *creds;
	size_t ncreds, alloc_creds;
	struct rctx **ctxs;
	size_t nctxs, alloc_ctxs;
	struct trail_cache **trails;   /* entries never move: checks hold them */
	size_t ntrails, alloc_trails;
	struct res_cache **bpol, **bloc, **keys, **kpol;
	size_t nbpol, nbloc, nkeys, nkpol;
	size_t abpol, abloc, akeys, akpol;   /* ALLOC_GROW's counts */
	struct ev_cache *evc;
	size_t nevc, alloc_evc;
	size_t calls;
	struct org_view org;           /* Organizations, read once (org_check.h) */
	/* the trails of the examined cells' owners, read together before the
	 * cells are examined (dr_prefetch_trails); read-only, shared with the
	 * workers, owned by the run's first state */
	struct trail_read *pre;
	size_t npre;
	char **pre_strs;               /* the ARNs and roles pre borrows */
	bool pre_owner;
	const struct org_view *shared_org;   /* a worker's: the run's view, read-only */
};

struct cellctx {
	struct dstate *st;
	struct doctor_cell *c;
	struct trail_cache *t;
	const char *bucket;      /* where the trail writes (its own, else the config's) */
	const char *prefix;      /* the trail's S3KeyPrefix (NULL: none) */
	const char *deferred_error;
	bool incomplete;         /* a check could not be made */
	char incomplete_msg[ERRBUF_LEN];
};

typedef int (*trail_fetch)(struct aws_ctx *ctx, struct trail_cache *t, struct errbuf *e);

/* doctor.c */
void dr_ev(struct doctor_cell *c, const char *fmt, ...) TK_PRINTF(2, 3);
void dr_set_fix(struct doctor_cell *c, const char *fmt, ...) TK_PRINTF(2, 3);
void dr_culprit_release(struct doctor_culprit *k);
void dr_fix_apply(struct dstate *st, struct doctor_cell *c, const char *before);
void dr_set_fix_note(struct doctor_cell *c, const char *note);
bool dr_sid_owned(const json_t *st);
json_t *dr_merge_policy(const json_t *current, const json_t *desired);
void dr_fix_diff_docs(struct doctor_cell *c, const json_t *before, const json_t *after, bool policy,
		      const char *name);
const json_t *dr_plan_doc(struct dstate *st, const char *path);
const json_t *dr_plan_trail(struct dstate *st, const char *account);

/* doctor_causes.c */
bool dr_delivery_error_deferred(const char *v);

/* doctor_cache.c */
void dr_state_release(struct dstate *st);
int dr_prefetch_trails(struct dstate *st, const bool *examine, struct errbuf *err);
int dr_self_account(struct dstate *st, struct errbuf *err);
struct aws_ctx *dr_ctx_for(struct dstate *st, const char *account, const char *region,
			   struct errbuf *err);
const char *dr_trail_owner(const struct tk_config *c, const char *account);
struct trail_cache *dr_trail_get(struct dstate *st, const char *account);
int dr_trail_status(struct dstate *st, struct trail_cache *t);
int dr_trail_selectors(struct dstate *st, struct trail_cache *t);
struct res_cache *dr_bucket_policy(struct dstate *st, const char *bucket);
struct res_cache *dr_bucket_location(struct dstate *st, const char *bucket);
const char *dr_arn_region(const char *arn, char *out, size_t n);
struct res_cache *dr_key_desc(struct dstate *st, const char *key_id);
struct res_cache *dr_key_policy(struct dstate *st, const char *key_arn);

/* doctor_culprit.c */
int dr_find_culprit(struct dstate *st, struct doctor_cell *c, const char *account, const char *region,
		    const char *const *names, size_t nnames, const char *const *match, size_t nmatch);

/* doctor_checks.c */
void dr_incomplete(struct cellctx *x, const char *msg);
char *dr_cell_key(struct cellctx *x, bool digest);
int dr_check_trail(struct cellctx *x);
int dr_check_delivery_error(struct cellctx *x);
void dr_trail_settings_diff(struct cellctx *x, const char *key_arn);
int dr_check_prefix(struct cellctx *x);
int dr_check_selectors(struct cellctx *x);
int dr_check_global(struct cellctx *x);
int dr_check_validation(struct cellctx *x);
int dr_check_org(struct cellctx *x, const struct doctor_cell_in *in);
const struct org_view *dr_org_get(struct dstate *st);

/* doctor_check_store.c */
int dr_check_bucket_policy(struct cellctx *x);
int dr_check_kms(struct cellctx *x);
int dr_check_bucket(struct cellctx *x);
int dr_check_region(struct cellctx *x);

/* doctor_monitoring.c: [monitoring] causes of a cell whose symptom is a
 * monitoring code; 1 found, 0 not (incomplete set when a read failed) */
int dr_check_monitoring(struct cellctx *x, const struct doctor_cell_in *in);

/* doctor_select.c */
bool dr_listed(const char *const *v, size_t n, const char *s);
char *dr_control_plane_drift(struct dstate *st, struct trail_cache *t);

#endif
