/* sign.c: `trailkeep sign`, a debugging aid: sign one request given on the
 * command line and print the canonical request, the string to sign and the
 * headers to send.  Nothing is sent.  Credentials come from the normal chain
 * (never argv); the session token is shown as "<redacted>", the secret key
 * never.  A hidden `--batch FILE` signs one JSON request per line (used by
 * tests/integration/sigv4_botocore.py):
 *   {"service":..,"region":..,"method":..,"url":..,"headers":[["N","v"],..],
 *    "body":"..","date":"YYYYMMDDTHHMMSSZ","presign":SECONDS}
 * and prints one JSON object per line. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "buf.h"
#include "creds.h"
#include "awsenv.h"
#include "http.h"
#include "sigv4.h"
#include "timeutil.h"
#include "banned.h"

#define CMD "sign"
#define MAX_HEADERS 64
#define MAX_BODY (64 * 1024 * 1024)
#define MAX_BATCH_LINE (4 * 1024 * 1024)
#define REDACTED "<redacted>"

static const char *env_get(void *ud, const char *name)
{
	(void)ud;
	return getenv(name);
}

struct sreq {
	const char *service, *region, *method, *url, *date;
	struct sigv4_header h[MAX_HEADERS];
	size_t nh;
	const char *body;
	size_t body_len;
	long presign;
};

/* Parsed URL.  path and query are the wire forms. */
struct url {
	char *scheme, *host, *path, *query;
};

static void url_release(struct url *u)
{
	free(u->scheme);
	free(u->host);
	free(u->path);
	free(u->query);
	memset(u, 0, sizeof(*u));
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Encode a path or query as given: keep valid %XX escapes and the characters
 * that are structural there, encode everything else (spaces, unicode, '+'
 * in paths, ...) the strict way. */
static char *encode_as_given(const char *s, size_t n, const char *keep)
{
	struct buf b;
	size_t i;

	buf_init(&b, n * 3 + 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
			buf_add(&b, s + i, 3);
			i += 2;
		} else if (strchr(keep, s[i]) && s[i]) {
			buf_addc(&b, s[i]);
		} else {
			char *e = sigv4_uri_encode(s + i, 1, false);

			buf_adds(&b, e);
			free(e);
		}
	}
	return buf_detach(&b);
}

/* The URL parsed by the one URL parser (http_url_parse, libcurl's URL API)
 * with the path kept as written; path and query are then encoded as given
 * (valid %XX kept) for signing. */
static int url_parse(struct url *u, const char *url, struct errbuf *err)
{
	struct http_url pu;
	struct errbuf perr;
	int rc = 0;

	memset(u, 0, sizeof(*u));
	if (http_url_parse(&pu, url, true, &perr))
		return err_set(err, TK_EUSAGE, "%s", perr.msg);
	if (strcmp(pu.scheme, "http") && strcmp(pu.scheme, "https")) {
		rc = err_set(err, TK_EUSAGE, "'%s' is not an http:// or https:// URL", url);
		goto done;
	}
	if (pu.has_userinfo || !pu.host || !*pu.host) {
		rc = err_set(err, TK_EUSAGE, "URL '%s' has no host (or has user info)", url);
		goto done;
	}
	if (pu.fragment) {
		rc = err_set(err, TK_EUSAGE, "URL '%s' has a fragment", url);
		goto done;
	}
	u->scheme = xstrdup(pu.scheme);
	/* the scheme's default port is left out, as the Host header has it */
	if (pu.port && strcmp(pu.port, !strcmp(pu.scheme, "https") ? "443" : "80"))
		u->host = xasprintf("%s:%s", pu.host, pu.port);
	else
		u->host = xstrdup(pu.host);
	u->path = encode_as_given(pu.path, strlen(pu.path), "/");
	if (pu.query)
		u->query = encode_as_given(pu.query, strlen(pu.query), "=&");
	if (!*u->path) {
		free(u->path);
		u->path = xstrdup("/");
	}
done:
	http_url_release(&pu);
	return rc;
}

/* s with every occurrence of secret replaced by REDACTED */
static char *redact(const char *s, const char *secret)
{
	struct buf b;
	const char *p;
	size_t sl;

	if (!s)
		return NULL;
	if (!secret || !*secret)
		return xstrdup(s);
	sl = strlen(secret);
	{
		/* room for every occurrence replaced (a short secret may occur
		 * often and REDACTED is longer than it) */
		size_t occ = 0, need;
		const char *q = s;

		while ((q = strstr(q, secret))) {
			occ++;
			q += sl;
		}
		need = strlen(s) + occ * sizeof(REDACTED) + 1;
		buf_init(&b, need);
	}
	while ((p = strstr(s, secret))) {
		buf_add(&b, s, (size_t)(p - s));
		buf_adds(&b, REDACTED);
		s = p + sl;
	}
	buf_adds(&b, s);
	return buf_detach(&b);
}

