/* report_html.h: `trailkeep report`: one self-contained static HTML page
 * (no external assets, no JavaScript) from a `verify --json` document: the
 * account x region grid colored by status with the delivery age in each
 * cell, the findings grouped by cell with their hints, the run's window and
 * time and the config's name (the document's "run" object, when present).
 *
 * The document is hostile input (a file someone hands over): it must be a
 * verify document (version 1, "cells" and "findings" arrays, each cell with
 * string account and region and a known status), else TK_EUSAGE; every
 * string from it is shown with visible escapes (textesc.h) and then HTML
 * escaped, so a key or message can never add markup.  Implemented in
 * src/checks/report_html.c; no printing, no clock (now comes from the
 * caller). */
#ifndef TK_REPORT_HTML_H
#define TK_REPORT_HTML_H

#include <time.h>
#include <jansson.h>

#include "buf.h"
#include "err.h"

struct report_html_opts {
	time_t now;            /* the age reference when the document has no run time */
	const char *source;    /* the document's file name, shown on the page (may be NULL) */
};

/* Append the page to out.  0, TK_EUSAGE (not a verify document: message in
 * err) or TK_ELIMIT (out is full). */
int report_html_render(const json_t *doc, const struct report_html_opts *o, struct buf *out,
		       struct errbuf *err);

/* The "run" object verify adds to its --json document: the config as given,
 * the time of the run and the integrity window (epoch seconds). */
json_t *report_run_json(const char *config, time_t now, time_t start, time_t end);
/* A copy of a document's "run" object with only those fields, or NULL when
 * run is absent or not one verify writes (verify --merge keeps the shards'
 * run only when it is valid and the same in every shard). */
json_t *report_run_copy(const json_t *run);

#endif
