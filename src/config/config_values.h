/* config_values.h: rules for single config values (src/config/config_values.c). */
#ifndef TK_CONFIG_VALUES_H
#define TK_CONFIG_VALUES_H

#include <stdbool.h>
#include <stddef.h>

/* s is exactly n decimal digits */
bool cfg_all_digits(const char *s, size_t n);
/* an organization id: o- and 10 to 32 lower-case letters or digits */
bool cfg_valid_org_id(const char *s);
/* S3 bucket naming rules: NULL when valid, else why not */
const char *cfg_bucket_problem(const char *s);
/* CloudTrail trail name rules: NULL when valid, else why not */
const char *cfg_trail_name_problem(const char *s);
/* IAM role name (1 to 64 of letters, digits and +=,.@_-) */
bool cfg_valid_role_name(const char *s);
/* sts:ExternalId (2 to 1224 of letters, digits and +=,.@:/_-) */
bool cfg_valid_external_id(const char *s);
/* arn:PARTITION:iam::ACCOUNT:root | role/PATH/NAME | user/PATH/NAME */
bool cfg_valid_principal(const char *s);
/* alias/NAME, not alias/aws/... */
bool cfg_valid_alias(const char *s);
/* true/yes/on/1, false/no/off/0: 0, else -1 */
int cfg_parse_bool(const char *v, bool *out);
/* decimal 0..max into *out: 0, else -1 */
int cfg_parse_uint(const char *v, long max, int *out);

#endif
