/* config.h: the organization config (INI, read with inih).
 * See README "Configuration" for every key; docs/architecture.md.
 * config_load() checks every value and reports ALL problems of a file, each
 * as "FILE:LINE: message", before anything runs. */
#ifndef TK_CONFIG_H
#define TK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "regions.h"   /* tk_region_known(), tk_region_partition() */

#define TK_ACCOUNT_ID_LEN 12
/* Longest line accepted.  inih's line buffer in Debian's build is
 * INI_MAX_LINE = 200 bytes: config.c hands longer "key = value" lines to
 * inih with a stand-in value and keeps the real one itself, so a 17-region
 * list fits; lines over this limit are reported, never silently split. */
#define TK_CONFIG_MAX_LINE 4096
#define TK_CONFIG_MAX_BYTES (4u << 20)   /* 4 MiB: far beyond any real org */

enum tk_trail_mode { TK_MODE_ORGANIZATION, TK_MODE_PER_ACCOUNT };
enum tk_object_lock { TK_LOCK_NONE, TK_LOCK_GOVERNANCE, TK_LOCK_COMPLIANCE };
/* [monitoring] alarms: the alarm sets (README "Monitoring") */
enum tk_alarm_set {
	TK_ALARMS_TAMPERING = 1 << 0,     /* CloudTrail, log bucket, log key, Organizations changes */
	TK_ALARMS_UNAUTHORIZED = 1 << 1,  /* AccessDenied / UnauthorizedOperation */
	TK_ALARMS_ROOT = 1 << 2,          /* root user activity */
};

struct tk_strlist {
	char **v;
	size_t n, alloc;   /* alloc: ALLOC_GROW's count (buf.h) */
};
/* free every string and the array; the list is empty after */
void tk_strlist_release(struct tk_strlist *l);

struct tk_account {
	char *name;                       /* the NAME of [account NAME] */
	char id[TK_ACCOUNT_ID_LEN + 1];
	struct tk_strlist regions;        /* own list, or a copy of [organization] regions */
	int line;                         /* line of the section header (0: implicit) */
	bool implicit;                    /* organization mode: the management or log-archive
	                                     account, expected without an [account] section */
};

struct tk_config {
	char *path;

	/* [organization] */
	char *org_id;                     /* NULL when not set */
	char management_account[TK_ACCOUNT_ID_LEN + 1];   /* "" when not set */
	char log_archive_account[TK_ACCOUNT_ID_LEN + 1];  /* "" -> management account */
	char *home_region;
	struct tk_strlist regions;
	char *assume_role;                /* role name assumed in each account */
	char *external_id;                /* NULL when not set (not a secret, but not printed) */
	struct tk_strlist exclude_accounts;   /* 12-digit ids left out of the membership and
	                                         prefix checks on purpose */
	const char *partition;            /* "aws", "aws-cn", "aws-us-gov": from home_region */

	/* [central] */
	char *bucket;
	char *key_prefix;                 /* NULL when not set; no leading/trailing '/' */
	char *kms_alias;                  /* "alias/..." */
	struct tk_strlist decrypt_principals;
	struct tk_strlist break_glass_principals;
	struct tk_strlist apply_principals;   /* who runs apply in the central account (besides
	                                         role/ASSUME_ROLE): exempt from the policy-change deny */
	int retention_days;               /* 0 = keep forever (no expiration rule) */
	enum tk_object_lock object_lock;
	int object_lock_days;
	char *access_log_bucket;          /* NULL when not set */
	long max_delivery_age;            /* seconds, default 3600 */

	/* [trail] */
	char *trail_name;
	enum tk_trail_mode mode;
	bool multi_region;
	bool include_global_events;
	bool log_file_validation;
	struct tk_strlist data_event_buckets;  /* bucket names from "s3:NAME" */

	/* [monitoring] (optional; README "Monitoring"): CloudTrail -> CloudWatch
	 * Logs, metric filters and alarms, the SNS topic; per trail owner
	 * (organization mode: the management account; per-account: each account),
	 * in home_region */
	bool monitoring;                  /* the section is present */
	char *cw_log_group;               /* log group name */
	int cw_retention_days;            /* one of CloudWatch Logs' retention values */
	unsigned alarm_sets;              /* enum tk_alarm_set bits */
	char *notify_topic;               /* topic name (trailkeep creates it) */
	char *notify_topic_arn;           /* or an existing topic's ARN (NULL: create notify_topic) */
	char *topic_kms_alias;            /* the topic's customer managed key; NULL: unencrypted */
	struct tk_strlist subscribe;      /* "mailto:ADDR" or "https://URL" */
	long max_cw_delivery_age;         /* seconds, default 3600 */
	long access_log_max_age;          /* seconds, default 6h */

	/* [account NAME] sections, in file order; in organization mode then the
	 * management and log-archive accounts when they have no section
	 * (implicit, with the [organization] regions; README "Configuration") */
	struct tk_account *accounts;
	size_t naccounts, alloc_accounts;
};

/* One diagnostic per problem: "FILE:LINE: message". */
struct tk_diags {
	char **v;
	size_t n;
};

/* Load and check path.  Returns 0, or TK_EUSAGE with every problem in diags
 * (and a summary in err).  A file that cannot be used at all (missing,
 * unreadable, a directory, binary) is TK_EUSAGE too, with only err set (and
 * diags empty), so every config problem maps to exit 2.  On failure *out is
 * released.  diags may be NULL (then only err is set). */
int config_load(struct tk_config *out, const char *path, struct tk_diags *diags,
		struct errbuf *err);
void config_release(struct tk_config *c);
void diags_release(struct tk_diags *d);

/* Helpers shared by other modules. */
const struct tk_account *config_find_account(const struct tk_config *c, const char *id);
/* The trail ARN for an account: organization mode -> the org trail in the
 * management account's home region; per-account -> that account's trail. */
char *config_trail_arn(const struct tk_config *c, const char *account_id);
/* The ARN of role (a role name) in account_id, in the config's partition. */
char *config_role_arn(const struct tk_config *c, const char *account_id, const char *role);
/* Is id listed in [organization] exclude_accounts? */
bool config_account_excluded(const struct tk_config *c, const char *id);
/* Central bucket/key account (log_archive_account or management_account). */
const char *config_central_account(const struct tk_config *c);

#endif
