/* creds_net.c: see creds_net.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "aws.h"
#include "creds_net.h"
#include "fileutil.h"
#include "sts.h"
#include "banned.h"

#define REFRESH_MARGIN_S 300
#define METADATA_BODY_LIMIT (64 * 1024)

struct cache_entry {
	char *key;                  /* role ARN + "\n" + external id */
	struct aws_creds creds;
};

struct creds_net {
	struct creds_net_ops ops;
	struct creds_net_config cfg;
	struct endpoint_cache *epcache;   /* STS endpoints, resolved once per region */
	char *imds;
	struct cache_entry *cache;
	size_t ncache, acache;
};

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static int sts_ctx(struct creds_net *net, struct aws_ctx *ctx, const struct aws_creds *source,
		   const char *region, struct errbuf *err)
{
	struct aws_ctx_options o = {
		.http = net->cfg.http,
		.creds = source,
		.region = region ? region : "us-east-1",
		.endpoints = net->cfg.endpoints,
		.endpoint_cache = net->epcache,
		.clock = net->cfg.clock,
		.clock_ud = net->cfg.clock_ud,
		.seed = net->cfg.seed,
		.backoff_scale = net->cfg.backoff_scale,
	};

	return aws_ctx_init(ctx, &o, err);
}

static int op_assume_role(void *ud, struct aws_creds *out, const struct aws_creds *source, const char *role_arn,
			  const char *session_name, const char *external_id, long duration_s, const char *region,
			  struct errbuf *err)
{
	struct creds_net *net = ud;
	struct aws_ctx ctx;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sts_ctx(net, &ctx, source, region, err);
	if (rc)
		return rc;
	rc = sts_assume_role(&ctx, role_arn, session_name ? session_name : "trailkeep", external_id, duration_s,
			     out, NULL, err);
	if (!rc) {
		free(out->source);   /* the chain names the source */
		out->source = NULL;
	}
	aws_ctx_release(&ctx);
	return rc;
}

/* Read a small secret file (token) with the input-file rules
 * (tk_read_file: a regular file, symlinks followed, a FIFO or device
 * refused unopened, at most CREDS_NET_MAX_TOKEN bytes); trailing whitespace
 * removed.  A file that cannot be read is TK_EAUTH (never TK_ENOTFOUND:
 * the chain must not move on as if the provider did not apply); a FIFO or
 * directory TK_EUSAGE; too large TK_ELIMIT. */
static int read_small(char **out, const char *path, const char *what, struct errbuf *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = tk_read_file(path, CREDS_NET_MAX_TOKEN, &data, &len, err);
	if (rc)
		return err_prefix(err, rc == TK_EUSAGE || rc == TK_ELIMIT ? rc : TK_EAUTH, "%s", what);
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ' ||
		       data[len - 1] == '\t'))
		data[--len] = '\0';
	if (!len) {
		free(data);
		return err_set(err, TK_EAUTH, "%s '%s' is empty", what, path);
	}
	*out = data;
	return 0;
}

static int op_web_identity(void *ud, struct aws_creds *out, const char *role_arn, const char *token_file,
			   const char *session_name, const char *region, struct errbuf *err)
{
	struct creds_net *net = ud;
	struct aws_ctx ctx;
	char *token = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = read_small(&token, token_file, "web identity token file", err);
	if (rc)
		return rc;
	rc = sts_ctx(net, &ctx, NULL, region, err);
	if (!rc) {
		rc = sts_assume_role_with_web_identity(&ctx, role_arn, session_name ? session_name : "trailkeep",
						       token, 0, out, err);
		aws_ctx_release(&ctx);
	}
	if (!rc) {
		free(out->source);
		out->source = NULL;
	}
	free_secret(token);
	return rc;
}

/* {"AccessKeyId","SecretAccessKey","Token","Expiration"} -> out */

/* Wipe the strings of a credentials document (jansson's copies of the
 * secret), then release it.  o may be NULL. */
static void wipe_decref(json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		if (json_is_string(v))
			OPENSSL_cleanse((void *)(uintptr_t)json_string_value(v), json_string_length(v));
	}
	json_decref(o);
}

