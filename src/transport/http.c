/* http.c: see http.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "http.h"
#include "banned.h"

struct xfer {
	struct http_pool *pool;
	CURL *easy;
	struct curl_slist *hdrs;
	char *url;
	char *method;
	const void *body;
	size_t body_len;
	http_sink_fn sink;
	void *sink_ud;
	http_done_fn done;
	void *ud;
	long timeout_ms;
	bool deadline_capped;         /* its curl timeout is the run's deadline */
	struct http_response resp;
	char curl_err[CURL_ERROR_SIZE];
	struct xfer *next;            /* queue */
	struct xfer *rprev, *rnext;   /* running list */
	char store[];                 /* url and method (one allocation) */
};

struct http_pool {
	CURLM *multi;
	struct http_pool_options opt;
	char *ca_bundle;
	char *user_agent;
	struct xfer *qhead, *qtail;   /* queued, not started */
	struct xfer *rhead;           /* running */
	/* finished easy handles kept for the next requests (issue 17: one
	 * curl_easy_init/cleanup per request was ~5% of the event loop's CPU,
	 * plus the page faults of its buffers); at most max_in_flight */
	CURL **idle;
	size_t nidle;
	/* curl's sockets, watched with epoll: the loop hands curl only the
	 * sockets that are ready (curl_multi_socket_action) instead of
	 * curl_multi_perform walking every transfer on each wake-up */
	int epfd;
	CURLMcode sock_err;           /* an epoll_ctl failure seen in on_socket */
	size_t running;
	size_t pending;               /* queued + running */
	bool in_run;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, HTTP_MAX_BODY);
}

static void headers_free(struct http_response *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		free(r->headers[i].name);   /* the value is in the same block */
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
	r->aheaders = 0;
	r->header_bytes = 0;
}

void http_response_release(struct http_response *r)
{
	if (!r)
		return;
	headers_free(r);
	buf_release(&r->body);
}

void http_response_move(struct http_response *dst, struct http_response *src)
{
	*dst = *src;
	memset(src, 0, sizeof(*src));
	buf_init(&src->body, dst->body.limit);
}

const char *http_header_get(const struct http_response *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

void http_content_md5(const void *data, size_t n, char out[25])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, n, md, &mdlen, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);   /* 16 bytes -> 24 chars + NUL */
}

static bool host_is_loopback(const char *host)
{
	unsigned char a6[16];
	struct in_addr a4;
	char tmp[64];
	size_t n;

	if (!strcasecmp(host, "localhost"))
		return true;
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(tmp)) {
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, a6) == 1) {
			static const unsigned char lo[16] = { [15] = 1 };
			return !memcmp(a6, lo, 16);
		}
		return false;
	}
	if (inet_pton(AF_INET6, host, a6) == 1) {
		static const unsigned char lo[16] = { [15] = 1 };
		return !memcmp(a6, lo, 16);
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return false;
}

/* What of a url goes into a message: never the query (a presigned URL
 * carries credentials there), never a user:password@ (shown as "***@"), at
 * most 200 bytes. */
static const char *url_shown(const char *url, char *out, size_t n)
{
	size_t len = strcspn(url, "?#");
	const char *auth = strstr(url, "://");
	const char *at;

	if (len > 200)
		len = 200;
	auth = auth && (size_t)(auth - url) < len ? auth + 3 : url;
	at = memchr(auth, '@', len - (size_t)(auth - url));
	if (at && !memchr(auth, '/', (size_t)(at - auth)))
		snprintf(out, n, "%.*s***%.*s", (int)(auth - url), url, (int)(len - (size_t)(at - url)), at);
	else if (at)
		snprintf(out, n, "%.*s", (int)(auth - url), url);   /* an '@' after a '/': show no more */
	else
		snprintf(out, n, "%.*s", (int)len, url);
	return out;
}

static char *url_part(CURLU *u, CURLUPart what)
{
	char *v = NULL, *copy;
	CURLUcode uc = curl_url_get(u, what, &v, 0);

	if (uc == CURLUE_OUT_OF_MEMORY)
		tk_oom();
	if (uc != CURLUE_OK || !v) {
		curl_free(v);
		return NULL;
	}
	copy = xstrdup(v);
	curl_free(v);
	return copy;
}

