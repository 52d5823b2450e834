/* profile.h: the AWS shared config and credentials files, read with inih.
 *   config:      AWS_CONFIG_FILE, else $HOME/.aws/config
 *                sections [default], [profile NAME], [services NAME]
 *                ([sso-session x] and other sections are kept but are not profiles)
 *   credentials: AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials
 *                sections [NAME]
 * Nested keys (an indented line under an empty key) are stored as
 * "parent.child":   s3 =
 *                     addressing_style = path     ->  "s3.addressing_style"
 * A missing file is not an error; an unreadable file or a line inih rejects
 * is (TK_EUSAGE, "FILE:LINE: ...").  Values are never put in messages (they
 * may be secrets).  Implemented in src/transport/profile.c. */
#ifndef TK_PROFILE_H
#define TK_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct tk_env;

#define PROFILE_MAX_FILE (1024 * 1024)   /* bytes per file */
#define PROFILE_MAX_LINE 16384           /* bytes per line (session tokens are long) */

enum profile_file { PROFILE_CONFIG, PROFILE_CREDENTIALS };
enum profile_kind { PROFILE_KIND_PROFILE, PROFILE_KIND_SERVICES, PROFILE_KIND_OTHER };

struct profile_kv {
	char *key;          /* lower-case as written; nested: "s3.endpoint_url" */
	char *value;
	int line;
};

struct profile_section {
	char *name;                 /* profile name ("default", "x"), services name, or raw header */
	enum profile_file file;
	enum profile_kind kind;
	int line;
	struct profile_kv *kv;
	size_t nkv, akv;            /* used and allocated elements */
};

struct profile_set {
	char *config_path;          /* path used (NULL when unknown: no HOME) */
	char *credentials_path;
	bool config_found;
	bool credentials_found;
	struct profile_section *sec;
	size_t nsec, asec;          /* used and allocated elements */
};

/* Load both files, paths from env (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE,
 * HOME).  Missing files are fine.  *out is released on failure. */
int profile_load(struct profile_set *out, const struct tk_env *env, struct errbuf *err);
/* Same with explicit paths (NULL: skip that file). */
int profile_load_paths(struct profile_set *out, const char *config_path,
		       const char *credentials_path, struct errbuf *err);
/* Parse text as one file into ps (which must be zero-initialised or loaded);
 * name is used in messages.  For the fuzzer and tests. */
int profile_parse_string(struct profile_set *ps, const char *text, size_t len,
			 enum profile_file file, const char *name, struct errbuf *err);
void profile_release(struct profile_set *ps);

/* Is there a profile NAME in either file? */
bool profile_exists(const struct profile_set *ps, const char *profile);
/* Value of key in profile: credentials file first, then config file (as
 * botocore merges them).  NULL when unset.  ps may be NULL. */
const char *profile_get(const struct profile_set *ps, const char *profile, const char *key);
/* Value from one file only. */
const char *profile_get_in(const struct profile_set *ps, enum profile_file file,
			   const char *profile, const char *key);
/* The line of key (0 when unset), for messages: "FILE:LINE". */
int profile_line(const struct profile_set *ps, const char *profile, const char *key,
		 const char **file_out);
/* Service-specific setting: the profile's `services = NAME` names a
 * [services NAME] section in the config file; returns its "service.key"
 * (e.g. service "s3", key "endpoint_url").  NULL when unset. */
const char *profile_service_get(const struct profile_set *ps, const char *profile,
				const char *service, const char *key);

/* Read all of f (opened from path; closed here) into *out (NUL-terminated;
 * its length into *len when len is not NULL), the buffer limited to
 * buf_limit bytes (TK_ELIMIT "'PATH' is larger than MAX_SHOWN bytes").  A
 * read error is read_err ("cannot read 'PATH': ...").  Scratch space, and on
 * error the partial data, are wiped: credential files go through here. */
int profile_read_stream(char **out, size_t *len, FILE *f, const char *path, size_t buf_limit,
			size_t max_shown, int read_err, struct errbuf *err);

#endif
