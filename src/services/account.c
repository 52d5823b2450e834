/* account.c: see account.h. */
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "banned.h"

int account_region_opt_status(struct aws_ctx *ctx, const char *region, char **status, struct errbuf *err)
{
	json_t *in, *resp = NULL;
	const char *s;
	int rc;

	*status = NULL;
	in = json_pack("{s:s}", "RegionName", region);
	rc = aws_rest_json_call(ctx, "account", "/getRegionOptStatus", "GetRegionOptStatus", region, in, &resp,
				err);
	json_decref(in);
	if (rc)
		return rc;
	s = json_string_value(json_object_get(resp, "RegionOptStatus"));
	if (!s || !*s || strlen(s) > 64)
		rc = err_set(err, TK_EFAIL, "account GetRegionOptStatus '%s': unexpected response: no RegionOptStatus",
			     region);
	else
		*status = xstrdup(s);
	json_decref(resp);
	return rc;
}

bool account_region_usable(const char *status)
{
	return status && (!strcmp(status, "ENABLED") || !strcmp(status, "ENABLED_BY_DEFAULT"));
}