void http_url_release(struct http_url *u)
{
	if (!u)
		return;
	free(u->scheme);
	free(u->host);
	free(u->port);
	free(u->path);
	free(u->query);
	free(u->fragment);
	memset(u, 0, sizeof(*u));
}

int http_url_parse(struct http_url *out, const char *url, bool as_is, struct errbuf *err)
{
	CURLU *u = curl_url();
	CURLUcode uc;
	char shown[256];
	char *v = NULL;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!u)
		tk_oom();
	uc = curl_url_set(u, CURLUPART_URL, url, as_is ? CURLU_PATH_AS_IS | CURLU_ALLOW_SPACE : 0);
	if (uc == CURLUE_OUT_OF_MEMORY)
		tk_oom();
	if (uc != CURLUE_OK) {
		curl_url_cleanup(u);
		return err_set(err, TK_EUSAGE, "'%s' is not a valid URL (%s)", url_shown(url, shown, sizeof(shown)),
			       curl_url_strerror(uc));
	}
	out->scheme = url_part(u, CURLUPART_SCHEME);
	out->host = url_part(u, CURLUPART_HOST);
	out->port = url_part(u, CURLUPART_PORT);
	out->path = url_part(u, CURLUPART_PATH);
	out->query = url_part(u, CURLUPART_QUERY);
	out->fragment = url_part(u, CURLUPART_FRAGMENT);
	uc = curl_url_get(u, CURLUPART_USER, &v, 0);
	if (uc == CURLUE_OUT_OF_MEMORY)
		tk_oom();
	if (uc == CURLUE_OK)
		out->has_userinfo = true;
	curl_free(v);
	v = NULL;
	uc = curl_url_get(u, CURLUPART_PASSWORD, &v, 0);
	if (uc == CURLUE_OUT_OF_MEMORY)
		tk_oom();
	if (uc == CURLUE_OK)
		out->has_userinfo = true;
	if (v)
		memset(v, 0, strlen(v));
	curl_free(v);
	curl_url_cleanup(u);
	if (!out->scheme) {
		http_url_release(out);
		return err_set(err, TK_EUSAGE, "'%s' is not a valid URL (no scheme)",
			       url_shown(url, shown, sizeof(shown)));
	}
	for (i = 0; out->scheme[i]; i++)
		if (out->scheme[i] >= 'A' && out->scheme[i] <= 'Z')
			out->scheme[i] = (char)(out->scheme[i] - 'A' + 'a');
	if (!out->path)
		out->path = xstrdup("/");
	return 0;
}

/* Parse url: scheme must be http/https; *host_out malloc'd. */
static int url_check(const char *url, char **host_out, struct errbuf *err)
{
	struct http_url pu;
	char shown[256];
	int rc;

	*host_out = NULL;
	if (http_url_parse(&pu, url, false, NULL))
		return err_set(err, TK_EUSAGE, "invalid url '%s'", url_shown(url, shown, sizeof(shown)));
	rc = 0;
	if (strcmp(pu.scheme, "http") && strcmp(pu.scheme, "https"))
		rc = err_set(err, TK_EUSAGE, "unsupported url scheme '%.20s'", pu.scheme);
	else if (!pu.host || !*pu.host)
		rc = err_set(err, TK_EUSAGE, "invalid url '%s'", url_shown(url, shown, sizeof(shown)));
	else
		*host_out = xstrdup(pu.host);
	http_url_release(&pu);
	return rc;
}

/* host (as curl gives it: IPv6 in brackets) equals name, as a name or as
 * the same IP address */
static bool host_equal(const char *host, const char *name)
{
	unsigned char a[16], b[16];
	char tmp[64];
	size_t n = strlen(host);

	if (!strcasecmp(host, name))
		return true;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(tmp)) {
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = '\0';
		return inet_pton(AF_INET6, tmp, a) == 1 && inet_pton(AF_INET6, name, b) == 1 && !memcmp(a, b, 16);
	}
	if (inet_pton(AF_INET, host, a) == 1 && inet_pton(AF_INET, name, b) == 1)
		return !memcmp(a, b, 4);
	return false;
}