/* The headers the request is sent with: Host, the given ones (a repeated
 * name joined with ','), the signer's (the session token redacted). */
static json_t *headers_json(const struct sreq *r, const char *host, const struct sigv4_result *res)
{
	json_t *hj = json_object();
	size_t i;

	/* json_object_set_new steals each new reference */
	json_object_set_new(hj, "Host", json_string_nocheck(host));
	for (i = 0; i < r->nh; i++) {
		json_t *old = json_object_get(hj, r->h[i].name);

		if (old) {
			char *v = xasprintf("%s,%s", json_string_value(old), r->h[i].value);

			json_object_set_new(hj, r->h[i].name, json_string_nocheck(v));
			free(v);
		} else {
			json_object_set_new(hj, r->h[i].name, json_string_nocheck(r->h[i].value));
		}
	}
	for (i = 0; i < res->nadd; i++) {
		bool is_tok = !strcmp(res->add[i].name, "X-Amz-Security-Token");

		json_object_set_new(hj, res->add[i].name,
				    json_string_nocheck(is_tok ? REDACTED : res->add[i].value));
	}
	return hj;
}

/* The presigned URL with the session token redacted (as given and encoded) */
static char *presigned_url(const struct url *u, const struct sigv4_result *res, const char *tok)
{
	char *q = redact(res->presigned_query, tok);
	char *e = tok ? sigv4_uri_encode(tok, strlen(tok), false) : NULL;
	char *q2 = redact(q, e);
	char *full = xasprintf("%s://%s%s?%s", u->scheme, u->host, u->path, q2);

	free(q);
	free(q2);
	free(e);
	return full;
}

/* The request to sign: r and its parsed URL u.  0 or an error. */
static int sign_request(const struct sreq *r, const struct url *u, const struct aws_creds *creds, time_t when,
			struct sigv4_result *res, struct errbuf *err)
{
	struct sigv4_request req;
	struct sigv4_params p;

	memset(&req, 0, sizeof(req));
	req.method = r->method;
	req.host = u->host;
	req.path = u->path;
	req.query = u->query;
	req.headers = r->h;
	req.nheaders = r->nh;
	req.body = r->body;
	req.body_len = r->body_len;
	memset(&p, 0, sizeof(p));
	p.region = r->region;
	p.service = r->service;
	p.when = when;
	p.creds = creds;
	p.s3_rules = !strcmp(r->service, "s3");
	p.presign = r->presign > 0;
	p.presign_expires = r->presign;
	return sigv4_sign(res, &req, &p, err);
}

/* Sign r; on success fill *jout (the JSON result). */
static int sign_one(const struct sreq *r, const struct aws_creds *creds, json_t **jout,
		    bool with_signature, struct errbuf *err)
{
	struct url u;
	struct sigv4_result res;
	json_t *j;
	time_t when;
	const char *tok = creds->session_token;
	int rc;

	memset(&res, 0, sizeof(res));
	if (!r->service || !r->region || !r->method || !r->url)
		return err_set(err, TK_EUSAGE, "--service, --region, --method and --url are required");
	if (r->date) {
		if (strlen(r->date) != 16 || tk_parse_time(r->date, &when))
			return err_set(err, TK_EUSAGE, "date '%s' is not YYYYMMDDTHHMMSSZ", r->date);
	} else {
		when = cli_now();
	}
	rc = url_parse(&u, r->url, err);
	if (rc == 0)
		rc = sign_request(r, &u, creds, when, &res, err);
	if (rc == 0) {
		char *c = redact(res.canonical_request, tok);

		/* json_object_set_new steals each new reference */
		j = json_object();
		json_object_set_new(j, "canonical_request", json_stringn_nocheck(c, strlen(c)));
		free(c);
		json_object_set_new(j, "string_to_sign", json_string_nocheck(res.string_to_sign));
		json_object_set_new(j, "headers", headers_json(r, u.host, &res));
		if (r->presign > 0) {
			char *full = presigned_url(&u, &res, tok);

			json_object_set_new(j, "url", json_string_nocheck(full));
			free(full);
		}
		if (with_signature)
			json_object_set_new(j, "signature", json_string_nocheck(res.signature));
		*jout = j;
	}
	sigv4_result_release(&res);
	url_release(&u);
	return rc;
}

