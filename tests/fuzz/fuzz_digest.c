/* fuzz_digest.c: digest JSON parsing, gzip'd digest loading and streaming
 * log hashing over arbitrary bytes.  libFuzzer entry point; with
 * -DFUZZ_REPLAY it is linked with tests/fuzz/replay_main.c and replays the
 * corpus in tests/fuzz/corpus/digest/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "digest.h"
#include "loghash.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest d;
	struct keyset ks;
	char hex[65], *s;
	struct loghash *h;
	size_t i;

	if (digest_parse_json(&d, (const char *)data, size, NULL) == 0) {
		s = digest_string_to_sign(&d);
		(void)digest_check_location(&d, "b", "k", NULL);
		free(s);
		digest_release(&d);
	}
	if (digest_load_gz(&d, data, size, NULL) == 0)
		digest_release(&d);
	/* streaming in uneven pieces must not matter */
	h = loghash_new(1u << 24, 1u << 16);
	for (i = 0; i < size; i += 7)
		loghash_feed(h, data + i, size - i < 7 ? size - i : 7);
	loghash_finish(h, hex);
	loghash_free(h);
	keyset_init(&ks);
	(void)keyset_load_json(&ks, (const char *)data, size, NULL);
	keyset_release(&ks);
	if (size < 4096) {
		char *key = xstrndup((const char *)data, size);
		time_t t;

		(void)digest_key_time(key, &t, NULL);
		free(key);
	}
	return 0;
}
