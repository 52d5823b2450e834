/* policy_int.h: what the parts of the policy evaluator share (not an API;
 * policy.h is).
 *
 *   policy.c        JSON value helpers, message formatting, wildcard and ARN
 *                   matching, the condition context, the operator table,
 *                   decision names
 *   policy_check.c  the structure check and parser (policy_check,
 *                   policy_parse): every limit and shape before evaluation
 *   policy_eval.c   the evaluator (policy_eval): principals, conditions,
 *                   statements, the explanation of a decision */
#ifndef TK_POLICY_INT_H
#define TK_POLICY_INT_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "policy.h"

#define LIST_SHOW 8   /* list items shown in a message */

/* the condition context: key -> values */
struct ctx_entry {
	char *key;
	char **vals;
	size_t n, alloc;
};

struct policy_context {
	struct ctx_entry *e;
	size_t n, alloc;
};

/* condition operators (the table is in policy.c) */
enum family { F_STR_EQ, F_STR_EQ_IC, F_STR_LIKE, F_ARN, F_BOOL, F_NUM, F_DATE, F_IP, F_BIN, F_NULL };
enum cmp { C_EQ, C_LT, C_LE, C_GT, C_GE };

struct opdef {
	const char *name;
	enum family fam;
	enum cmp cmp;
	int negated;
};

enum qual { Q_NONE, Q_ANY, Q_ALL };

struct op {
	const struct opdef *def;
	enum qual qual;
	int if_exists;
};

/* policy.c */
/* jansson's iteration macros take a non-const json_t *; we only read */
json_t *pol_unconst(const json_t *v);
/* a string, or a list of strings (an empty list too) */
int pol_is_strlist(const json_t *v);
/* a string is a list of one */
size_t pol_list_len(const json_t *v);
const json_t *pol_list_get(const json_t *v, size_t i);
/* A JSON scalar as the string IAM compares: strings as they are, booleans
 * "true"/"false", numbers as their shortest decimal text (Python's str()). */
const char *pol_scalar_text(const json_t *v, char *tmp, size_t n);
int pol_is_scalar(const json_t *v);
/* Printable-ASCII quoting for messages: 'value', other bytes as \xNN. */
void pol_add_quoted(struct buf *b, const char *s);
/* the same escaping without quotes, into a fixed buffer (truncated) */
const char *pol_esc(char *tmp, size_t n, const char *s);
/* 'a' for a single string, ['a', 'b'] for a list (shortened past LIST_SHOW) */
void pol_add_list(struct buf *b, const json_t *v, int force_brackets);
void pol_add_json(struct buf *b, const json_t *v);
/* a Resource pattern against a resource ARN */
int pol_resource_match(const char *pattern, const char *res);
const struct ctx_entry *pol_ctx_find(const struct policy_context *ctx, const char *key);
/* a condition operator name (with ForAnyValue:/ForAllValues: and IfExists):
 * 0, or -1 when unknown */
int pol_op_parse(struct op *out, const char *name);

/* policy_check.c */
/* "statement N (Sid 'X')" for messages */
const char *pol_stmt_label(const json_t *st, size_t idx, char *tmp, size_t n);

#endif
