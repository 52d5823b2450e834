/* testutil.h: helpers shared by the cmocka unit tests (linked into every
 * tests/unit/test_*.c binary): spawning the Python test servers on
 * 127.0.0.1, and small temporary-file helpers. */
#ifndef TK_TESTUTIL_H
#define TK_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

struct tu_server {
	pid_t pid;
	int port;
	char port_file[256];
};

/* $PYTHON (default /usr/bin/python3) and $TOP (default ".") */
const char *tu_python(void);
const char *tu_top(void);

/* Spawn tests/integration/scriptserver.py writing its port to
 * /tmp/tk-<tag>-test-<pid>.port and wait (up to 10 s) for it: 0 or -1. */
int tu_scriptserver_start(struct tu_server *s, const char *tag);

/* Spawn `python -m tests.fakeaws --port 0 --seed <seed>` from $TOP (stderr
 * to /dev/null) and read its "PORT=N" line: 0 or -1. */
int tu_fakeaws_start(struct tu_server *s, const char *seed);

/* SIGTERM the server, reap it, remove its port file (if any). */
void tu_server_stop(struct tu_server *s);

/* POST {url}/_fake/{name} with a JSON body through pool; the parsed JSON
 * answer of a 200, else NULL (caller decrefs). */
struct http_pool;
typedef struct json_t json_t;
json_t *tu_fakeaws_control(struct http_pool *pool, const char *url, const char *name, const char *body);

/* mkdtemp(tmpl): 0 or -1;  rm -rf dir: 0 or -1 */
int tu_mkdtemp(char *tmpl);
int tu_rmtree(const char *dir);

/* Write len bytes of text to path (cmocka assertions on failure). */
void tu_write_file(const char *path, const char *text, size_t len);

#endif
