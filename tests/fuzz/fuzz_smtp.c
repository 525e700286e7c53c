/*
 * fuzz_smtp.c - libFuzzer target for the SMTP decoder and every exporter
 * behind it (make fuzz FUZZ=smtp; make check replays its corpus).
 *
 * The input is one session as chunks: an octet (bits 0-1: 0 client bytes,
 * 1 server bytes, 2 a client gap, 3 a server gap; bit 2: the session was
 * joined mid-stream, read from the first chunk only; bit 3: UTF-8 text
 * output), u16 length, then the bytes (a gap has none: the length is the
 * gap's).  The finished record goes through the JSON Lines writer, the
 * CSV writer, the batch text (one line, verbose transcript, incidents,
 * causes) and the text report.  Asserted: the JSON line is strict JSON
 * (json_ok() below: objects, arrays, strings with valid escapes and valid
 * UTF-8, numbers, literals, nothing after), and no text output holds a
 * raw control octet other than newline (no ESC, no C1, no DEL): what an
 * operator's terminal would interpret.  Seeds (mkseeds.py): the
 * TCP payloads of every one-session capture in pcaps/, in capture order.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode/cause.h"
#include "decode/escape.h"
#include "decode/export.h"
#include "decode/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a strict JSON checker (RFC 8259), recursive with a depth bound ---- */
struct js { const unsigned char *p, *e; int depth; };

static void ws(struct js *j) { while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++; }
static bool value(struct js *);

static bool
utf8(struct js *j)
{
	unsigned c = *j->p, n, cp, min;

	if (c < 0x80) { j->p++; return true; }
	if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; min = 0x80; }
	else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; min = 0x800; }
	else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; min = 0x10000; }
	else return false;
	if (j->e - j->p <= (long)n) return false;
	for (unsigned i = 1; i <= n; i++) {
		if ((j->p[i] & 0xc0) != 0x80) return false;
		cp = cp << 6 | (j->p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
	j->p += n + 1;
	return true;
}

static bool
string(struct js *j)
{
	if (j->p >= j->e || *j->p != '"') return false;
	j->p++;
	while (j->p < j->e && *j->p != '"') {
		if (*j->p < 0x20) return false;
		if (*j->p == '\\') {
			j->p++;
			if (j->p >= j->e) return false;
			if (*j->p == 'u') {
				if (j->e - j->p < 5) return false;
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", j->p[i]) || j->p[i] == 0) return false;
				j->p += 5;
			} else if (strchr("\"\\/bfnrt", *j->p) && *j->p != 0) j->p++;
			else return false;
		} else if (!utf8(j)) return false;
	}
	if (j->p >= j->e) return false;
	j->p++;
	return true;
}

static bool
number(struct js *j)
{
	const unsigned char *s = j->p;

	if (j->p < j->e && *j->p == '-') j->p++;
	if (j->p >= j->e) return false;
	if (*j->p == '0') j->p++;
	else if (*j->p >= '1' && *j->p <= '9') while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
	else return false;
	if (j->p < j->e && *j->p == '.') {
		j->p++;
		if (j->p >= j->e || *j->p < '0' || *j->p > '9') return false;
		while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
	}
	if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->e && (*j->p == '+' || *j->p == '-')) j->p++;
		if (j->p >= j->e || *j->p < '0' || *j->p > '9') return false;
		while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
	}
	return j->p > s;
}

static bool
lit(struct js *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->e - j->p) < n || memcmp(j->p, w, n) != 0) return false;
	j->p += n;
	return true;
}

static bool
container(struct js *j, char open, char close, bool obj)
{
	bool ok = true;

	if (++j->depth > 64) return false;
	j->p++;
	ws(j);
	if (j->p < j->e && *j->p == close) { j->p++; j->depth--; return true; }
	for (;;) {
		ws(j);
		if (obj) {
			if (!string(j)) return false;
			ws(j);
			if (j->p >= j->e || *j->p != ':') return false;
			j->p++;
		}
		if (!value(j)) return false;
		ws(j);
		if (j->p < j->e && *j->p == ',') { j->p++; continue; }
		if (j->p < j->e && *j->p == close) { j->p++; break; }
		return false;
	}
	(void)open;
	j->depth--;
	return ok;
}

static bool
value(struct js *j)
{
	ws(j);
	if (j->p >= j->e) return false;
	switch (*j->p) {
	case '{': return container(j, '{', '}', true);
	case '[': return container(j, '[', ']', false);
	case '"': return string(j);
	case 't': return lit(j, "true");
	case 'f': return lit(j, "false");
	case 'n': return lit(j, "null");
	default: return number(j);
	}
}