int http_url_cleartext(const char *url, const char *const *hosts, char **host_out)
{
	struct http_url pu;
	int rc = 0;
	size_t i;

	if (host_out)
		*host_out = NULL;
	if (http_url_parse(&pu, url, false, NULL))
		return -1;
	if (!pu.host) {
		rc = -1;
		goto done;
	}
	if (strcmp(pu.scheme, "http") || host_is_loopback(pu.host))
		goto done;
	for (i = 0; hosts && hosts[i]; i++)
		if (host_equal(pu.host, hosts[i]))
			goto done;
	rc = 1;
	if (host_out)
		*host_out = xstrdup(pu.host);
done:
	http_url_release(&pu);
	return rc;
}

bool http_url_is_loopback(const char *url)
{
	char *host = NULL;
	bool lo;

	if (url_check(url, &host, NULL))
		return false;
	lo = host_is_loopback(host);
	free(host);
	return lo;
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl waits on.  socketp is
 * what curl_multi_assign gave s: non-NULL once s is in the epoll set. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *socketp)
{
	struct http_pool *p = ud;
	struct epoll_event ev;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		/* curl may already have closed s (then it left the set by itself);
		 * curl forgets the assigned pointer with the socket */
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	ev.data.fd = s;
	if (epoll_ctl(p->epfd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) &&
	    epoll_ctl(p->epfd, socketp ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev)) {
		p->sock_err = CURLM_INTERNAL_ERROR;
		return -1;
	}
	curl_multi_assign(p->multi, s, p);
	return 0;
}

int http_pool_new(struct http_pool **out, const struct http_pool_options *opt, struct errbuf *err)
{
	struct http_pool *p;
	long n;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return err_set(err, TK_EFAIL, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_rc));
	p = xcalloc(1, sizeof(*p));
	if (opt)
		p->opt = *opt;
	if (p->opt.max_in_flight <= 0)
		p->opt.max_in_flight = HTTP_DEFAULT_IN_FLIGHT;
	if (p->opt.connect_timeout_ms <= 0)
		p->opt.connect_timeout_ms = 10000;
	if (p->opt.low_speed_time_s <= 0)
		p->opt.low_speed_time_s = HTTP_LOW_SPEED_TIME_S;
	if (p->opt.low_speed_limit <= 0)
		p->opt.low_speed_limit = HTTP_LOW_SPEED_LIMIT;
	if (p->opt.collect_timeout_ms == 0)
		p->opt.collect_timeout_ms = HTTP_COLLECT_TIMEOUT_MS;
	if (!p->opt.now_ms)
		p->opt.deadline_ms = 0;
	p->ca_bundle = p->opt.ca_bundle ? xstrdup(p->opt.ca_bundle) : NULL;
	p->user_agent = xstrdup(p->opt.user_agent ? p->opt.user_agent : "trailkeep");
	p->opt.ca_bundle = p->ca_bundle;
	p->opt.user_agent = p->user_agent;
	p->idle = xcalloc((size_t)p->opt.max_in_flight, sizeof(*p->idle));
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
		int e = errno;

		free(p->idle);
		free(p->ca_bundle);
		free(p->user_agent);
		free(p);
		return err_set(err, TK_EFAIL, "cannot create an epoll instance: %s", strerror(e));
	}
	p->multi = curl_multi_init();
	if (!p->multi)
		tk_oom();   /* after curl_global_init, only an allocation fails here */
	curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
	n = p->opt.max_in_flight;
	curl_multi_setopt(p->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, n);
	curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
	curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, n);
	*out = p;
	return 0;
}

/* curl_slist_append returns NULL only when it cannot allocate */
static struct curl_slist *slist_add(struct curl_slist *l, const char *line)
{
	struct curl_slist *n = curl_slist_append(l, line);

	if (!n)
		tk_oom();
	return n;
}

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	http_response_release(&x->resp);
	free(x);
}

