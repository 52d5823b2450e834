/* awserr.c: see awserr.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "awserr.h"
#include "buf.h"
#include "xml.h"
#include "banned.h"

#define AWSERR_MAX_TEXT 400   /* characters of server text kept */

/* A cleaned copy of server text: control characters -> '?', capped. */
static char *clean(const char *s, size_t n)
{
	char *o;
	size_t i, m = n > AWSERR_MAX_TEXT ? AWSERR_MAX_TEXT : n;

	o = xmalloc(m + 4);
	for (i = 0; i < m; i++) {
		unsigned char c = (unsigned char)s[i];
		o[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (m < n) {
		memcpy(o + m, "...", 3);
		m += 3;
	}
	o[m] = '\0';
	return o;
}

static char *clean_z(const char *s)
{
	return s ? clean(s, strlen(s)) : NULL;
}

static void set(char **slot, char *v)
{
	free(*slot);
	*slot = v;
}

static const char *status_code(long st)
{
	switch (st) {
	case 301: return "PermanentRedirect";
	case 302: return "Found";
	case 304: return "NotModified";
	case 307: return "TemporaryRedirect";
	case 400: return "BadRequest";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 409: return "Conflict";
	case 412: return "PreconditionFailed";
	case 429: return "TooManyRequests";
	case 500: return "InternalError";
	case 501: return "NotImplemented";
	case 502: return "BadGateway";
	case 503: return "ServiceUnavailable";
	case 504: return "GatewayTimeout";
	default: return NULL;
	}
}

/* JSON code: after the last '#', before the first ':' */
static char *json_code(const char *t)
{
	const char *h = strrchr(t, '#'), *c;

	if (h)
		t = h + 1;
	c = strchr(t, ':');
	return clean(t, c ? (size_t)(c - t) : strlen(t));
}

static void parse_json(struct aws_error *e, const char *body, size_t len)
{
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, &je);
	json_t *v;

	if (!root || !json_is_object(root)) {
		set(&e->message, xstrdup("unreadable error body (not a JSON object)"));
		goto done;
	}
	v = json_object_get(root, "__type");
	if (!json_is_string(v))
		v = json_object_get(root, "code");
	if (json_is_string(v) && json_string_length(v))
		set(&e->code, json_code(json_string_value(v)));
	v = json_object_get(root, "message");
	if (!json_is_string(v))
		v = json_object_get(root, "Message");
	if (json_is_string(v))
		set(&e->message, clean(json_string_value(v), json_string_length(v)));
done:
	json_decref(root);
}

static void parse_xml(struct aws_error *e, const char *body, size_t len)
{
	struct xml_doc d;
	const struct xml_node *er;
	struct errbuf xe;
	const char *t;

	if (xml_parse(&d, body, len, &xe)) {
		set(&e->message, xasprintf("unreadable error body (%s)", xe.msg));
		return;
	}
	if (!strcmp(d.root->name, "Error"))
		er = d.root;
	else if (!strcmp(d.root->name, "ErrorResponse"))
		er = xml_child(d.root, "Error");
	else
		er = NULL;
	if (!er) {
		set(&e->message, xasprintf("unreadable error body (unexpected XML element '%.60s')", d.root->name));
		goto done;
	}
	if ((t = xml_path_text(er, "Code")) && *t)
		set(&e->code, clean_z(t));
	if ((t = xml_path_text(er, "Message")))
		set(&e->message, clean_z(t));
	if ((t = xml_path_text(er, "RequestId")) || (t = xml_path_text(d.root, "RequestId")))
		if (*t && !e->request_id)
			set(&e->request_id, clean_z(t));
	if ((t = xml_path_text(er, "Region")) && *t)
		set(&e->region, clean_z(t));
done:
	xml_doc_release(&d);
}

void aws_error_parse(struct aws_error *e, enum aws_proto proto, long status, const char *body,
		     size_t len, const char *(*header)(void *ud, const char *name), void *hud)
{
	const char *h;
	size_t i;
	bool blank = true;

	set(&e->code, NULL);
	set(&e->message, NULL);
	set(&e->request_id, NULL);
	set(&e->region, NULL);
	e->status = status;
	if (header) {
		if ((h = header(hud, "x-amzn-requestid")) || (h = header(hud, "x-amz-request-id")))
			set(&e->request_id, clean_z(h));
		if ((h = header(hud, "x-amz-bucket-region")))
			set(&e->region, clean_z(h));
	}
	for (i = 0; body && i < len; i++)
		if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t') {
			blank = false;
			break;
		}
	if (!blank) {
		if (proto == AWS_PROTO_JSON)
			parse_json(e, body, len);
		else
			parse_xml(e, body, len);
	}
	if (header && (h = header(hud, "x-amzn-query-error")) && *h) {
		const char *semi = strchr(h, ';');
		set(&e->code, clean(h, semi ? (size_t)(semi - h) : strlen(h)));
	}
	if (!e->code && header && (h = header(hud, "x-amzn-errortype")) && *h)
		set(&e->code, json_code(h));
	if (!e->code && status_code(status))
		set(&e->code, xstrdup(status_code(status)));
}

