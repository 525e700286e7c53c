/*
 * reply.c - server reply lines, RFC 3463 enhanced status codes and EHLO
 * capability lines.
 *
 * A reply line is three digits then SP, '-' (more lines follow) or the end
 * of the line (RFC 5321 section 4.2).  "Shaped" lines with a first digit
 * outside 2-5 are told apart from lines that are not replies at all, since
 * the rules treat them differently.  Capability keywords are matched
 * case-insensitively (unlike OpenSMTPD's client, which uses strcmp), and
 * the old "AUTH=" spelling counts as AUTH.  A keyword made of X's (a PIX or
 * ASA "fixup" blanking STARTTLS as XXXXXXXA) is flagged as masked.
 *
 * Multi-line assembly and pairing with commands is session.c's work; this
 * file only looks at one line at a time and never allocates.
 */
#include <string.h>

#include "dec_int.h"

size_t
enh_parse(const char *p, size_t len, struct enh_code *e)
{
	size_t i = 0, n;
	unsigned v[3] = { 0, 0, 0 };

	memset(e, 0, sizeof(*e));
	if (len < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return 0;
	v[0] = (unsigned)(p[0] - '0');
	i = 2;
	for (int part = 1; part < 3; part++) {
		n = 0;
		while (i < len && a_digit((uint8_t)p[i]) && n < 3) {
			v[part] = v[part] * 10 + (unsigned)(p[i] - '0');
			i++;
			n++;
		}
		if (n == 0)
			return 0;
		if (part == 1) {
			if (i >= len || p[i] != '.')
				return 0;
			i++;
		}
	}
	/* The code must end here: a fourth digit or a dot means it is
	 * something else (a version number, an address). */
	if (i < len && !a_wsp((uint8_t)p[i]))
		return 0;
	e->cls = (uint8_t)v[0];
	e->subject = (uint16_t)v[1];
	e->detail = (uint16_t)v[2];
	return i;
}

void
reply_parse(const char *line, size_t len, struct reply_line *r)
{
	memset(r, 0, sizeof(*r));
	if (len < 3 || !a_digit((uint8_t)line[0]) || !a_digit((uint8_t)line[1]) ||
	    !a_digit((uint8_t)line[2]))
		return;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return;
	r->shaped = true;
	r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	r->valid = line[0] >= '2' && line[0] <= '5';
	r->more = len > 3 && line[3] == '-';
	r->text.p = line + (len > 3 ? 4 : 3);
	r->text.len = len > 3 ? len - 4 : 0;
	if (r->text.len > 0)
		(void)enh_parse(r->text.p, r->text.len, &r->enh);
	/* An enhanced code must agree with the reply's class (RFC 3463). */
	if (r->enh.cls != 0 && r->enh.cls != (uint8_t)(r->code / 100))
		memset(&r->enh, 0, sizeof(r->enh));
}

void
cap_parse(const char *text, size_t len, struct cap_line *cl)
{
	static const char *const kws[] = {
#define REC_X_CAP(id, kw) kw,
		SMTP_CAPS(REC_X_CAP)
#undef REC_X_CAP
	};
	size_t i = 0, kl, x = 0;

	memset(cl, 0, sizeof(*cl));
	cl->bit = -1;
	while (i < len && !a_wsp((uint8_t)text[i]) && text[i] != '=')
		i++;
	kl = i;
	cl->kw.p = text;
	cl->kw.len = kl;
	if (i < len && text[i] == '=')	/* "AUTH=LOGIN PLAIN" */
		i++;
	while (i < len && a_wsp((uint8_t)text[i]))
		i++;
	cl->rest.p = text + i;
	cl->rest.len = len - i;
	for (size_t k = 0; k < CAPB_MAX && kl > 0; k++) {
		/* The names are upper case: the first octet sorts out most. */
		if (a_upper((uint8_t)text[0]) == (uint8_t)kws[k][0] &&
		    a_eq(text, kl, kws[k])) {
			cl->bit = (int)k;
			break;
		}
	}
	for (size_t k = 0; k < kl; k++)
		if (text[k] == 'X' || text[k] == 'x')
			x++;
	/* All X's, or X's and one last letter ("XXXXXXXA"). */
	if (cl->bit < 0 && kl >= 4 && (x == kl || (x == kl - 1 &&
	    (text[kl - 1] != 'X' && text[kl - 1] != 'x'))))
		cl->masked = true;
}