static int creds_from_json(struct aws_creds *out, const char *body, size_t len, const char *what,
			   struct errbuf *err)
{
	json_error_t je;
	json_t *o = json_loadb(body, len, 0, &je);
	const json_t *code;
	const char *exp;
	time_t t = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		rc = err_set(err, TK_EAUTH, "%s: malformed credentials response", what);
		goto done;
	}
	code = json_object_get(o, "Code");
	if (json_is_string(code) && strcmp(json_string_value(code), "Success")) {
		rc = err_set(err, TK_EAUTH, "%s: credentials not available (%.64s)", what, json_string_value(code));
		goto done;
	}
	if (!json_is_string(json_object_get(o, "AccessKeyId")) ||
	    !json_is_string(json_object_get(o, "SecretAccessKey"))) {
		rc = err_set(err, TK_EAUTH, "%s: credentials response without AccessKeyId/SecretAccessKey", what);
		goto done;
	}
	/* present but not a time (a number, null, an object): malformed, never
	 * "does not expire" (credential_process's rule too) */
	exp = json_string_value(json_object_get(o, "Expiration"));
	if ((json_object_get(o, "Expiration") && !exp) || (exp && sts_parse_time(exp, &t))) {
		rc = err_set(err, TK_EAUTH, "%s: credentials response with a malformed Expiration", what);
		goto done;
	}
	out->access_key_id = aws_json_strdup(o, "AccessKeyId");
	out->secret_access_key = aws_json_strdup(o, "SecretAccessKey");
	out->session_token = aws_json_strdup(o, "Token");
	out->expiration = t;
done:
	wipe_decref(o);
	return rc;
}

static int metadata_get(struct creds_net *net, const char *method, const char *url, const char *const *headers,
			size_t nheaders, struct http_response *resp, struct errbuf *err)
{
	struct http_request req = {
		.method = method, .url = url, .headers = headers, .nheaders = nheaders,
		.body = "", .body_len = 0, .body_limit = METADATA_BODY_LIMIT,
		.timeout_ms = net->cfg.metadata_timeout_ms > 0 ? net->cfg.metadata_timeout_ms : 1000,
	};
	int rc, attempt;

	for (attempt = 1;; attempt++) {
		rc = http_do(net->cfg.http, &req, resp, err);
		if (rc != TK_ENET || !resp->retryable || attempt >= 2)
			break;
		http_response_release(resp);
	}
	if (rc)
		http_response_release(resp);
	return rc;
}

static void wipe_response(struct http_response *r)
{
	if (r->body.data)
		OPENSSL_cleanse(r->body.data, r->body.len);
	http_response_release(r);
}

static int op_container(void *ud, struct aws_creds *out, const char *full_uri, const char *auth_token,
			struct errbuf *err)
{
	struct creds_net *net = ud;
	struct http_response resp;
	char *hdr = NULL;
	const char *h[1] = { NULL };
	int rc;

	memset(out, 0, sizeof(*out));
	if (auth_token) {
		hdr = xasprintf("Authorization: %s", auth_token);
		h[0] = hdr;
	}
	rc = metadata_get(net, "GET", full_uri, h, auth_token ? 1 : 0, &resp, err);
	free_secret(hdr);
	if (rc)
		return err_prefix(err, TK_EAUTH, "container credentials");
	if (resp.status != 200)
		rc = err_set(err, TK_EAUTH, "container credentials: HTTP %ld from the credentials endpoint",
			     resp.status);
	else
		rc = creds_from_json(out, buf_cstr(&resp.body), resp.body.len, "container credentials", err);
	wipe_response(&resp);
	return rc;
}

