/* bench/http.c: 2,000 small GETs at 64 in flight through the HTTP pool
 * against tests/integration/scriptserver.py on 127.0.0.1 with 20 ms of
 * injected latency per request.  Target: under 2 s (the latency floor is
 * 2000 / 64 * 20 ms = 0.63 s; one at a time would take 40 s).  Prints the
 * time and requests/s; exits 1 when slower than the target. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define NREQ 2000
#define INFLIGHT 64
#define LATENCY_MS "20"
#define TARGET_S 2.0

struct st {
	int done, ok;
};

static void on_done(void *ud, struct http_response *r)
{
	struct st *s = ud;

	s->done++;
	if (!r->result && r->status == 200)
		s->ok++;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	const char *py = getenv("PYTHON"), *top = getenv("TOP");
	char script[1024], pf[128], *url;
	struct http_pool_options o = { .max_in_flight = INFLIGHT };
	struct http_pool *p;
	struct errbuf err;
	struct st s = { 0, 0 };
	int port = 0, i, rc = 1;
	double t0, t;
	pid_t pid;

	if (!py || !*py)
		py = "/usr/bin/python3";
	if (!top || !*top)
		top = ".";
	snprintf(script, sizeof(script), "%s/tests/integration/scriptserver.py", top);
	snprintf(pf, sizeof(pf), "/tmp/tk-bench-http-%d.port", (int)getpid());
	unlink(pf);
	pid = fork();
	if (pid == 0) {
		execl(py, py, script, "--port-file", pf, "--latency-ms", LATENCY_MS, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200 && !port; i++) {
		FILE *f = fopen(pf, "r");
		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
		if (!port)
			usleep(50000);
	}
	if (!port) {
		fprintf(stderr, "bench/http: the script server did not start\n");
		goto out;
	}
	if (http_pool_new(&p, &o, &err)) {
		fprintf(stderr, "bench/http: %s\n", err.msg);
		goto out;
	}
	url = xasprintf("http://127.0.0.1:%d/plain", port);
	t0 = now_s();
	for (i = 0; i < NREQ; i++) {
		struct http_request req = { .method = "GET", .url = url };
		if (http_submit(p, &req, on_done, &s, &err)) {
			fprintf(stderr, "bench/http: %s\n", err.msg);
			goto out;
		}
	}
	if (http_pool_run(p, &err)) {
		fprintf(stderr, "bench/http: %s\n", err.msg);
		goto out;
	}
	t = now_s() - t0;
	printf("http: %d GETs (%d ok) at %d in flight, %s ms latency: %.3f s, %.0f req/s (target < %.1f s, "
	       "latency floor %.2f s)\n", NREQ, s.ok, INFLIGHT, LATENCY_MS, t, NREQ / t, TARGET_S,
	       NREQ / (double)INFLIGHT * 0.020);
	rc = (s.ok == NREQ && t < TARGET_S) ? 0 : 1;
	if (rc)
		printf("http: FAILED the target\n");
	free(url);
	http_pool_free(p);
out:
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(pf);
	return rc;
}
