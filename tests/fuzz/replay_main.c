/* replay_main.c: runs a libFuzzer-style target over files, for `make test`
 * without clang/libFuzzer.  Usage: fuzz_NAME FILE|DIR...  (a directory is
 * replayed file by file).  Linked with each tests/fuzz/fuzz_*.c by the
 * Makefile.  A crash or sanitizer report fails the run; the target's return
 * value is ignored, as libFuzzer does. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX (16 * 1024 * 1024)

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	size_t n;

	if (!f) {
		fprintf(stderr, "replay: cannot open '%s'\n", path);
		return 1;
	}
	data = malloc(REPLAY_MAX);
	if (!data) {
		fclose(f);
		return 1;
	}
	n = fread(data, 1, REPLAY_MAX, f);
	fclose(f);
	/* an exact-size copy so ASan sees reads past the end */
	{
		uint8_t *exact = malloc(n ? n : 1);

		if (!exact) {
			free(data);
			return 1;
		}
		memcpy(exact, data, n);
		free(data);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int bad = 0;

	if (stat(path, &st)) {
		fprintf(stderr, "replay: cannot stat '%s'\n", path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	d = opendir(path);
	if (!d)
		return 1;
	while ((de = readdir(d))) {
		char sub[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		bad |= run_path(sub);
	}
	closedir(d);
	return bad;
}

int main(int argc, char **argv)
{
	int i, bad = 0, n = 0;

	for (i = 1; i < argc; i++, n++)
		bad |= run_path(argv[i]);
	if (bad)
		return 1;
	printf("replay: %d input(s) ok\n", n);
	return 0;
}
