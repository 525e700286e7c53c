/*
 * enhcode.c - RFC 3463 enhanced status codes in words.
 *
 * The incident texts use these to say what a refusal was about: the
 * subject (X.1 addressing, X.2 mailbox, X.3 mail system, X.4 network,
 * X.5 protocol, X.6 content/media, X.7 security/policy) and, for the codes
 * a mail admin meets most, the detail (RFC 3463 section 3, RFC 4954,
 * RFC 5248, RFC 6531, RFC 7504).  Unknown details fall back to the subject.
 * Nothing here parses: reply.c does.
 */
#include <stddef.h>

#include "dec_int.h"

const char *
enh_subject_name(unsigned subject)
{
	switch (subject) {
	case 0:	return "other or undefined status";
	case 1:	return "addressing status (X.1)";
	case 2:	return "mailbox status (X.2)";
	case 3:	return "mail system status (X.3)";
	case 4:	return "network and routing status (X.4)";
	case 5:	return "mail delivery protocol status (X.5)";
	case 6:	return "message content or media status (X.6)";
	case 7:	return "security or policy status (X.7)";
	default: return "unregistered subject";
	}
}

static const struct {
	uint16_t subject, detail;
	const char *text;
} details[] = {
	{ 1, 1, "bad destination mailbox address" },
	{ 1, 2, "bad destination system address" },
	{ 1, 3, "bad destination mailbox address syntax" },
	{ 1, 6, "destination mailbox has moved" },
	{ 1, 7, "bad sender's mailbox address syntax" },
	{ 1, 8, "bad sender's system address" },
	{ 1, 10, "recipient address has null MX" },
	{ 2, 0, "other or undefined mailbox status" },
	{ 2, 1, "mailbox disabled, not accepting messages" },
	{ 2, 2, "mailbox full" },
	{ 2, 3, "message length exceeds administrative limit" },
	{ 2, 4, "mailing list expansion problem" },
	{ 3, 0, "other or undefined mail system status" },
	{ 3, 1, "mail system full" },
	{ 3, 2, "system not accepting network messages" },
	{ 3, 3, "system not capable of selected features" },
	{ 3, 4, "message too big for system" },
	{ 3, 5, "system incorrectly configured" },
	{ 4, 1, "no answer from host" },
	{ 4, 3, "directory server failure" },
	{ 4, 4, "unable to route" },
	{ 4, 7, "delivery time expired" },
	{ 5, 0, "other or undefined protocol status" },
	{ 5, 1, "invalid command" },
	{ 5, 2, "syntax error" },
	{ 5, 3, "too many recipients" },
	{ 5, 4, "invalid command arguments" },
	{ 5, 6, "authentication exchange line is too long" },
	{ 6, 0, "other or undefined media error" },
	{ 6, 1, "media not supported" },
	{ 6, 2, "conversion required and prohibited" },
	{ 6, 3, "conversion required but not supported" },
	{ 6, 7, "non-ASCII addresses not permitted" },
	{ 6, 8, "UTF-8 string reply required, but not permitted" },
	{ 6, 9, "UTF-8 header message cannot be transferred" },
	{ 6, 11, "bare LF or CR not allowed in the message" },
	{ 7, 0, "other or undefined security status" },
	{ 7, 1, "delivery not authorized, message refused" },
	{ 7, 8, "authentication credentials invalid" },
	{ 7, 9, "authentication mechanism is too weak" },
	{ 7, 10, "encryption needed" },
	{ 7, 11, "encryption required for requested authentication mechanism" },
	{ 7, 23, "SPF validation failed" },
	{ 7, 25, "reverse DNS validation failed" },
	{ 7, 26, "multiple authentication checks failed (DMARC)" },
};

const char *
enh_detail_text(const struct enh_code *e)
{
	if (e->cls == 0)
		return NULL;
	for (size_t i = 0; i < sizeof(details) / sizeof(details[0]); i++)
		if (details[i].subject == e->subject && details[i].detail == e->detail)
			return details[i].text;
	return enh_subject_name(e->subject);
}