void http_pool_free(struct http_pool *p)
{
	struct xfer *x, *next;

	if (!p)
		return;
	for (x = p->qhead; x; x = next) {
		next = x->next;
		xfer_free(x);
	}
	for (x = p->rhead; x; x = next) {
		next = x->rnext;
		if (x->easy && p->multi)
			curl_multi_remove_handle(p->multi, x->easy);
		xfer_free(x);
	}
	while (p->nidle)
		curl_easy_cleanup(p->idle[--p->nidle]);
	free(p->idle);
	if (p->multi)
		curl_multi_cleanup(p->multi);
	if (p->epfd >= 0)
		close(p->epfd);
	free(p->ca_bundle);
	free(p->user_agent);
	free(p);
}

size_t http_pool_pending(const struct http_pool *p)
{
	return p->pending;
}

long long http_pool_time_left_ms(const struct http_pool *p)
{
	long long left;

	if (!p || !p->opt.deadline_ms)
		return -1;
	left = p->opt.deadline_ms - p->opt.now_ms();
	return left > 0 ? left : 0;
}

/* ---- curl callbacks ---- */

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	long st = x->resp.status;
	int rc;

	if (x->sink && st >= 200 && st < 300) {
		rc = x->sink(x->sink_ud, ptr, n);
		if (rc) {
			x->resp.result = rc;
			snprintf(x->resp.errmsg, sizeof(x->resp.errmsg), "%s",
				 rc == TK_ELIMIT ? "response body larger than the limit" :
				 "response body rejected by the reader");
			return 0;
		}
		if (n)
			x->resp.streamed = true;
		return n;
	}
	if (buf_add(&x->resp.body, ptr, n)) {
		x->resp.result = TK_ELIMIT;
		snprintf(x->resp.errmsg, sizeof(x->resp.errmsg), "response body larger than %zu bytes",
			 x->resp.body.limit);
		return 0;
	}
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	struct http_response *r = &x->resp;
	size_t n = size * nmemb, nl, vs, ve;
	const char *colon;
	struct http_header *h;
	char code[4];
	size_t i;

	if (n >= 5 && !memcmp(ptr, "HTTP/", 5)) {
		/* a new response (100 Continue, then the real one) */
		headers_free(r);
		r->status = 0;
		for (i = 5; i < n && ptr[i] != ' '; i++)
			;
		if (i + 4 <= n && isdigit((unsigned char)ptr[i + 1]) && isdigit((unsigned char)ptr[i + 2]) &&
		    isdigit((unsigned char)ptr[i + 3])) {
			memcpy(code, ptr + i + 1, 3);
			code[3] = '\0';
			r->status = strtol(code, NULL, 10);
		}
		return n;
	}
	if (st_add(&r->header_bytes, r->header_bytes, n) || r->header_bytes > HTTP_MAX_HEADER_BYTES ||
	    r->nheaders >= HTTP_MAX_HEADERS) {
		if (!r->result) {
			r->result = TK_ELIMIT;
			snprintf(r->errmsg, sizeof(r->errmsg), "too many or too large response headers");
		}
		return 0;
	}
	if (n == 0 || ptr[0] == ' ' || ptr[0] == '\t' || ptr[0] == '\r' || ptr[0] == '\n')
		return n;   /* end of headers, or an obsolete continuation line */
	colon = memchr(ptr, ':', n);
	if (!colon)
		return n;
	nl = (size_t)(colon - ptr);
	vs = nl + 1;
	ve = n;
	while (vs < ve && (ptr[vs] == ' ' || ptr[vs] == '\t'))
		vs++;
	while (ve > vs && (ptr[ve - 1] == '\r' || ptr[ve - 1] == '\n' || ptr[ve - 1] == ' ' || ptr[ve - 1] == '\t'))
		ve--;
	ALLOC_GROW(r->headers, r->nheaders + 1, r->aheaders);
	h = &r->headers[r->nheaders++];
	/* name and value in one block (n < HTTP_MAX_HEADER_BYTES: no overflow) */
	h->name = xmalloc(nl + 1 + (ve - vs) + 1);
	for (i = 0; i < nl; i++)
		h->name[i] = (char)tolower((unsigned char)ptr[i]);
	h->name[nl] = '\0';
	h->value = h->name + nl + 1;
	memcpy(h->value, ptr + vs, ve - vs);
	h->value[ve - vs] = '\0';
	return n;
}

