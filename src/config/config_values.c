/* config_values.c: the rules for single config values (AWS names, ids,
 * ARNs, booleans, numbers): pure functions, no I/O.  config.c applies them
 * key by key (README "Configuration"). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_values.h"
#include "banned.h"

bool cfg_all_digits(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return false;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool cfg_valid_org_id(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 12 || n > 34 || strncmp(s, "o-", 2))
		return false;
	for (i = 2; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* S3 bucket naming rules: NULL when valid, else why not. */
const char *cfg_bucket_problem(const char *s)
{
	size_t n = strlen(s), i;
	int dots = 0, digits_dots = 1;

	if (n < 3 || n > 63)
		return "must be 3 to 63 characters long";
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!(islower(ch) || isdigit(ch) || ch == '.' || ch == '-'))
			return "may contain only lower-case letters, digits, '.' and '-'";
		if (ch == '.')
			dots++;
		else if (!isdigit(ch))
			digits_dots = 0;
	}
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return "must begin and end with a letter or digit";
	if (strstr(s, ".."))
		return "may not contain two adjacent periods";
	if (digits_dots && dots == 3)
		return "may not be formatted as an IP address";
	if (!strncmp(s, "xn--", 4) || !strncmp(s, "sthree-", 7))
		return "may not start with 'xn--' or 'sthree-'";
	if ((n >= 8 && !strcmp(s + n - 8, "-s3alias")) || (n >= 7 && !strcmp(s + n - 7, "--ol-s3")))
		return "may not end with '-s3alias' or '--ol-s3'";
	return NULL;
}

/* CloudTrail trail name rules (aws-wire.md 3.1). */
const char *cfg_trail_name_problem(const char *s)
{
	size_t n = strlen(s), i;
	int digits_dots = 1;

	if (n < 3 || n > 128)
		return "must be 3 to 128 characters long";
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!(isalnum(ch) || ch == '.' || ch == '_' || ch == '-'))
			return "may contain only letters, digits, '.', '_' and '-'";
		if (i > 0 && strchr("._-", ch) && strchr("._-", s[i - 1]))
			return "may not have adjacent '.', '_' or '-'";
		if (!isdigit(ch) && ch != '.')
			digits_dots = 0;
	}
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return "must begin and end with a letter or digit";
	if (digits_dots)
		return "may not be formatted as an IP address";
	return NULL;
}

bool cfg_valid_role_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("+=,.@_-", s[i]))
			return false;
	return true;
}

bool cfg_valid_external_id(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 2 || n > 1224)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("+=,.@:/_-", s[i]))
			return false;
	return true;
}

/* arn:PARTITION:iam::ACCOUNT:root | role/PATH/NAME | user/PATH/NAME */
bool cfg_valid_principal(const char *s)
{
	const char *p;
	static const char *const parts[] = { "arn:aws:iam::", "arn:aws-cn:iam::", "arn:aws-us-gov:iam::" };
	size_t i, pl = 0;

	for (i = 0; i < 3; i++)
		if (!strncmp(s, parts[i], strlen(parts[i])))
			pl = strlen(parts[i]);
	if (!pl)
		return false;
	p = s + pl;
	for (i = 0; i < 12; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	if (p[12] != ':')
		return false;
	p += 13;
	if (!strcmp(p, "root"))
		return true;
	if (strncmp(p, "role/", 5) && strncmp(p, "user/", 5))
		return false;
	p += 5;
	if (!*p || p[strlen(p) - 1] == '/')
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("+=,.@_-/", *p))
			return false;
	return true;
}

bool cfg_valid_alias(const char *s)
{
	size_t n = strlen(s), i;

	if (strncmp(s, "alias/", 6) || n == 6 || n > 256 || !strncmp(s, "alias/aws/", 10))
		return false;
	for (i = 6; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("/_-", s[i]))
			return false;
	return true;
}

int cfg_parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

int cfg_parse_uint(const char *v, long max, int *out)
{
	char *end;
	long x;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || *end || x < 0 || x > max)
		return -1;
	*out = (int)x;
	return 0;
}
