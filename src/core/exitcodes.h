/* exitcodes.h: the one table of trailkeep's exit codes.
 * The README has the same table; tests/cases/exitcodes checks they agree. */
#ifndef TK_EXITCODES_H
#define TK_EXITCODES_H

/* EXIT_TABLE(code, name, meaning) */
#define TK_EXIT_TABLE(X) \
	X(0, TK_EXIT_OK, "success; verify/validate/doctor found nothing wrong; apply had nothing left to do") \
	X(1, TK_EXIT_FINDINGS, "verify/validate/doctor found a problem of severity error (printed; warnings alone exit 0)") \
	X(2, TK_EXIT_USAGE, "usage error or invalid configuration/template (nothing was contacted)") \
	X(3, TK_EXIT_RUNTIME, "runtime failure: network, credentials, AWS error that stopped the command") \
	X(4, TK_EXIT_CHANGES, "`apply --dry-run` / `plan --detailed-exitcode`: changes pending")

enum tk_exit {
#define TK_X(code, name, meaning) name = code,
	TK_EXIT_TABLE(TK_X)
#undef TK_X
};

#endif
