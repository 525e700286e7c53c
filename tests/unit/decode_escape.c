/*
 * decode_escape.c - tests of decode/escape.c: text (vis), JSON and CSV
 * escaping of every byte value, truncation, strict UTF-8, and validity of
 * the outputs as parsed by real parsers (Python's json and csv modules, jq).
 *
 * Expected outputs are computed here independently of vis(3) (a table of
 * what each byte must become), then the outputs are also decoded back
 * (strunvisx for text, a reverse mapping in Python for JSON) and compared
 * with the input bytes, so a lossy or ambiguous escape fails.
 */
#define LIBBSD_NETBSD_VIS
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vis.h>

#include <cmocka.h>

#include "decode/escape.h"

#define PY "/usr/bin/python3"

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* Run an escaper that writes to a FILE * and return what it wrote. */
typedef int (*fput_fn)(FILE *, const void *, size_t);

static char *
capture(fput_fn fn, const void *s, size_t len, size_t *outlen)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	assert_non_null(f);
	assert_int_equal(fn(f, s, len), 0);
	assert_int_equal(fclose(f), 0);
	if (outlen != NULL)
		*outlen = n;
	return buf;
}

static int
text_fput0(FILE *f, const void *s, size_t len)
{
	return esc_text_fput(f, s, len, 0);
}

/* What the text escaper must make of byte b (when not followed by a
 * digit), built from the rules in escape.h rather than from vis(3). */
static void
text_expect(unsigned b, char *out, size_t size)
{
	static const struct {
		unsigned b;
		const char *s;
	} cstyle[] = {
		{ 0, "\\0" }, { '\a', "\\a" }, { '\b', "\\b" }, { '\t', "\\t" },
		{ '\n', "\\n" }, { '\v', "\\v" }, { '\f', "\\f" }, { '\r', "\\r" },
		{ '\\', "\\\\" },
	};
	size_t i;

	for (i = 0; i < sizeof(cstyle) / sizeof(cstyle[0]); i++)
		if (cstyle[i].b == b) {
			snprintf(out, size, "%s", cstyle[i].s);
			return;
		}
	if (b >= 0x20 && b < 0x7f)
		snprintf(out, size, "%c", (char)b);
	else
		snprintf(out, size, "\\%03o", b);
}

static void
assert_printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			fail_msg("byte 0x%02x at %zu in output", c, i);
	}
}

/* Deterministic pseudo-random bytes (xorshift), biased toward the tricky
 * values so UTF-8 lead and continuation bytes meet often. */
static void
fill_random(uint32_t *st, unsigned char *p, size_t n)
{
	static const unsigned char pick[] = { 0x00, '\\', 'x', '"', '0', 0x7f,
		0x80, 0xbf, 0xc2, 0xe0, 0xe2, 0xed, 0xf0, 0xf4, 0x9f, 0xa0,
		0x28, 0x0a, 0x0d, ',', '=', ' ' };
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t x = *st;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		*st = x;
		p[i] = (x & 0x100) ? pick[(x >> 9) % sizeof(pick)] :
		    (unsigned char)x;
	}
}

static char *
write_tmp(const char *tag, const char *content, size_t len)
{
	char *path = strdup("/tmp/smtpscope-escape-XXXXXX");
	int fd;

	(void)tag;
	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return path;
}

/* ------------------------------------------------------------------------
 * Text
 * --------------------------------------------------------------------- */

