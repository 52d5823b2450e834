/* sts.c: see sts.h. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sts.h"
#include "timeutil.h"
#include "banned.h"

void sts_identity_release(struct sts_identity *id)
{
	if (!id)
		return;
	free(id->account);
	free(id->arn);
	free(id->user_id);
	memset(id, 0, sizeof(*id));
}

int sts_get_caller_identity(struct aws_ctx *ctx, struct sts_identity *out, struct errbuf *err)
{
	struct xml_doc d;
	const struct xml_node *r;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = aws_query_call(ctx, "sts", STS_VERSION, "GetCallerIdentity", NULL, NULL, 0, &d, err);
	if (rc)
		return rc;
	r = xml_child(d.root, "GetCallerIdentityResult");
	if (!r || !xml_path_text(r, "Account") || !xml_path_text(r, "Arn")) {
		rc = err_set(err, TK_EFAIL, "sts GetCallerIdentity: unexpected response: no Account");
	} else {
		out->account = xstrdup(xml_path_text(r, "Account"));
		out->arn = xstrdup(xml_path_text(r, "Arn"));
		out->user_id = xstrdup(xml_path_text(r, "UserId") ? xml_path_text(r, "UserId") : "");
	}
	xml_doc_release(&d);
	return rc;
}

int sts_parse_time(const char *s, time_t *out)
{
	struct tk_time t;

	/* "2024-01-01T00:00:00.000Z", "...+00:00": the fraction is dropped */
	if (tk_time_parse(s, strlen(s), TK_TS_AWS, &t))
		return -1;
	*out = t.sec;
	return 0;
}


static int creds_from(const struct xml_node *result, const char *op, const char *role_arn,
		      struct aws_creds *out, char **assumed_arn, struct errbuf *err)
{
	const struct xml_node *c = xml_child(result, "Credentials");
	const char *akid = xml_path_text(c, "AccessKeyId"), *sk = xml_path_text(c, "SecretAccessKey");
	const char *tok = xml_path_text(c, "SessionToken"), *exp = xml_path_text(c, "Expiration");
	time_t t;

	if (!akid || !*akid || !sk || !*sk || !tok || !*tok || !exp || sts_parse_time(exp, &t))
		return err_set(err, TK_EFAIL, "sts %s '%s': unexpected response: incomplete Credentials", op,
			       role_arn);
	memset(out, 0, sizeof(*out));
	out->access_key_id = xstrdup(akid);
	out->secret_access_key = xstrdup(sk);
	out->session_token = xstrdup(tok);
	out->expiration = t;
	out->source = xasprintf("assume role '%s'", role_arn);
	if (assumed_arn) {
		const char *a = xml_path_text(result, "AssumedRoleUser/Arn");
		*assumed_arn = a ? xstrdup(a) : NULL;
	}
	return 0;
}

static void wipe_doc(struct xml_node *n)
{
	struct xml_node *c;

	if (!n)
		return;
	if (n->text)
		OPENSSL_cleanse(n->text, n->text_len);
	for (c = n->child; c; c = c->next)
		wipe_doc(c);
}

/* RoleArn, RoleSessionName, the call's own parameter (when value is set)
 * and DurationSeconds (when positive, written to dur); p has room for 4 */
static size_t role_params(struct aws_param *p, const char *role_arn, const char *session_name,
			  const char *name, const char *value, long duration_s, char dur[24])
{
	size_t n = 0;

	p[n].name = "RoleArn";
	p[n++].value = role_arn;
	p[n].name = "RoleSessionName";
	p[n++].value = session_name;
	if (value) {
		p[n].name = name;
		p[n++].value = value;
	}
	if (duration_s > 0) {
		snprintf(dur, 24, "%ld", duration_s);
		p[n].name = "DurationSeconds";
		p[n++].value = dur;
	}
	return n;
}

int sts_assume_role(struct aws_ctx *ctx, const char *role_arn, const char *session_name,
		    const char *external_id, long duration_s, struct aws_creds *out, char **assumed_arn,
		    struct errbuf *err)
{
	struct aws_param p[4];
	struct xml_doc d;
	char dur[24];
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (assumed_arn)
		*assumed_arn = NULL;
	n = role_params(p, role_arn, session_name, "ExternalId", external_id, duration_s, dur);
	rc = aws_query_call(ctx, "sts", STS_VERSION, "AssumeRole", role_arn, p, n, &d, err);
	if (rc)
		return rc;
	rc = creds_from(xml_child(d.root, "AssumeRoleResult"), "AssumeRole", role_arn, out, assumed_arn, err);
	wipe_doc(d.root);
	xml_doc_release(&d);
	return rc;
}

struct assume_async {
	char *role_arn;
	struct aws_creds *out;
	sts_done_fn done;
	void *ud;
};

static void assume_done(void *ud, int rc, const struct xml_doc *d, const char *errmsg)
{
	struct assume_async *a = ud;
	struct errbuf e;

	err_clear(&e);
	if (!rc) {
		rc = creds_from(xml_child(d->root, "AssumeRoleResult"), "AssumeRole", a->role_arn, a->out, NULL,
				&e);
		errmsg = e.msg;
		wipe_doc(d->root);
	}
	a->done(a->ud, rc, rc ? errmsg : NULL);
	free(a->role_arn);
	free(a);
}

int sts_assume_role_async(struct aws_sched *s, struct aws_ctx *ctx, const char *role_arn,
			  const char *session_name, const char *external_id, long duration_s,
			  struct aws_creds *out, sts_done_fn done, void *ud, struct errbuf *err)
{
	struct assume_async *a = xcalloc(1, sizeof(*a));
	struct aws_param p[4];
	char dur[24];
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	a->role_arn = xstrdup(role_arn);
	a->out = out;
	a->done = done;
	a->ud = ud;
	n = role_params(p, role_arn, session_name, "ExternalId", external_id, duration_s, dur);
	rc = aws_query_call_async(s, ctx, "sts", STS_VERSION, "AssumeRole", role_arn, p, n, assume_done, a, err);
	if (rc) {
		free(a->role_arn);
		free(a);
	}
	return rc;
}

int sts_assume_role_with_web_identity(struct aws_ctx *ctx, const char *role_arn, const char *session_name,
				      const char *token, long duration_s, struct aws_creds *out,
				      struct errbuf *err)
{
	struct aws_param p[4];
	struct xml_doc d;
	char dur[24];
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	n = role_params(p, role_arn, session_name, "WebIdentityToken", token, duration_s, dur);
	rc = aws_query_call_anonymous(ctx, "sts", STS_VERSION, "AssumeRoleWithWebIdentity", role_arn, p, n, &d,
				      err);
	if (rc)
		return rc;
	rc = creds_from(xml_child(d.root, "AssumeRoleWithWebIdentityResult"), "AssumeRoleWithWebIdentity",
			role_arn, out, NULL, err);
	if (!rc) {
		free(out->source);
		out->source = xasprintf("web identity '%s'", role_arn);
	}
	wipe_doc(d.root);
	xml_doc_release(&d);
	return rc;
}
