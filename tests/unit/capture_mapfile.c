/*
 * capture_mapfile.c - the classic pcap reader from memory (mapfile.c),
 * on files built here for each case of the format and on every pcap in
 * pcaps/: what it reads, and that it reads what libpcap reads
 * (tests/fuzz/mapdiff.h), packet by packet, to the same end.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/fuzz/mapdiff.h"

struct fb {
	uint8_t b[4096];
	size_t n;
	bool be;
};

static void
put32(struct fb *f, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		f->b[f->n++] = (uint8_t)(f->be ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void
put16(struct fb *f, uint16_t v)
{
	f->b[f->n++] = (uint8_t)(f->be ? v >> 8 : v);
	f->b[f->n++] = (uint8_t)(f->be ? v : v >> 8);
}

/* A file header: magic (microseconds or nanoseconds), version, snaplen, DLT. */
static void
header(struct fb *f, bool be, bool nsec, uint16_t minor, uint32_t snap, uint32_t dlt)
{
	f->n = 0;
	f->be = be;
	put32(f, nsec ? 0xa1b23c4dU : 0xa1b2c3d4U);
	put16(f, 2);
	put16(f, minor);
	put32(f, 0);
	put32(f, 0);
	put32(f, snap);
	put32(f, dlt);
}

/* A record of caplen octets (a counting pattern), of which have are written. */
static void
record(struct fb *f, uint32_t sec, uint32_t sub, uint32_t caplen, uint32_t len, uint32_t have)
{
	put32(f, sec);
	put32(f, sub);
	put32(f, caplen);
	put32(f, len);
	for (uint32_t i = 0; i < have && f->n < sizeof(f->b); i++)
		f->b[f->n++] = (uint8_t)(i * 7);
}

static int
diff(struct fb *f, long *n)
{
	char why[512] = "";
	int rc = mapdiff(f->b, f->n, why, sizeof(why), n);

	if (rc == -1)
		print_error("%s\n", why);
	return rc;
}

static void
t_byte_orders_and_precisions(void **state)
{
	struct fb f;
	long n;

	(void)state;
	for (int be = 0; be < 2; be++)
		for (int ns = 0; ns < 2; ns++) {
			header(&f, be, ns, 4, 65535, 1);
			record(&f, 1767225600, ns ? 123456789 : 123456, 60, 60, 60);
			record(&f, 1767225601, ns ? 999999999 : 999999, 54, 1514, 54);
			assert_int_equal(diff(&f, &n), 1);
			assert_int_equal(n, 2);
		}
}

/* Read without libpcap: the values themselves. */
static void
t_values(void **state)
{
	struct mapfile m;
	struct fb f;
	const u_char *d;
	char err[256];

	(void)state;
	header(&f, true, true, 4, 65535, 1);
	record(&f, 1767225600, 123456789, 60, 1514, 60);
	assert_int_equal(mapfile_init(&m, f.b, f.n, 1), 0);
	assert_int_equal(mapfile_next(&m, &d, err, sizeof(err)), 1);
	assert_int_equal(m.hdr.ts.tv_sec, 1767225600);
	assert_int_equal(m.hdr.ts.tv_usec, 123456);	/* nanoseconds cut */
	assert_int_equal(m.hdr.caplen, 60);
	assert_int_equal(m.hdr.len, 1514);
	assert_ptr_equal(d, f.b + 24 + 16);
	assert_int_equal(d[59], (uint8_t)(59 * 7));
	assert_int_equal(mapfile_next(&m, &d, err, sizeof(err)), 0);

	/* Seconds are unsigned: 2046 is not 1910. */
	header(&f, false, false, 4, 65535, 1);
	record(&f, 0x90000000U, 0, 60, 60, 60);
	assert_int_equal(mapfile_init(&m, f.b, f.n, 1), 0);
	assert_int_equal(mapfile_next(&m, &d, err, sizeof(err)), 1);
	if (sizeof(time_t) > 4)
		assert_true(m.hdr.ts.tv_sec == (time_t)0x90000000U);
}

/* A record longer than the file's snapshot length is cut to it, and the
 * next record is found after the whole record. */
static void
t_over_snaplen(void **state)
{
	struct fb f;
	long n;

	(void)state;
	header(&f, false, false, 4, 64, 1);
	record(&f, 1, 0, 100, 100, 100);
	record(&f, 2, 0, 60, 60, 60);
	assert_int_equal(diff(&f, &n), 1);
	assert_int_equal(n, 2);
	header(&f, false, false, 4, 0, 1);	/* 0: the largest */
	record(&f, 1, 0, 3000, 3000, 3000);
	assert_int_equal(diff(&f, &n), 1);
	assert_int_equal(n, 1);
}

