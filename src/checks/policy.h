/* policy.h: a built-in IAM policy evaluator for resource policies (S3 bucket
 * policies, KMS key policies, trust policies) and identity policies.
 *
 * One request (principal, action, resource, condition context) is evaluated
 * against one policy document.  The result is Allow, an explicit Deny, or an
 * implicit deny, with the deciding statement and, for an implicit deny, a
 * precise sentence about the closest near miss, e.g.
 *
 *   statement 'TrailkeepWrite111' matches principal and action but Resource
 *   'arn:aws:s3:::b/AWSLogs/111/(star)' does not match 'arn:aws:s3:::b/AWSLogs/222/x'
 *
 * Semantics (AWS's, and the same as tests/fakeaws/policy.py; the shared table
 * tests/policy_cases.json keeps the two equal):
 *  - Effect Allow|Deny; an applicable Deny always wins; no applicable Allow =
 *    implicit deny.
 *  - Principal "*" | {"AWS": "*" | account id | arn:...:root | user/role ARN,
 *    "Service": name, ...} (string or array); an account id / root ARN matches
 *    every principal of that account; {"AWS": "*"} matches everyone,
 *    services included.  NotPrincipal.  Service names compare
 *    case-insensitively.  A statement without Principal applies to everyone
 *    (identity policies).
 *  - Action/NotAction: `*` and `?` wildcards, case-insensitive.
 *  - Resource/NotResource: wildcards, case-sensitive; "arn:" patterns are
 *    compared per ARN component (wildcards do not cross the first five
 *    colons).  A NULL request resource skips the resource check.
 *  - Condition: String{,Not}Equals{,IgnoreCase}, String{,Not}Like,
 *    Arn{Equals,Like,NotEquals,NotLike}, Bool, Null, Numeric*, Date* (ISO-8601
 *    or epoch seconds), {,Not}IpAddress (IPv4 CIDR; IPv6 never matches),
 *    BinaryEquals; the ...IfExists suffix; ForAnyValue: / ForAllValues:.
 *    Several values for one key = OR; several keys/operators = AND.  Keys are
 *    case-insensitive.  A key that is absent (or has no values): Null
 *    decides on absence; ...IfExists is true; ForAllValues is true
 *    (vacuously); ForAnyValue is false; an unqualified negated operator
 *    (StringNotEquals, ArnNotLike, NotIpAddress, ...) is true; every other
 *    operator is false.  Multi-valued context keys without a qualifier: a
 *    positive operator needs one matching value, a negated one needs every
 *    value to miss.
 *  - Policy variables (${aws:username}) are NOT expanded (matched literally).
 *
 * Malformed documents (wrong JSON types, unknown Effect or condition
 * operator, both Action and NotAction, ...) are an error (TK_EUSAGE) with a
 * message naming the statement; oversized ones are TK_ELIMIT.  The library
 * never prints.
 */
#ifndef TK_POLICY_H
#define TK_POLICY_H

#include <stddef.h>
#include <jansson.h>

#include "err.h"

#define POLICY_MAX_TEXT        (256 * 1024)  /* policy document as text */
#define POLICY_MAX_STATEMENTS  1024
#define POLICY_MAX_VALUES      4096          /* entries in one list */
#define POLICY_MAX_STRING      4096          /* one pattern / value, bytes */
#define POLICY_CTX_MAX_KEYS    256
#define POLICY_CTX_MAX_VALUES  1024          /* values of one context key */

enum policy_decision {
	POLICY_IMPLICIT_DENY = 0,
	POLICY_ALLOW = 1,
	POLICY_DENY = 2          /* explicit deny */
};

enum policy_principal_kind {
	PRINCIPAL_ANONYMOUS = 0, /* unsigned request: only "*" matches */
	PRINCIPAL_AWS,           /* an account root, IAM user or role, or a session */
	PRINCIPAL_SERVICE        /* e.g. cloudtrail.amazonaws.com */
};

/* Borrowed strings; they must outlive the evaluation. */
struct policy_principal {
	enum policy_principal_kind kind;
	const char *arn;      /* AWS: principal ARN (arn:aws:iam::A:root|user/x|role/x,
	                         arn:aws:sts::A:assumed-role/R/s); SERVICE: its name */
	const char *account;  /* AWS: 12-digit account; NULL = taken from arn */
	const char *role_arn; /* AWS, optional: the role behind an assumed-role session */
};

