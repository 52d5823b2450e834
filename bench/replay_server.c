/* bench/replay_server.c: a replay server for benchmarks (issue 17).
 *
 *   replay_server --world DIR [--port N] [--latency-ms MS] [--threads N] [--trace FILE]
 *
 * Serves a pre-generated organization (bench/gen_world.py writes DIR) from
 * memory over plain HTTP/1.1 on 127.0.0.1, so that trailkeep, not the server,
 * is what a benchmark measures:
 *   - S3 GetObject of every object in DIR/objects.idx (bodies in DIR/blob.bin,
 *     mmap'd, sent without copying; digest signatures as x-amz-meta-*);
 *   - S3 ListObjectsV2 (prefix, delimiter, start-after, continuation-token,
 *     max-keys) and ListObjects v1 (prefix, marker, max-keys) over the sorted
 *     key index (binary search, no scan);
 *   - every other call from a canned answer in DIR/canned/NAME where NAME is
 *     the JSON operation (X-Amz-Target after the last '.'), the query
 *     protocol's Action=, or "s3-SUBRESOURCE" for a bucket GET; NAME@REGION
 *     (region of the SigV4 credential scope) and NAME#NEXTTOKEN (a JSON body's
 *     "NextToken") are looked up first.  A canned file is "STATUS TYPE\n" then
 *     the body.  Unknown calls get 400 and are logged to stderr.
 * SigV4 signatures are NOT checked (any Authorization header is accepted);
 * this is a load generator's counterpart, not a fake AWS.
 *
 * Design: --threads N threads, each with its own SO_REUSEPORT listening
 * socket (backlog 4096), epoll loop and timerfd.  Every response is queued
 * with the deadline arrival + latency; as the latency is the same for every
 * request, the queue is a FIFO and one timerfd armed at its head is the whole
 * timer wheel.  TCP_NODELAY, keep-alive, Content-Length bodies.  The
 * threads run SCHED_BATCH: a request's arrival does not preempt the client
 * on a shared core (woken, the server waits for the client's time slice or
 * a free core, as a remote service would not take the client's CPU).
 * Control (not counted): GET /_replay/stats answers {"served": N, "unknown": M,
 * "in_flight": requests received and not yet answered, "now": T}; POST /_replay/now?t=EPOCH hides every object whose LastModified
 * is after T (the world as it was at T: a benchmark steps through the hours).
 * On SIGTERM/SIGINT it prints "served N requests" and exits 0.
 * First stdout line: PORT=<n>.
 * Wall-clock use is fine here: this is a benchmark, not library code. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>

#define BACKLOG 4096
#define RBUF 65536
#define HBUF 1024
#define MAXKEYS_CAP 1000

struct obj {
	const char *key;
	size_t klen;
	uint64_t off, size;
	long long mtime;
	const char *etag;	/* 32 hex */
	const char *sig;	/* NULL or hex signature */
	size_t siglen;
};

struct canned {
	char *name;
	int status;
	const char *ctype;
	char *body;
	size_t blen;
};

static struct obj *objs;
static size_t nobjs;
static const unsigned char *blob;
static size_t bloblen;
static struct canned *canned;
static size_t ncanned;
static long latency_ns;
static const char *bucket_name = "org-trail-logs";
static atomic_long served;
static atomic_long unknown;
static FILE *trace;		/* --trace FILE: "ms in-flight method target" per request */
static struct timespec t_start;
static atomic_long inflight;	/* requests read, answer not yet fully written */
/* objects whose LastModified is after this are invisible (POST /_replay/now?t=EPOCH) */
static atomic_llong cutoff = LLONG_MAX;

/* ---------- one connection ---------- */

struct conn {
	int fd;
	char *rbuf;
	size_t rlen;
	/* the response being written (or waiting for its deadline) */
	char hdr[HBUF];
	size_t hlen;
	char *dyn;		/* owned body (listings) or NULL */
	const char *body;
	size_t blen;
	size_t sent;		/* bytes of hdr+body written */
	int busy;		/* a response is queued or being written */
	int writing;		/* waiting for EPOLLOUT */
	int ctl;		/* a /_replay/ control answer (not counted) */
	int dead;		/* closed; freed at the end of the event batch */
	struct conn *fnext;
	int close_after;
	int closing;		/* closed by peer while queued */
	struct conn *qnext;
	struct timespec due;
};

