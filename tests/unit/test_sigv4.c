/* test_sigv4.c: the AWS SigV4 test suite (tests/vectors/sigv4/, from
 * aws-c-auth), stage by stage, header and query forms; then table-driven
 * tests of the canonicalisation helpers and the S3 rules.
 *
 * The vectors write request paths raw ("/example space/") and expect them
 * encoded once.  Our signer takes the path as sent on the wire, so:
 *   normalize=true  -> wire path = the raw path, other-service rules
 *                      (normalise, encode once more)
 *   normalize=false -> wire path = the raw path encoded once, S3 path rules
 *                      (as sent, no normalisation)
 * REGENERATE=1 rewrites the expected files from what the signer produces
 * (for review with git diff), instead of comparing. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sigv4.h"
#include "buf.h"
#include "timeutil.h"

#define VEC_DIR "tests/vectors/sigv4"

static int regenerate;

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[4096];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b, 1 << 20);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_add(&b, tmp, n)) {
			fclose(f);
			buf_release(&b);
			return NULL;
		}
	fclose(f);
	if (len)
		*len = b.len;
	return buf_detach(&b);
}

static char *slurp2(const char *dir, const char *file)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s/%s", VEC_DIR, dir, file);
	return slurp(path, NULL);
}

static void spit(const char *dir, const char *file, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", VEC_DIR, dir, file);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* ---- one vector -------------------------------------------------------- */

struct vreq {
	char *method;
	char *target;            /* raw path[?query] */
	char *path;              /* wire path given to the signer */
	char *query;             /* raw query or NULL */
	char *host;
	struct sigv4_header h[32];
	size_t nh;
	char *names[32], *values[32];
	char *header_lines;      /* raw header lines, each with '\n' */
	char *body;
	size_t body_len;
};

