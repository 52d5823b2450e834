/* test_creds.c: profiles (inih), the credential chain with stub network
 * providers, the region resolver and endpoints, in temporary HOMEs with a
 * stub environment. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "creds.h"
#include "profile.h"
#include "endpoint.h"
#include "http.h"
#include "buf.h"

/* ---- stub environment -------------------------------------------------- */

#define MAXVARS 32
struct fakeenv {
	const char *k[MAXVARS], *v[MAXVARS];
	int n;
};

static const char *fe_get(void *ud, const char *name)
{
	struct fakeenv *e = ud;
	int i;

	for (i = 0; i < e->n; i++)
		if (!strcmp(e->k[i], name))
			return e->v[i];
	return NULL;
}

static void fe_set(struct fakeenv *e, const char *k, const char *v)
{
	e->k[e->n] = k;
	e->v[e->n] = v;
	e->n++;
}

static char home[256];
static struct fakeenv fenv;

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", home, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	char path[512];

	(void)state;
	snprintf(home, sizeof(home), "%s/tk-creds-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(home))
		return -1;
	snprintf(path, sizeof(path), "%s/.aws", home);
	if (mkdir(path, 0700))
		return -1;
	memset(&fenv, 0, sizeof(fenv));
	fe_set(&fenv, "HOME", home);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- stub network providers -------------------------------------------- */

struct netlog {
	int assume, web, container, imds;
	char role[128], session[128], ext[64], region[32], source_akid[64], uri[256], token[64];
	long duration;
	int imds_rc;
};

static void fill(struct aws_creds *out, const char *akid, const char *src)
{
	memset(out, 0, sizeof(*out));
	out->access_key_id = xstrdup(akid);
	out->secret_access_key = xstrdup("netsecret");
	out->session_token = xstrdup("nettoken");
	out->expiration = 2000000000;
	out->source = xstrdup(src);
}

static int st_assume(void *ud, struct aws_creds *out, const struct aws_creds *source, const char *role_arn,
		     const char *session_name, const char *external_id, long duration_s, const char *region,
		     struct errbuf *err)
{
	struct netlog *l = ud;

	l->assume++;
	snprintf(l->role, sizeof(l->role), "%s", role_arn);
	snprintf(l->session, sizeof(l->session), "%s", session_name);
	snprintf(l->ext, sizeof(l->ext), "%s", external_id ? external_id : "");
	snprintf(l->region, sizeof(l->region), "%s", region);
	snprintf(l->source_akid, sizeof(l->source_akid), "%s", source->access_key_id);
	l->duration = duration_s;
	fill(out, "ASIAROLE", "assumed");
	return 0;
}

static int st_web(void *ud, struct aws_creds *out, const char *role_arn, const char *token_file,
		  const char *session_name, const char *region, struct errbuf *err)
{
	struct netlog *l = ud;

	l->web++;
	snprintf(l->role, sizeof(l->role), "%s", role_arn);
	snprintf(l->uri, sizeof(l->uri), "%s", token_file);
	fill(out, "ASIAWEB", "web");
	return 0;
}

static int st_container(void *ud, struct aws_creds *out, const char *full_uri, const char *auth_token,
			struct errbuf *err)
{
	struct netlog *l = ud;

	l->container++;
	snprintf(l->uri, sizeof(l->uri), "%s", full_uri);
	snprintf(l->token, sizeof(l->token), "%s", auth_token ? auth_token : "");
	fill(out, "ASIACONTAINER", "container");
	return 0;
}

static int st_imds(void *ud, struct aws_creds *out, struct errbuf *err)
{
	struct netlog *l = ud;

	l->imds++;
	if (l->imds_rc)
		return l->imds_rc;
	fill(out, "ASIAIMDS", "imds");
	return 0;
}

static struct netlog nlog;
static struct creds_net_ops ops = { st_assume, st_web, st_container, st_imds, &nlog, NULL };

static int resolve(struct aws_creds *c, const char *cli_profile, struct errbuf *err)
{
	struct creds_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.env.get = fe_get;
	ctx.env.ud = &fenv;
	ctx.profile = cli_profile;
	ctx.profile_from_cli = cli_profile != NULL;
	ctx.now = 1700000000;
	ctx.net = &ops;
	memset(&nlog, 0, sizeof(nlog));
	err_clear(err);
	return creds_resolve(c, &ctx, err);
}

/* ---- profile reader ---------------------------------------------------- */

static void test_profile_parse(void **state)
{
	static const char config[] =
		"# comment\n"
		"[default]\n"
		"region = eu-west-1\n"
		"[profile dev]\n"
		"Region = us-east-2 ; not a comment in botocore\n"
		"services = local\n"
		"s3 =\n"
		"  addressing_style = path\n"
		"  endpoint_url = http://127.0.0.1:9000\n"
		"[services local]\n"
		"s3 =\n"
		"  endpoint_url = http://127.0.0.1:4566\n"
		"[sso-session x]\n"
		"sso_region = us-east-1\n"
		"[notaprofile]\n"
		"a = b\n";
	struct profile_set ps;
	struct errbuf err;
	const char *file;

	(void)state;
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(profile_parse_string(&ps, config, strlen(config), PROFILE_CONFIG, "cfg", &err), 0);
	assert_string_equal(profile_get(&ps, "default", "region"), "eu-west-1");
	assert_string_equal(profile_get(&ps, "dev", "region"), "us-east-2 ; not a comment in botocore");
	assert_string_equal(profile_get(&ps, "dev", "s3.addressing_style"), "path");
	assert_string_equal(profile_get(&ps, "dev", "s3.endpoint_url"), "http://127.0.0.1:9000");
	assert_string_equal(profile_get(&ps, "dev", "s3"), "");
	assert_string_equal(profile_service_get(&ps, "dev", "s3", "endpoint_url"), "http://127.0.0.1:4566");
	assert_null(profile_service_get(&ps, "default", "s3", "endpoint_url"));
	assert_true(profile_exists(&ps, "dev"));
	assert_false(profile_exists(&ps, "notaprofile"));
	assert_false(profile_exists(&ps, "x"));
	assert_false(profile_exists(&ps, "local"));
	assert_int_equal(profile_line(&ps, "dev", "s3.endpoint_url", &file), 9);
	profile_release(&ps);
}

static void test_profile_long_token_and_errors(void **state)
{
	struct profile_set ps;
	struct errbuf err;
	struct buf b;
	char *text, *tok;
	size_t i;

	(void)state;
	/* a 1200-character session token (longer than inih's 200-byte lines) */
	buf_init(&b, 8192);
	tok = xcalloc(1201, 1);
	for (i = 0; i < 1200; i++)
		tok[i] = "AbC+/=9z"[i % 8];
	buf_addf(&b, "[default]\naws_access_key_id = AKID\naws_session_token = %s\naws_secret_access_key=S\n", tok);
	text = buf_detach(&b);
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(profile_parse_string(&ps, text, strlen(text), PROFILE_CREDENTIALS, "creds", &err), 0);
	assert_string_equal(profile_get(&ps, "default", "aws_session_token"), tok);
	assert_string_equal(profile_get(&ps, "default", "aws_secret_access_key"), "S");
	profile_release(&ps);
	free(text);
	free(tok);

	memset(&ps, 0, sizeof(ps));
	text = xstrdup("[a]\nk = v\njunk line\n");
	assert_int_equal(profile_parse_string(&ps, text, strlen(text), PROFILE_CREDENTIALS, "f", &err), TK_EUSAGE);
	assert_string_equal(err.msg, "f:3: not a '[section]' or 'key = value' line");
	profile_release(&ps);
	free(text);

	memset(&ps, 0, sizeof(ps));
	text = xstrdup("k = v\n");
	assert_int_equal(profile_parse_string(&ps, text, strlen(text), PROFILE_CONFIG, "f", &err), TK_EUSAGE);
	assert_string_equal(err.msg, "f:1: key outside any section");
	profile_release(&ps);
	free(text);

	memset(&ps, 0, sizeof(ps));
	assert_int_equal(profile_parse_string(&ps, "[a]\nk = v\x1f" "0\n", 11, PROFILE_CONFIG, "f", &err), TK_EUSAGE);
	assert_string_equal(err.msg, "f:2: control character in the file");
	profile_release(&ps);

	memset(&ps, 0, sizeof(ps));
	text = xstrdup("[a]\nsecretvalue_without_equals_sign_that_is_very_long_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
	assert_int_equal(profile_parse_string(&ps, text, strlen(text), PROFILE_CONFIG, "f", &err), TK_EUSAGE);
	assert_null(strstr(err.msg, "secretvalue"));
	profile_release(&ps);
	free(text);
}

/* Arrays grow with ALLOC_GROW (issue 14): many sections, keys and long
 * lines, every one of them kept and found again. */
static void test_profile_many_entries(void **state)
{
	struct profile_set ps;
	struct errbuf err;
	struct buf b;
	char *text, name[32], key[32], want[200];
	size_t i, j;

	(void)state;
	buf_init(&b, PROFILE_MAX_FILE);
	for (i = 0; i < 300; i++) {
		buf_addf(&b, "[profile p%zu]\n", i);
		for (j = 0; j < 20; j++)
			buf_addf(&b, "k%zu = v%zu.%zu\n", j, i, j);
		/* a line longer than inih's: stored aside, behind a reference */
		buf_addf(&b, "long = %0180zu\n", i);
	}
	assert_int_equal(b.err, 0);
	text = buf_detach(&b);
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(profile_parse_string(&ps, text, strlen(text), PROFILE_CONFIG, "cfg", &err), 0);
	assert_int_equal(ps.nsec, 300);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "p%zu", i);
		for (j = 0; j < 20; j++) {
			snprintf(key, sizeof(key), "k%zu", j);
			snprintf(want, sizeof(want), "v%zu.%zu", i, j);
			assert_string_equal(profile_get(&ps, name, key), want);
		}
		snprintf(want, sizeof(want), "%0180zu", i);
		assert_string_equal(profile_get(&ps, name, "long"), want);
	}
	profile_release(&ps);
	free(text);
}