static int op_imds(void *ud, struct aws_creds *out, struct errbuf *err)
{
	struct creds_net *net = ud;
	struct http_response resp;
	char *url = NULL, *tokhdr = NULL, *role = NULL, *nl;
	const char *h[1];
	int rc;

	memset(out, 0, sizeof(*out));
	/* IMDSv2: a session token first */
	url = xasprintf("%s/latest/api/token", net->imds);
	h[0] = "X-aws-ec2-metadata-token-ttl-seconds: 21600";
	rc = metadata_get(net, "PUT", url, h, 1, &resp, err);
	free(url);
	if (rc) {
		http_response_release(&resp);
		/* no metadata service here: not applicable */
		return rc == TK_ENET ? TK_ENOTFOUND : rc;
	}
	if (resp.status != 200 || !resp.body.len) {
		rc = err_set(err, TK_EAUTH, "instance metadata: HTTP %ld for an IMDSv2 token", resp.status);
		wipe_response(&resp);
		return rc;
	}
	tokhdr = xasprintf("X-aws-ec2-metadata-token: %s", buf_cstr(&resp.body));
	wipe_response(&resp);
	h[0] = tokhdr;
	url = xasprintf("%s/latest/meta-data/iam/security-credentials/", net->imds);
	rc = metadata_get(net, "GET", url, h, 1, &resp, err);
	free(url);
	if (rc) {
		rc = err_prefix(err, TK_EAUTH, "instance metadata");
		goto done;
	}
	if (resp.status == 404) {
		rc = err_set(err, TK_EAUTH, "instance metadata: no IAM role is attached to this instance");
		http_response_release(&resp);
		goto done;
	}
	if (resp.status != 200 || !resp.body.len) {
		rc = err_set(err, TK_EAUTH, "instance metadata: HTTP %ld for the role name", resp.status);
		http_response_release(&resp);
		goto done;
	}
	role = xstrdup(buf_cstr(&resp.body));
	http_response_release(&resp);
	if ((nl = strchr(role, '\n')))
		*nl = '\0';
	if (!*role || strchr(role, '/') || strchr(role, '?')) {
		rc = err_set(err, TK_EAUTH, "instance metadata: malformed role name");
		goto done;
	}
	url = xasprintf("%s/latest/meta-data/iam/security-credentials/%s", net->imds, role);
	rc = metadata_get(net, "GET", url, h, 1, &resp, err);
	free(url);
	if (rc) {
		rc = err_prefix(err, TK_EAUTH, "instance metadata");
		goto done;
	}
	if (resp.status != 200)
		rc = err_set(err, TK_EAUTH, "instance metadata: HTTP %ld for the credentials of role '%s'",
			     resp.status, role);
	else
		rc = creds_from_json(out, buf_cstr(&resp.body), resp.body.len, "instance metadata", err);
	wipe_response(&resp);
done:
	free_secret(tokhdr);
	free(role);
	return rc;
}


/* ---- credential_process ---- */

#define PROCESS_MAX_ARGS 256
#define PROCESS_MAX_CMD 4096

extern char **environ;

/* Split a command line shell-style, without a shell: blanks separate words;
 * '...' is literal; "..." keeps blanks, with \" \\ \$ \` escapes; a
 * backslash outside quotes escapes the next character.  No expansions.
 * argv (NULL-terminated) and its strings are malloc'd. */
int creds_split_command(const char *cmd, char ***argv_out, struct errbuf *err)
{
	char **argv = xcalloc(PROCESS_MAX_ARGS + 1, sizeof(*argv));
	struct buf w;
	size_t n = 0;
	const char *p = cmd;
	int rc = 0;
	bool inword = false;

	*argv_out = NULL;
	buf_init(&w, PROCESS_MAX_CMD + 1);
	if (strlen(cmd) > PROCESS_MAX_CMD) {
		rc = err_set(err, TK_EUSAGE, "credential_process: the command is longer than %d bytes",
			     PROCESS_MAX_CMD);
		goto done;
	}
	for (;;) {
		char c = *p;

		if (c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (inword) {
				if (n >= PROCESS_MAX_ARGS) {
					rc = err_set(err, TK_EUSAGE, "credential_process: more than %d words",
						     PROCESS_MAX_ARGS);
					goto done;
				}
				/* a word is never longer than the command (checked above);
				 * a failed add still fails closed, never a shorter word */
				if (buf_error(&w)) {
					rc = err_set(err, TK_ELIMIT, "credential_process: a word is longer than %d bytes",
						     PROCESS_MAX_CMD);
					goto done;
				}
				argv[n++] = xstrdup(buf_cstr(&w));
				buf_reset(&w);
				inword = false;
			}
			if (c == '\0')
				break;
			p++;
			continue;
		}
		inword = true;
		if (c == '\'') {
			const char *q = strchr(p + 1, '\'');

			if (!q) {
				rc = err_set(err, TK_EUSAGE, "credential_process: unterminated single quote");
				goto done;
			}
			buf_add(&w, p + 1, (size_t)(q - p - 1));
			p = q + 1;
		} else if (c == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
					p++;
				buf_add(&w, p, 1);
				p++;
			}
			if (*p != '"') {
				rc = err_set(err, TK_EUSAGE, "credential_process: unterminated double quote");
				goto done;
			}
			p++;
		} else if (c == '\\' && p[1]) {
			buf_add(&w, p + 1, 1);
			p += 2;
		} else {
			buf_add(&w, p, 1);
			p++;
		}
	}
	if (!n)
		rc = err_set(err, TK_EUSAGE, "credential_process: the command is empty");
