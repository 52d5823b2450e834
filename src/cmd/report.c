/* report.c: `trailkeep report VERIFY.json -o FILE`: the HTML page of a
 * verify --json document (report_html.h), written atomically. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "buf.h"
#include "fileutil.h"
#include "findings.h"
#include "report_html.h"
#include "banned.h"

#define CMD "report"
#define REPORT_MAX_INPUT (1024u << 20)   /* as verify --merge reads a shard */
#define REPORT_MAX_PAGE (1024u << 20)

/* verify --json's "run" object (report_run_json), added by report_findings
 * and verify's shard report when set */
static json_t *run_info;

void report_set_run(json_t *run)
{
	json_decref(run_info);
	run_info = run;
}

void report_attach_run(json_t *doc)
{
	if (run_info)
		json_object_set(doc, "run", run_info);
}

int report_html_file(const char *cmd, const char *path, const struct findings *f,
		     const struct cell_stats *cells, size_t ncells, time_t now)
{
	struct buf page = BUF_INIT_LIMIT(REPORT_MAX_PAGE);
	struct report_html_opts ro;
	struct errbuf err;
	json_t *doc = findings_to_json(f, cells, ncells);
	int rc = 0;

	report_attach_run(doc);
	memset(&ro, 0, sizeof(ro));
	ro.now = now;
	err_clear(&err);
	if (report_html_render(doc, &ro, &page, &err))
		rc = cli_error(cmd, TK_EXIT_RUNTIME, "cannot write the HTML page '%s': %s", path, err.msg);
	else if (tk_write_file_atomic(path, page.data, page.len, 0644, &err))
		rc = cli_error(cmd, TK_EXIT_RUNTIME, "%s", err.msg);
	json_decref(doc);
	buf_release(&page);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	static struct cli_list pos;
	const char *in, *outp = NULL;
	struct report_html_opts ro;
	struct buf page = BUF_INIT_LIMIT(REPORT_MAX_PAGE);
	struct errbuf err;
	json_error_t je;
	json_t *doc = NULL;
	char *data = NULL;
	size_t len = 0;
	int rc;
	const struct cli_opt opts[] = {
		{ "-o", "--output", CLI_VALUE, &outp },
		{ NULL, NULL, CLI_FLAG, NULL },
	};

	rc = cli_parse(CMD, argc, argv, opts, &pos);
	if (rc >= 0)
		return rc;
	if (pos.n != 1) {
		rc = pos.n ? cli_usage(CMD, "too many arguments: '%s'", pos.v[1])
			   : cli_usage(CMD, "missing VERIFY.json (the output of 'trailkeep verify CONFIG --json')");
		goto done;
	}
	in = pos.v[0];
	if (!outp || !*outp) {
		rc = cli_usage(CMD, "missing -o FILE (the HTML page to write; '-' for stdout)");
		goto done;
	}
	err_clear(&err);
	if (tk_read_file(in, REPORT_MAX_INPUT, &data, &len, &err)) {
		rc = cli_error(CMD, TK_EXIT_USAGE, "%s", err.msg);
		goto done;
	}
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		rc = cli_error(CMD, TK_EXIT_USAGE, "cannot read '%s': not a verify --json document: line %d: %s",
			       in, je.line, je.text);
		goto done;
	}
	memset(&ro, 0, sizeof(ro));
	ro.now = cli_now();
	ro.source = in;
	err_clear(&err);
	rc = report_html_render(doc, &ro, &page, &err);
	if (rc) {
		rc = cli_error(CMD, rc == TK_EUSAGE ? TK_EXIT_USAGE : TK_EXIT_RUNTIME, "cannot read '%s': %s",
			       in, err.msg);
		goto done;
	}
	if (!strcmp(outp, "-")) {
		fwrite(page.data, 1, page.len, stdout);
		if (fflush(stdout) || ferror(stdout))
			rc = cli_error(CMD, TK_EXIT_RUNTIME, "cannot write to stdout: %s", strerror(errno));
		goto done;
	}
	err_clear(&err);
	if (tk_write_file_atomic(outp, page.data, page.len, 0644, &err))
		rc = cli_error(CMD, TK_EXIT_RUNTIME, "%s", err.msg);
done:
	json_decref(doc);
	free(data);
	buf_release(&page);
	cli_list_release(&pos);
	return rc;
}