static bool secret_header(const char *line, size_t n)
{
	static const char *const names[] = { "authorization:", "x-amz-security-token:",
					     "proxy-authorization:", "cookie:" };
	size_t i, l;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		l = strlen(names[i]);
		if (n >= l && !strncasecmp(line, names[i], l))
			return true;
	}
	return false;
}

static void debug_lines(struct http_pool *p, const char *prefix, const char *data, size_t size)
{
	char line[1024];
	size_t s = 0, e, n;

	while (s < size) {
		for (e = s; e < size && data[e] != '\n'; e++)
			;
		n = e - s;
		if (n && data[s + n - 1] == '\r')
			n--;
		if (n) {
			if (secret_header(data + s, n)) {
				const char *c = memchr(data + s, ':', n);
				snprintf(line, sizeof(line), "%s%.*s: [redacted]", prefix, (int)(c - (data + s)), data + s);
			} else {
				snprintf(line, sizeof(line), "%s%.*s", prefix, (int)(n > 900 ? 900 : n), data + s);
			}
			p->opt.debug(p->opt.debug_ud, line);
		}
		s = e + 1;
	}
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
	struct xfer *x = ud;

	(void)h;
	switch (type) {
	case CURLINFO_TEXT:
		debug_lines(x->pool, "* ", data, size);
		break;
	case CURLINFO_HEADER_OUT:
		debug_lines(x->pool, "> ", data, size);
		break;
	case CURLINFO_HEADER_IN:
		debug_lines(x->pool, "< ", data, size);
		break;
	default:
		break;   /* bodies and TLS data are never shown */
	}
	return 0;
}

/* ---- submitting and running ---- */

int http_submit(struct http_pool *p, const struct http_request *req, http_done_fn done,
		void *ud, struct errbuf *err)
{
	struct xfer *x;
	char *host = NULL;
	size_t i;
	int rc;

	if (!req->method || !req->url)
		return err_set(err, TK_EFAIL, "http request without method or url");
	rc = url_check(req->url, &host, err);
	if (rc)
		return rc;
	if (p->opt.insecure && !host_is_loopback(host)) {
		rc = err_set(err, TK_EUSAGE,
			     "refusing to skip TLS verification for '%.200s': not a loopback address", host);
		free(host);
		return rc;
	}
	free(host);
	{
		size_t ul = strlen(req->url), ml = strlen(req->method), sz;

		if (st_add(&sz, sizeof(*x), ul) || st_add(&sz, sz, ml + 2))
			tk_oom();
		x = xcalloc(1, sz);
		x->url = x->store;
		memcpy(x->url, req->url, ul + 1);
		x->method = x->store + ul + 1;
		memcpy(x->method, req->method, ml + 1);
	}
	x->pool = p;
	x->body = req->body;
	x->body_len = req->body_len;
	x->sink = req->sink;
	x->sink_ud = req->sink_ud;
	x->done = done;
	x->ud = ud;
	x->timeout_ms = req->timeout_ms ? req->timeout_ms : p->opt.timeout_ms;
	http_response_init(&x->resp);
	x->resp.body.limit = req->body_limit ? req->body_limit : HTTP_MAX_BODY;
	for (i = 0; i < req->nheaders; i++) {
		x->hdrs = slist_add(x->hdrs, req->headers[i]);
	}
	/* no "Expect: 100-continue" round trip */
	x->hdrs = slist_add(x->hdrs, "Expect:");
	if (p->qtail)
		p->qtail->next = x;
	else
		p->qhead = x;
	p->qtail = x;
	p->pending++;
	return 0;
}

