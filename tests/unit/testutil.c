/* testutil.c: see testutil.h */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "aws.h"
#include "buf.h"
#include "http.h"
#include "testutil.h"
#include "banned.h"

const char *tu_python(void)
{
	const char *py = getenv("PYTHON");

	return py && *py ? py : "/usr/bin/python3";
}

const char *tu_top(void)
{
	const char *top = getenv("TOP");

	return top && *top ? top : ".";
}

int tu_scriptserver_start(struct tu_server *s, const char *tag)
{
	const char *py = tu_python();
	char script[1024];
	int i;

	memset(s, 0, sizeof(*s));
	snprintf(script, sizeof(script), "%s/tests/integration/scriptserver.py", tu_top());
	snprintf(s->port_file, sizeof(s->port_file), "/tmp/tk-%s-test-%d.port", tag, (int)getpid());
	unlink(s->port_file);
	s->pid = fork();
	if (s->pid == 0) {
		execl(py, py, script, "--port-file", s->port_file, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		FILE *f = fopen(s->port_file, "r");
		if (f) {
			int ok = fscanf(f, "%d", &s->port) == 1;
			fclose(f);
			if (ok)
				return 0;
		}
		usleep(50000);
	}
	return -1;
}

int tu_fakeaws_start(struct tu_server *s, const char *seed)
{
	const char *py = tu_python(), *top = tu_top();
	int fds[2];
	char line[128];
	FILE *f;

	memset(s, 0, sizeof(*s));
	if (pipe(fds))
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(fds[1], 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		close(fds[0]);
		if (chdir(top))
			_exit(126);
		execl(py, py, "-m", "tests.fakeaws", "--port", "0", "--seed", seed, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || strncmp(line, "PORT=", 5))
		return -1;
	fclose(f);
	s->port = (int)strtol(line + 5, NULL, 10);
	return 0;
}

void tu_server_stop(struct tu_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	if (s->port_file[0])
		unlink(s->port_file);
}

int tu_mkdtemp(char *tmpl)
{
	return mkdtemp(tmpl) ? 0 : -1;
}

int tu_rmtree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

void tu_write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

json_t *tu_fakeaws_control(struct http_pool *pool, const char *url, const char *name, const char *body)
{
	struct http_response r;
	struct errbuf err;
	char *u = xasprintf("%s/_fake/%s", url, name);
	const char *h[] = { "Content-Type: application/json" };
	struct http_request req = { .method = "POST", .url = u, .headers = h, .nheaders = 1,
				    .body = body, .body_len = strlen(body) };
	json_error_t je;
	json_t *out = NULL;

	if (http_do(pool, &req, &r, &err) == 0 && r.status == 200)
		out = json_loadb(r.body.data, r.body.len, 0, &je);
	http_response_release(&r);
	free(u);
	return out;
}

char *tu_scriptserver_get(struct http_pool *pool, const struct tu_server *s, const char *path)
{
	struct http_response r;
	struct errbuf err;
	char *u = xasprintf("http://127.0.0.1:%d%s", s->port, path);
	struct http_request req = { .method = "GET", .url = u };
	char *body;

	assert_int_equal(http_do(pool, &req, &r, &err), 0);
	body = xstrdup(buf_cstr(&r.body));
	http_response_release(&r);
	free(u);
	return body;
}

long tu_scriptserver_count(struct http_pool *pool, const struct tu_server *s, const char *uid)
{
	char path[128];
	char *body;
	long n;

	snprintf(path, sizeof(path), "/count/%s", uid);
	body = tu_scriptserver_get(pool, s, path);
	n = strtol(body, NULL, 10);
	free(body);
	return n;
}

void tu_script_ctx_init(struct tu_script_ctx *f, struct http_pool *pool, const struct tu_server *s,
			const char *uid, const char *steps, int max_attempts,
			time_t (*clock)(void *ud), void (*sleep_ms)(void *ud, long ms))
{
	struct aws_creds c = { 0 };
	struct errbuf err;
	struct aws_ctx_options o;

	memset(f, 0, sizeof(*f));
	f->url = xasprintf("http://127.0.0.1:%d/s/%s/%s", s->port, uid, steps);
	f->ep.cli_url = f->url;
	c.access_key_id = xstrdup("AKIDEXAMPLE");
	c.secret_access_key = xstrdup(TU_SECRET);
	memset(&o, 0, sizeof(o));
	o.http = pool;
	o.creds = &c;
	o.region = "us-east-1";
	o.endpoints = &f->ep;
	o.clock = clock;
	o.sleep_ms = sleep_ms;
	o.seed = 42;
	o.max_attempts = max_attempts;
	assert_int_equal(aws_ctx_init(&f->ctx, &o, &err), 0);
	aws_creds_release(&c);
}

void tu_script_ctx_release(struct tu_script_ctx *f)
{
	aws_ctx_release(&f->ctx);
	free(f->url);
}