static void vreq_free(struct vreq *r)
{
	size_t i;

	free(r->method);
	free(r->target);
	free(r->path);
	free(r->query);
	free(r->host);
	for (i = 0; i < r->nh; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
	free(r->header_lines);
	free(r->body);
}

/* request.txt: "METHOD TARGET HTTP/1.1", header lines (continuations start
 * with whitespace: joined with one space), blank line, body. */
static void parse_request(struct vreq *r, const char *text, bool normalize)
{
	const char *eol = strchr(text, '\n'), *p, *sp1, *sp2, *q;
	struct buf lines;
	size_t n;

	memset(r, 0, sizeof(*r));
	assert_non_null(eol);
	sp1 = memchr(text, ' ', (size_t)(eol - text));
	assert_non_null(sp1);
	for (sp2 = eol; sp2 > sp1 && *sp2 != ' '; sp2--)
		;
	assert_true(sp2 > sp1);
	r->method = xstrndup(text, (size_t)(sp1 - text));
	r->target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	q = strchr(r->target, '?');
	if (q) {
		r->query = xstrdup(q + 1);
		r->path = xstrndup(r->target, (size_t)(q - r->target));
	} else {
		r->path = xstrdup(r->target);
	}
	if (!normalize) {
		char *e = sigv4_uri_encode(r->path, strlen(r->path), true);

		free(r->path);
		r->path = e;
	}

	buf_init(&lines, 1 << 20);
	p = eol + 1;
	while (*p && *p != '\n') {
		const char *le = strchr(p, '\n');
		size_t len = le ? (size_t)(le - p) : strlen(p);

		buf_add(&lines, p, len);
		buf_addc(&lines, '\n');
		if (*p == ' ' || *p == '\t') {
			char *old;

			assert_true(r->nh > 0);
			old = r->values[r->nh - 1];
			r->values[r->nh - 1] = xasprintf("%s %.*s", old, (int)len, p);
			free(old);
		} else {
			const char *colon = memchr(p, ':', len);

			assert_non_null(colon);
			assert_true(r->nh < 32);
			r->names[r->nh] = xstrndup(p, (size_t)(colon - p));
			r->values[r->nh] = xstrndup(colon + 1, len - (size_t)(colon - p) - 1);
			r->nh++;
		}
		p = le ? le + 1 : p + len;
	}
	r->header_lines = buf_detach(&lines);
	if (*p == '\n')
		p++;
	n = strlen(p);
	r->body = xstrndup(p, n);
	r->body_len = n;
}

struct vctx {
	char *akid, *secret, *token;
	char *region, *service;
	time_t when;
	bool normalize, sign_body, omit_token;
	long expires;
};

static void vctx_free(struct vctx *c)
{
	free(c->akid);
	free(c->secret);
	free(c->token);
	free(c->region);
	free(c->service);
}

static void parse_context(struct vctx *c, const char *dir)
{
	char *text = slurp2(dir, "context.json");
	json_error_t jerr;
	json_t *j, *cr, *v;

	memset(c, 0, sizeof(*c));
	assert_non_null(text);
	j = json_loads(text, 0, &jerr);
	free(text);
	assert_non_null(j);
	cr = json_object_get(j, "credentials");
	assert_non_null(cr);
	c->akid = xstrdup(json_string_value(json_object_get(cr, "access_key_id")));
	c->secret = xstrdup(json_string_value(json_object_get(cr, "secret_access_key")));
	v = json_object_get(cr, "token");
	c->token = v ? xstrdup(json_string_value(v)) : NULL;
	c->region = xstrdup(json_string_value(json_object_get(j, "region")));
	c->service = xstrdup(json_string_value(json_object_get(j, "service")));
	assert_int_equal(tk_parse_time(json_string_value(json_object_get(j, "timestamp")), &c->when), 0);
	c->normalize = json_is_true(json_object_get(j, "normalize"));
	c->sign_body = json_is_true(json_object_get(j, "sign_body"));
	c->omit_token = json_is_true(json_object_get(j, "omit_session_token"));
	v = json_object_get(j, "expiration_in_seconds");
	c->expires = v ? (long)json_integer_value(v) : 3600;
	json_decref(j);
}

static void check_stage(const char *dir, const char *file, const char *got)
{
	char *want;

	if (regenerate) {
		spit(dir, file, got);
		return;
	}
	want = slurp2(dir, file);
	assert_non_null(want);
	if (strcmp(want, got)) {
		print_error("%s: stage %s differs\n--- expected\n%s\n--- got\n%s\n", dir, file, want, got);
		free(want);
		fail();
	}
	free(want);
}

static void run_vector(const char *dir, bool query_form)
{
	struct vctx c;
	struct vreq r;
	struct aws_creds creds;
	struct sigv4_request req;
	struct sigv4_params p;
	struct sigv4_options o;
	struct sigv4_result res;
	struct errbuf err;
	char *text, *signed_req;
	struct buf b;
	size_t i, k = 0;
	char fname[64];
	const char *form = query_form ? "query" : "header";

	parse_context(&c, dir);
	text = slurp2(dir, "request.txt");
	assert_non_null(text);
	parse_request(&r, text, c.normalize);
	free(text);

	memset(&creds, 0, sizeof(creds));
	creds.access_key_id = c.akid;
	creds.secret_access_key = c.secret;
	creds.session_token = c.token;
	memset(&req, 0, sizeof(req));
	req.method = r.method;
	req.path = r.path;
	req.query = r.query;
	for (i = 0; i < r.nh; i++) {
		if (!strcasecmp(r.names[i], "host")) {
			r.host = xstrdup(r.values[i]);
			continue;
		}
		r.h[k].name = r.names[i];
		r.h[k].value = r.values[i];
		k++;
	}
	req.host = r.host;
	req.headers = r.h;
	req.nheaders = k;
	req.body = r.body;
	req.body_len = r.body_len;
	memset(&p, 0, sizeof(p));
	p.region = c.region;
	p.service = c.service;
	p.when = c.when;
	p.creds = &creds;
	p.presign = query_form;
	p.presign_expires = c.expires;
	memset(&o, 0, sizeof(o));
	o.normalize_path = o.encode_path = c.normalize;
	o.content_sha256_header = c.sign_body;
	o.omit_session_token = c.omit_token;

	err_clear(&err);
	if (sigv4_sign_ex(&res, &req, &p, &o, &err)) {
		print_error("%s (%s): %s\n", dir, form, err.msg);
		fail();
	}
	snprintf(fname, sizeof(fname), "%s-canonical-request.txt", form);
	check_stage(dir, fname, res.canonical_request);
	snprintf(fname, sizeof(fname), "%s-string-to-sign.txt", form);
	check_stage(dir, fname, res.string_to_sign);
	snprintf(fname, sizeof(fname), "%s-signature.txt", form);
	check_stage(dir, fname, res.signature);

	/* the signed request, rebuilt as the suite prints it */
	buf_init(&b, 1 << 20);
	if (query_form) {
		char *path = xstrndup(r.target, strcspn(r.target, "?"));

		buf_addf(&b, "%s %s?%s HTTP/1.1\n", r.method, path, res.presigned_query);
		free(path);
		assert_int_equal(res.nadd, 0);
	} else {
		buf_addf(&b, "%s %s HTTP/1.1\n", r.method, r.target);
	}
	buf_adds(&b, r.header_lines);
	for (i = 0; i < res.nadd; i++)
		buf_addf(&b, "%s:%s\n", res.add[i].name, res.add[i].value);
	buf_addc(&b, '\n');
	buf_add(&b, r.body, r.body_len);
	signed_req = buf_detach(&b);
	snprintf(fname, sizeof(fname), "%s-signed-request.txt", form);
	check_stage(dir, fname, signed_req);
	free(signed_req);

	sigv4_result_release(&res);
	vreq_free(&r);
	vctx_free(&c);
}

static void test_vector_header(void **state)
{
	run_vector(*state, false);
}

static void test_vector_query(void **state)
{
	run_vector(*state, true);
}

/* ---- table-driven helper tests ----------------------------------------- */

static void test_canonical_query(void **state)
{
	static const struct { const char *in, *want; } t[] = {
		{ NULL, "" },
		{ "", "" },
		{ "policy", "policy=" },
		{ "b=2&a=1", "a=1&b=2" },
		{ "a=2&a=1&a=10", "a=1&a=10&a=2" },                 /* duplicate keys by value */
		{ "select-type=2&select", "select=&select-type=2" }, /* pairs, not joined strings */
		{ "prefix=AWSLogs/1", "prefix=AWSLogs%2F1" },
		{ "k=a%2fb", "k=a%2Fb" },                            /* hex case normalised */
		{ "k=%7E%41", "k=~A" },                              /* decode then re-encode */
		{ "k=a+b", "k=a%2Bb" },                              /* '+' is a plus, not a space */
		{ "k=a%20b", "k=a%20b" },
		{ "k=a b", "k=a%20b" },
		{ "e=x=y", "e=x%3Dy" },
		{ "%=1&%zz=2&%4", "%25=1&%254=&%25zz=2" },            /* bad escapes kept literally */
		{ "a=&a", "a=&a=" },
		{ "&&x=1&&", "x=1" },
		{ "Z=1&a=1&_=1&~=1", "Z=1&_=1&a=1&~=1" },            /* byte order */
		{ "%E1%88%B4=v&a=1", "%E1%88%B4=v&a=1" },
		{ "continuation-token=abc%2Bdef%3D&list-type=2", "continuation-token=abc%2Bdef%3D&list-type=2" },
	};
	size_t i;
	struct errbuf err;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(sigv4_canonical_query(&out, t[i].in, &err), 0);
		if (strcmp(out, t[i].want))
			print_error("query '%s': got '%s' want '%s'\n", t[i].in ? t[i].in : "(null)", out,
				    t[i].want);
		assert_string_equal(out, t[i].want);
		free(out);
	}
}

