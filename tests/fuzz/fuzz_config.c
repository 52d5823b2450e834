/* fuzz_config.c: the organization config reader (config.c: inih plus every
 * check) on arbitrary bytes, written to a temporary file as config_load
 * reads files; on success, plan_vars over the result. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/trailkeep-fuzz-config.XXXXXX";
	struct tk_config c;
	struct tk_diags d = { NULL, 0 };
	struct errbuf err;
	int fd = mkstemp(path);
	FILE *fp;

	if (fd < 0)
		return 0;
	fp = fdopen(fd, "wb");
	if (!fp) {
		close(fd);
		unlink(path);
		return 0;
	}
	if (size)
		fwrite(data, 1, size, fp);
	fclose(fp);
	memset(&c, 0, sizeof(c));
	if (config_load(&c, path, &d, &err) == 0) {
		json_t *v = plan_vars(&c);

		json_decref(v);
		config_release(&c);
	}
	diags_release(&d);
	unlink(path);
	return 0;
}
