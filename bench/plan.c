/* bench/plan.c: render a generated 1000-account x 17-region organization
 * config (config_load + plan_build + plan_write, what `trailkeep plan`
 * does) and print the wall time and peak RSS.  Goal (issue 3): < 0.5 s and
 * < 64 MiB on a 2-core machine.  Run from the checkout (templates/):
 *   make build/default/bench/plan && build/default/bench/plan [ACCOUNTS]
 * Exit status 1 when a goal is missed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "plan.h"
#include "banned.h"

static const char *const regions17 =
	"us-east-1, us-east-2, us-west-1, us-west-2, ap-south-1, ap-northeast-1, ap-northeast-2, "
	"ap-northeast-3, ap-southeast-1, ap-southeast-2, ca-central-1, eu-central-1, eu-west-1, "
	"eu-west-2, eu-west-3, eu-north-1, sa-east-1";

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	char dir[] = "/tmp/tk-bench-plan.XXXXXX";
	char *ini, *out, *cmd;
	struct timespec t0, t1;
	struct rusage ru;
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	struct plan p;
	struct plan_opts o = { "templates", false };
	FILE *f;
	long i;
	double secs, mib;
	int rc;

	if (!mkdtemp(dir))
		return 2;
	ini = xasprintf("%s/org.ini", dir);
	out = xasprintf("%s/plan", dir);
	f = fopen(ini, "w");
	if (!f)
		return 2;
	/* each account repeats the 17 regions (a 230-byte line, longer than
	 * inih's own line buffer) to exercise the parser too */
	fprintf(f, "[organization]\nid = o-benchbench1\nmanagement_account = 100000000000\n"
		"home_region = us-east-1\nregions = %s\n"
		"[central]\nbucket = bench-org-cloudtrail\naccess_log_bucket = bench-org-access-logs\n"
		"decrypt_principals = arn:aws:iam::100000000000:role/Audit\n"
		"break_glass_principals = arn:aws:iam::100000000000:role/Admin\nretention_days = 2555\n"
		"[trail]\nname = org-trail\nmode = organization\ndata_events = s3:bench-payroll, s3:bench-secrets\n",
		regions17);
	for (i = 0; i < n; i++)
		fprintf(f, "[account a%ld]\nid = %012ld\nregions = %s\n", i, 100000000000L + i, regions17);
	fclose(f);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = config_load(&c, ini, &d, &err);
	if (rc == 0)
		rc = plan_build(&p, &c, &o, &err);
	if (rc == 0)
		rc = plan_write(&p, out, NULL, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc < 0) {
		fprintf(stderr, "bench/plan: %s%s%s\n", d.n ? d.v[0] : "", d.n ? " " : "", err.msg);
		return 2;
	}
	getrusage(RUSAGE_SELF, &ru);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	mib = (double)ru.ru_maxrss / 1024.0;
	printf("bench/plan: %ld accounts x 17 regions, organization mode: %.3f s, peak RSS %.1f MiB "
	       "(goal < 0.5 s, < 64 MiB): %s\n", n, secs, mib, secs < 0.5 && mib < 64 ? "ok" : "MISSED");
	plan_release(&p);
	config_release(&c);
	cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench/plan: cannot remove %s\n", dir);
	free(cmd);
	free(ini);
	free(out);
	return secs < 0.5 && mib < 64 ? 0 : 1;
}
