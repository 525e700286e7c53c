/*
 * queueid.c - the queue id an MTA names when it accepts a message.
 *
 * The id is what links a session on the wire to the server's mail log, so
 * an admin can grep for it.  There is no standard: each MTA words its 250
 * reply to end of data its own way.  The forms recognised, first match
 * wins (text is the reply's text after the code):
 *   Postfix     "2.0.0 Ok: queued as 4B3E7A7C1D"            -> 4B3E7A7C1D
 *   Exim        "OK id=1rXyZa-000AbC-2d"                     -> 1rXyZa-000AbC-2d
 *   Exchange    "2.6.0 <id@host> [InternalId=1234, ...] Queued mail for delivery"
 *                                                             -> 1234
 *   qmail       "ok 1700000000 qp 12345"                     -> 12345
 *   Gmail       "2.0.0 OK  1700000000 a1-20020a05gsmtp"      -> a1-20020a05
 *   Sendmail, OpenSMTPD, and most others:
 *               "2.0.0 4AB1CdE2001234 Message accepted for delivery"
 *                                                             -> 4AB1CdE2001234
 * The last form is a guess guarded by shape: one token of 6 to 40 letters,
 * digits, '-', '_' or '.', with at least one digit, right before the word
 * "Message" or "message".  Nothing else in a reply is taken for an id.
 * Returns a span into text; never allocates.
 */
#include <stdbool.h>
#include <string.h>

#include "dec_int.h"

static bool
id_char(uint8_t c)
{
	return a_alpha(c) || a_digit(c) || c == '-' || c == '_' || c == '.';
}

/* The token that starts at p[i]: its length, at most 64 id characters. */
static size_t
token(const char *p, size_t len, size_t i)
{
	size_t e = i;

	while (e < len && e - i < 64 && id_char((uint8_t)p[e]))
		e++;
	return e - i;
}

/* The token right after the case-insensitive keyword kw. */
static bool
after(const char *p, size_t len, const char *kw, struct span *id)
{
	size_t kl = strlen(kw);
	uint8_t k0 = a_upper((uint8_t)kw[0]);

	for (size_t i = 0; i + kl <= len; i++) {
		size_t n;

		/* The first octet first: this runs at every place of every
		 * final reply, for four keywords. */
		if (a_upper((uint8_t)p[i]) != k0 || !a_eq(p + i, kl, kw))
			continue;
		if ((n = token(p, len, i + kl)) == 0)
			continue;
		/* A dot ends a sentence, not an id. */
		while (n > 0 && p[i + kl + n - 1] == '.')
			n--;
		if (n == 0)
			continue;
		id->p = p + i + kl;
		id->len = n;
		return true;
	}
	return false;
}

static bool
has_digit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a_digit((uint8_t)p[i]))
			return true;
	return false;
}

bool
queue_id_parse(const char *text, size_t len, struct span *id)
{
	size_t i = 0, n;

	if (text == NULL)
		return false;
	if (after(text, len, "queued as ", id) || after(text, len, " id=", id) ||
	    after(text, len, "InternalId=", id) || after(text, len, " qp ", id))
		return true;
	/* Gmail: "... <token>gsmtp" or "<token> - gsmtp" at the end. */
	if (len > 5 && a_eq(text + len - 5, 5, "gsmtp")) {
		size_t e = len - 5, s;

		while (e > 0 && (text[e - 1] == ' ' || text[e - 1] == '-'))
			e--;
		s = e;
		while (s > 0 && id_char((uint8_t)text[s - 1]))
			s--;
		if (e - s >= 6 && has_digit(text + s, e - s)) {
			id->p = text + s;
			id->len = e - s;
			return true;
		}
	}
	/* "<id> Message accepted ..." (Sendmail, OpenSMTPD, many others). */
	while (i < len) {
		while (i < len && text[i] == ' ')
			i++;
		n = token(text, len, i);
		if (n == 0) {
			while (i < len && text[i] != ' ')
				i++;
			continue;
		}
		if (n >= 6 && n <= 40 && has_digit(text + i, n) && i + n + 8 <= len &&
		    text[i + n] == ' ' && a_eq(text + i + n + 1, 7, "message") &&
		    /* not the enhanced code itself ("2.0.0") */
		    !(text[i] >= '2' && text[i] <= '5' && n <= 7 && text[i + 1] == '.')) {
			id->p = text + i;
			id->len = n;
			return true;
		}
		i += n;
	}
	return false;
}
