/* diff.h: unified diffs of two texts (for `apply --dry-run`), and the
 * semantic normalisation of IAM policy documents so that two policies that
 * mean the same compare equal.
 *
 * The line diff is a longest-common-subsequence diff over lines (dynamic
 * programming, bounded by DIFF_MAX_CELLS; two texts too large for it are
 * shown as one hunk that removes every old line and adds every new one).
 * Output looks like `diff -u`:
 *   --- NAME_A
 *   +++ NAME_B
 *   @@ -1,4 +1,5 @@
 *    context
 *   -old
 *   +new
 * Library code: never prints.  Implemented in src/apply/diff.c. */
#ifndef TK_DIFF_H
#define TK_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"

#define DIFF_MAX_LINES 200000
#define DIFF_MAX_CELLS (8u * 1024 * 1024)   /* LCS table entries (4 bytes each) */
#define DIFF_CONTEXT 3

/* Append the unified diff of a -> b to out (names for the --- / +++ lines;
 * a or b NULL = empty text).  Returns 1 when the texts differ (diff
 * appended), 0 when they are equal (nothing appended), TK_ELIMIT when out's
 * limit is hit or a text has more than DIFF_MAX_LINES lines. */
int diff_unified(struct buf *out, const char *a, const char *b, const char *name_a,
		 const char *name_b, int context);

/* A normalised deep copy of a policy document: a single Statement object
 * becomes a one-element array; in each statement the values of Action,
 * NotAction, Resource, NotResource, each Principal/NotPrincipal member and
 * each Condition value are made canonical (a one-element array becomes the
 * string, longer lists of strings are sorted and de-duplicated).  Statement
 * order is kept (it matters to nobody, but users read it).  Caller decrefs. */
json_t *diff_policy_normalize(const json_t *doc);
/* Do a and b mean the same policy (equal after normalisation)? */
bool diff_policy_equal(const json_t *a, const json_t *b);
/* Deterministic pretty text of a JSON document (2-space indent, sorted keys,
 * trailing newline); with policy true it is normalised first.  Caller frees. */
char *diff_json_text(const json_t *doc, bool policy);

#endif
