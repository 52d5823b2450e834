/* config_int.h: what the parts of the config reader share (not an API;
 * config.h is).
 *
 *   config.c       the driver: diagnostics, [section] headers, the key
 *                  dispatch, checks across keys, loading and releasing
 *   config_keys.c  the keys of each section, one handler per section
 *   config_lex.c   the line lexer under inih (config_lex.h)
 *   config_values.c the rules for single values (config_values.h) */
#ifndef TK_CONFIG_INT_H
#define TK_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "config_lex.h"

enum sect { S_NONE, S_ORG, S_CENTRAL, S_TRAIL, S_MONITORING, S_ACCOUNT, S_BAD };

extern const char *const org_keys[];
enum { K_ORG_ID, K_MGMT, K_LOGARCH, K_HOME, K_REGIONS, K_ROLE, K_EXTID, K_EXCLUDE, NORG_KEYS };
extern const char *const central_keys[];
enum { K_BUCKET, K_PREFIX, K_ALIAS, K_DECRYPT, K_BREAK, K_RETENTION, K_LOCK, K_ACCESSLOG,
       K_MAXAGE, K_APPLY, NCENTRAL_KEYS };
extern const char *const trail_keys[];
enum { K_NAME, K_MODE, K_MULTI, K_GLOBAL, K_VALIDATION, K_DATA, NTRAIL_KEYS };
extern const char *const monitoring_keys[];
enum { K_MON_GROUP, K_MON_RETENTION, K_MON_ALARMS, K_MON_NOTIFY, K_MON_TOPIC_KEY, K_MON_SUBSCRIBE,
       K_MON_CW_AGE, K_MON_ACCESS_AGE, NMON_KEYS };
extern const char *const account_keys[];
enum { K_ACCT_ID, K_ACCT_REGIONS, NACCOUNT_KEYS };
extern const char *const section_names[];

struct acct_lines {
	int key[NACCOUNT_KEYS];
};

struct pstate {
	struct tk_config *c;
	struct tk_diags *d;
	size_t ndiags;
	const char *path;
	struct cfg_lex lx;          /* the lexer: line number, long values */
	enum sect cur;
	size_t cur_acct;            /* index into c->accounts when cur == S_ACCOUNT */
	int sect_line[S_ACCOUNT];   /* header line of org/central/trail (0: absent) */
	int org_line[NORG_KEYS];
	int central_line[NCENTRAL_KEYS];
	int trail_line[NTRAIL_KEYS];
	int mon_line[NMON_KEYS];
	struct acct_lines *alines;  /* parallel to c->accounts */
	size_t alloc_alines;
	bool bad_account[2];        /* [0]: log_archive_account, [1]: management_account
	                               was invalid (reported) */
};

/* config.c */
void cfgp_diag(struct pstate *st, int line, const char *fmt, ...) TK_PRINTF(3, 4);
const char *cfgp_closest(const char *word, const char *const *names);
void cfgp_strlist_add(struct tk_strlist *l, const char *s, size_t n);
bool cfgp_strlist_has(const struct tk_strlist *l, const char *s);

/* config_keys.c */
void cfgp_check_excluded(struct pstate *st);
void cfgp_org_key(struct pstate *st, int k, const char *v);
void cfgp_central_key(struct pstate *st, int k, const char *v);
void cfgp_trail_key(struct pstate *st, int k, const char *v);
int cfgp_parse_topic_arn(const char *v, char *region, size_t rn, char *account, const char **name);
void cfgp_monitoring_key(struct pstate *st, int k, const char *v);
void cfgp_account_key(struct pstate *st, int k, const char *v);

#endif