static void test_canonical_uri(void **state)
{
	static const struct { const char *in; bool norm, enc; const char *want; } t[] = {
		{ "", true, true, "/" },
		{ "", false, false, "/" },
		{ "/", true, true, "/" },
		{ "/a/./b/../c", true, true, "/a/c" },
		{ "/a/./b/../c", false, false, "/a/./b/../c" },
		{ "//a//b//", true, true, "/a/b/" },
		{ "/a/..", true, true, "/" },
		{ "/../../x", true, true, "/x" },
		{ "/a%20b", true, true, "/a%2520b" },        /* other services: encoded twice */
		{ "/a%20b", false, false, "/a%20b" },        /* S3: as sent */
		{ "/key+with~tilde", true, true, "/key%2Bwith~tilde" },
		{ "/bucket/a//b/./c", false, false, "/bucket/a//b/./c" },
	};
	size_t i;
	struct errbuf err;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(sigv4_canonical_uri(&out, t[i].in, t[i].norm, t[i].enc, &err), 0);
		if (strcmp(out, t[i].want))
			print_error("uri '%s': got '%s'\n", t[i].in, out);
		assert_string_equal(out, t[i].want);
		free(out);
	}
}

static void test_canonical_headers(void **state)
{
	static const struct sigv4_header h1[] = {
		{ "X-Amz-Meta-B", "  two   words  " },
		{ "Content-Type", "application/json" },
		{ "x-amz-meta-b", "second" },
		{ "User-Agent", "trailkeep/1" },
		{ "X-Amz-Meta-A", "" },
		{ "X-Amz-Meta-Tab", "a\t\tb" },
	};
	static const struct sigv4_header bad1[] = { { "Bad Name", "x" } };
	static const struct sigv4_header bad2[] = { { "X-Ok", "a\r\nInjected: yes" } };
	static const struct sigv4_header bad3[] = { { "", "x" } };
	char *c, *s;
	struct errbuf err;

	(void)state;
	assert_int_equal(sigv4_canonical_headers(&c, &s, h1, 6, &err), 0);
	assert_string_equal(c, "content-type:application/json\n"
			       "x-amz-meta-a:\n"
			       "x-amz-meta-b:two words,second\n"
			       "x-amz-meta-tab:a b\n");
	assert_string_equal(s, "content-type;x-amz-meta-a;x-amz-meta-b;x-amz-meta-tab");
	free(c);
	free(s);
	assert_int_equal(sigv4_canonical_headers(&c, &s, bad1, 1, &err), TK_EUSAGE);
	assert_int_equal(sigv4_canonical_headers(&c, &s, bad2, 1, &err), TK_EUSAGE);
	assert_int_equal(sigv4_canonical_headers(&c, &s, bad3, 1, &err), TK_EUSAGE);
}

