/* bench/http_spread.c: 3,000 small GETs at 256 in flight through the HTTP
 * pool against tests/integration/scriptserver.py on 127.0.0.1, each answer
 * delayed by its own 10 to 50 ms (the script server's sleep step; asyncio
 * times each one), so answers arrive spread out as from a real service, not
 * in bursts as from the replay server (one delay for every request).  What
 * it measures is the client's CPU per request (user + system, getrusage):
 * the event loop's cost of a wake-up that finds a few ready transfers among
 * 256 (issue 17: the loop hands curl only the ready sockets).  Prints the
 * time, requests/s and CPU per request; exits 1 when a request fails.  The
 * Python server is the ceiling of the wall time (a few thousand
 * requests/s), not of the CPU figure. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define NREQ 3000
#define INFLIGHT 256

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

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(void)
{
	const char *py = getenv("PYTHON"), *top = getenv("TOP");
	char script[1024], pf[128];
	struct http_pool_options o = { .max_in_flight = INFLIGHT };
	struct http_pool *p = NULL;
	struct errbuf err;
	struct st s = { 0, 0 };
	int port = 0, i, rc = 1;
	double t0, c0, t, c, delays = 0;
	pid_t pid;

	if (!py || !*py)
		py = "/usr/bin/python3";
	if (!top || !*top)
		top = ".";
	snprintf(script, sizeof(script), "%s/tests/integration/scriptserver.py", top);
	snprintf(pf, sizeof(pf), "/tmp/tk-bench-http-spread-%d.port", (int)getpid());
	unlink(pf);
	pid = fork();
	if (pid == 0) {
		execl(py, py, script, "--port-file", pf, "--latency-ms", "0", (char *)NULL);
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
		fprintf(stderr, "bench/http_spread: the script server did not start\n");
		goto out;
	}
	if (http_pool_new(&p, &o, &err)) {
		fprintf(stderr, "bench/http_spread: %s\n", err.msg);
		goto out;
	}
	t0 = now_s();
	c0 = cpu_s();
	for (i = 0; i < NREQ; i++) {
		int ms = 10 + (i * 7919) % 41;   /* 10..50 ms, spread evenly */
		char *u = xasprintf("http://127.0.0.1:%d/s/spread%d/sleep%d", port, i, ms);
		struct http_request req = { .method = "GET", .url = u };

		delays += ms / 1000.0;
		if (http_submit(p, &req, on_done, &s, &err)) {
			fprintf(stderr, "bench/http_spread: %s\n", err.msg);
			free(u);
			goto out;
		}
		free(u);
	}
	if (http_pool_run(p, &err)) {
		fprintf(stderr, "bench/http_spread: %s\n", err.msg);
		goto out;
	}
	t = now_s() - t0;
	c = cpu_s() - c0;
	printf("http_spread: %d GETs (%d ok) at %d in flight, answers delayed 10-50 ms each: %.3f s, %.0f req/s "
	       "(latency floor %.2f s); client CPU %.3f s, %.0f us per request\n", NREQ, s.ok, INFLIGHT, t,
	       NREQ / t, delays / INFLIGHT, c, 1e6 * c / NREQ);
	rc = s.ok == NREQ ? 0 : 1;
	if (rc)
		printf("http_spread: FAILED: %d of %d requests failed\n", NREQ - s.ok, NREQ);
out:
	http_pool_free(p);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(pf);
	return rc;
}