static int xfer_start(struct http_pool *p, struct xfer *x)
{
	long long left = http_pool_time_left_ms(p);
	long timeout = x->timeout_ms;
	CURLMcode mc;
	CURL *e;

	if (left == 0) {
		x->resp.result = TK_ENET;
		x->resp.deadline = true;
		x->resp.timed_out = true;
		snprintf(x->resp.errmsg, sizeof(x->resp.errmsg), "%s", HTTP_DEADLINE_MSG);
		return -1;
	}
	/* a collected answer is small: bound it whole; a streamed one (a log
	 * file) only by the throughput rule and the deadline */
	if (timeout <= 0 && !x->sink && p->opt.collect_timeout_ms > 0)
		timeout = p->opt.collect_timeout_ms;
	if (left > 0 && (timeout <= 0 || left <= timeout)) {
		timeout = (long)(left > 0x7fffffffL ? 0x7fffffffL : left);
		x->deadline_capped = true;
	}
	if (p->nidle) {
		/* every option back to its default (connections stay in the
		 * multi handle's cache): the request below sets all it uses */
		e = p->idle[--p->nidle];
		curl_easy_reset(e);
	} else {
		e = curl_easy_init();
		if (!e)
			tk_oom();   /* after curl_global_init, only an allocation fails here */
	}
	x->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->curl_err);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, p->user_agent);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->opt.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, p->opt.low_speed_time_s);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, p->opt.low_speed_limit);
	if (timeout > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, p->opt.insecure ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, p->opt.insecure ? 0L : 2L);
	if (p->ca_bundle)
		curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_bundle);
	if (p->opt.debug) {
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(e, CURLOPT_DEBUGDATA, x);
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	}
	if (!strcmp(x->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(x->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? (const char *)x->body : "");
		if (strcmp(x->method, "POST"))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
	}
	mc = curl_multi_add_handle(p->multi, e);
	if (mc == CURLM_OUT_OF_MEMORY)
		tk_oom();
	if (mc != CURLM_OK) {
		curl_easy_cleanup(e);
		x->easy = NULL;
		x->resp.result = TK_EFAIL;
		snprintf(x->resp.errmsg, sizeof(x->resp.errmsg), "cannot add a curl handle");
		return -1;
	}
	p->running++;
	x->rnext = p->rhead;
	if (p->rhead)
		p->rhead->rprev = x;
	p->rhead = x;
	return 0;
}

static bool curl_retryable(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static void xfer_finish(struct http_pool *p, struct xfer *x, CURLcode cc)
{
	struct http_response *r = &x->resp;

	/* CURLE_OUT_OF_MEMORY stays a transfer error here: libcurl 7.x also
	 * reports a server's over-long header line with it, and an answer must
	 * not be able to abort the run (allocation failures of the multi
	 * handle call tk_oom()) */
	if (cc != CURLE_OK && !r->result) {
		r->result = TK_ENET;
		r->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
		r->retryable = curl_retryable(cc);
		if (r->timed_out && strncmp(x->curl_err, "Operation too slow", 18) &&
		    (x->deadline_capped || http_pool_time_left_ms(p) == 0)) {
			r->deadline = true;
			r->retryable = false;
			snprintf(r->errmsg, sizeof(r->errmsg), "%s", HTTP_DEADLINE_MSG);
		} else if (r->timed_out && !strncmp(x->curl_err, "Operation too slow", 18)) {
			snprintf(r->errmsg, sizeof(r->errmsg),
				 "connection stalled: less than %ld bytes/s for %ld s", p->opt.low_speed_limit,
				 p->opt.low_speed_time_s);
		} else {
			snprintf(r->errmsg, sizeof(r->errmsg), "%s",
				 x->curl_err[0] ? x->curl_err : curl_easy_strerror(cc));
		}
	}
	if (x->easy) {
		long st = 0;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &st);
		if (st)
			r->status = st;
		curl_multi_remove_handle(p->multi, x->easy);
		if (p->nidle < (size_t)p->opt.max_in_flight) {
			p->idle[p->nidle++] = x->easy;
			x->easy = NULL;
		}
		p->running--;
		if (x->rprev)
			x->rprev->rnext = x->rnext;
		else if (p->rhead == x)
			p->rhead = x->rnext;
		if (x->rnext)
			x->rnext->rprev = x->rprev;
	}
	p->pending--;
	if (x->done)
		x->done(x->ud, r);
	xfer_free(x);
}

static void start_queued(struct http_pool *p)
{
	struct xfer *x;

	while (p->qhead && p->running < (size_t)p->opt.max_in_flight) {
		x = p->qhead;
		p->qhead = x->next;
		if (!p->qhead)
			p->qtail = NULL;
		x->next = NULL;
		if (xfer_start(p, x))
			xfer_finish(p, x, CURLE_OK);
	}
}