/* ---- the chain --------------------------------------------------------- */

static void test_env_first_unless_cli_profile(void **state)
{
	struct aws_creds c;
	struct errbuf err;

	(void)state;
	write_file(".aws/credentials", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = SFILE\n"
				       "[other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = SOTHER\n");
	fe_set(&fenv, "AWS_ACCESS_KEY_ID", "AKIDENV");
	fe_set(&fenv, "AWS_SECRET_ACCESS_KEY", "SENV");
	fe_set(&fenv, "AWS_SECURITY_TOKEN", "LEGACYTOKEN");
	assert_int_equal(resolve(&c, NULL, &err), 0);
	assert_string_equal(c.access_key_id, "AKIDENV");
	assert_string_equal(c.session_token, "LEGACYTOKEN");
	assert_string_equal(c.source, "environment");
	aws_creds_release(&c);

	/* AWS_PROFILE does not skip the environment ... */
	fe_set(&fenv, "AWS_PROFILE", "other");
	assert_int_equal(resolve(&c, NULL, &err), 0);
	assert_string_equal(c.access_key_id, "AKIDENV");
	aws_creds_release(&c);
	/* ... --profile does */
	assert_int_equal(resolve(&c, "other", &err), 0);
	assert_string_equal(c.access_key_id, "AKIDOTHER");
	assert_non_null(strstr(c.source, "profile 'other'"));
	aws_creds_release(&c);
}

