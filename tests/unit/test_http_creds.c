/* test_http_creds.c: the network credential providers (creds_net.c) and
 * STS against the fake IMDSv2 / container / STS endpoints of
 * tests/integration/scriptserver.py on 127.0.0.1.  The clock is pinned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include "aws.h"
#include "creds_net.h"
#include "sts.h"

#define SECRET TU_SECRET

static struct tu_server srv;
static struct http_pool *pool;
static time_t now = 1700000000;

static int start_server(void **state)
{
	struct errbuf err;

	(void)state;
	if (http_pool_new(&pool, NULL, &err))
		return -1;
	return tu_scriptserver_start(&srv, "creds");
}

static int stop_server(void **state)
{
	(void)state;
	http_pool_free(pool);
	tu_server_stop(&srv);
	return 0;
}


static time_t clock_fn(void *ud)
{
	(void)ud;
	return now;
}

struct fx {
	struct creds_net *net;
	struct endpoint_config ep;
	char *sts_url;
	char *imds_url;
};

static void fx_init(struct fx *f, const char *imds)
{
	struct creds_net_config c;

	memset(f, 0, sizeof(*f));
	f->sts_url = xasprintf("http://127.0.0.1:%d/sts", srv.port);
	f->imds_url = imds ? xstrdup(imds) : xasprintf("http://127.0.0.1:%d/", srv.port);
	f->ep.cli_url = f->sts_url;
	memset(&c, 0, sizeof(c));
	c.http = pool;
	c.endpoints = &f->ep;
	c.clock = clock_fn;
	c.seed = 7;
	c.imds_endpoint = f->imds_url;
	c.metadata_timeout_ms = 2000;
	c.backoff_scale = 0.001;
	f->net = creds_net_new(&c);
}

static void fx_release(struct fx *f)
{
	creds_net_free(f->net);
	free(f->sts_url);
	free(f->imds_url);
}

static char *server_get(const char *path)
{
	return tu_scriptserver_get(pool, &srv, path);
}

static long server_count(const char *uid)
{
	return tu_scriptserver_count(pool, &srv, uid);
}

static void source_creds(struct aws_creds *c)
{
	memset(c, 0, sizeof(*c));
	c->access_key_id = xstrdup("AKIDEXAMPLE");
	c->secret_access_key = xstrdup(SECRET);
}

static void test_imds_v2(void **state)
{
	struct fx f;
	struct aws_creds c;
	struct errbuf err;
	const struct creds_net_ops *ops;

	(void)state;
	fx_init(&f, NULL);
	ops = creds_net_ops(f.net);
	assert_int_equal(ops->imds(ops->ud, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIAIMDS");
	assert_string_equal(c.secret_access_key, "imdssecret");
	assert_string_equal(c.session_token, "imdstoken");
	assert_int_equal(c.expiration, 1700003600);
	aws_creds_release(&c);
	fx_release(&f);
}

static void test_imds_absent(void **state)
{
	struct fx f;
	struct aws_creds c;
	struct errbuf err;
	const struct creds_net_ops *ops;

	(void)state;
	fx_init(&f, "http://127.0.0.1:1");
	ops = creds_net_ops(f.net);
	assert_int_equal(ops->imds(ops->ud, &c, &err), TK_ENOTFOUND);
	fx_release(&f);
}

static void test_container(void **state)
{
	struct fx f;
	struct aws_creds c;
	struct errbuf err;
	const struct creds_net_ops *ops;
	char *u = xasprintf("http://127.0.0.1:%d/container/creds", srv.port);

	(void)state;
	fx_init(&f, NULL);
	ops = creds_net_ops(f.net);
	assert_int_equal(ops->container(ops->ud, &c, u, "ctok", &err), 0);
	assert_string_equal(c.access_key_id, "ASIACONT");
	assert_int_equal(c.expiration, 1700003600);
	aws_creds_release(&c);
	assert_int_equal(ops->container(ops->ud, &c, u, "wrong", &err), TK_EAUTH);
	assert_string_equal(err.msg, "container credentials: HTTP 403 from the credentials endpoint");
	assert_null(strstr(err.msg, "wrong"));
	free(u);
	fx_release(&f);
}

static void test_assume_role(void **state)
{
	struct fx f;
	struct aws_creds src, c;
	struct errbuf err;
	const struct creds_net_ops *ops;
	char *last;

	(void)state;
	fx_init(&f, NULL);
	ops = creds_net_ops(f.net);
	source_creds(&src);
	assert_int_equal(ops->assume_role(ops->ud, &c, &src, "arn:aws:iam::222222222222:role/Audit", "sess-1",
					  "ext id", 3600, "eu-west-1", &err), 0);
	assert_string_equal(c.access_key_id, "ASIATEMP");
	assert_string_equal(c.secret_access_key, "tempsecret");
	assert_int_equal(c.expiration, 1700003600);
	last = server_get("/last");
	assert_non_null(strstr(last, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222"
				     "%3Arole%2FAudit&RoleSessionName=sess-1&ExternalId=ext%20id&DurationSeconds=3600"));
	assert_non_null(strstr(last, "/eu-west-1/sts/aws4_request"));
	free(last);
	aws_creds_release(&c);
	aws_creds_release(&src);
	fx_release(&f);
}

static void test_web_identity(void **state)
{
	struct fx f;
	struct aws_creds c;
	struct errbuf err;
	const struct creds_net_ops *ops;
	char path[64];
	FILE *fp;
	char *last;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/tk-webtoken-%d", (int)getpid());
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("webtoken\n", fp);
	fclose(fp);
	fx_init(&f, NULL);
	ops = creds_net_ops(f.net);
	assert_int_equal(ops->web_identity(ops->ud, &c, "arn:aws:iam::222222222222:role/Web", path, "s", "us-east-1",
					   &err), 0);
	assert_string_equal(c.access_key_id, "ASIATEMP");
	aws_creds_release(&c);
	last = server_get("/last");
	assert_null(strstr(last, "authorization"));
	assert_non_null(strstr(last, "WebIdentityToken=webtoken"));
	free(last);
	unlink(path);
	assert_int_equal(ops->web_identity(ops->ud, &c, "arn:aws:iam::222222222222:role/Web", path, "s", "us-east-1",
					   &err), TK_EAUTH);
	assert_non_null(strstr(err.msg, "web identity token file: cannot open '"));
	assert_non_null(strstr(err.msg, path));
	fx_release(&f);
}

static void test_account_cache_and_refresh(void **state)
{
	struct fx f;
	struct aws_creds src, c;
	struct errbuf err;
	long before;

	(void)state;
	fx_init(&f, NULL);
	source_creds(&src);
	now = 1700000000;
	before = server_count("sts-AssumeRole");
	assert_int_equal(aws_account_creds(f.net, &src, "aws", "333333333333", "OrgAccess", NULL, "us-east-1", &c,
					   &err), 0);
	assert_string_equal(c.source, "assume role 'arn:aws:iam::333333333333:role/OrgAccess'");
	aws_creds_release(&c);
	assert_int_equal(aws_account_creds(f.net, &src, "aws", "333333333333", "OrgAccess", NULL, "us-east-1", &c,
					   &err), 0);
	aws_creds_release(&c);
	assert_int_equal(server_count("sts-AssumeRole"), before + 1);
	/* another account: its own credentials */
	assert_int_equal(aws_account_creds(f.net, &src, "aws", "444444444444", "OrgAccess", NULL, "us-east-1", &c,
					   &err), 0);
	aws_creds_release(&c);
	assert_int_equal(server_count("sts-AssumeRole"), before + 2);
	/* within 5 minutes of expiry (1700003600): assumed again */
	now = 1700003600 - 200;
	assert_int_equal(aws_account_creds(f.net, &src, "aws", "333333333333", "OrgAccess", NULL, "us-east-1", &c,
					   &err), 0);
	aws_creds_release(&c);
	assert_int_equal(server_count("sts-AssumeRole"), before + 3);
	now = 1700000000;
	aws_creds_release(&src);
	fx_release(&f);
}