done:
	buf_release(&w);
	if (rc) {
		creds_free_argv(argv);
		return rc;
	}
	*argv_out = argv;
	return 0;
}

void creds_free_argv(char **argv)
{
	size_t i;

	if (!argv)
		return;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* Parse credential_process output (Version 1). */
int creds_parse_process_output(struct aws_creds *out, const char *body, size_t len, const char *prog,
			       struct errbuf *err)
{
	json_error_t je;
	json_t *o = json_loadb(body, len, 0, &je);
	const char *exp;
	time_t t = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		rc = err_set(err, TK_EAUTH, "credential_process '%s': output is not a JSON object", prog);
		goto done;
	}
	if (!json_is_integer(json_object_get(o, "Version")) ||
	    json_integer_value(json_object_get(o, "Version")) != 1) {
		rc = err_set(err, TK_EAUTH, "credential_process '%s': output without \"Version\": 1", prog);
		goto done;
	}
	if (!json_is_string(json_object_get(o, "AccessKeyId")) || !json_string_length(json_object_get(o, "AccessKeyId")) ||
	    !json_is_string(json_object_get(o, "SecretAccessKey")) ||
	    !json_string_length(json_object_get(o, "SecretAccessKey"))) {
		rc = err_set(err, TK_EAUTH, "credential_process '%s': output without AccessKeyId/SecretAccessKey", prog);
		goto done;
	}
	if (json_object_get(o, "SessionToken") && !json_is_string(json_object_get(o, "SessionToken"))) {
		rc = err_set(err, TK_EAUTH, "credential_process '%s': SessionToken is not a string", prog);
		goto done;
	}
	if (json_object_get(o, "Expiration")) {
		exp = json_string_value(json_object_get(o, "Expiration"));
		if (!exp || sts_parse_time(exp, &t)) {
			rc = err_set(err, TK_EAUTH, "credential_process '%s': malformed Expiration", prog);
			goto done;
		}
	}
	out->access_key_id = aws_json_strdup(o, "AccessKeyId");
	out->secret_access_key = aws_json_strdup(o, "SecretAccessKey");
	out->session_token = aws_json_strdup(o, "SessionToken");
	out->expiration = t;
done:
	wipe_decref(o);
	return rc;
}

/* The process's output from fd into b until end of file, within limit_ms
 * of silence and the run's deadline.  0 or an error. */
static int process_read(struct creds_net *net, int fd, const char *prog, long limit_ms, struct buf *b,
			struct errbuf *err)
{
	char chunk[4096];
	ssize_t n;
	long waited = 0;
	int rc = 0;

	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		/* the run's deadline (--timeout) bounds the process too, on top
		 * of its own limit: checked before every wait of at most 100 ms */
		long long left = http_pool_time_left_ms(net->cfg.http);
		int pr;

		if (left == 0) {
			rc = err_set(err, TK_ENET, "credential_process '%s': %s", prog, HTTP_DEADLINE_MSG);
			break;
		}
		pr = poll(&pf, 1, left > 0 && left < 100 ? (int)left : 100);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			waited += 100;
			if (waited >= limit_ms) {
				rc = err_set(err, TK_EAUTH, "credential_process '%s': no output within %ld s", prog,
					     limit_ms / 1000);
				break;
			}
			continue;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_add(b, chunk, (size_t)n)) {
			rc = err_set(err, TK_ELIMIT, "credential_process '%s': output larger than %d bytes", prog,
				     CREDS_NET_MAX_PROCESS_OUTPUT);
			break;
		}
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	return rc;
}