static void test_missing_profile_and_none(void **state)
{
	struct aws_creds c;
	struct errbuf err;
	char want[1024];

	(void)state;
	assert_int_equal(resolve(&c, "ghost", &err), TK_EUSAGE);
	snprintf(want, sizeof(want), "profile 'ghost' not found in '%s/.aws/config' or '%s/.aws/credentials'",
		 home, home);
	assert_string_equal(err.msg, want);

	fe_set(&fenv, "AWS_EC2_METADATA_DISABLED", "true");
	assert_int_equal(resolve(&c, NULL, &err), TK_EAUTH);
	assert_non_null(strstr(err.msg, "no AWS credentials found"));
	assert_int_equal(nlog.imds, 0);
}

static void test_imds_last(void **state)
{
	struct aws_creds c;
	struct errbuf err;

	(void)state;
	assert_int_equal(resolve(&c, NULL, &err), 0);
	assert_int_equal(nlog.imds, 1);
	assert_string_equal(c.access_key_id, "ASIAIMDS");
	aws_creds_release(&c);
}

static void test_credentials_file_before_config(void **state)
{
	struct aws_creds c;
	struct errbuf err;

	(void)state;
	write_file(".aws/config", "[profile p]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = SC\n"
				  "[profile q]\naws_access_key_id = AKIDQ\naws_secret_access_key = SQ\n"
				  "[profile half]\naws_access_key_id = AKIDHALF\n");
	write_file(".aws/credentials", "[p]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = SK\n");
	assert_int_equal(resolve(&c, "p", &err), 0);
	assert_string_equal(c.access_key_id, "AKIDCREDS");
	aws_creds_release(&c);
	assert_int_equal(resolve(&c, "q", &err), 0);
	assert_string_equal(c.access_key_id, "AKIDQ");
	aws_creds_release(&c);
	assert_int_equal(resolve(&c, "half", &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "has aws_access_key_id but no aws_secret_access_key"));
}

