/* cmd.h: the command table and the helpers every command uses.
 * Only src/cmd/ and src/main.c print, read argv, the clock or the environment. */
#ifndef TK_CMD_H
#define TK_CMD_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "err.h"
#include "exitcodes.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage;   /* synopsis lines, shown by help and --help */
	bool ready;          /* false: not built yet, exits 2 */
	const char *options; /* "Options:" lines for help and --help, or NULL */
};

int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_help(int argc, char **argv);
/* verify --json's "run" object (config, time, window; report_html.h):
 * report_set_run takes the reference; report_attach_run adds it to a
 * document when set (report.c). */
struct json_t;
void report_set_run(struct json_t *run);
void report_attach_run(struct json_t *doc);
/* verify --html FILE: the page of `trailkeep report` from the findings and
 * cells (sorted and tallied) and the run set above, written atomically.
 * 0, or TK_EXIT_RUNTIME after a message. */
struct findings;
struct cell_stats;
int report_html_file(const char *cmd, const char *path, const struct findings *f,
		     const struct cell_stats *cells, size_t ncells, time_t now);

const struct cmd *cmd_lookup(const char *name);
const struct cmd *cmd_table(size_t *n);

/* Global options (parsed by main.c before the command name, and by commands
 * after theirs through cli_global_option()). */
struct cli_globals {
	const char *profile;
	const char *region;
	const char *endpoint_url;
	const char *ca_bundle;
	bool no_verify_ssl;
	bool allow_http;       /* --allow-http: plain http to a non-loopback endpoint (warned) */
	long timeout_s;        /* --timeout DURATION; 0: CLI_DEFAULT_TIMEOUT_S; -1: none (--timeout 0) */
	int verbose;   /* -v count */
	bool quiet;    /* -q */
};
#define CLI_DEFAULT_TIMEOUT_S (30 * 60)
extern struct cli_globals g_cli;

/* If argv[*i] is a global option, consume it (and its value) and return 1;
 * return 0 if it is not one; return -1 (message printed) on a usage error. */
int cli_global_option(const char *cmd, int argc, char **argv, int *i);

/* One command's options, for cli_parse.  A table ends with a NULL name. */
enum cli_opt_kind {
	CLI_FLAG,      /* dest: bool *, set to true */
	CLI_VALUE,     /* dest: const char **, "--name V" or "--name=V" (the last one wins) */
	CLI_LIST       /* dest: struct cli_list *, repeatable; a value given twice is kept once */
};
struct cli_list {
	const char **v;              /* borrowed from argv; free v with cli_list_release */
	size_t n, alloc;
};
struct cli_opt {
	const char *name;            /* "--account" or "-o" */
	const char *alias;           /* another spelling ("--account-id", "-y"), or NULL */
	enum cli_opt_kind kind;
	void *dest;
};
#define CLI_MAX_LIST 10000

/* Parse argv[1..]: -h/--help prints the command's help; the command's own
 * options come first (so `--region` may be a command option), then the
 * global options; anything else not starting with '-' (or "-" alone) is a
 * positional argument, appended to *pos.  Returns -1 when the command
 * should go on, else its exit status (2 after a usage message, 0 after
 * --help); pos is released then. */
int cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts, struct cli_list *pos);
void cli_list_release(struct cli_list *l);
/* --start/--end: each one given (non-NULL) is parsed into *start / *end,
 * then end must be after start.  -1 to go on, else the usage exit status. */
int cli_window(const char *cmd, const char *start_s, const char *end_s, time_t *start, time_t *end);
/* --jobs N (s NULL: *jobs stays): 1..1024.  -1 to go on, else the usage exit status. */
int cli_jobs(const char *cmd, const char *s, int *jobs);

/* The one CONFIG argument of pos: NULL after a usage message (missing or
 * more than one; *ret gets the exit status). */
const char *cli_config_arg(const char *cmd, const struct cli_list *pos, int *ret);

/* Messages: "trailkeep: CMD: message" on stderr.  Each returns the exit code
 * it is given so a command can `return cli_error(...)`. */
int cli_error(const char *cmd, int code, const char *fmt, ...) TK_PRINTF(3, 4);
int cli_usage(const char *cmd, const char *fmt, ...) TK_PRINTF(2, 3);   /* exit 2 + hint */
void cli_warn(const char *cmd, const char *fmt, ...) TK_PRINTF(2, 3);
void cli_info(const char *fmt, ...) TK_PRINTF(1, 2);   /* stderr, unless -q */
/* Print the help text of a command to stdout; returns 0. */
int cli_help(const char *cmd);
/* The "Global options" text of every --help (cli.c). */
const char *cli_global_help(void);
/* `help --man`: the trailkeep(1) man page from the same text (man.c). */
int cli_man(void);
/* Map a library error code to an exit code (TK_EUSAGE -> 2, else 3). */
int cli_exit_for(int err);

/* The run's deadline (--timeout): cli_start() at process start; then
 * cli_mono_ms() is a monotonic clock in ms and cli_deadline_ms() the
 * deadline in that clock (0: none).  awsenv hands both to every HTTP pool. */
void cli_start(void);
long long cli_mono_ms(void);
long long cli_deadline_ms(void);

/* The clock: time(NULL), or TRAILKEEP_NOW (epoch seconds or
 * YYYY-MM-DDTHH:MM:SSZ) so tests can pin it. */
time_t cli_now(void);
/* getenv() of a test setting; a release build (TEST_KNOBS=0) exits 2 when
 * it is set (cli.c) */
const char *cli_test_knob(const char *name);
/* a release build: exit 2 if any test setting is set (called first by main);
 * a development build: nothing */
void cli_check_test_knobs(void);

struct tk_config;
/* Load a command's CONFIG: its diagnostics and error printed as
 * `trailkeep: CMD: ...`.  0, or TK_EXIT_USAGE (cfg then needs no release). */
int cli_load_config(const char *cmd, const char *path, struct tk_config *cfg);
/* --account / --region against the config: every account an [account] of it,
 * every region known and configured for some account.  0, or cli_usage()'s 2. */
int cli_check_selection(const char *cmd, const struct tk_config *cfg, const char *path,
			const char *const *accounts, size_t naccounts, const char *const *regions, size_t nregions);
/* The templates directory (malloc'd): $TRAILKEEP_TEMPLATES, else the first
 * of ../share/trailkeep/templates, ../../templates, ../templates next to the
 * executable that exists, else ./templates. */
char *cli_default_templates(void);
/* True when stderr is a terminal (progress lines are shown only then). */
bool cli_progress_enabled(void);

#endif