static void print_text(json_t *j)
{
	const char *k;
	json_t *v;

	printf("canonical request:\n%s\n\n", json_string_value(json_object_get(j, "canonical_request")));
	printf("string to sign:\n%s\n\n", json_string_value(json_object_get(j, "string_to_sign")));
	if (json_object_get(j, "url"))
		printf("presigned url:\n%s\n\n", json_string_value(json_object_get(j, "url")));
	printf("headers:\n");
	json_object_foreach(json_object_get(j, "headers"), k, v)
		printf("%s: %s\n", k, json_string_value(v));
}

static int read_body(const char *path, char **out, size_t *len, struct errbuf *err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	struct buf b;
	char tmp[65536];
	size_t n;
	int rc = 0;

	*out = NULL;
	*len = 0;
	if (!f)
		return err_set(err, TK_EUSAGE, "cannot open '%s': %s", path, strerror(errno));
	buf_init(&b, MAX_BODY);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_add(&b, tmp, n)) {
			rc = err_set(err, TK_ELIMIT, "'%s' is larger than %d bytes", path, MAX_BODY);
			break;
		}
	if (!rc && ferror(f))
		rc = err_set(err, TK_EUSAGE, "cannot read '%s': %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	if (rc) {
		buf_release(&b);
		return rc;
	}
	*len = b.len;
	*out = buf_detach(&b);
	return 0;
}

/* The same chain and providers as every other command (awsenv.c): only a
 * provider that applies (container, web identity, ...) touches the network. */
static int get_creds(struct aws_creds *c, const char *region, struct errbuf *err)
{
	return awsenv_creds(c, region, err);
}

static int add_header(struct sreq *r, const char *arg, char **owned, struct errbuf *err)
{
	const char *colon = strchr(arg, ':');
	const char *v;

	if (!colon || colon == arg)
		return err_set(err, TK_EUSAGE, "header '%s' is not 'Name: value'", arg);
	if (r->nh >= MAX_HEADERS)
		return err_set(err, TK_EUSAGE, "more than %d headers", MAX_HEADERS);
	*owned = xstrndup(arg, (size_t)(colon - arg));
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	r->h[r->nh].name = *owned;
	r->h[r->nh].value = v;
	r->nh++;
	return 0;
}

static int run_batch(const char *path, const struct aws_creds *creds)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int rc = TK_EXIT_OK;

	if (!f)
		return cli_error(CMD, TK_EXIT_USAGE, "cannot open '%s': %s", path, strerror(errno));
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t jerr;
		json_t *in, *out = NULL, *hs, *pair;
		struct sreq r;
		struct errbuf err;
		size_t i;
		int e;

		lineno++;
		if (n > MAX_BATCH_LINE) {
			rc = cli_error(CMD, TK_EXIT_USAGE, "%s:%ld: line is too long", path, lineno);
			break;
		}
		in = json_loads(line, 0, &jerr);
		if (!json_is_object(in)) {
			json_decref(in);
			rc = cli_error(CMD, TK_EXIT_USAGE, "%s:%ld: not a JSON object", path, lineno);
			break;
		}
		memset(&r, 0, sizeof(r));
		r.service = json_string_value(json_object_get(in, "service"));
		r.region = json_string_value(json_object_get(in, "region"));
		r.method = json_string_value(json_object_get(in, "method"));
		r.url = json_string_value(json_object_get(in, "url"));
		r.date = json_string_value(json_object_get(in, "date"));
		r.body = json_string_value(json_object_get(in, "body"));
		r.body_len = r.body ? json_string_length(json_object_get(in, "body")) : 0;
		r.presign = (long)json_integer_value(json_object_get(in, "presign"));
		hs = json_object_get(in, "headers");
		json_array_foreach(hs, i, pair) {
			if (r.nh >= MAX_HEADERS || !json_is_string(json_array_get(pair, 0)) ||
			    !json_is_string(json_array_get(pair, 1)))
				break;
			r.h[r.nh].name = json_string_value(json_array_get(pair, 0));
			r.h[r.nh].value = json_string_value(json_array_get(pair, 1));
			r.nh++;
		}
		err_clear(&err);
		e = sign_one(&r, creds, &out, true, &err);
		if (e) {
			/* one error object per failing line; keep going */
			out = json_object();
			json_object_set_new(out, "error", json_string(err.msg));
		}
		{
			char *s = json_dumps(out, JSON_COMPACT);

			puts(s ? s : "{}");
			free(s);
		}
		json_decref(out);
		json_decref(in);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* sign's command line */
struct sign_args {
	struct sreq r;
	char *names[MAX_HEADERS];   /* owned: the --header names */
	size_t nnames;
	const char *body_file, *batch;
	bool json;
};

/* One option at argv[*a] (its value after it): -1 to go on, else the exit
 * code. */