struct worker {
	int lfd, ep, tfd;
	struct conn *qhead, *qtail;
	struct conn *dead;	/* closed connections, freed after the batch */
	pthread_t th;
};

static int port_global;

static void die(const char *what)
{
	fprintf(stderr, "replay_server: %s: %s\n", what, strerror(errno));
	exit(2);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	p = malloc((size_t)n + 1);
	if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(p);
		return NULL;
	}
	p[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return p;
}

static const void *map_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	void *p;

	if (fd < 0)
		die(path);
	if (fstat(fd, &st))
		die(path);
	*len = (size_t)st.st_size;
	if (!*len) {
		close(fd);
		return "";
	}
	p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		die(path);
	close(fd);
	return p;
}

static int cmp_obj(const void *a, const void *b)
{
	const struct obj *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* objects.idx: one line per object, tab-separated:
 * key size mtime etag offset signature|-   (sorted by key) */
static void load_index(const char *dir)
{
	char path[4096];
	size_t len, cap = 1024, i;
	char *idx, *p, *end;

	snprintf(path, sizeof(path), "%s/blob.bin", dir);
	blob = map_file(path, &bloblen);
	snprintf(path, sizeof(path), "%s/objects.idx", dir);
	idx = slurp(path, &len);
	if (!idx)
		die(path);
	objs = malloc(cap * sizeof(*objs));
	p = idx;
	end = idx + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *f[6];
		int k;
		struct obj *o;

		if (!nl)
			nl = end;
		*nl = 0;
		f[0] = p;
		for (k = 1; k < 6; k++) {
			char *t = strchr(f[k - 1], '\t');

			if (!t)
				break;
			*t = 0;
			f[k] = t + 1;
		}
		if (k == 6) {
			if (nobjs == cap) {
				cap *= 2;
				objs = realloc(objs, cap * sizeof(*objs));
				if (!objs)
					die("realloc");
			}
			o = &objs[nobjs++];
			o->key = f[0];
			o->klen = strlen(f[0]);
			o->size = strtoull(f[1], NULL, 10);
			o->mtime = strtoll(f[2], NULL, 10);
			o->etag = f[3];
			o->off = strtoull(f[4], NULL, 10);
			o->sig = strcmp(f[5], "-") ? f[5] : NULL;
			o->siglen = o->sig ? strlen(o->sig) : 0;
			if (o->off + o->size > bloblen) {
				fprintf(stderr, "replay_server: object past the blob: %s\n", o->key);
				exit(2);
			}
		}
		p = nl + 1;
	}
	qsort(objs, nobjs, sizeof(*objs), cmp_obj);
	for (i = 1; i < nobjs; i++)
		if (!cmp_obj(&objs[i - 1], &objs[i]))
			fprintf(stderr, "replay_server: duplicate key %s\n", objs[i].key);
}

static void load_canned(const char *dir)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	size_t cap = 64;

	snprintf(path, sizeof(path), "%s/canned", dir);
	d = opendir(path);
	if (!d)
		die(path);
	canned = calloc(cap, sizeof(*canned));
	while ((e = readdir(d))) {
		char fp[8192], *txt, *nl, *sp;
		size_t len;
		struct canned *c;

		if (e->d_name[0] == '.')
			continue;
		snprintf(fp, sizeof(fp), "%s/%s", path, e->d_name);
		txt = slurp(fp, &len);
		if (!txt)
			die(fp);
		nl = strchr(txt, '\n');
		if (!nl) {
			fprintf(stderr, "replay_server: bad canned file %s\n", fp);
			exit(2);
		}
		*nl = 0;
		sp = strchr(txt, ' ');
		if (ncanned == cap) {
			cap *= 2;
			canned = realloc(canned, cap * sizeof(*canned));
			if (!canned)
				die("realloc");
		}
		c = &canned[ncanned++];
		c->name = strdup(e->d_name);
		c->status = atoi(txt);
		c->ctype = sp ? sp + 1 : "application/json";
		c->body = nl + 1;
		c->blen = len - (size_t)(nl + 1 - txt);
	}
	closedir(d);
}

static const struct canned *find_canned(const char *name)
{
	size_t i;

	for (i = 0; i < ncanned; i++)
		if (!strcmp(canned[i].name, name))
			return &canned[i];
	return NULL;
}