/* The condition context: key -> zero or more string values.  A key never
 * added, or added with no value, is absent. */
struct policy_context;

struct policy_context *policy_context_new(void);
void policy_context_free(struct policy_context *ctx);
/* Append one value to key (creating it); keys compare case-insensitively.
 * TK_ELIMIT past the POLICY_CTX_* limits. */
int policy_context_add(struct policy_context *ctx, const char *key, const char *value,
                       struct errbuf *err);
/* Declare key present-but-empty (same as absent for every operator). */
int policy_context_touch(struct policy_context *ctx, const char *key, struct errbuf *err);
/* Build a context from a JSON object {"key": "v" | ["v1", "v2"] | true | 5 | null}.
 * Booleans become "true"/"false", numbers their decimal text, null/[] = absent. */
int policy_context_from_json(struct policy_context **out, const json_t *obj,
                             struct errbuf *err);

/* A principal from the JSON form used by tests/policy_cases.json and the fake
 * AWS: {"AWS": ARN, "Account": ID, "RoleArn": ARN} | {"Service": NAME} |
 * {} or {"AWS": "*"} (anonymous).  Strings are borrowed from obj. */
int policy_principal_from_json(struct policy_principal *out, const json_t *obj,
                               struct errbuf *err);

struct policy_request {
	struct policy_principal principal;
	const char *action;                    /* "s3:PutObject" */
	const char *resource;                  /* ARN, or NULL: not checked */
	const struct policy_context *context;  /* NULL = empty */
};

#define POLICY_EXPLAIN_LEN 1024
#define POLICY_SID_LEN     256

struct policy_result {
	enum policy_decision decision;
	/* Allow/Deny: the deciding statement (first applicable Deny, else first
	 * applicable Allow).  Implicit: the closest near-miss Allow statement, or
	 * -1 when there is none.  0-based index into Statement. */
	int statement;
	char sid[POLICY_SID_LEN];              /* "" when the statement has no Sid */
	/* One line, printable ASCII (other bytes shown as \xNN), no full stop:
	 *   "allowed by statement 'X'"  /  "explicitly denied by statement 'X'"
	 *   "statement 'X' matches principal, action and resource but condition
	 *    StringEquals aws:SourceArn: context value 'a' not in ['b']"  */
	char explain[POLICY_EXPLAIN_LEN];
};

/* Check a policy document's structure (also done by policy_eval). */
int policy_check(const json_t *policy, struct errbuf *err);

/* Evaluate.  0 with *out filled, or a negative tk_err with err set (the
 * policy is malformed; *out then says IMPLICIT_DENY). */
int policy_eval(struct policy_result *out, const json_t *policy,
                const struct policy_request *req, struct errbuf *err);
/* The same on JSON text (at most POLICY_MAX_TEXT bytes). */
int policy_eval_text(struct policy_result *out, const char *text, size_t len,
                     const struct policy_request *req, struct errbuf *err);
/* policy_eval_text for a service principal (e.g. "cloudwatch.amazonaws.com")
 * calling action on resource (NULL: none), with the request context kv:
 * nkv strings, name and value pairs ("aws:SourceArn", ARN, ...). */
int policy_eval_service(struct policy_result *out, const char *text, const char *service, const char *action,
			const char *resource, const char *const *kv, size_t nkv, struct errbuf *err);
/* Parse policy text into a jansson tree, with the size limit.  Caller decrefs. */
int policy_parse(json_t **out, const char *text, size_t len, struct errbuf *err);

/* "Allow", "Deny", "Implicit" (the names used by the case table). */
const char *policy_decision_name(enum policy_decision d);
/* Inverse of policy_decision_name; -1 when unknown. */
int policy_decision_from_name(const char *name);

/* Wildcard match (`*` any run, `?` one character), linear-space, no
 * recursion; exposed for tests.  Returns 1 on match. */
int policy_glob(const char *pattern, const char *value, int ignore_case);
/* ArnLike/ArnEquals matching (per component).  Returns 1 on match. */
int policy_arn_match(const char *pattern, const char *value);

#endif
