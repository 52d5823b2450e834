/* plan.h: build the whole plan of a config in memory (jansson trees) and
 * write it to a directory atomically.  See README "trailkeep plan". */
#ifndef TK_PLAN_H
#define TK_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "err.h"

#define TK_BUCKET_POLICY_LIMIT 20480   /* S3 bucket policy: 20 KB */
#define TK_KEY_POLICY_LIMIT 32768      /* KMS key policy: 32 KB */
#define TK_ROLE_TRUST_LIMIT 2048       /* IAM role trust policy (default quota) */
#define TK_ROLE_INLINE_LIMIT 10240     /* IAM inline policies of one role */
#define TK_TOPIC_POLICY_LIMIT 30720    /* SNS topic policy: 30 KB */

struct plan_file {
	char *path;      /* relative: "central/bucket-policy.json" */
	json_t *doc;
	char *text;      /* a text file (the athena SQL files): written as is; doc is NULL */
};

struct plan {
	struct plan_file *files;   /* in write order; files[0] is plan.json */
	size_t nfiles, alloc_files;
	size_t naccounts, nregions, ntrails, nstatements;
	size_t bucket_policy_size, key_policy_size, access_log_policy_size;  /* minified bytes */
};

struct plan_opts {
	const char *templates_dir;
	bool no_limits;            /* tests: render even when a policy is too large */
};

/* The variable context templates are rendered with (see README). */
json_t *plan_vars(const struct tk_config *c);

/* Render every template.  TK_EUSAGE on a template problem, TK_ELIMIT when a
 * policy is over its size limit (message names limit, size and the fix). */
int plan_build(struct plan *out, const struct tk_config *c, const struct plan_opts *o,
	       struct errbuf *err);
void plan_release(struct plan *p);
const struct plan_file *plan_find(const struct plan *p, const char *path);

/* Deterministic text of a document: 2-space indent, sorted keys, newline. */
char *plan_dump(const json_t *doc);
/* Size AWS counts: the minified JSON. */
size_t plan_policy_size(const json_t *doc);

/* Write the plan to dir atomically: a temporary directory next to dir, then
 * renamed over it (the previous plan stays intact on any failure).  Refuses
 * to replace an existing non-empty directory without plan.json.  *changed
 * (may be NULL) is set when the new plan differs from the previous one. */
int plan_write(const struct plan *p, const char *dir, bool *changed, struct errbuf *err);

#endif