static void
test_text_every_byte(void **state)
{
	char got[16], want[16];
	unsigned b;

	(void)state;
	for (b = 0; b < 256; b++) {
		unsigned char in[2] = { (unsigned char)b, 'a' };
		size_t n = esc_text(got, sizeof(got), in, 1, 0);
		size_t flen;
		char *viaf;

		text_expect(b, want, sizeof(want));
		if (strcmp(got, want) != 0)
			fail_msg("byte 0x%02x: got \"%s\" want \"%s\"", b, got, want);
		assert_int_equal(n, strlen(want));
		assert_printable(got, n);
		/* The stream form and the slow (per-byte) path agree. */
		viaf = capture(text_fput0, in, 1, &flen);
		assert_int_equal(flen, n);
		assert_memory_equal(viaf, want, n);
		free(viaf);
		/* Followed by a letter: unchanged, plus the letter. */
		n = esc_text(got, sizeof(got), in, 2, 0);
		assert_int_equal(n, strlen(want) + 1);
		assert_int_equal(got[n - 1], 'a');
	}
	/* Representative exact values. */
	assert_int_equal(esc_text(got, sizeof(got), "\x1b[2J", 4, 0), 7);
	assert_string_equal(got, "\\033[2J");
	esc_text(got, sizeof(got), "\xc3\xa9", 2, 0);
	assert_string_equal(got, "\\303\\251");
	esc_text(got, sizeof(got), "a\\b", 3, 0);
	assert_string_equal(got, "a\\\\b");
	esc_text(got, sizeof(got), "\x7f", 1, 0);
	assert_string_equal(got, "\\177");
	esc_text(got, sizeof(got), "a b", 3, 0);
	assert_string_equal(got, "a b");
	esc_text(got, sizeof(got), "a b", 3, ESC_SP);
	assert_string_equal(got, "a\\sb");
}

static void
test_text_nul_before_digit(void **state)
{
	char got[32];

	(void)state;
	/* "\0" then "1" would read back as \01: vis writes \000 instead. */
	esc_text(got, sizeof(got), "\0" "1", 2, 0);
	assert_string_equal(got, "\\0001");
	esc_text(got, sizeof(got), "\0" "a", 2, 0);
	assert_string_equal(got, "\\0a");
	/* Same through the per-byte path (buffer too small for the fast one). */
	assert_int_equal(esc_text(got, 6, "\0" "1", 2, 0), 5);
	assert_string_equal(got, "\\0001");
}

static void
test_text_truncation(void **state)
{
	char got[64];

	(void)state;
	/* strlcpy-style return: the full length; cut marked with "...". */
	assert_int_equal(esc_text(got, 8, "abcdefghij", 10, 0), 10);
	assert_string_equal(got, "abcd...");
	/* Exactly fitting: no mark. */
	assert_int_equal(esc_text(got, 11, "abcdefghij", 10, 0), 10);
	assert_string_equal(got, "abcdefghij");
	/* An escape sequence is never split. */
	assert_int_equal(esc_text(got, 8, "\x01\x01\x01", 3, 0), 12);
	assert_string_equal(got, "\\001...");
	assert_int_equal(esc_text(got, 7, "\x01\x01\x01", 3, 0), 12);
	assert_string_equal(got, "...");
	/* Too small for the mark: cut without it, still terminated. */
	assert_int_equal(esc_text(got, 3, "abcdef", 6, 0), 6);
	assert_string_equal(got, "ab");
	assert_int_equal(esc_text(got, 1, "abcdef", 6, 0), 6);
	assert_string_equal(got, "");
	/* size 0 writes nothing and still measures. */
	got[0] = 'Z';
	assert_int_equal(esc_text(got, 0, "a\n", 2, 0), 3);
	assert_int_equal(got[0], 'Z');
	/* Absent wstr. */
	{
		struct wstr w = { .p = NULL, .len = 5 };

		assert_int_equal(esc_text_wstr(got, sizeof(got), &w, 0), 0);
		assert_string_equal(got, "");
	}
}