void aws_error_set_context(struct aws_error *e, const char *service, const char *operation,
			   const char *subject)
{
	set(&e->service, service ? xstrdup(service) : NULL);
	set(&e->operation, operation ? xstrdup(operation) : NULL);
	set(&e->subject, subject ? xstrdup(subject) : NULL);
}

void aws_error_release(struct aws_error *e)
{
	if (!e)
		return;
	free(e->service);
	free(e->operation);
	free(e->subject);
	free(e->code);
	free(e->message);
	free(e->request_id);
	free(e->region);
	memset(e, 0, sizeof(*e));
}

void aws_error_move(struct aws_error *dst, struct aws_error *src)
{
	aws_error_release(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void aws_error_copy(struct aws_error *dst, const struct aws_error *src)
{
	struct aws_error c;

	c.service = dup_or_null(src->service);
	c.operation = dup_or_null(src->operation);
	c.subject = dup_or_null(src->subject);
	c.status = src->status;
	c.code = dup_or_null(src->code);
	c.message = dup_or_null(src->message);
	c.request_id = dup_or_null(src->request_id);
	c.region = dup_or_null(src->region);
	aws_error_move(dst, &c);
}

void aws_error_format(const struct aws_error *e, char *out, size_t n)
{
	struct buf b;

	buf_init(&b, 4 * ERRBUF_LEN + 4 * 400);
	buf_addf(&b, "%s %s", e->service ? e->service : "aws", e->operation ? e->operation : "request");
	if (e->subject)
		buf_addf(&b, " '%s'", e->subject);
	buf_addf(&b, ": %ld", e->status);
	if (e->code)
		buf_addf(&b, " %s", e->code);
	if (e->message && *e->message)
		buf_addf(&b, ": %s", e->message);
	if (e->request_id)
		buf_addf(&b, " (request id %s)", e->request_id);
	if (n) {
		size_t l = b.len < n - 1 ? b.len : n - 1;
		if (b.data)
			memcpy(out, b.data, l);
		out[l] = '\0';
	}
	buf_release(&b);
}

bool aws_error_is(const struct aws_error *e, const char *c)
{
	return e->code && !strcmp(e->code, c);
}

static bool starts(const char *s, const char *p)
{
	return s && !strncmp(s, p, strlen(p));
}

int aws_error_tk(const struct aws_error *e)
{
	const char *c = e->code;

	if (c && (starts(c, "NoSuch") || strstr(c, "NotFound") || !strcmp(c, "ResourceNotFoundException")))
		return TK_ENOTFOUND;
	if (c && (starts(c, "AccessDenied") || !strcmp(c, "InvalidClientTokenId") ||
		  !strcmp(c, "SignatureDoesNotMatch") || starts(c, "ExpiredToken") ||
		  starts(c, "UnrecognizedClient") || !strcmp(c, "InvalidAccessKeyId") ||
		  !strcmp(c, "RequestTimeTooSkewed") || !strcmp(c, "InvalidSignatureException") ||
		  !strcmp(c, "MissingAuthenticationToken") || !strcmp(c, "IncompleteSignature")))
		return TK_EAUTH;
	if (e->status == 404)
		return TK_ENOTFOUND;
	if (e->status == 403)
		return TK_EAUTH;
	return TK_EFAIL;
}

bool aws_error_is_throttle(const struct aws_error *e)
{
	static const char *const codes[] = {
		"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "ProvisionedThroughputExceededException",
		"TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
		"LimitExceededException", "RequestThrottled", "SlowDown", "EC2ThrottledException",
	};
	size_t i;

	if (e->status == 429)
		return true;
	for (i = 0; e->code && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(e->code, codes[i]))
			return true;
	return false;
}

bool aws_error_retryable(const struct aws_error *e)
{
	static const char *const transient[] = {
		"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
		"IDPCommunicationError", "InternalError", "ServiceUnavailable",
	};
	size_t i;

	if (aws_error_is_throttle(e))
		return true;
	if (e->status == 500 || e->status == 502 || e->status == 503 || e->status == 504)
		return true;
	for (i = 0; e->code && i < sizeof(transient) / sizeof(transient[0]); i++)
		if (!strcmp(e->code, transient[i]))
			return true;
	return false;
}

bool aws_error_is_clock_skew(const struct aws_error *e)
{
	if (!e->code)
		return false;
	if (!strcmp(e->code, "RequestTimeTooSkewed") || !strcmp(e->code, "RequestExpired"))
		return true;
	if ((!strcmp(e->code, "InvalidSignatureException") || !strcmp(e->code, "SignatureDoesNotMatch")) &&
	    e->message && strstr(e->message, "Signature expired"))
		return true;
	return false;
}
