/*
 * cli.c - the small helpers main and cli/ share: messages, clocks, sizes
 * and whether the terminal takes UTF-8.
 */
#include <langinfo.h>
#include <libutil.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

void
cli_warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("smtpscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint64_t
cli_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
cli_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * "17 B", "1.2 KiB", "85 KiB", "118 MiB": powers of 1024, named as such
 * (IEC), as du -h and ls -lh count.  humanize_number() scales only as far
 * as needed to fit its buffer; 8 bytes keep at most three digits.
 */
void
cli_fmt_bytes(char *buf, size_t len, uint64_t n)
{
	char tmp[8];

	if (humanize_number(tmp, sizeof(tmp), (int64_t)n, "B", HN_AUTOSCALE,
	    HN_DECIMAL | HN_IEC_PREFIXES) == -1)
		snprintf(tmp, sizeof(tmp), "?");
	strlcpy(buf, tmp, len);
}

bool
cli_utf8_terminal(int fd)
{
	bool utf8;

	if (!isatty(fd) || setlocale(LC_CTYPE, "") == NULL)
		return false;
	utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	(void)setlocale(LC_CTYPE, "C");	/* nothing else depends on the locale */
	return utf8;
}