static void
test_text_roundtrip_random(void **state)
{
	unsigned char in[300], back[300];
	char out[ESC_TEXT_SIZE(300)], small[101];
	uint32_t st = 0x9e3779b9;
	int round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		size_t len = (size_t)(round % 300);
		size_t n;
		int m;

		fill_random(&st, in, len);
		n = esc_text(out, sizeof(out), in, len, 0);
		assert_int_equal(n, strlen(out));
		assert_printable(out, n);
		m = strunvisx((char *)back, out, VIS_CSTYLE | VIS_OCTAL);
		assert_int_equal(m, (int)len);
		assert_memory_equal(back, in, len);
		/* A cut result is a prefix of the full one plus "...". */
		if (esc_text(small, sizeof(small), in, len, 0) >= sizeof(small)) {
			size_t k = strlen(small);

			assert_true(k <= 100 && k >= 3);
			assert_string_equal(small + k - 3, "...");
			assert_memory_equal(small, out, k - 3);
		} else
			assert_string_equal(small, out);
	}
}

static void
test_text_locale_independent(void **state)
{
	char got[32];

	(void)state;
	/* In a UTF-8 locale vis(3) would pass "é" unless told VIS_NOLOCALE. */
	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		(void)setlocale(LC_ALL, "en_US.UTF-8");
	esc_text(got, sizeof(got), "\xc3\xa9\xe2\x80\xa8", 5, 0);
	assert_string_equal(got, "\\303\\251\\342\\200\\250");
	(void)setlocale(LC_ALL, "C");
}

/* ------------------------------------------------------------------------
 * UTF-8
 * --------------------------------------------------------------------- */