static bool
json_ok(const char *s, size_t n)
{
	struct js j = { (const unsigned char *)s, (const unsigned char *)s + n, 0 };

	if (!value(&j)) return false;
	ws(&j);
	return j.p == j.e;
}

/* No octet a terminal would act on: C0 but newline and tab, DEL, and no
 * C1 or malformed UTF-8 (an escape sequence to a terminal that reads
 * 8-bit controls).  Text is printed as valid UTF-8 or escaped. */
static bool
text_ok(const char *s, size_t n)
{
	struct js j = { (const unsigned char *)s, (const unsigned char *)s + n, 0 };

	while (j.p < j.e) {
		const unsigned char *c = j.p;

		if (*c < 0x80) {
			if ((*c < 0x20 && *c != '\n' && *c != '\t') || *c == 0x7f)
				return false;
			j.p++;
			continue;
		}
		if (!utf8(&j))
			return false;
		if (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f)
			return false;		/* U+0080 to U+009F: C1 */
	}
	return true;
}

static int esc_mode;

static void
on_end(void *arg, const struct sess_record *r)
{
	struct report *rep = arg;
	struct batch_opts bo = { .ts = BATCH_TS_NONE, .verbose = 2, .esc = esc_mode };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	/* JSON Lines: one object and a newline. */
	if ((f = open_memstream(&buf, &len)) == NULL)
		abort();
	(void)export_json_session(f, r);
	fclose(f);
	if (len == 0 || buf[len - 1] != '\n' || !json_ok(buf, len - 1))
		abort();
	free(buf);
	/* CSV and batch text. */
	if ((f = open_memstream(&buf, &len)) == NULL)
		abort();
	(void)export_csv_incidents(f, r);
	fclose(f);
	free(buf);
	bo.causes = cause_set_new();
	if ((f = open_memstream(&buf, &len)) == NULL)
		abort();
	(void)export_batch_session(f, r, &bo);
	(void)export_batch_causes(f, &bo);
	fclose(f);
	if (!text_ok(buf, len))
		abort();
	free(buf);
	cause_set_free(bo.causes);
	report_add(rep, r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_peers peers = { .family = 2, .client_port = 49000, .server_port = 25,
	    .client_ip = { 192, 0, 2, 1 }, .server_ip = { 192, 0, 2, 2 }, .ts_us = 1000000 };
	struct smtp_sink sink = { .session_end = on_end };
	char eb[256], path[] = "/tmp/fuzz-smtp-XXXXXX.txt";
	struct report *rep;
	struct smtp_ctx *ctx;
	struct smtp_session *s;
	size_t off = 0, k = 0;
	int fd;

	if (size < 1)
		return 0;
	peers.mid_stream = (data[0] & 4) != 0;
	esc_mode = (data[0] & 8) ? ESC_UTF8 : 0;
	if ((fd = mkstemps(path, 4)) < 0)
		return 0;
	close(fd);
	if ((rep = report_new(path, eb, sizeof(eb))) == NULL) {
		unlink(path);
		return 0;
	}
	sink.arg = rep;
	ctx = smtp_ctx_new(NULL, &sink);
	s = smtp_session_new(ctx, &peers);
	while (off + 3 <= size) {
		unsigned kind = data[off] & 3;
		size_t n = (size_t)data[off + 1] << 8 | data[off + 2];
		struct smtp_pos pos = { .ts_us = 1000000 + 1000 * k, .pkt = k + 1 };

		off += 3;
		k++;
		if (kind >= 2) {
			smtp_gap(s, kind == 2 ? XDIR_CLIENT : XDIR_SERVER, n, &pos);
			continue;
		}
		if (n > size - off)
			n = size - off;
		smtp_feed(s, kind == 0 ? XDIR_CLIENT : XDIR_SERVER, data + off, n, &pos);
		off += n;
	}
	smtp_end(s, NULL, NULL);
	(void)report_write(rep, NULL, eb, sizeof(eb));
	report_free(rep);
	{
		/* The text report: no control octet either. */
		FILE *f = fopen(path, "rb");
		static char rb[1 << 20];
		size_t n;

		if (f != NULL) {
			n = fread(rb, 1, sizeof(rb), f);
			fclose(f);
			if (!text_ok(rb, n))
				abort();
		}
	}
	unlink(path);
	smtp_ctx_free(ctx);
	return 0;
}