/* first index whose key >= k (length n) */
static size_t lower_bound(const char *k, size_t n)
{
	size_t lo = 0, hi = nobjs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct obj *o = &objs[mid];
		size_t m = o->klen < n ? o->klen : n;
		int c = memcmp(o->key, k, m);

		if (!c)
			c = (o->klen > n) - (o->klen < n);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---------- small text helpers ---------- */

static int hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* percent-decode [s, s+n) into out (NUL-terminated); '+' stays '+' */
static size_t pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 1 < cap; i++) {
		if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
			out[o++] = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = 0;
	return o;
}

/* value of query parameter name in q (decoded into out); 1 if present */
static int qparam(const char *q, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	out[0] = 0;
	while (q && *q) {
		const char *amp = strchr(q, '&'), *eq;
		size_t len = amp ? (size_t)(amp - q) : strlen(q);

		eq = memchr(q, '=', len);
		if ((eq ? (size_t)(eq - q) : len) == nl && !memcmp(q, name, nl)) {
			if (eq)
				pct_decode(eq + 1, len - (size_t)(eq + 1 - q), out, cap);
			return 1;
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

/* keys here are [A-Za-z0-9/_.-]; anything else is %-encoded for encoding-type=url
 * and XML-escaped otherwise */
static void put_key(char **b, size_t *len, size_t *cap, const char *k, size_t n, int url);

static void grow(char **b, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 4096;
	*b = realloc(*b, *cap);
	if (!*b)
		die("realloc");
}

static void app(char **b, size_t *len, size_t *cap, const char *s, size_t n)
{
	grow(b, cap, *len + n + 1);
	memcpy(*b + *len, s, n);
	*len += n;
	(*b)[*len] = 0;
}

static void appf(char **b, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void appf(char **b, size_t *len, size_t *cap, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		app(b, len, cap, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void put_key(char **b, size_t *len, size_t *cap, const char *k, size_t n, int url)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '/' || c == '_' || c == '.' || c == '-')
			app(b, len, cap, (const char *)&k[i], 1);
		else if (url)
			appf(b, len, cap, "%%%02X", c);
		else if (c == '&')
			app(b, len, cap, "&amp;", 5);
		else if (c == '<')
			app(b, len, cap, "&lt;", 4);
		else
			app(b, len, cap, (const char *)&k[i], 1);
	}
}

static void iso(long long t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static void httpdate(long long t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* ---------- S3 listing ---------- */

static char *list_objects(const char *q, int v2, size_t *outlen)
{
	char prefix[2048], delim[16], after[2048], token[2048], tmp[64], enc[16];
	char *b = NULL;
	size_t len = 0, cap = 0, i, plen, count = 0, maxk = MAXKEYS_CAP;
	int url, truncated = 0;
	const char *last = NULL;
	size_t lastlen = 0;

	qparam(q, "prefix", prefix, sizeof(prefix));
	qparam(q, "delimiter", delim, sizeof(delim));
	qparam(q, "encoding-type", enc, sizeof(enc));
	url = !strcmp(enc, "url");
	if (qparam(q, "max-keys", tmp, sizeof(tmp))) {
		long m = strtol(tmp, NULL, 10);

		if (m >= 0 && m < MAXKEYS_CAP)
			maxk = (size_t)m;
	}
	after[0] = token[0] = 0;
	if (v2) {
		qparam(q, "start-after", after, sizeof(after));
		qparam(q, "continuation-token", token, sizeof(token));
	} else {
		qparam(q, "marker", after, sizeof(after));
	}
	plen = strlen(prefix);
	{
		const char *from = token[0] ? token : after;
		size_t flen = strlen(from);

		i = lower_bound(prefix, plen);
		if (flen && (flen > plen || memcmp(from, prefix, flen) >= 0)) {
			size_t j = lower_bound(from, flen);

			/* strictly after; a token or marker that is a common prefix
			 * (ends with the delimiter) skips every key under it */
			if (delim[0] && flen >= strlen(delim) &&
			    !strcmp(from + flen - strlen(delim), delim) && flen < sizeof(after)) {
				char nx[2048];

				memcpy(nx, from, flen);
				nx[flen - 1]++;
				j = lower_bound(nx, flen);
			} else if (j < nobjs && objs[j].klen == flen && !memcmp(objs[j].key, from, flen)) {
				j++;
			}
			if (j > i)
				i = j;
		}
	}
	appf(&b, &len, &cap, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
	     "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>%s</Name><Prefix>", bucket_name);
	put_key(&b, &len, &cap, prefix, plen, url);
	app(&b, &len, &cap, "</Prefix>", 9);
	{
		/* body first into a second buffer, then the counts */
		char *c = NULL;
		size_t clen = 0, ccap = 0, dl = strlen(delim);
		char lm[40];

		long long cut = atomic_load(&cutoff);

		while (i < nobjs && objs[i].klen >= plen && !memcmp(objs[i].key, prefix, plen)) {
			const struct obj *o = &objs[i];

			if (o->mtime > cut) {
				i++;
				continue;
			}
			if (count >= maxk) {
				truncated = 1;
				break;
			}
			if (dl) {
				const char *rest = o->key + plen;
				const char *hit = memmem(rest, o->klen - plen, delim, dl);

				if (hit) {
					size_t cpl = (size_t)(hit - o->key) + dl;
					char nextk[2048];

					app(&c, &clen, &ccap, "<CommonPrefixes><Prefix>", 24);
					put_key(&c, &clen, &ccap, o->key, cpl, url);
					app(&c, &clen, &ccap, "</Prefix></CommonPrefixes>", 26);
					count++;
					last = o->key;
					lastlen = cpl;
					/* skip every key under this common prefix */
					if (cpl >= sizeof(nextk))
						break;
					memcpy(nextk, o->key, cpl);
					nextk[cpl - 1]++;
					i = lower_bound(nextk, cpl);
					continue;
				}
			}
			iso(o->mtime, lm, sizeof(lm));
			app(&c, &clen, &ccap, "<Contents><Key>", 15);
			put_key(&c, &clen, &ccap, o->key, o->klen, url);
			appf(&c, &clen, &ccap, "</Key><LastModified>%s</LastModified><ETag>&quot;%.32s&quot;"
			     "</ETag><Size>%llu</Size><StorageClass>STANDARD</StorageClass></Contents>",
			     lm, o->etag, (unsigned long long)o->size);
			count++;
			last = o->key;
			lastlen = o->klen;
			i++;
		}
		if (v2) {
			if (after[0]) {
				app(&b, &len, &cap, "<StartAfter>", 12);
				put_key(&b, &len, &cap, after, strlen(after), url);
				app(&b, &len, &cap, "</StartAfter>", 13);
			}
			appf(&b, &len, &cap, "<KeyCount>%zu</KeyCount>", count);
		} else if (after[0]) {
			app(&b, &len, &cap, "<Marker>", 8);
			put_key(&b, &len, &cap, after, strlen(after), url);
			app(&b, &len, &cap, "</Marker>", 9);
		}
		appf(&b, &len, &cap, "<MaxKeys>%zu</MaxKeys>", maxk);
		if (dl) {
			app(&b, &len, &cap, "<Delimiter>", 11);
			put_key(&b, &len, &cap, delim, dl, url);
			app(&b, &len, &cap, "</Delimiter>", 12);
		}
		appf(&b, &len, &cap, "<IsTruncated>%s</IsTruncated>", truncated ? "true" : "false");
		if (url)
			app(&b, &len, &cap, "<EncodingType>url</EncodingType>", 32);
		if (truncated && last) {
			/* the token is the last key (or common prefix) returned */
			app(&b, &len, &cap, v2 ? "<NextContinuationToken>" : "<NextMarker>",
			    v2 ? 23 : 12);
			put_key(&b, &len, &cap, last, lastlen, 1);
			app(&b, &len, &cap, v2 ? "</NextContinuationToken>" : "</NextMarker>",
			    v2 ? 24 : 13);
		}
		if (clen)
			app(&b, &len, &cap, c, clen);
		free(c);
	}
	app(&b, &len, &cap, "</ListBucketResult>", 19);
	*outlen = len;
	return b;
}

/* ---------- requests ---------- */

static const char s3_missing[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
	"<Message>The specified key does not exist.</Message></Error>";

static void respond(struct conn *c, int status, const char *ctype, const char *body,
		    size_t blen, const char *extra)
{
	const char *reason = status == 200 ? "OK" : status == 204 ? "No Content" :
			     status == 404 ? "Not Found" : status == 403 ? "Forbidden" : "Bad Request";

	c->hlen = (size_t)snprintf(c->hdr, sizeof(c->hdr),
				   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
				   "x-amz-request-id: replay\r\nx-amzn-RequestId: replay\r\n%s%s\r\n",
				   status, reason, ctype, blen, extra ? extra : "",
				   c->close_after ? "Connection: close\r\n" : "");
	if (c->hlen >= sizeof(c->hdr))
		c->hlen = sizeof(c->hdr) - 1;
	c->body = body;
	c->blen = blen;
	c->sent = 0;
}

static void region_of(const char *auth, char *out, size_t cap)
{
	const char *p = auth ? strstr(auth, "Credential=") : NULL;
	const char *s1, *s2, *s3;

	out[0] = 0;
	if (!p)
		return;
	s1 = strchr(p, '/');
	s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	s3 = s2 ? strchr(s2 + 1, '/') : NULL;
	if (s3 && (size_t)(s3 - s2 - 1) < cap) {
		memcpy(out, s2 + 1, (size_t)(s3 - s2 - 1));
		out[s3 - s2 - 1] = 0;
	}
}

static void answer_canned(struct conn *c, const char *name, const char *region, const char *body)
{
	char full[512];
	const struct canned *k = NULL;
	const char *nt = body ? strstr(body, "\"NextToken\"") : NULL;

	if (nt) {
		const char *q1 = strchr(nt + 11, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;

		if (q2 && q2 - q1 < 200) {
			snprintf(full, sizeof(full), "%s#%.*s", name, (int)(q2 - q1 - 1), q1 + 1);
			k = find_canned(full);
		}
	}
	if (!k && region[0]) {
		snprintf(full, sizeof(full), "%s@%s", name, region);
		k = find_canned(full);
	}
	if (!k)
		k = find_canned(name);
	if (!k) {
		static const char msg[] = "{\"__type\":\"UnknownOperationException\",\"message\":\"replay: no canned answer\"}";

		atomic_fetch_add(&unknown, 1);
		fprintf(stderr, "replay_server: no canned answer for %s (region %s)\n", name, region);
		respond(c, 400, "application/x-amz-json-1.1", msg, sizeof(msg) - 1, NULL);
		return;
	}
	respond(c, k->status, k->ctype, k->body, k->blen, NULL);
}

static void handle(struct conn *c, char *method, char *target, const char *xtarget,
		   const char *auth, char *body)
{
	char region[64], name[256];
	char *q = strchr(target, '?');

	region_of(auth, region, sizeof(region));
	if (trace && strncmp(target, "/_replay/", 9)) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		fprintf(trace, "%.1f %ld %s %.160s %s\n", (double)(now.tv_sec - t_start.tv_sec) * 1e3 +
			(double)(now.tv_nsec - t_start.tv_nsec) / 1e6, atomic_load(&inflight), method, target,
			xtarget ? xtarget : "");
	}
	if (q)
		*q++ = 0;
	if (!strncmp(target, "/_replay/", 9)) {
		char t[32];

		c->ctl = 1;
		if (!strcmp(target + 9, "now") && q && qparam(q, "t", t, sizeof(t)))
			atomic_store(&cutoff, strtoll(t, NULL, 10));
		c->dyn = malloc(128);
		if (!c->dyn)
			die("malloc");
		c->blen = (size_t)snprintf(c->dyn, 128, "{\"served\": %ld, \"unknown\": %ld, \"in_flight\": %ld, "
					   "\"now\": %lld}\n", atomic_load(&served), atomic_load(&unknown),
					   atomic_load(&inflight), (long long)atomic_load(&cutoff));
		respond(c, 200, "application/json", c->dyn, c->blen, NULL);
		return;
	}
	if (xtarget) {
		const char *dot = strrchr(xtarget, '.');

		snprintf(name, sizeof(name), "%s", dot ? dot + 1 : xtarget);
		answer_canned(c, name, region, body);
		return;
	}
	if (!strcmp(method, "POST") && !strcmp(target, "/") && body) {
		char act[128];

		if (qparam(body, "Action", act, sizeof(act))) {
			answer_canned(c, act, region, NULL);
			return;
		}
	}
	/* S3, path-style: /bucket[/key] */
	if (target[0] == '/') {
		char *slash = strchr(target + 1, '/');

		if (!slash || !slash[1]) {
			if (slash)
				*slash = 0;
			if (!strcmp(method, "GET") && q && strstr(q, "list-type=2")) {
				c->dyn = list_objects(q, 1, &c->blen);
				respond(c, 200, "application/xml", c->dyn, c->blen, NULL);
				return;
			}
			if (!strcmp(method, "HEAD")) {
				answer_canned(c, "s3-head", region, NULL);
				return;
			}
			if (!strcmp(method, "GET") && q && *q) {
				char sub[64];
				size_t n = strcspn(q, "=&");

				if (n < sizeof(sub) && strncmp(q, "prefix", 6) && strncmp(q, "marker", 6) &&
				    strncmp(q, "max-keys", 8) && strncmp(q, "delimiter", 9) &&
				    strncmp(q, "encoding-type", 13)) {
					snprintf(name, sizeof(name), "s3-%.*s", (int)n, q);
					answer_canned(c, name, region, NULL);
					return;
				}
			}
			if (!strcmp(method, "GET")) {
				c->dyn = list_objects(q ? q : "", 0, &c->blen);
				respond(c, 200, "application/xml", c->dyn, c->blen, NULL);
				return;
			}
		} else if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
			char key[2048], extra[1024], lm[64];
			size_t kl = pct_decode(slash + 1, strlen(slash + 1), key, sizeof(key)), i;

			i = lower_bound(key, kl);
			if (i < nobjs && objs[i].klen == kl && !memcmp(objs[i].key, key, kl) &&
			    objs[i].mtime <= atomic_load(&cutoff)) {
				const struct obj *o = &objs[i];

				httpdate(o->mtime, lm, sizeof(lm));
				if (o->sig)
					snprintf(extra, sizeof(extra),
						 "ETag: \"%.32s\"\r\nLast-Modified: %s\r\n"
						 "x-amz-meta-signature: %.*s\r\n"
						 "x-amz-meta-signature-algorithm: SHA256withRSA\r\n",
						 o->etag, lm, (int)o->siglen, o->sig);
				else
					snprintf(extra, sizeof(extra), "ETag: \"%.32s\"\r\nLast-Modified: %s\r\n",
						 o->etag, lm);
				respond(c, 200, "application/json", (const char *)blob + o->off,
					(size_t)o->size, extra);
				if (!strcmp(method, "HEAD"))
					c->blen = 0;
				return;
			}
			respond(c, 404, "application/xml", s3_missing, sizeof(s3_missing) - 1, NULL);
			if (!strcmp(method, "HEAD"))
				c->blen = 0;
			return;
		}
	}
	atomic_fetch_add(&unknown, 1);
	fprintf(stderr, "replay_server: no answer for %s %s?%s\n", method, target, q ? q : "");
	respond(c, 400, "application/xml", "<Error><Code>NotImplemented</Code></Error>", 41, NULL);
}

/* ---------- event loop ---------- */

static void ts_add_ns(struct timespec *t, long ns)
{
	t->tv_nsec += ns % 1000000000L;
	t->tv_sec += ns / 1000000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

static int ts_le(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/* close c; the memory stays valid until the end of the current event batch
 * (later events of the batch and callers up the stack may still look at it) */
static void conn_free(struct worker *w, struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	if (c->busy && !c->ctl)
		atomic_fetch_sub(&inflight, 1);
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fnext = w->dead;
	w->dead = c;
}

static void reap(struct worker *w)
{
	while (w->dead) {
		struct conn *c = w->dead;

		w->dead = c->fnext;
		free(c->dyn);
		free(c->rbuf);
		free(c);
	}
}

static void try_parse(struct worker *w, struct conn *c);

/* write as much of the queued response as the socket takes; 1 when done */
static int flush_out(struct worker *w, struct conn *c)
{
	while (c->sent < c->hlen + c->blen) {
		struct iovec iov[2];
		int n = 0;
		ssize_t r;

		if (c->sent < c->hlen) {
			iov[n].iov_base = c->hdr + c->sent;
			iov[n++].iov_len = c->hlen - c->sent;
			if (c->blen) {
				iov[n].iov_base = (void *)(uintptr_t)c->body;
				iov[n++].iov_len = c->blen;
			}
		} else {
			iov[n].iov_base = (void *)(uintptr_t)(c->body + (c->sent - c->hlen));
			iov[n++].iov_len = c->blen - (c->sent - c->hlen);
		}
		r = writev(c->fd, iov, n);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };

				epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->writing = 1;
				return 0;
			}
			return -1;
		}
		c->sent += (size_t)r;
	}
	return 1;
}

static void finish_response(struct worker *w, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (!c->ctl) {
		atomic_fetch_add(&served, 1);
		atomic_fetch_sub(&inflight, 1);
	}
	c->ctl = 0;
	free(c->dyn);
	c->dyn = NULL;
	c->busy = 0;
	c->writing = 0;
	c->hlen = c->blen = c->sent = 0;
	if (c->close_after) {
		conn_free(w, c);
		return;
	}
	epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
	try_parse(w, c);
}

static void arm(struct worker *w)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (w->qhead) {
		its.it_value = w->qhead->due;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void send_now(struct worker *w, struct conn *c)
{
	int r;

	if (c->dead)
		return;
	if (c->closing) {
		conn_free(w, c);
		return;
	}
	r = flush_out(w, c);
	if (r < 0)
		conn_free(w, c);
	else if (r > 0)
		finish_response(w, c);
}

static void enqueue(struct worker *w, struct conn *c)
{
	c->busy = 1;
	if (!c->ctl)
		atomic_fetch_add(&inflight, 1);
	if (!latency_ns) {
		send_now(w, c);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->due);
	ts_add_ns(&c->due, latency_ns);
	c->qnext = NULL;
	if (w->qtail)
		w->qtail->qnext = c;
	else
		w->qhead = c;
	w->qtail = c;
	if (w->qhead == c)
		arm(w);
}

static void on_timer(struct worker *w)
{
	uint64_t exp;
	struct timespec now;

	if (read(w->tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	while (w->qhead && ts_le(&w->qhead->due, &now)) {
		struct conn *c = w->qhead;

		w->qhead = c->qnext;
		if (!w->qhead)
			w->qtail = NULL;
		send_now(w, c);
	}
	arm(w);
}

/* copy the value of header name (lines of [h, e)) into dst */
static void take(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
	size_t nl = strlen(name), vl;
	const char *v;

	if (n <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
		return;
	v = line + nl + 1;
	while (v < line + n && *v == ' ')
		v++;
	vl = (size_t)(line + n - v);
	if (vl >= cap)
		vl = cap - 1;
	memcpy(dst, v, vl);
	dst[vl] = 0;
}

static void try_parse(struct worker *w, struct conn *c)
{
	char *end, *sp1, *sp2, *hdrs, *body;
	char cl[32] = "", xt[256] = "", auth[512] = "", conn_h[32] = "", expect[32] = "";
	size_t hl, blen = 0, total;

	if (c->dead || c->busy || !c->rlen)
		return;
	c->rbuf[c->rlen] = 0;
	end = strstr(c->rbuf, "\r\n\r\n");
	if (!end) {
		if (c->rlen >= RBUF - 1)
			c->closing = 1;
		return;
	}
	hl = (size_t)(end - c->rbuf) + 4;
	hdrs = memchr(c->rbuf, '\n', hl);
	if (!hdrs) {
		c->closing = 1;
		return;
	}
	for (hdrs++; hdrs < end;) {
		char *eol = memchr(hdrs, '\r', (size_t)(end + 2 - hdrs));
		size_t n;

		if (!eol)
			break;
		n = (size_t)(eol - hdrs);
		switch (hdrs[0] | 0x20) {
		case 'c':
			take(hdrs, n, "Content-Length", cl, sizeof(cl));
			take(hdrs, n, "Connection", conn_h, sizeof(conn_h));
			break;
		case 'x':
			take(hdrs, n, "X-Amz-Target", xt, sizeof(xt));
			break;
		case 'a':
			take(hdrs, n, "Authorization", auth, sizeof(auth));
			break;
		case 'e':
			take(hdrs, n, "Expect", expect, sizeof(expect));
			break;
		default:
			break;
		}
		hdrs = eol + 2;
	}
	if (cl[0])
		blen = strtoul(cl, NULL, 10);
	if (blen > RBUF - 1 - hl) {
		c->closing = 1;
		return;
	}
	total = hl + blen;
	if (c->rlen < total) {
		if (expect[0] && !strncasecmp(expect, "100-continue", 12) && c->rlen == hl) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			if (write(c->fd, cont, sizeof(cont) - 1) < 0)
				c->closing = 1;
			expect[0] = 0;
		}
		return;
	}
	/* request line */
	*strstr(c->rbuf, "\r\n") = 0;
	sp1 = strchr(c->rbuf, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2) {
		c->closing = 1;
		return;
	}
	*sp1 = *sp2 = 0;
	body = c->rbuf + hl;
	{
		char bcopy[RBUF];

		memcpy(bcopy, body, blen);
		bcopy[blen] = 0;
		c->close_after = !strcasecmp(conn_h, "close");
		handle(c, c->rbuf, sp1 + 1, xt[0] ? xt : NULL, auth, blen ? bcopy : NULL);
	}
	memmove(c->rbuf, c->rbuf + total, c->rlen - total);
	c->rlen -= total;
	enqueue(w, c);
}

static void on_read(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t r;

		if (c->rlen >= RBUF - 1) {
			if (c->busy)
				c->closing = 1;
			else
				conn_free(w, c);
			return;
		}
		r = read(c->fd, c->rbuf + c->rlen, RBUF - 1 - c->rlen);
		if (r > 0) {
			c->rlen += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			if (c->busy)
				c->closing = 1;	/* freed when its turn comes */
			else
				conn_free(w, c);
			return;
		}
		break;
	}
	try_parse(w, c);
	if (!c->dead && c->closing && !c->busy)
		conn_free(w, c);
}

static void on_accept(struct worker *w)
{
	for (;;) {
		int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct conn *c;
		struct epoll_event ev = { .events = EPOLLIN };

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c)
			die("calloc");
		c->rbuf = malloc(RBUF);
		if (!c->rbuf)
			die("malloc");
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c->rbuf);
			free(c);
		}
	}
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	if (fd < 0)
		die("socket");
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
	if (listen(fd, BACKLOG))
		die("listen");
	return fd;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev, evs[256];
	static char lmark, tmark;
	struct sched_param sp;

	/* SCHED_BATCH: a request arriving does not make the server preempt the
	 * client it shares the cores with (it stands for a remote service) */
	memset(&sp, 0, sizeof(sp));
	pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->ep < 0 || w->tfd < 0)
		die("epoll/timerfd");
	ev.events = EPOLLIN;
	ev.data.ptr = &lmark;
	epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &ev);
	ev.data.ptr = &tmark;
	epoll_ctl(w->ep, EPOLL_CTL_ADD, w->tfd, &ev);
	for (;;) {
		int n = epoll_wait(w->ep, evs, 256, -1), i;

		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &lmark) {
				on_accept(w);
			} else if (p == &tmark) {
				on_timer(w);
			} else {
				struct conn *c = p;

				if (c->dead)
					continue;
				if (c->busy && c->writing) {
					send_now(w, c);
					continue;
				}
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					on_read(w, c);
			}
		}
		reap(w);
	}
	return NULL;
}

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int port = 0, threads = 2, i;
	double lat_ms = 0;
	struct worker *ws;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	sigset_t set;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--world") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--latency-ms") && i + 1 < argc)
			lat_ms = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--trace") && i + 1 < argc) {
			trace = fopen(argv[++i], "w");
			if (!trace)
				die(argv[i]);
		} else if (!strcmp(argv[i], "--bucket") && i + 1 < argc)
			bucket_name = argv[++i];
		else {
			fprintf(stderr, "usage: replay_server --world DIR [--port N] [--latency-ms MS] "
				"[--threads N] [--bucket NAME] [--trace FILE]\n");
			return 2;
		}
	}
	if (!dir || threads < 1 || threads > 64 || lat_ms < 0)
		return 2;
	latency_ns = (long)(lat_ms * 1e6);
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	signal(SIGPIPE, SIG_IGN);
	load_index(dir);
	load_canned(dir);
	ws = calloc((size_t)threads, sizeof(*ws));
	ws[0].lfd = listen_on(port);
	if (getsockname(ws[0].lfd, (struct sockaddr *)&a, &al))
		die("getsockname");
	port_global = ntohs(a.sin_port);
	for (i = 1; i < threads; i++)
		ws[i].lfd = listen_on(port_global);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < threads; i++)
		if (pthread_create(&ws[i].th, NULL, run, &ws[i]))
			die("pthread_create");
	printf("PORT=%d\n", port_global);
	fprintf(stderr, "replay_server: %zu objects, %zu canned answers, %.1f MiB blob, %d threads, "
		"%.1f ms latency\n", nobjs, ncanned, bloblen / 1048576.0, threads, lat_ms);
	fflush(stdout);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	while (!stop)
		pause();
	if (trace)
		fclose(trace);
	printf("served %ld requests, %ld unknown\n", atomic_load(&served), atomic_load(&unknown));
	fflush(stdout);
	return 0;
}