static int sign_option(struct sign_args *s, int argc, char **argv, int *a)
{
	const char *o = argv[*a];
	const char **slot = NULL;
	struct errbuf err;
	int e;

	if (!strcmp(o, "--help") || !strcmp(o, "-h"))
		return cli_help(CMD);
	e = cli_global_option(CMD, argc, argv, a);
	if (e < 0)
		return TK_EXIT_USAGE;
	if (e > 0)
		return -1;
	if (!strcmp(o, "--json")) {
		s->json = true;
		return -1;
	}
	if (!strcmp(o, "--service"))
		slot = &s->r.service;
	else if (!strcmp(o, "--region"))
		slot = &s->r.region;
	else if (!strcmp(o, "--method"))
		slot = &s->r.method;
	else if (!strcmp(o, "--url"))
		slot = &s->r.url;
	else if (!strcmp(o, "--date"))
		slot = &s->r.date;
	else if (!strcmp(o, "--body-file"))
		slot = &s->body_file;
	else if (!strcmp(o, "--batch"))
		slot = &s->batch;
	else if (strcmp(o, "--header") && strcmp(o, "--presign"))
		return cli_usage(CMD, "unknown option '%s'", o);
	if (*a + 1 >= argc)
		return cli_usage(CMD, "option '%s' needs a value", o);
	++*a;
	if (slot) {
		*slot = argv[*a];
	} else if (!strcmp(o, "--presign")) {
		char *end;

		errno = 0;
		s->r.presign = strtol(argv[*a], &end, 10);
		if (errno || *end || s->r.presign < 1 || s->r.presign > 604800)
			return cli_usage(CMD, "--presign '%s' is not 1..604800 seconds", argv[*a]);
	} else if (s->nnames >= MAX_HEADERS) {
		return cli_usage(CMD, "more than %d headers", MAX_HEADERS);
	} else if (add_header(&s->r, argv[*a], &s->names[s->nnames], &err)) {
		return cli_usage(CMD, "%s", err.msg);
	} else {
		s->nnames++;
	}
	return -1;
}

/* The options, the region and the body: -1 to go on, else the exit code.
 * *region and *body are the caller's to free either way. */
static int sign_parse(struct sign_args *s, int argc, char **argv, char **region, char **body)
{
	struct errbuf err;
	int a, e;

	for (a = 1; a < argc; a++) {
		e = sign_option(s, argc, argv, &a);
		if (e >= 0)
			return e;
	}
	if (!s->r.region)
		s->r.region = g_cli.region;   /* a global --region before the command */
	if (!s->r.region && !s->batch) {
		struct tk_env env = { env_get, NULL };

		/* AWS_REGION, AWS_DEFAULT_REGION, the profile's region */
		if (region_resolve(region, NULL, &env, NULL, g_cli.profile, &err) == 0)
			s->r.region = *region;
	}
	if (!s->batch && (!s->r.service || !s->r.region || !s->r.method || !s->r.url))
		return cli_usage(CMD, "--service, --region, --method and --url are required");
	if (s->body_file) {
		e = read_body(s->body_file, body, &s->r.body_len, &err);
		if (e)
			return cli_error(CMD, cli_exit_for(e), "%s", err.msg);
		s->r.body = *body;
	}
	return -1;
}

int cmd_sign(int argc, char **argv)
{
	struct sign_args s;
	char *body = NULL, *region = NULL;
	struct aws_creds creds;
	struct errbuf err;
	json_t *j = NULL;
	size_t i;
	int rc, e;

	memset(&s, 0, sizeof(s));
	memset(&creds, 0, sizeof(creds));
	rc = sign_parse(&s, argc, argv, &region, &body);
	if (rc >= 0)
		goto done;
	rc = TK_EXIT_OK;
	err_clear(&err);
	e = get_creds(&creds, s.r.region, &err);
	if (e) {
		rc = cli_error(CMD, cli_exit_for(e), "%s", err.msg);
		goto done;
	}
	if (g_cli.verbose)
		cli_info("trailkeep: sign: credentials from %s\n", creds.source ? creds.source : "?");
	if (s.batch) {
		rc = run_batch(s.batch, &creds);
		goto done;
	}
	e = sign_one(&s.r, &creds, &j, false, &err);
	if (e) {
		rc = cli_error(CMD, cli_exit_for(e), "%s", err.msg);
		goto done;
	}
	if (s.json) {
		char *out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		puts(out ? out : "{}");
		free(out);
	} else {
		print_text(j);
	}
done:
	json_decref(j);
	for (i = 0; i < s.nnames; i++)
		free(s.names[i]);
	free(body);
	free(region);
	aws_creds_release(&creds);
	sigv4_cache_clear();
	return rc;
}