static void test_assume_role_chain(void **state)
{
	struct aws_creds c;
	struct errbuf err;

	(void)state;
	write_file(".aws/config",
		   "[profile base]\nregion = eu-central-1\n"
		   "[profile mid]\nrole_arn = arn:aws:iam::111111111111:role/mid\nsource_profile = base\n"
		   "[profile top]\nrole_arn = arn:aws:iam::222222222222:role/top\nsource_profile = mid\n"
		   "external_id = ext-1\nrole_session_name = me\nduration_seconds = 1800\nregion = us-west-2\n"
		   "[profile env]\nrole_arn = arn:aws:iam::333333333333:role/env\ncredential_source = Environment\n"
		   "[profile both]\nrole_arn = arn:x\nsource_profile = base\ncredential_source = Environment\n"
		   "[profile loop1]\nrole_arn = arn:1\nsource_profile = loop2\n"
		   "[profile loop2]\nrole_arn = arn:2\nsource_profile = loop1\n"
		   "[profile web]\nrole_arn = arn:aws:iam::4:role/web\nweb_identity_token_file = /tok\n");
	write_file(".aws/credentials", "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = SB\n");
	assert_int_equal(resolve(&c, "top", &err), 0);
	assert_int_equal(nlog.assume, 2);            /* base -> mid -> top */
	assert_string_equal(nlog.role, "arn:aws:iam::222222222222:role/top");
	assert_string_equal(nlog.source_akid, "ASIAROLE");
	assert_string_equal(nlog.session, "me");
	assert_string_equal(nlog.ext, "ext-1");
	assert_string_equal(nlog.region, "us-west-2");
	assert_int_equal(nlog.duration, 1800);
	assert_string_equal(c.access_key_id, "ASIAROLE");
	aws_creds_release(&c);

	assert_int_equal(resolve(&c, "mid", &err), 0);
	assert_string_equal(nlog.source_akid, "AKIDBASE");
	assert_string_equal(nlog.session, "trailkeep-1700000000");
	aws_creds_release(&c);

	fe_set(&fenv, "AWS_ACCESS_KEY_ID", "AKIDENV");
	fe_set(&fenv, "AWS_SECRET_ACCESS_KEY", "SENV");
	assert_int_equal(resolve(&c, "env", &err), 0);   /* --profile env: credential_source still reads env */
	assert_string_equal(nlog.source_akid, "AKIDENV");
	aws_creds_release(&c);

	assert_int_equal(resolve(&c, "both", &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "both source_profile and credential_source"));
	assert_int_equal(resolve(&c, "loop1", &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "chain is longer"));
	assert_int_equal(resolve(&c, "web", &err), 0);
	assert_int_equal(nlog.web, 1);
	assert_string_equal(nlog.uri, "/tok");
	aws_creds_release(&c);
}