#define MAX_EVENTS 256
#define MAX_WAIT_MS 1000   /* wait at most this long without asking curl */

/* Hand curl what is ready: the sockets epoll reports after waiting at most
 * until curl's next timer (curl_multi_timeout: curl reads its own clock),
 * or, when none is ready, the timers (CURL_SOCKET_TIMEOUT; curl also runs
 * its due timers after each socket action). */
static CURLMcode drive(struct http_pool *p)
{
	struct epoll_event ev[MAX_EVENTS];
	long timeout = -1;
	int n, i, still = 0;
	CURLMcode mc;

	mc = curl_multi_timeout(p->multi, &timeout);
	if (mc != CURLM_OK)
		return mc;
	if (timeout < 0 || timeout > MAX_WAIT_MS)
		timeout = MAX_WAIT_MS;
	n = epoll_wait(p->epfd, ev, MAX_EVENTS, (int)timeout);
	if (n < 0 && errno != EINTR)
		return CURLM_INTERNAL_ERROR;
	if (n <= 0 && (mc = curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &still)) != CURLM_OK)
		return mc;
	for (i = 0; i < n; i++) {
		int what = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			   (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			   (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

		mc = curl_multi_socket_action(p->multi, ev[i].data.fd, what, &still);
		if (mc != CURLM_OK)
			return mc;
	}
	mc = p->sock_err;
	p->sock_err = CURLM_OK;
	return mc;
}

/* Run until *flag is true (flag NULL: until nothing is pending). */
static int run_until(struct http_pool *p, const bool *flag, struct errbuf *err)
{
	int nmsg;
	CURLMsg *m;
	CURLMcode mc;

	while (p->pending && !(flag && *flag)) {
		start_queued(p);
		while ((m = curl_multi_info_read(p->multi, &nmsg))) {
			struct xfer *x = NULL;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			xfer_finish(p, x, m->data.result);
		}
		if (flag && *flag)
			break;
		if (!p->pending)
			break;
		if (p->qhead && p->running < (size_t)p->opt.max_in_flight)
			continue;
		mc = drive(p);
		if (mc == CURLM_OUT_OF_MEMORY)
			tk_oom();
		if (mc != CURLM_OK)
			return err_set(err, TK_EFAIL, "curl: %s", curl_multi_strerror(mc));
	}
	return 0;
}

int http_pool_run(struct http_pool *p, struct errbuf *err)
{
	int rc;

	if (p->in_run)
		return err_set(err, TK_EFAIL, "http_pool_run called recursively");
	p->in_run = true;
	rc = run_until(p, NULL, err);
	p->in_run = false;
	return rc;
}

int http_pool_run_until(struct http_pool *p, const bool *flag, struct errbuf *err)
{
	int rc;

	if (p->in_run)
		return err_set(err, TK_EFAIL, "http_pool_run_until called from a completion callback");
	p->in_run = true;
	rc = run_until(p, flag, err);
	p->in_run = false;
	return rc;
}

bool http_pool_in_run(const struct http_pool *p)
{
	return p->in_run;
}

struct sync_ctx {
	struct http_response *out;
	bool done;
};

static void sync_done(void *ud, struct http_response *resp)
{
	struct sync_ctx *s = ud;

	http_response_move(s->out, resp);
	s->done = true;
}

int http_do(struct http_pool *p, const struct http_request *req, struct http_response *resp,
	    struct errbuf *err)
{
	struct sync_ctx s = { resp, false };
	int rc;

	http_response_init(resp);
	if (p->in_run)
		return err_set(err, TK_EFAIL, "http_do called from a completion callback");
	rc = http_submit(p, req, sync_done, &s, err);
	if (rc)
		return rc;
	http_response_release(resp);
	p->in_run = true;
	rc = run_until(p, &s.done, err);
	p->in_run = false;
	if (rc)
		return rc;
	if (!s.done)
		return err_set(err, TK_EFAIL, "http request did not complete");
	if (resp->result) {
		char shown[256];

		return err_set(err, resp->result, "%s '%s': %s", req->method,
			       url_shown(req->url, shown, sizeof(shown)),
			       resp->errmsg);
	}
	return 0;
}