static void test_uri_encode(void **state)
{
	char *e;

	(void)state;
	e = sigv4_uri_encode("a b/c~d+e=f%\xe1\x88\xb4", 15, true);
	assert_string_equal(e, "a%20b/c~d%2Be%3Df%25%E1%88%B4");
	free(e);
	e = sigv4_uri_encode("a/b", 3, false);
	assert_string_equal(e, "a%2Fb");
	free(e);
}

/* the example keys of the S3 documentation */
static const char *SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

static void s3_request(struct sigv4_request *req, struct sigv4_params *p, struct aws_creds *cr)
{
	memset(req, 0, sizeof(*req));
	memset(p, 0, sizeof(*p));
	memset(cr, 0, sizeof(*cr));
	cr->access_key_id = (char *)(uintptr_t)"AKIAIOSFODNN7EXAMPLE";
	cr->secret_access_key = (char *)(uintptr_t)SECRET;
	req->method = "GET";
	req->host = "examplebucket.s3.amazonaws.com";
	req->path = "/test.txt";
	p->region = "us-east-1";
	p->service = "s3";
	p->when = 1369353600;   /* 2013-05-24T00:00:00Z */
	p->creds = cr;
	p->s3_rules = true;
}

/* AWS S3 documentation example "GET Object" (sig-v4-header-based-auth). */
static void test_s3_documented_example(void **state)
{
	static const struct sigv4_header h[] = { { "Range", "bytes=0-9" } };
	struct sigv4_request req;
	struct sigv4_params p;
	struct aws_creds cr;
	struct sigv4_result r;
	struct errbuf err;

	(void)state;
	s3_request(&req, &p, &cr);
	req.headers = h;
	req.nheaders = 1;
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), 0);
	assert_string_equal(r.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	assert_string_equal(r.signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
	assert_int_equal(r.nadd, 3);
	assert_string_equal(r.add[1].name, "x-amz-content-sha256");
	assert_string_equal(r.add[1].value,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sigv4_result_release(&r);

	/* the same again: now the key comes from the cache */
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), 0);
	assert_string_equal(r.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	sigv4_result_release(&r);
	sigv4_cache_clear();
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), 0);
	assert_string_equal(r.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	sigv4_result_release(&r);
}