static void test_web_identity_env_and_container(void **state)
{
	struct aws_creds c;
	struct errbuf err;

	(void)state;
	fe_set(&fenv, "AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token");
	fe_set(&fenv, "AWS_ROLE_ARN", "arn:aws:iam::5:role/eks");
	assert_int_equal(resolve(&c, NULL, &err), 0);
	assert_int_equal(nlog.web, 1);
	assert_string_equal(nlog.role, "arn:aws:iam::5:role/eks");
	aws_creds_release(&c);

	fenv.n = 1;   /* only HOME */
	write_file("ctoken", "secret-container-token\n");
	fe_set(&fenv, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc");
	assert_int_equal(resolve(&c, NULL, &err), 0);
	assert_int_equal(nlog.container, 1);
	assert_string_equal(nlog.uri, "http://169.254.170.2/v2/credentials/abc");
	assert_string_equal(nlog.token, "");
	aws_creds_release(&c);

	fenv.n = 1;
	{
		static char tf[512];

		snprintf(tf, sizeof(tf), "%s/ctoken", home);
		fe_set(&fenv, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:8080/creds");
		fe_set(&fenv, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-file-set");
		fe_set(&fenv, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf);
		assert_int_equal(resolve(&c, NULL, &err), 0);
		assert_string_equal(nlog.uri, "http://127.0.0.1:8080/creds");
		assert_string_equal(nlog.token, "secret-container-token");
		assert_int_equal(nlog.imds, 0);
		aws_creds_release(&c);
	}
}

static void test_junk_file_is_reported(void **state)
{
	struct aws_creds c;
	struct errbuf err;
	char want[1024];

	(void)state;
	write_file(".aws/credentials", "[default]\naws_access_key_id = AKID\n=== SECRETJUNK\naws_secret_access_key S\n");
	assert_int_equal(resolve(&c, NULL, &err), TK_EUSAGE);
	snprintf(want, sizeof(want), "%s/.aws/credentials:4: not a '[section]' or 'key = value' line", home);
	assert_string_equal(err.msg, want);
	assert_null(strstr(err.msg, "SECRET"));
}

static void test_region(void **state)
{
	char *r;
	struct errbuf err;

	(void)state;
	write_file(".aws/config", "[default]\nregion = eu-west-1\n[profile x]\nregion = ap-south-1\n");
	assert_int_equal(region_resolve(&r, NULL, &(struct tk_env){ fe_get, &fenv }, NULL, NULL, &err), 0);
	assert_string_equal(r, "eu-west-1");
	free(r);
	assert_int_equal(region_resolve(&r, NULL, &(struct tk_env){ fe_get, &fenv }, NULL, "x", &err), 0);
	assert_string_equal(r, "ap-south-1");
	free(r);
	fe_set(&fenv, "AWS_DEFAULT_REGION", "us-west-1");
	assert_int_equal(region_resolve(&r, NULL, &(struct tk_env){ fe_get, &fenv }, NULL, "x", &err), 0);
	assert_string_equal(r, "us-west-1");
	free(r);
	fe_set(&fenv, "AWS_REGION", "sa-east-1");
	assert_int_equal(region_resolve(&r, NULL, &(struct tk_env){ fe_get, &fenv }, NULL, "x", &err), 0);
	assert_string_equal(r, "sa-east-1");
	free(r);
	assert_int_equal(region_resolve(&r, "ca-central-1", &(struct tk_env){ fe_get, &fenv }, NULL, "x", &err), 0);
	assert_string_equal(r, "ca-central-1");
	free(r);
	fenv.n = 1;
	write_file(".aws/config", "[default]\n");
	assert_int_equal(region_resolve(&r, NULL, &(struct tk_env){ fe_get, &fenv }, NULL, NULL, &err), TK_ENOTFOUND);
}

/* ---- endpoints --------------------------------------------------------- */

static void test_endpoints_default(void **state)
{
	static const struct { const char *svc, *region, *host, *sregion; } t[] = {
		{ "s3", "eu-west-1", "s3.eu-west-1.amazonaws.com", "eu-west-1" },
		{ "cloudtrail", "cn-north-1", "cloudtrail.cn-north-1.amazonaws.com.cn", "cn-north-1" },
		{ "kms", "us-gov-east-1", "kms.us-gov-east-1.amazonaws.com", "us-gov-east-1" },
		{ "sts", "ap-southeast-2", "sts.ap-southeast-2.amazonaws.com", "ap-southeast-2" },
		{ "organizations", "eu-west-1", "organizations.us-east-1.amazonaws.com", "us-east-1" },
		{ "organizations", "us-gov-east-1", "organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1" },
		{ "organizations", "cn-north-1", "organizations.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1" },
		{ "iam", "eu-west-1", "iam.amazonaws.com", "us-east-1" },
		{ "account", "ap-southeast-2", "account.us-east-1.amazonaws.com", "us-east-1" },
	};
	struct endpoint e;
	struct errbuf err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(endpoint_resolve(&e, t[i].svc, t[i].region, NULL, &err), 0);
		assert_string_equal(e.host, t[i].host);
		assert_string_equal(e.signing_region, t[i].sregion);
		assert_string_equal(e.signing_name, t[i].svc);
		assert_string_equal(e.scheme, "https");
		assert_string_equal(e.base_path, "");
		assert_false(e.custom);
		assert_false(e.path_style);
		endpoint_release(&e);
	}
	assert_int_equal(endpoint_resolve(&e, "ec2", "us-east-1", NULL, &err), TK_EUSAGE);
	assert_int_equal(endpoint_resolve(&e, "s3", "US_EAST", NULL, &err), TK_EUSAGE);
	assert_int_equal(endpoint_resolve(&e, "s3", "", NULL, &err), TK_EUSAGE);
}

static void test_endpoints_custom_order(void **state)
{
	struct endpoint_config cfg;
	struct profile_set ps;
	struct endpoint e;
	struct errbuf err;
	static const char config[] =
		"[default]\nendpoint_url = https://profile.example:8443/base/\nservices = loc\n"
		"[services loc]\nkms =\n  endpoint_url = http://127.0.0.1:4000\n";

	(void)state;
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(profile_parse_string(&ps, config, strlen(config), PROFILE_CONFIG, "c", &err), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.env.get = fe_get;
	cfg.env.ud = &fenv;
	cfg.profiles = &ps;

	/* services section for kms, profile endpoint_url for the rest */
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), 0);
	assert_string_equal(e.host, "127.0.0.1:4000");
	assert_string_equal(e.scheme, "http");
	assert_int_equal(e.port, 4000);
	assert_string_equal(e.signing_region, "eu-west-1");
	endpoint_release(&e);
	/* a custom endpoint keeps a global service's credential scope (IAM
	 * refuses "Credential should be scoped to a valid region" otherwise) */
	assert_int_equal(endpoint_resolve(&e, "iam", "eu-central-1", &cfg, &err), 0);
	assert_true(e.custom);
	assert_string_equal(e.host, "profile.example:8443");
	assert_string_equal(e.signing_region, "us-east-1");
	endpoint_release(&e);
	assert_int_equal(endpoint_resolve(&e, "organizations", "cn-north-1", &cfg, &err), 0);
	assert_string_equal(e.signing_region, "cn-northwest-1");
	endpoint_release(&e);
	assert_int_equal(endpoint_resolve(&e, "s3", "eu-west-1", &cfg, &err), 0);
	assert_string_equal(e.host, "profile.example:8443");
	assert_string_equal(e.base_path, "/base");
	assert_true(e.path_style);
	endpoint_release(&e);

	fe_set(&fenv, "AWS_ENDPOINT_URL", "http://localhost:4566");
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), 0);
	assert_string_equal(e.host, "localhost:4566");
	endpoint_release(&e);
	fe_set(&fenv, "AWS_ENDPOINT_URL_KMS", "https://kms.local");
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), 0);
	assert_string_equal(e.host, "kms.local");
	assert_int_equal(e.port, 443);
	endpoint_release(&e);
	cfg.cli_url = "http://[::1]:9000";
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), 0);
	assert_string_equal(e.host, "[::1]:9000");
	endpoint_release(&e);
	cfg.cli_url = NULL;
	fe_set(&fenv, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), 0);
	assert_string_equal(e.host, "kms.eu-west-1.amazonaws.com");
	endpoint_release(&e);

	cfg.cli_url = "ftp://x";
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), TK_EUSAGE);
	cfg.cli_url = "http://user:pw@host/";
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), TK_EUSAGE);
	cfg.cli_url = "http://host:99999/";
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), TK_EUSAGE);
	cfg.cli_url = "http://host/?q=1";
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), TK_EUSAGE);
	profile_release(&ps);
}