static void
t_errors(void **state)
{
	struct mapfile m;
	struct fb f;
	const u_char *d;
	char err[256];
	long n;

	(void)state;
	header(&f, false, false, 4, 65535, 1);
	record(&f, 1, 0, 60, 60, 60);
	record(&f, 1, 0, 300000, 300000, 0);	/* above libpcap's maximum */
	assert_int_equal(diff(&f, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(mapfile_init(&m, f.b, f.n, 1), 0);
	assert_int_equal(mapfile_next(&m, &d, err, sizeof(err)), 1);
	assert_int_equal(mapfile_next(&m, &d, err, sizeof(err)), -1);
	assert_null(strstr(err, "truncated"));

	header(&f, false, false, 4, 65535, 1);
	record(&f, 1, 0, 60, 60, 60);
	record(&f, 1, 0, 60, 60, 59);		/* data cut short */
	assert_int_equal(diff(&f, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(mapfile_init(&m, f.b, f.n, 1), 0);
	assert_int_equal(mapfile_next(&m, &d, err, sizeof(err)), 1);
	assert_int_equal(mapfile_next(&m, &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated"));

	header(&f, false, false, 4, 65535, 1);
	record(&f, 1, 0, 60, 60, 60);
	f.n += 10;				/* a record header cut short */
	memset(f.b + f.n - 10, 0, 10);
	assert_int_equal(diff(&f, &n), 1);
	assert_int_equal(n, 1);
}

/* What stays with libpcap. */
static void
t_not_taken(void **state)
{
	struct fb f;
	long n;

	(void)state;
	header(&f, false, false, 3, 65535, 1);	/* version 2.3 */
	record(&f, 1, 0, 60, 60, 60);
	assert_int_equal(diff(&f, &n), 0);
	/* Linux cooked, in the byte order that is not this machine's. */
	header(&f, *(const uint8_t *)&(uint16_t){ 1 } == 1, false, 4, 65535, 113);
	record(&f, 1, 0, 60, 60, 60);
	assert_int_equal(diff(&f, &n), 0);
	header(&f, false, false, 4, 65535, 189);	/* USB, a pseudo-header */
	record(&f, 1, 0, 60, 60, 60);
	assert_int_equal(diff(&f, &n), 0);
	memcpy(f.b, "\x0a\x0d\x0d\x0a", 4);	/* pcapng */
	assert_int_equal(diff(&f, &n), 0);
}

static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (b = malloc((size_t)len)) != NULL && fread(b, 1, (size_t)len, f) != (size_t)len) {
		free(b);
		b = NULL;
	}
	*n = b != NULL ? (size_t)len : 0;
	fclose(f);
	return b;
}

/* Every classic capture of ours reads alike, every packet. */
static void
t_pcaps(void **state)
{
	char path[512], why[512];
	struct dirent *e;
	DIR *dir;
	int files = 0;

	(void)state;
	assert_non_null(dir = opendir("pcaps"));
	while ((e = readdir(dir)) != NULL) {
		size_t n = 0, len = strlen(e->d_name);
		uint8_t *b;
		long pk;
		int rc;

		if (len < 6 || strcmp(e->d_name + len - 5, ".pcap") != 0)
			continue;
		snprintf(path, sizeof(path), "pcaps/%s", e->d_name);
		assert_non_null(b = slurp(path, &n));
		if (n < 24 || (memcmp(b, "\xd4\xc3\xb2\xa1", 4) != 0 &&
		    memcmp(b, "\xa1\xb2\xc3\xd4", 4) != 0 &&
		    memcmp(b, "\x4d\x3c\xb2\xa1", 4) != 0 &&
		    memcmp(b, "\xa1\xb2\x3c\x4d", 4) != 0)) {
			free(b);		/* not a classic pcap: a test of errors */
			continue;
		}
		rc = mapdiff(b, n, why, sizeof(why), &pk);
		if (rc == -1)
			print_error("%s: %s\n", path, why);
		assert_int_not_equal(rc, -1);
		/* Not taken: only a link type with a pseudo-header (ours has
		 * one capture of an unsupported link type). */
		if (rc == 1) {
			assert_true(pk > 0);
			files++;
		}
		free(b);
	}
	closedir(dir);
	assert_true(files >= 50);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_byte_orders_and_precisions),
		cmocka_unit_test(t_values),
		cmocka_unit_test(t_over_snaplen),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_not_taken),
		cmocka_unit_test(t_pcaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