/* AWS S3 documentation example "GET Bucket Lifecycle" (?lifecycle valueless). */
static void test_s3_documented_lifecycle(void **state)
{
	struct sigv4_request req;
	struct sigv4_params p;
	struct aws_creds cr;
	struct sigv4_result r;
	struct errbuf err;

	(void)state;
	s3_request(&req, &p, &cr);
	req.path = "/";
	req.query = "lifecycle";
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), 0);
	assert_non_null(strstr(r.canonical_request, "\n/\nlifecycle=\n"));
	assert_string_equal(r.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	sigv4_result_release(&r);
}

/* A different secret, day, region or service must not reuse a cached key. */
static void test_key_cache_separates(void **state)
{
	struct sigv4_request req;
	struct sigv4_params p;
	struct aws_creds cr;
	struct sigv4_result r;
	struct errbuf err;
	char first[65];
	const char *variant;
	int i;

	(void)state;
	s3_request(&req, &p, &cr);
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), 0);
	memcpy(first, r.signature, 65);
	sigv4_result_release(&r);
	for (i = 0; i < 4; i++) {
		s3_request(&req, &p, &cr);
		/* keep the string to sign identical where possible: only the key changes */
		if (i == 0)
			cr.secret_access_key = (char *)(uintptr_t)"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ";
		else if (i == 1)
			p.when += 86400;
		else if (i == 2)
			p.region = "eu-west-1";
		else
			p.service = "s3-object-lambda";
		assert_int_equal(sigv4_sign(&r, &req, &p, &err), 0);
		variant = r.signature;
		assert_string_not_equal(variant, first);
		sigv4_result_release(&r);
	}
	/* and the original still signs as before (after 9 distinct keys) */
	s3_request(&req, &p, &cr);
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), 0);
	assert_string_equal(r.signature, first);
	sigv4_result_release(&r);
}

static void test_s3_unsigned_payload_and_token(void **state)
{
	struct sigv4_request req;
	struct sigv4_params p;
	struct aws_creds cr;
	struct sigv4_result r;
	struct errbuf err;

	(void)state;
	s3_request(&req, &p, &cr);
	cr.session_token = (char *)(uintptr_t)"TOKEN/+=";
	req.method = "PUT";
	req.path = "/a%20b/../c";
	req.payload_hash = "UNSIGNED-PAYLOAD";
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), 0);
	assert_non_null(strstr(r.canonical_request, "PUT\n/a%20b/../c\n"));
	assert_non_null(strstr(r.canonical_request, "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
	assert_non_null(strstr(r.canonical_request, "x-amz-security-token:TOKEN/+=\n"));
	assert_string_equal(r.signed_headers, "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
	assert_int_equal(r.nadd, 4);
	assert_string_equal(r.add[0].name, "X-Amz-Security-Token");
	assert_string_equal(r.add[3].name, "Authorization");
	assert_null(strstr(r.authorization, SECRET));
	sigv4_result_release(&r);

	/* presigned S3 GET: UNSIGNED-PAYLOAD, token in the query */
	req.method = "GET";
	req.payload_hash = NULL;
	p.presign = true;
	p.presign_expires = 86400;
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), 0);
	assert_non_null(strstr(r.canonical_request, "\nUNSIGNED-PAYLOAD"));
	assert_non_null(strstr(r.presigned_query, "X-Amz-Security-Token=TOKEN%2F%2B%3D&"));
	assert_non_null(strstr(r.presigned_query, "X-Amz-Expires=86400"));
	assert_null(r.authorization);
	sigv4_result_release(&r);
}

