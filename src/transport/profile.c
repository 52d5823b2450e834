/* profile.c: ~/.aws/config and ~/.aws/credentials, read with inih.
 *
 * Debian's inih reads at most 200 bytes per line, and session tokens are
 * longer.  So the file is first split into lines here (which also gives
 * exact line numbers): a line longer than SHORT_LINE keeps its "key =" part
 * and its value is replaced by a reference ("\x1f" + index) to the raw value
 * kept on the side; the handler puts it back.  Files may not contain other
 * control characters, so the reference cannot be forged.  Inline comments
 * are off, as in botocore's configparser ("key = a ; b" has the value "a ; b").
 * Values are never copied into messages: they may be secrets. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "profile.h"
#include "creds.h"
#include "buf.h"
#include "fileutil.h"
#include "banned.h"

#define SHORT_LINE 150
#define LONG_MARK '\x1f'
#define PROFILE_MAX_SECTIONS 10000
#define PROFILE_MAX_KEYS 10000

struct parse {
	struct profile_set *ps;
	enum profile_file file;
	const char *name;            /* file name for messages */
	/* lines, possibly rewritten */
	char **lines;
	size_t nlines, next;         /* next: index of the next line to hand to inih */
	char **longv;                /* raw long values */
	size_t nlong, along;
	/* state */
	struct profile_section *cur;
	char *cur_raw;               /* raw section header of cur */
	char *last_key;              /* key of the last top-level pair in cur */
	int err_line;
	const char *err_what;
	size_t nkeys;
};

static char *trim_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return xstrndup(s, n);
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static void set_err(struct parse *st, const char *what)
{
	if (!st->err_line) {
		st->err_line = (int)st->next;
		st->err_what = what;
	}
}

/* Split text into lines; rewrite long ones.  0 or the 1-based line of a
 * problem (with *what set). */
static int split_lines(struct parse *st, const char *text, size_t len, const char **what)
{
	size_t i = 0, start, cap = 0;

	while (i < len) {
		size_t n, k;
		const char *p;
		char *line;

		start = i;
		while (i < len && text[i] != '\n')
			i++;
		n = i - start;
		if (i < len)
			i++;   /* the '\n' */
		p = text + start;
		ALLOC_GROW(st->lines, st->nlines + 1, cap);
		st->lines[st->nlines++] = NULL;
		for (k = 0; k < n; k++) {
			unsigned char c = (unsigned char)p[k];

			if ((c < 32 && c != '\t' && c != '\r') || c == 127) {
				*what = "control character in the file";
				return (int)st->nlines;
			}
		}
		if (n > PROFILE_MAX_LINE) {
			*what = "line is too long";
			return (int)st->nlines;
		}
		if (n > SHORT_LINE) {
			size_t d = strcspn(p, "=:");
			char *ref;

			if (d >= n || d > SHORT_LINE - 16 || p[0] == '[') {
				*what = "line is too long";
				return (int)st->nlines;
			}
			ALLOC_GROW(st->longv, st->nlong + 1, st->along);
			st->longv[st->nlong] = trim_dup(p + d + 1, n - d - 1);
			ref = xasprintf("%.*s= %c%zu", (int)d, p, LONG_MARK, st->nlong);
			st->nlong++;
			line = xasprintf("%s\n", ref);
			free(ref);
		} else {
			line = xasprintf("%.*s\n", (int)n, p);
		}
		st->lines[st->nlines - 1] = line;
	}
	return 0;
}

static char *reader(char *str, int num, void *stream)
{
	struct parse *st = stream;
	size_t n;

	if (st->next >= st->nlines)
		return NULL;
	n = strlen(st->lines[st->next]);
	if (num < 2)
		return NULL;
	if (n > (size_t)num - 1)
		n = (size_t)num - 1;   /* cannot happen: lines are <= SHORT_LINE + 24 */
	memcpy(str, st->lines[st->next], n);
	str[n] = '\0';
	st->next++;
	return str;
}

/* the raw value behind a long-line reference, or the value itself */
static const char *unref(struct parse *st, const char *v)
{
	char *end;
	unsigned long idx;

	if (v[0] != LONG_MARK)
		return v;
	errno = 0;
	idx = strtoul(v + 1, &end, 10);
	if (errno || *end || idx >= st->nlong)
		return "";
	return st->longv[idx];
}

