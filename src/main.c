/* main.c: process set-up, the command dispatch, the exit status. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "buf.h"
#include "cmd/cmd.h"
#include "version.h"
#include "banned.h"

/* Make sure fds 0-2 are open so no file we open becomes stdout by accident. */
static void check_fds(void)
{
	int fd;

	do {
		fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			break;
	} while (fd <= 2);
	if (fd > 2)
		close(fd);
}

static int close_stdout(int rc)
{
	int bad = 0;

	if (fflush(stdout) != 0 || ferror(stdout))
		bad = 1;
	if (fclose(stdout) != 0)
		bad = 1;
	if (bad) {
		fputs("trailkeep: cannot write to standard output\n", stderr);
		if (rc == TK_EXIT_OK || rc == TK_EXIT_FINDINGS || rc == TK_EXIT_CHANGES)
			rc = TK_EXIT_RUNTIME;
	}
	return rc;
}

static void list_commands(FILE *fp)
{
	size_t n, i;
	const struct cmd *t = cmd_table(&n);

	fputs("usage: trailkeep [--version] [--help] COMMAND [ARGS]\n\ncommands:\n", fp);
	for (i = 0; i < n; i++)
		fprintf(fp, "  %-9s %s%s\n", t[i].name, t[i].summary, t[i].ready ? "" : " (not built yet)");
	fputs("\nSee 'trailkeep help COMMAND' or 'trailkeep COMMAND --help'.\n", fp);
}

int cmd_help(int argc, char **argv)
{
	if (argc > 2)
		return cli_usage("help", "too many arguments");
	if (argc == 2 && !strcmp(argv[1], "--man"))
		return cli_man();   /* the man page, from the same text (man.c) */
	if (argc == 2 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))
		return cli_help(argv[1]);
	list_commands(stdout);
	return TK_EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct cmd *c;
	int i = 1, rc;

	check_fds();
	signal(SIGPIPE, SIG_IGN);
	/* one out-of-memory policy (docs/architecture.md): jansson too */
	json_set_alloc_funcs(xmalloc, free);
	cli_start();   /* --timeout counts from here */
	cli_check_test_knobs();

	while (i < argc && argv[i][0] == '-') {
		int g;

		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("trailkeep %s\n", TRAILKEEP_VERSION);
			return close_stdout(TK_EXIT_OK);
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			list_commands(stdout);
			return close_stdout(TK_EXIT_OK);
		}
		g = cli_global_option(NULL, argc, argv, &i);
		if (g < 0)
			return TK_EXIT_USAGE;
		if (g == 0)
			return cli_usage(NULL, "unknown option '%s'", argv[i]);
		i++;
	}
	if (i >= argc) {
		list_commands(stderr);
		return TK_EXIT_USAGE;
	}
	c = cmd_lookup(argv[i]);
	if (!c)
		return cli_usage(NULL, "'%s' is not a trailkeep command", argv[i]);
	if (argc - i >= 2 && (!strcmp(argv[i + 1], "--help") || !strcmp(argv[i + 1], "-h")))
		return close_stdout(cli_help(c->name));
	if (!c->ready)
		return cli_error(c->name, TK_EXIT_USAGE, "not built yet in this version");
	rc = c->fn(argc - i, argv + i);
	return close_stdout(rc);
}