/* Endpoint URLs are read by the one URL parser (libcurl's, http_url_parse),
 * so the host judged (loopback or not) is the host curl connects to: the
 * shorthand 127.1 and hex 0x7f.0.0.1 are 127.0.0.1 for both. */
static void test_endpoint_url_parser(void **state)
{
	struct endpoint_config cfg;
	struct endpoint e;
	struct errbuf err;
	struct http_url u;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.cli_url = "http://127.1:4566";
	if (endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(e.hostname, "127.0.0.1");
	assert_string_equal(e.host, "127.0.0.1:4566");
	assert_true(endpoint_is_loopback(&e));
	endpoint_release(&e);
	cfg.cli_url = "HTTP://0x7f.0.0.1/base//";
	if (endpoint_resolve(&e, "s3", "eu-west-1", &cfg, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(e.scheme, "http");
	assert_string_equal(e.host, "127.0.0.1");
	assert_int_equal(e.port, 80);
	assert_string_equal(e.base_path, "/base");
	endpoint_release(&e);
	/* still refused: query, fragment, bad port, no host, user info */
	cfg.cli_url = "http://localhost:4566/#x";
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), TK_EUSAGE);
	cfg.cli_url = "http://localhost:0/";
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), TK_EUSAGE);
	cfg.cli_url = "http:///x";
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), TK_EUSAGE);
	cfg.cli_url = "http://[::1/";
	assert_int_equal(endpoint_resolve(&e, "kms", "eu-west-1", &cfg, &err), TK_EUSAGE);

	/* the parser itself: as_is keeps the path as written, else dot segments go */
	assert_int_equal(http_url_parse(&u, "https://h.example:8443/a/./b/../c?x=1 2#f", true, &err), 0);
	assert_string_equal(u.scheme, "https");
	assert_string_equal(u.host, "h.example");
	assert_string_equal(u.port, "8443");
	assert_string_equal(u.path, "/a/./b/../c");
	assert_string_equal(u.query, "x=1 2");
	assert_string_equal(u.fragment, "f");
	assert_false(u.has_userinfo);
	http_url_release(&u);
	assert_int_equal(http_url_parse(&u, "https://h.example/a/./b/../c", false, &err), 0);
	assert_string_equal(u.path, "/a/c");
	assert_null(u.port);
	assert_null(u.query);
	http_url_release(&u);
	assert_int_equal(http_url_parse(&u, "https://me:secret@h.example/", false, &err), 0);
	assert_true(u.has_userinfo);
	http_url_release(&u);
	assert_int_equal(http_url_parse(&u, "not a url", false, &err), TK_EUSAGE);
}