static struct profile_section *section_get(struct profile_set *ps, enum profile_file file,
					   enum profile_kind kind, const char *name, int line)
{
	size_t i;
	struct profile_section *s;

	for (i = 0; i < ps->nsec; i++) {
		s = &ps->sec[i];
		if (s->file == file && s->kind == kind && !strcmp(s->name, name))
			return s;
	}
	if (ps->nsec >= PROFILE_MAX_SECTIONS)
		return NULL;
	ALLOC_GROW(ps->sec, ps->nsec + 1, ps->asec);
	s = &ps->sec[ps->nsec++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->file = file;
	s->kind = kind;
	s->line = line;
	return s;
}

static struct profile_kv *kv_find(const struct profile_section *s, const char *key)
{
	size_t i;

	for (i = 0; s && i < s->nkv; i++)
		if (!strcmp(s->kv[i].key, key))
			return &s->kv[i];
	return NULL;
}

static int kv_set(struct parse *st, const char *key, const char *value, int line)
{
	struct profile_kv *kv = kv_find(st->cur, key);

	if (kv) {   /* a later value wins */
		free(kv->value);
		kv->value = xstrdup(value);
		kv->line = line;
		return 1;
	}
	if (st->nkeys++ >= PROFILE_MAX_KEYS) {
		set_err(st, "too many keys");
		return 0;
	}
	ALLOC_GROW(st->cur->kv, st->cur->nkv + 1, st->cur->akv);
	kv = &st->cur->kv[st->cur->nkv++];
	kv->key = xstrdup(key);
	kv->value = xstrdup(value);
	kv->line = line;
	return 1;
}

/* Which section does a raw header name? */
static int classify(struct parse *st, const char *raw, int line)
{
	enum profile_kind kind = PROFILE_KIND_PROFILE;
	const char *name = raw;
	char *word = NULL;

	if (st->file == PROFILE_CONFIG) {
		size_t w = strcspn(raw, " \t");

		if (!strcmp(raw, "default")) {
			name = "default";
		} else if (raw[w] && (!strncmp(raw, "profile", w) && w == 7)) {
			name = raw + w + strspn(raw + w, " \t");
		} else if (raw[w] && (!strncmp(raw, "services", w) && w == 8)) {
			kind = PROFILE_KIND_SERVICES;
			name = raw + w + strspn(raw + w, " \t");
		} else {
			kind = PROFILE_KIND_OTHER;
		}
		word = xstrdup(name);
		name = word;
	}
	if (!*name) {
		free(word);
		set_err(st, "section has no name");
		return 0;
	}
	st->cur = section_get(st->ps, st->file, kind, name, line);
	free(word);
	if (!st->cur) {
		set_err(st, "too many sections");
		return 0;
	}
	free(st->cur_raw);
	st->cur_raw = xstrdup(raw);
	free(st->last_key);
	st->last_key = NULL;
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *st = user;
	int line = (int)st->next;
	const char *raw = st->lines[st->next - 1];
	char *key;
	int ok;

	if (!*section) {
		set_err(st, "key outside any section");
		return 0;
	}
	if (!st->cur || strcmp(st->cur_raw, section))
		if (!classify(st, section, line))
			return 0;
	if ((raw[0] == ' ' || raw[0] == '\t') && st->last_key && !strcmp(st->last_key, name)) {
		/* continuation of `name`: "sub = value" is a nested key */
		size_t d = strcspn(value, "=");
		char *sub, *v, *full;
		struct profile_kv *parent = kv_find(st->cur, name);

		if (!value[d]) {
			/* a multi-line value: append */
			if (parent) {
				char *nv = xasprintf("%s%s%s", parent->value, *parent->value ? "\n" : "",
						     unref(st, value));
				free(parent->value);
				parent->value = nv;
			}
			return 1;
		}
		sub = trim_dup(value, d);
		v = trim_dup(value + d + 1, strlen(value + d + 1));
		lower(sub);
		full = xasprintf("%s.%s", name, sub);
		lower(full);
		ok = kv_set(st, full, unref(st, v), line);
		free(sub);
		free(v);
		free(full);
		return ok;
	}
	key = xstrdup(name);
	lower(key);
	ok = kv_set(st, key, unref(st, value), line);
	free(st->last_key);
	st->last_key = xstrdup(name);
	free(key);
	return ok;
}

int profile_parse_string(struct profile_set *ps, const char *text, size_t len,
			 enum profile_file file, const char *name, struct errbuf *err)
{
	struct parse st;
	const char *what = NULL;
	bool save_inline = ini_allow_inline_comments, save_multi = ini_allow_multiline;
	bool save_novalue = ini_allow_no_value;
	int rc = 0, line, r;
	size_t i;

