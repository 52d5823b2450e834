/* verify_merge.h: `verify --merge` (README "verify and validate"): the N
 * shards' --json documents -> the findings and cells of one unsharded run,
 * no AWS call.  Library code: no printing.
 *
 * Shard documents are hostile input (issue 13 item 10): each must be a
 * version 1 document of 'verify --shard K/N --json' (a regular file of at
 * most VERIFY_MERGE_MAX_BYTES, JSON without duplicate keys); all shards of
 * one N, each K once; every cell of the config, each once; counts from 0
 * to VERIFY_MERGE_MAX_COUNT, newest_delivery a time from 2013 to 2100,
 * account ids of 12 digits, known regions, bounded strings.  Anything else
 * is refused (TK_EUSAGE) with a message naming the file. */
#ifndef TK_VERIFY_MERGE_H
#define TK_VERIFY_MERGE_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "findings.h"

#define VERIFY_MERGE_MAX_BYTES (1024u << 20)    /* one shard's --json document */
#define VERIFY_MERGE_MAX_COUNT 1000000000LL     /* digests or logs of one cell */
#define VERIFY_MERGE_MIN_TIME 1356998400LL      /* 2013-01-01: before CloudTrail digests */
#define VERIFY_MERGE_MAX_TIME 4102444800LL      /* 2100-01-01 */
#define VERIFY_MERGE_MAX_MESSAGE 8192

/* Read one shard document from path into *out (the caller's reference). */
int verify_merge_load(const char *path, json_t **out, struct errbuf *err);

struct verify_merged {
	struct findings f;
	struct cell_stats *cells;   /* in config order, as an unsharded run lists them */
	size_t ncells;
	json_t *run;                /* the "run" object when it is the same in every shard
	                               (a reference; not checked), else NULL */
};

/* docs[i] was read from names[i] (none NULL); config_path names cfg in
 * messages.  On success out is filled (verify_merged_release); on error it
 * is empty. */
int verify_merge(struct verify_merged *out, const struct tk_config *cfg, const char *config_path,
		 json_t *const *docs, const char *const *names, size_t n, struct errbuf *err);
/* The same, each document read from files[i] (verify_merge_load) as the
 * checks reach it. */
int verify_merge_files(struct verify_merged *out, const struct tk_config *cfg, const char *config_path,
		       const char *const *files, size_t n, struct errbuf *err);
void verify_merged_release(struct verify_merged *m);

#endif
