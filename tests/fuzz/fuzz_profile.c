/* fuzz_profile.c: the ~/.aws/config / credentials reader (profile.c) on
 * arbitrary bytes, as both file kinds, then every look-up on the result. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile_set ps;
	struct errbuf err;
	char *text;
	int kind;
	size_t i;

	if (size > PROFILE_MAX_FILE + 16)
		return 0;
	text = xstrndup((const char *)data, size);   /* NUL-terminated copy */
	for (kind = 0; kind < 2; kind++) {
		memset(&ps, 0, sizeof(ps));
		if (profile_parse_string(&ps, text, strlen(text),
					 kind ? PROFILE_CREDENTIALS : PROFILE_CONFIG, "fuzz", &err) == 0) {
			for (i = 0; i < ps.nsec; i++) {
				const char *name = ps.sec[i].name;

				(void)profile_exists(&ps, name);
				(void)profile_get(&ps, name, "aws_access_key_id");
				(void)profile_get(&ps, name, "s3.endpoint_url");
				(void)profile_service_get(&ps, name, "s3", "endpoint_url");
				(void)profile_line(&ps, name, "region", NULL);
			}
		}
		profile_release(&ps);
	}
	free(text);
	return 0;
}
