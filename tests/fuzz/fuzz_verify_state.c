/* fuzz_verify_state.c: the `verify --state` file reader (verify_state.c) on
 * arbitrary bytes, then a look-up, an update and a save-free release. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "verify_state.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tk_config cfg;
	struct verify_state st;
	struct errbuf err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.bucket = (char *)(uintptr_t)"org-trail-logs";
	cfg.trail_name = (char *)(uintptr_t)"org-trail";
	cfg.org_id = (char *)(uintptr_t)"o-a1b2c3d4e5";
	cfg.mode = TK_MODE_ORGANIZATION;
	if (verify_state_parse(&st, (const char *)data, size, "fuzz", &cfg, &err) == 0) {
		(void)verify_state_find(&st, "111111111111", "us-east-1");
		verify_state_set(&st, "111111111111", "us-east-1", "k", "00", 0);
		(void)verify_state_find(&st, "111111111111", "us-east-1");
	}
	verify_state_release(&st);
	return 0;
}