/* a wait status other than exit 0 is an error */
static int process_status(int status, const char *prog, struct errbuf *err)
{
	if (WIFSIGNALED(status))
		return err_set(err, TK_EAUTH, "credential_process '%s': killed by signal %d", prog, WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_set(err, TK_EAUTH, "credential_process '%s': exited with status %d", prog,
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

static int op_process(void *ud, struct aws_creds *out, const char *command, struct errbuf *err)
{
	struct creds_net *net = ud;
	char **argv = NULL;
	int pfd[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	bool fa_ready = false;
	pid_t pid = -1;
	struct buf b;
	int rc, status = 0, e;
	long limit_ms = net->cfg.process_timeout_ms > 0 ? net->cfg.process_timeout_ms : 60000;

	memset(out, 0, sizeof(*out));
	buf_init(&b, CREDS_NET_MAX_PROCESS_OUTPUT);
	rc = creds_split_command(command, &argv, err);
	if (rc)
		goto done;
	if (pipe(pfd)) {
		rc = err_set(err, TK_EFAIL, "credential_process: pipe: %s", strerror(errno));
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	fa_ready = true;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	close(pfd[1]);
	pfd[1] = -1;
	if (e) {
		pid = -1;
		rc = err_set(err, TK_EAUTH, "credential_process: cannot run '%s': %s", argv[0], strerror(e));
		goto done;
	}
	rc = process_read(net, pfd[0], argv[0], limit_ms, &b, err);
	if (rc)
		goto done;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	rc = process_status(status, argv[0], err);
	if (rc == 0)
		rc = creds_parse_process_output(out, b.data ? buf_cstr(&b) : "", b.len, argv[0], err);
done:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (fa_ready)
		posix_spawn_file_actions_destroy(&fa);
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_release(&b);
	creds_free_argv(argv);
	return rc;
}

struct creds_net *creds_net_new(const struct creds_net_config *cfg)
{
	struct creds_net *net = xcalloc(1, sizeof(*net));
	size_t l;

	net->cfg = *cfg;
	net->epcache = cfg->endpoint_cache ? endpoint_cache_ref(cfg->endpoint_cache)
					   : endpoint_cache_new(cfg->endpoints);
	net->imds = xstrdup(cfg->imds_endpoint && *cfg->imds_endpoint ? cfg->imds_endpoint : "http://169.254.169.254");
	l = strlen(net->imds);
	while (l && net->imds[l - 1] == '/')
		net->imds[--l] = '\0';
	net->ops.assume_role = op_assume_role;
	net->ops.web_identity = op_web_identity;
	net->ops.container = op_container;
	net->ops.imds = op_imds;
	net->ops.process = op_process;
	net->ops.ud = net;
	return net;
}

void creds_net_free(struct creds_net *net)
{
	size_t i;

	if (!net)
		return;
	for (i = 0; i < net->ncache; i++) {
		free(net->cache[i].key);
		aws_creds_release(&net->cache[i].creds);
	}
	free(net->cache);
	endpoint_cache_unref(net->epcache);
	free(net->imds);
	free(net);
}

const struct creds_net_ops *creds_net_ops(struct creds_net *net)
{
	return &net->ops;
}

int aws_account_creds(struct creds_net *net, const struct aws_creds *source, const char *partition,
		      const char *account_id, const char *role_name, const char *external_id,
		      const char *region, struct aws_creds *out, struct errbuf *err)
{
	char *arn = xasprintf("arn:%s:iam::%s:role/%s", partition ? partition : "aws", account_id, role_name);
	char *key = xasprintf("%s\n%s", arn, external_id ? external_id : "");
	time_t now = net->cfg.clock(net->cfg.clock_ud);
	struct cache_entry *e = NULL;
	struct aws_creds fresh;
	char session[64];
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < net->ncache; i++)
		if (!strcmp(net->cache[i].key, key))
			e = &net->cache[i];
	if (!e || (e->creds.expiration && e->creds.expiration - now <= REFRESH_MARGIN_S)) {
		snprintf(session, sizeof(session), "trailkeep-%s", account_id);
		rc = op_assume_role(net, &fresh, source, arn, session, external_id, 0, region, err);
		if (rc)
			goto done;
		fresh.source = xasprintf("assume role '%s'", arn);
		if (!e) {
			ALLOC_GROW(net->cache, net->ncache + 1, net->acache);
			e = &net->cache[net->ncache++];
			e->key = key;
			key = NULL;
		} else {
			aws_creds_release(&e->creds);
		}
		e->creds = fresh;
	}
	if (aws_creds_copy(out, &e->creds))
		rc = err_set(err, TK_EFAIL, "cannot copy credentials");
done:
	free(arn);
	free(key);
	return rc;
}
