/*
 * replay.c - a fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput
 * once on every file named, or in the directories named (make check builds
 * one per tests/fuzz/fuzz_*.c with the project's compiler, under the
 * sanitizers with SANITIZE=1, and replays the seeds and the regression
 * inputs: tests/fuzz/seeds/NAME, tests/fuzz/regress/NAME).  A target that
 * finds a problem aborts, and so fails the replay; the last line says how
 * many inputs ran.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX	(4 * 1024 * 1024)	/* libFuzzer's -max_len is far less */

static long ran;

static int
run_file(const char *path)
{
	static uint8_t buf[REPLAY_MAX];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	(void)LLVMFuzzerTestOneInput(buf, n);
	ran++;
	return 0;
}

static int
run_path(const char *path)
{
	struct stat sb;
	struct dirent **ents;
	int n, rc = 0;

	if (stat(path, &sb) != 0)
		return 0;		/* no regression inputs yet: fine */
	if (!S_ISDIR(sb.st_mode))
		return run_file(path);
	if ((n = scandir(path, &ents, NULL, alphasort)) < 0) {
		perror(path);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char p[4096];

		if (ents[i]->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", path, ents[i]->d_name);
			if (run_file(p) != 0)
				rc = -1;
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int
main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++)
		if (run_path(argv[i]) != 0)
			rc = 1;
	printf("%ld inputs replayed\n", ran);
	return rc;
}