static void test_errors_never_show_secret(void **state)
{
	static const struct sigv4_header dup[] = { { "X-Amz-Date", "20200101T000000Z" } };
	struct sigv4_request req;
	struct sigv4_params p;
	struct aws_creds cr;
	struct sigv4_result r;
	struct errbuf err;

	(void)state;
	s3_request(&req, &p, &cr);
	cr.session_token = (char *)(uintptr_t)"SESSIONTOKENVALUE";
	req.headers = dup;
	req.nheaders = 1;
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), TK_EUSAGE);
	assert_null(strstr(err.msg, SECRET));
	assert_null(strstr(err.msg, "SESSIONTOKENVALUE"));
	assert_null(r.canonical_request);

	s3_request(&req, &p, &cr);
	p.region = "us-east-1/../x";
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), TK_EUSAGE);
	s3_request(&req, &p, &cr);
	cr.secret_access_key = NULL;
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), TK_EAUTH);
	s3_request(&req, &p, &cr);
	req.host = NULL;
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), TK_EUSAGE);
	s3_request(&req, &p, &cr);
	p.presign = true;
	p.presign_expires = 0;
	assert_int_equal(sigv4_sign(&r, &req, &p, &err), TK_EUSAGE);
}

static void test_sha256_hex(void **state)
{
	char hex[65];

	(void)state;
	sigv4_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sigv4_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i, nt = 0;
	struct CMUnitTest *tests;
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_canonical_query),
		cmocka_unit_test(test_canonical_uri),
		cmocka_unit_test(test_canonical_headers),
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_s3_documented_example),
		cmocka_unit_test(test_s3_documented_lifecycle),
		cmocka_unit_test(test_key_cache_separates),
		cmocka_unit_test(test_s3_unsigned_payload_and_token),
		cmocka_unit_test(test_errors_never_show_secret),
		cmocka_unit_test(test_sha256_hex),
	};
	int rc;

	regenerate = getenv("REGENERATE") && !strcmp(getenv("REGENERATE"), "1");
	d = opendir(VEC_DIR);
	if (!d) {
		fprintf(stderr, "test_sigv4: cannot open '%s' (run from the checkout)\n", VEC_DIR);
		return 1;
	}
	while ((de = readdir(d))) {
		char p[1024];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/request.txt", VEC_DIR, de->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		fclose(f);
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n < 30) {
		fprintf(stderr, "test_sigv4: only %zu vectors in '%s'\n", n, VEC_DIR);
		return 1;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	tests = xcalloc(2 * n + sizeof(fixed) / sizeof(fixed[0]), sizeof(*tests));
	for (i = 0; i < n; i++) {
		char p[1024];
		FILE *f;

		tests[nt].name = xasprintf("header/%s", names[i]);
		tests[nt].test_func = test_vector_header;
		tests[nt].initial_state = names[i];
		nt++;
		snprintf(p, sizeof(p), "%s/%s/query-canonical-request.txt", VEC_DIR, names[i]);
		f = fopen(p, "r");
		if (f) {
			fclose(f);
			tests[nt].name = xasprintf("query/%s", names[i]);
			tests[nt].test_func = test_vector_query;
			tests[nt].initial_state = names[i];
			nt++;
		}
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[nt++] = fixed[i];
	rc = _cmocka_run_group_tests("sigv4", tests, nt, NULL, NULL);
	for (i = 0; i < nt; i++)
		if (tests[i].test_func == test_vector_header || tests[i].test_func == test_vector_query)
			free((void *)(uintptr_t)tests[i].name);
	free(tests);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	sigv4_cache_clear();
	return rc;
}