	memset(&st, 0, sizeof(st));
	st.ps = ps;
	st.file = file;
	st.name = name;
	if (len > PROFILE_MAX_FILE)
		return err_set(err, TK_ELIMIT, "'%s' is larger than %d bytes", name, PROFILE_MAX_FILE);
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {   /* UTF-8 BOM */
		text += 3;
		len -= 3;
	}
	line = split_lines(&st, text, len, &what);
	if (line) {
		rc = err_set(err, TK_EUSAGE, "%s:%d: %s", name, line, what);
		goto done;
	}
	ini_allow_inline_comments = false;
	ini_allow_multiline = true;
	ini_allow_no_value = false;
	r = ini_parse_stream(reader, &st, handler, &st);
	ini_allow_inline_comments = save_inline;
	ini_allow_multiline = save_multi;
	ini_allow_no_value = save_novalue;
	if (st.err_line) {
		rc = err_set(err, TK_EUSAGE, "%s:%d: %s", name, st.err_line, st.err_what);
	} else if (r > 0) {
		rc = err_set(err, TK_EUSAGE, "%s:%d: not a '[section]' or 'key = value' line", name, r);
	} else if (r < 0) {
		rc = err_set(err, TK_EFAIL, "cannot parse '%s'", name);
	}
done:
	for (i = 0; i < st.nlines; i++)
		free(st.lines[i]);
	free(st.lines);
	for (i = 0; i < st.nlong; i++) {
		explicit_bzero(st.longv[i], strlen(st.longv[i]));
		free(st.longv[i]);
	}
	free(st.longv);
	free(st.cur_raw);
	free(st.last_key);
	return rc;
}

/* Read a whole file with a limit.  TK_ENOTFOUND (no message) when missing.
 * An input: symbolic links are followed to a regular file (Kubernetes
 * Secret mounts), a FIFO or device is refused unopened (src/core/fileutil.c). */
static int read_file(const char *path, char **out, size_t *len, struct errbuf *err)
{
	int rc = tk_read_file(path, PROFILE_MAX_FILE, out, len, err);

	if (rc == TK_ENOTFOUND) {
		err_clear(err);
		return TK_ENOTFOUND;
	}
	return rc == TK_EUSAGE ? TK_EFAIL : rc;   /* as any other unreadable profile file */
}

int profile_read_stream(char **out, size_t *len, FILE *f, const char *path, size_t buf_limit,
			size_t max_shown, int read_err, struct errbuf *err)
{
	struct buf b;
	char tmp[8192];
	size_t n;
	int rc = 0;

	*out = NULL;
	buf_init(&b, buf_limit);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		if (buf_add(&b, tmp, n)) {
			rc = err_set(err, TK_ELIMIT, "'%s' is larger than %zu bytes", path, max_shown);
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = err_set(err, read_err, "cannot read '%s': %s", path, strerror(errno));
	fclose(f);
	explicit_bzero(tmp, sizeof(tmp));
	if (rc) {
		if (b.data)
			explicit_bzero(b.data, b.cap);
		buf_release(&b);
		return rc;
	}
	if (len)
		*len = b.len;
	*out = buf_detach(&b);
	return 0;
}

static int load_one(struct profile_set *ps, const char *path, enum profile_file file,
		    struct errbuf *err)
{
	char *text;
	size_t len = 0;
	int rc;

	rc = read_file(path, &text, &len, err);
	if (rc == TK_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (file == PROFILE_CONFIG)
		ps->config_found = true;
	else
		ps->credentials_found = true;
	rc = profile_parse_string(ps, text, len, file, path, err);
	explicit_bzero(text, len);
	free(text);
	return rc;
}

int profile_load_paths(struct profile_set *out, const char *config_path,
		       const char *credentials_path, struct errbuf *err)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->config_path = config_path ? xstrdup(config_path) : NULL;
	out->credentials_path = credentials_path ? xstrdup(credentials_path) : NULL;
	if (config_path)
		rc = load_one(out, config_path, PROFILE_CONFIG, err);
	if (rc == 0 && credentials_path)
		rc = load_one(out, credentials_path, PROFILE_CREDENTIALS, err);
	if (rc)
		profile_release(out);
	return rc;
}

/* "~/x" -> "$HOME/x" */
static char *expand_home(const char *p, const char *home)
{
	if (p[0] == '~' && (p[1] == '/' || !p[1])) {
		if (!home)
			return NULL;
		return xasprintf("%s%s", home, p + 1);
	}
	return xstrdup(p);
}

int profile_load(struct profile_set *out, const struct tk_env *env, struct errbuf *err)
{
	const char *home = tk_env_get(env, "HOME");
	const char *c = tk_env_get(env, "AWS_CONFIG_FILE");
	const char *k = tk_env_get(env, "AWS_SHARED_CREDENTIALS_FILE");
	char *cp, *kp;
	int rc;

	cp = c ? expand_home(c, home) : home ? xasprintf("%s/.aws/config", home) : NULL;
	kp = k ? expand_home(k, home) : home ? xasprintf("%s/.aws/credentials", home) : NULL;
	rc = profile_load_paths(out, cp, kp, err);
	free(cp);
	free(kp);
	return rc;
}

void profile_release(struct profile_set *ps)
{
	size_t i, j;

	if (!ps)
		return;
	for (i = 0; i < ps->nsec; i++) {
		struct profile_section *s = &ps->sec[i];

		for (j = 0; j < s->nkv; j++) {
			free(s->kv[j].key);
			explicit_bzero(s->kv[j].value, strlen(s->kv[j].value));
			free(s->kv[j].value);
		}
		free(s->kv);
		free(s->name);
	}
	free(ps->sec);
	free(ps->config_path);
	free(ps->credentials_path);
	memset(ps, 0, sizeof(*ps));
}

static const struct profile_section *find(const struct profile_set *ps, enum profile_file file,
					  enum profile_kind kind, const char *name)
{
	size_t i;

	for (i = 0; ps && name && i < ps->nsec; i++)
		if (ps->sec[i].file == file && ps->sec[i].kind == kind && !strcmp(ps->sec[i].name, name))
			return &ps->sec[i];
	return NULL;
}

bool profile_exists(const struct profile_set *ps, const char *profile)
{
	return find(ps, PROFILE_CREDENTIALS, PROFILE_KIND_PROFILE, profile) ||
	       find(ps, PROFILE_CONFIG, PROFILE_KIND_PROFILE, profile);
}

const char *profile_get_in(const struct profile_set *ps, enum profile_file file,
			   const char *profile, const char *key)
{
	const struct profile_kv *kv = kv_find(find(ps, file, PROFILE_KIND_PROFILE, profile), key);

	return kv ? kv->value : NULL;
}

const char *profile_get(const struct profile_set *ps, const char *profile, const char *key)
{
	const char *v = profile_get_in(ps, PROFILE_CREDENTIALS, profile, key);

	return v ? v : profile_get_in(ps, PROFILE_CONFIG, profile, key);
}

int profile_line(const struct profile_set *ps, const char *profile, const char *key,
		 const char **file_out)
{
	const struct profile_kv *kv = kv_find(find(ps, PROFILE_CREDENTIALS, PROFILE_KIND_PROFILE, profile), key);

	if (kv) {
		if (file_out)
			*file_out = ps->credentials_path;
		return kv->line;
	}
	kv = kv_find(find(ps, PROFILE_CONFIG, PROFILE_KIND_PROFILE, profile), key);
	if (file_out)
		*file_out = kv ? ps->config_path : NULL;
	return kv ? kv->line : 0;
}

const char *profile_service_get(const struct profile_set *ps, const char *profile,
				const char *service, const char *key)
{
	const char *sname = profile_get_in(ps, PROFILE_CONFIG, profile, "services");
	const struct profile_kv *kv;
	char *full;

	if (!sname || !service || !key)
		return NULL;
	full = xasprintf("%s.%s", service, key);
	lower(full);
	kv = kv_find(find(ps, PROFILE_CONFIG, PROFILE_KIND_SERVICES, sname), full);
	free(full);
	return kv ? kv->value : NULL;
}