/* Reference: decode permissively, then reject by value ranges. */
static size_t
ref_utf8(const unsigned char *s, size_t len, unsigned long *cp)
{
	size_t n, i;
	unsigned long v;
	static const unsigned long min[5] = { 0, 0, 0x80, 0x800, 0x10000 };

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		n = 1, v = s[0];
	else if ((s[0] & 0xe0) == 0xc0)
		n = 2, v = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, v = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, v = s[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

static void
test_utf8_exhaustive(void **state)
{
	static const unsigned char tails[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f,
		0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff };
	unsigned a, b, c, d;
	unsigned long cp1 = 0, cp2 = 0;

	(void)state;
	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++)
			for (c = 0; c < sizeof(tails); c++)
				for (d = 0; d < sizeof(tails); d++) {
					unsigned char s[4] = { (unsigned char)a,
						(unsigned char)b, tails[c], tails[d] };
					size_t k;

					for (k = 1; k <= 4; k++) {
						size_t x = esc_utf8_seq(s, k, &cp1);
						size_t y = ref_utf8(s, k, &cp2);

						if (x != y || (x > 0 && cp1 != cp2))
							fail_msg("%02x %02x %02x %02x len %zu:"
							    " %zu vs %zu", a, b, tails[c],
							    tails[d], k, x, y);
					}
				}
	/* Named edges. */
	assert_int_equal(esc_utf8_seq((const unsigned char *)"\xc0\xaf", 2, &cp1), 0);
	assert_int_equal(esc_utf8_seq((const unsigned char *)"\xe0\x80\xaf", 3, &cp1), 0);
	assert_int_equal(esc_utf8_seq((const unsigned char *)"\xed\xa0\x80", 3, &cp1), 0);
	assert_int_equal(esc_utf8_seq((const unsigned char *)"\xf4\x90\x80\x80", 4, &cp1), 0);
	assert_int_equal(esc_utf8_seq((const unsigned char *)"\xf4\x8f\xbf\xbf", 4, &cp1), 4);
	assert_int_equal(cp1, 0x10ffff);
	assert_int_equal(esc_utf8_seq((const unsigned char *)"\xef\xbf\xbd", 3, &cp1), 3);
	assert_int_equal(cp1, 0xfffd);
}

/* ------------------------------------------------------------------------
 * JSON
 * --------------------------------------------------------------------- */

static void
json_expect(unsigned b, char *out, size_t size)
{
	if (b == '"')
		snprintf(out, size, "\\\"");
	else if (b == '\\')
		snprintf(out, size, "\\\\");
	else if (b < 0x20 || b == 0x7f)
		snprintf(out, size, "\\u%04x", b);
	else if (b < 0x80)
		snprintf(out, size, "%c", (char)b);
	else
		snprintf(out, size, "\\\\x%02x", b);	/* alone: never valid UTF-8 */
}

static void
test_json_every_byte(void **state)
{
	char got[32], want[32];
	unsigned b;

	(void)state;
	for (b = 0; b < 256; b++) {
		unsigned char in = (unsigned char)b;
		size_t n = esc_json(got, sizeof(got), &in, 1);
		char *q;

		json_expect(b, want, sizeof(want));
		if (strcmp(got, want) != 0)
			fail_msg("byte 0x%02x: got \"%s\" want \"%s\"", b, got, want);
		assert_int_equal(n, strlen(want));
		assert_printable(got, n);
		q = capture(esc_json_fput, &in, 1, NULL);
		assert_int_equal(q[0], '"');
		assert_memory_equal(q + 1, want, n);
		assert_string_equal(q + 1 + n, "\"");
		free(q);
	}
}

static void
test_json_representative(void **state)
{
	char got[128];

	(void)state;
	/* Valid UTF-8 passes as it is. */
	esc_json(got, sizeof(got), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14);
	assert_string_equal(got, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* U+2028, U+2029 and C1 controls are escaped. */
	esc_json(got, sizeof(got), "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xc2\x85", 11);
	assert_string_equal(got, "a\\u2028b\\u2029c\\u0085");
	/* Invalid sequences: every byte as \xHH. */
	esc_json(got, sizeof(got), "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82", 14);
	assert_string_equal(got, "\\\\xc0\\\\xaf|\\\\xed\\\\xa0\\\\x80|"
	    "\\\\xf4\\\\x90\\\\x80\\\\x80|\\\\xe2\\\\x82");
	/* A valid sequence right after an invalid byte is kept. */
	esc_json(got, sizeof(got), "\xff\xc3\xa9", 3);
	assert_string_equal(got, "\\\\xff\xc3\xa9");
	/* A literal backslash before 'x' is written \x5c: no ambiguity. */
	esc_json(got, sizeof(got), "\\x41 \\y", 7);
	assert_string_equal(got, "\\\\x5cx41 \\\\y");
	/* Quotes, NUL, DEL, CR LF. */
	esc_json(got, sizeof(got), "\"\0\x7f\r\n", 5);
	assert_string_equal(got, "\\\"\\u0000\\u007f\\u000d\\u000a");
	/* Cut at an escape boundary, never inside one. */
	assert_int_equal(esc_json(got, 9, "ab\x01\x02", 4), 14);
	assert_string_equal(got, "ab\\u0001");
	assert_int_equal(esc_json(got, 8, "ab\x01\x02", 4), 14);
	assert_string_equal(got, "ab");
	assert_int_equal(esc_json(got, 4, "a\xc3\xa9", 3), 3);
	assert_string_equal(got, "a\xc3\xa9");
	assert_int_equal(esc_json(got, 3, "a\xc3\xa9", 3), 3);
	assert_string_equal(got, "a");
	/* A plain run cut in a small buffer keeps what fits. */
	assert_int_equal(esc_json(got, 4, "abcdef", 6), 6);
	assert_string_equal(got, "abc");
	/* The plain run: up to the first octet JSON would escape. */
	assert_int_equal(esc_json_plain("abc", 3), 3);
	assert_int_equal(esc_json_plain("ab\"c", 4), 2);
	assert_int_equal(esc_json_plain("a\\x", 3), 1);
	assert_int_equal(esc_json_plain("\x1f", 1), 0);
	assert_int_equal(esc_json_plain("\x7f", 1), 0);
	assert_int_equal(esc_json_plain("a\xc3\xa9", 3), 1);
	assert_int_equal(esc_json_plain("", 0), 0);

	/* Every octet at every place of runs long enough for the sixteen-
	 * at-a-time path and its tail, against the definition. */
	char b[40];

	for (int c = 0; c < 256; c++) {
		bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';

		for (size_t len = 1; len <= sizeof(b); len++)
			for (size_t at = 0; at < len; at++) {
				memset(b, 'a', sizeof(b));
				b[at] = (char)c;
				assert_int_equal(esc_json_plain(b, len), plain ? len : at);
			}
	}
}

static void
test_json_null_forms(void **state)
{
	struct wstr w = { .p = NULL, .len = 0 };
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	(void)state;
	assert_non_null(f);
	assert_int_equal(esc_json_fput_wstr(f, &w), 0);
	fputc(' ', f);
	assert_int_equal(esc_json_fput_str(f, NULL), 0);
	fputc(' ', f);
	w.p = (char *)"a\0b";
	w.len = 3;
	assert_int_equal(esc_json_fput_wstr(f, &w), 0);
	fclose(f);
	assert_string_equal(buf, "null null \"a\\u0000b\"");
	free(buf);
}

/* The Python side: load every string, undo the documented mapping (\xHH is
 * one raw byte, anything else is UTF-8) and compare with the hex of the
 * input.  Exit 0 only if every case matches. */
static const char json_check_py[] =
    "import json, re, sys\n"
    "doc = json.load(open(sys.argv[1], encoding='utf-8'))\n"
    "def back(s):\n"
    "    out = bytearray()\n"
    "    for m in re.finditer(r'\\\\x([0-9a-f]{2})|(.)', s, re.S):\n"
    "        out += bytes([int(m.group(1), 16)]) if m.group(1) else m.group(2).encode('utf-8')\n"
    "    return bytes(out)\n"
    "bad = [c['hex'] for c in doc if back(c['s']) != bytes.fromhex(c['hex'])]\n"
    "print(len(doc), 'cases', len(bad), 'bad', bad[:3])\n"
    "sys.exit(1 if bad or len(doc) < 1000 else 0)\n";

static void
test_json_valid_and_reversible(void **state)
{
	unsigned char in[512];
	uint32_t st = 12345;
	char *buf = NULL, *path, *pypath, cmd[512];
	size_t n = 0, i;
	FILE *f = open_memstream(&buf, &n);
	int round, rc;

	(void)state;
	assert_non_null(f);
	fputc('[', f);
	/* Case 0: every byte 0..255 in one string. */
	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	for (round = 0; round < 1500; round++) {
		size_t len = round == 0 ? 256 : (size_t)(round % 512);

		if (round > 0)
			fill_random(&st, in, len);
		fprintf(f, "%s{\"hex\":\"", round > 0 ? ",\n" : "");
		for (i = 0; i < len; i++)
			fprintf(f, "%02x", in[i]);
		fputs("\",\"s\":", f);
		assert_int_equal(esc_json_fput(f, in, len), 0);
		fputc('}', f);
	}
	fputs("]\n", f);
	fclose(f);
	path = write_tmp("json", buf, n);
	pypath = write_tmp("py", json_check_py, strlen(json_check_py));
	snprintf(cmd, sizeof(cmd), PY " %s %s", pypath, path);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	snprintf(cmd, sizeof(cmd), "jq -e 'length == 1500' %s >/dev/null", path);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	unlink(path);
	unlink(pypath);
	free(path);
	free(pypath);
	free(buf);
}

/* ------------------------------------------------------------------------
 * CSV
 * --------------------------------------------------------------------- */

static void
check_csv(const char *in, size_t len, const char *want)
{
	char *got = capture(esc_csv_fput, in, len, NULL);

	assert_string_equal(got, want);
	free(got);
}

static void
test_csv_quoting_and_guard(void **state)
{
	(void)state;
	check_csv("abc", 3, "abc");
	check_csv("", 0, "");
	check_csv("a,b", 3, "\"a,b\"");
	check_csv("say \"hi\"", 8, "\"say \"\"hi\"\"\"");
	check_csv(" padded", 7, "\" padded\"");
	check_csv("padded ", 7, "\"padded \"");
	check_csv("a\r\nb", 4, "a\\r\\nb");
	check_csv("x\\y", 3, "x\\\\y");
	/* Data files keep UTF-8 as UTF-8; invalid bytes and the controls
	 * a viewer would act on are still escaped. */
	check_csv("caf\xc3\xa9", 5, "caf\xc3\xa9");
	check_csv("caf\xc3", 4, "caf\\303");
	check_csv("a\xe2\x80\xae" "b", 5, "a\\342\\200\\256b");	/* RLO */
	check_csv("a\xc2\x85" "b", 4, "a\\302\\205b");		/* C1 NEL */
	/* Formula guard. */
	check_csv("=1+1", 4, "'=1+1");
	check_csv("+1", 2, "'+1");
	check_csv("-2", 2, "'-2");
	check_csv("@SUM(A1)", 8, "'@SUM(A1)");
	check_csv("\tx", 2, "'\\tx");
	check_csv("\rx", 2, "'\\rx");
	check_csv("=HYPERLINK(\"http://x\",\"y\")", 26,
	    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
	check_csv("a=1", 3, "a=1");
	check_csv("\0" "1\"", 3, "\"\\0001\"\"\"");
	{
		struct wstr w = { .p = NULL, .len = 3 };
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);

		assert_int_equal(esc_csv_fput_wstr(f, &w), 0);
		assert_int_equal(esc_csv_fput_str(f, NULL), 0);
		assert_int_equal(esc_csv_fput_str(f, "-x"), 0);
		fclose(f);
		assert_string_equal(buf, "'-x");
		free(buf);
	}
}

static void
test_csv_every_byte(void **state)
{
	unsigned b;

	(void)state;
	for (b = 0; b < 256; b++) {
		unsigned char in = (unsigned char)b;
		char want[32], t[16];
		char *got;
		size_t n;

		text_expect(b, t, sizeof(t));
		if (b == '"')
			snprintf(want, sizeof(want), "\"\"\"\"");
		else if (b == ',' || b == ' ')
			snprintf(want, sizeof(want), "\"%s\"", t);
		else if (b == '=' || b == '+' || b == '-' || b == '@' ||
		    b == '\t' || b == '\r')
			snprintf(want, sizeof(want), "'%s", t);
		else
			snprintf(want, sizeof(want), "%s", t);
		got = capture(esc_csv_fput, &in, 1, &n);
		if (strcmp(got, want) != 0)
			fail_msg("byte 0x%02x: got [%s] want [%s]", b, got, want);
		assert_printable(got, n);
		free(got);
	}
}

/* Python reads the CSV and compares each field with the expected value
 * (the text escape plus the guard), given in hex so no other escaping
 * stands between the two. */
static const char csv_check_py[] =
    "import csv, json, sys\n"
    "rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))\n"
    "want = [[bytes.fromhex(x).decode('utf-8') for x in r] for r in json.load(open(sys.argv[2]))]\n"
    "bad = [i for i, (r, w) in enumerate(zip(rows, want)) if r != w]\n"
    "print(len(rows), 'rows', len(bad), 'bad', [(rows[i], want[i]) for i in bad[:1]])\n"
    "sys.exit(1 if bad or len(rows) != len(want) or len(rows) < 100 else 0)\n";

static void
test_csv_parsed_by_python(void **state)
{
	unsigned char in[3][200];
	char *csv = NULL, *js = NULL, *p1, *p2, *p3, cmd[600];
	char esc[ESC_TEXT_SIZE(200)];
	size_t ncsv = 0, njs = 0;
	FILE *fc = open_memstream(&csv, &ncsv), *fj = open_memstream(&js, &njs);
	uint32_t st = 777;
	size_t i;
	int row, k, rc;

	(void)state;
	fputc('[', fj);
	for (row = 0; row < 300; row++) {
		fprintf(fj, "%s[", row > 0 ? "," : "");
		for (k = 0; k < 3; k++) {
			size_t len = (size_t)((row * 7 + k * 13) % 200);
			bool guard;

			fill_random(&st, in[k], len);
			if (row % 3 == 0 && len >= 4)	/* some valid UTF-8 too */
				memcpy(in[k] + 1, "\xc3\xa7\xe2\x82\xac", len >= 6 ? 5 : 2);
			esc_text(esc, sizeof(esc), in[k], len, ESC_UTF8);
			guard = len > 0 && strchr("=+-@\t\r", in[k][0]) != NULL &&
			    in[k][0] != '\0';
			fprintf(fj, "%s\"%s", k > 0 ? "," : "", guard ? "27" : "");
			for (i = 0; esc[i] != '\0'; i++)
				fprintf(fj, "%02x", (unsigned char)esc[i]);
			fputc('"', fj);
			if (k > 0)
				fputc(',', fc);
			assert_int_equal(esc_csv_fput(fc, in[k], len), 0);
		}
		fputc(']', fj);
		fputs("\r\n", fc);
	}
	fputc(']', fj);
	fclose(fc);
	fclose(fj);
	p1 = write_tmp("csv", csv, ncsv);
	p2 = write_tmp("json", js, njs);
	p3 = write_tmp("py", csv_check_py, strlen(csv_check_py));
	snprintf(cmd, sizeof(cmd), PY " %s %s %s", p3, p1, p2);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	unlink(p1);
	unlink(p2);
	unlink(p3);
	free(p1);
	free(p2);
	free(p3);
	free(csv);
	free(js);
}

static void
test_stream_error(void **state)
{
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (f == NULL)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(esc_text_fput(f, "hello", 5, 0), -1);
	assert_int_equal(esc_json_fput(f, "hello", 5), -1);
	assert_int_equal(esc_csv_fput(f, "hello", 5), -1);
	fclose(f);
}

/* ESC_UTF8: valid UTF-8 a terminal shows as text passes; what could move,
 * reorder or hide text is escaped as without the flag. */
static void
test_text_utf8_terminal(void **state)
{
	char got[128];

	(void)state;
	esc_text(got, sizeof(got), "fran\xc3\xa7ois \xe2\x82\xac", 13, ESC_UTF8);
	assert_string_equal(got, "fran\xc3\xa7ois \xe2\x82\xac");
	esc_text(got, sizeof(got), "fran\xc3\xa7ois", 9, 0);
	assert_string_equal(got, "fran\\303\\247ois");
	esc_text(got, sizeof(got), "a\xc2\x85\xe2\x80\xae\xe2\x80\xa8\xef\xbb\xbf\x1b[2J", 16,
	    ESC_UTF8);
	assert_string_equal(got, "a\\302\\205\\342\\200\\256\\342\\200\\250"
	    "\\357\\273\\277\\033[2J");
	esc_text(got, sizeof(got), "\xc3(\xed\xa0\x80", 5, ESC_UTF8);	/* invalid, surrogate */
	assert_string_equal(got, "\\303(\\355\\240\\200");
	esc_text(got, sizeof(got), "a \xc3\xa9", 4, ESC_UTF8 | ESC_SP);
	assert_string_equal(got, "a\\s\xc3\xa9");
	/* Cut at a whole sequence, marked. */
	esc_text(got, 8, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, ESC_UTF8);
	assert_string_equal(got, "\xc3\xa9\xc3\xa9...");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_every_byte),
		cmocka_unit_test(test_text_nul_before_digit),
		cmocka_unit_test(test_text_truncation),
		cmocka_unit_test(test_text_roundtrip_random),
		cmocka_unit_test(test_text_locale_independent),
		cmocka_unit_test(test_utf8_exhaustive),
		cmocka_unit_test(test_text_utf8_terminal),
		cmocka_unit_test(test_json_every_byte),
		cmocka_unit_test(test_json_representative),
		cmocka_unit_test(test_json_null_forms),
		cmocka_unit_test(test_json_valid_and_reversible),
		cmocka_unit_test(test_csv_quoting_and_guard),
		cmocka_unit_test(test_csv_every_byte),
		cmocka_unit_test(test_csv_parsed_by_python),
		cmocka_unit_test(test_stream_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