static void test_s3_addressing(void **state)
{
	struct endpoint e;
	struct endpoint_config cfg;
	struct errbuf err;
	char *host, *path;

	(void)state;
	assert_int_equal(endpoint_resolve(&e, "s3", "eu-west-1", NULL, &err), 0);
	assert_int_equal(endpoint_s3_target(&e, "logs-bucket", "AWSLogs/1 2+3.json.gz", &host, &path, &err), 0);
	assert_string_equal(host, "logs-bucket.s3.eu-west-1.amazonaws.com");
	assert_string_equal(path, "/AWSLogs/1%202%2B3.json.gz");
	free(host);
	free(path);
	/* dots + https: path-style */
	assert_int_equal(endpoint_s3_target(&e, "my.dotted.bucket", NULL, &host, &path, &err), 0);
	assert_string_equal(host, "s3.eu-west-1.amazonaws.com");
	assert_string_equal(path, "/my.dotted.bucket");
	free(host);
	free(path);
	endpoint_release(&e);

	memset(&cfg, 0, sizeof(cfg));
	cfg.cli_url = "http://127.0.0.1:9000/prefix";
	assert_int_equal(endpoint_resolve(&e, "s3", "us-east-1", &cfg, &err), 0);
	assert_true(e.path_style);
	assert_int_equal(endpoint_s3_target(&e, "b", "k/x", &host, &path, &err), TK_OK);
	assert_string_equal(host, "127.0.0.1:9000");
	assert_string_equal(path, "/prefix/b/k/x");
	free(host);
	free(path);
	endpoint_release(&e);

	assert_true(endpoint_bucket_virtual_ok("abc", true));
	assert_false(endpoint_bucket_virtual_ok("ab", true));
	assert_false(endpoint_bucket_virtual_ok("a.b.c", true));
	assert_true(endpoint_bucket_virtual_ok("a.b.c", false));
	assert_false(endpoint_bucket_virtual_ok("Upper", false));
	assert_false(endpoint_bucket_virtual_ok("192.168.1.1", false));
	assert_false(endpoint_bucket_virtual_ok("a..b", false));
	assert_false(endpoint_bucket_virtual_ok("-ab", false));
	assert_string_equal(endpoint_partition("cn-northwest-1"), "aws-cn");
	assert_string_equal(endpoint_partition("us-gov-west-1"), "aws-us-gov");
	assert_string_equal(endpoint_partition("eu-west-1"), "aws");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_url_parser),
		cmocka_unit_test(test_profile_parse),
		cmocka_unit_test(test_profile_long_token_and_errors),
		cmocka_unit_test(test_profile_many_entries),
		cmocka_unit_test_setup_teardown(test_env_first_unless_cli_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_profile_and_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imds_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials_file_before_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assume_role_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_web_identity_env_and_container, setup, teardown),
		cmocka_unit_test_setup_teardown(test_junk_file_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoints_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoints_custom_order, setup, teardown),
		cmocka_unit_test(test_s3_addressing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