static void test_caller_identity(void **state)
{
	struct fx f;
	struct aws_ctx ctx;
	struct aws_creds src;
	struct errbuf err;
	struct sts_identity id;
	struct aws_ctx_options o;
	char *stats;

	(void)state;
	fx_init(&f, NULL);
	source_creds(&src);
	memset(&o, 0, sizeof(o));
	o.http = pool;
	o.creds = &src;
	o.region = "us-east-1";
	o.endpoints = &f.ep;
	o.clock = clock_fn;
	assert_int_equal(aws_ctx_init(&ctx, &o, &err), 0);
	assert_int_equal(sts_get_caller_identity(&ctx, &id, &err), 0);
	assert_string_equal(id.account, "111111111111");
	assert_string_equal(id.arn, "arn:aws:iam::111111111111:user/t");
	sts_identity_release(&id);
	aws_ctx_release(&ctx);
	aws_creds_release(&src);
	fx_release(&f);
	stats = server_get("/stats");
	assert_non_null(strstr(stats, "\"sig_bad\": 0,"));
	free(stats);
}

static void test_sts_time(void **state)
{
	time_t t;

	(void)state;
	assert_int_equal(sts_parse_time("2023-11-14T22:13:20Z", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(sts_parse_time("2023-11-14T22:13:20.123Z", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(sts_parse_time("2023-11-14T22:13:20+00:00", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(sts_parse_time("yesterday", &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imds_v2),
		cmocka_unit_test(test_imds_absent),
		cmocka_unit_test(test_container),
		cmocka_unit_test(test_assume_role),
		cmocka_unit_test(test_web_identity),
		cmocka_unit_test(test_account_cache_and_refresh),
		cmocka_unit_test(test_caller_identity),
		cmocka_unit_test(test_sts_time),
	};

	return cmocka_run_group_tests(tests, start_server, stop_server);
}
