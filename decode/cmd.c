/*
 * cmd.c - client command lines: the verb and its arguments.
 *
 * The verb is looked up (case-insensitively, RFC 5321 section 2.4) in
 * verbs.c's verb_table[], whose row names the argument parser below and
 * how strict a line must be to count as a command when resynchronising
 * (cmd_strict()).  Parsers return spans into the caller's line and never allocate.  ESMTP
 * parameters of MAIL and RCPT (RFC 6152 BODY, RFC 1870 SIZE, RFC 6531
 * SMTPUTF8, RFC 3461 RET/ENVID/NOTIFY/ORCPT) are picked out; numbers go
 * through strtonum.  AUTH yields its mechanism and whether an initial
 * response followed: the response itself is never looked at again (the
 * session masks it in the transcript).
 *
 * What a command means for the session (transactions, pairing) is the
 * business of the handlers in the same row (verbs.c), not this file's.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dec_int.h"

/* ---------------------------------------------------------------------
 * Argument parsers
 * ------------------------------------------------------------------ */
void
cmd_args_none(struct cmd *c)
{
	c->syntax_ok = c->arg.len == 0;
}

void
cmd_args_any(struct cmd *c)
{
	c->syntax_ok = true;
}

void
cmd_args_word(struct cmd *c)
{
	c->syntax_ok = c->arg.len > 0;
}

/* A decimal number of at most 19 digits, through strtonum. */
static bool
span_num(const char *p, size_t len, uint64_t *out)
{
	char buf[24];
	const char *err = NULL;
	long long v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!a_digit((uint8_t)p[i]))
			return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	v = strtonum(buf, 0, LLONG_MAX, &err);
	if (err != NULL)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* "<addr> params" or "addr params" after FROM:/TO:.  The address may hold
 * a quoted local part with '>' inside. */
static void
parse_path(struct cmd *c, const char *p, size_t len)
{
	size_t i = 0, start, end;
	bool quoted = false;

	while (i < len && a_wsp((uint8_t)p[i]))
		i++;
	if (i < len && p[i] == '<') {
		start = ++i;
		while (i < len && (quoted || p[i] != '>')) {
			if (p[i] == '"')
				quoted = !quoted;
			else if (p[i] == '\\' && quoted && i + 1 < len)
				i++;
			i++;
		}
		end = i;
		if (i < len) {
			i++;		/* '>' */
			c->syntax_ok = true;
		}
	} else {
		start = i;
		while (i < len && !a_wsp((uint8_t)p[i]))
			i++;
		end = i;
		c->syntax_ok = end > start;
	}
	c->addr.p = p + start;
	c->addr.len = end - start;
	for (size_t k = start; k < end; k++)
		if ((uint8_t)p[k] >= 0x80)
			c->addr_8bit = true;
	while (i < len && a_wsp((uint8_t)p[i]))
		i++;
	c->params.p = p + i;
	c->params.len = len - i;
}

/* Walk "KEY[=VALUE] KEY[=VALUE] ..." of MAIL and RCPT. */
static void
parse_params(struct cmd *c)
{
	const char *p = c->params.p;
	size_t len = c->params.len, i = 0;

	while (i < len) {
		size_t ks, kl, vs = 0, vl = 0;
		bool hasv = false;

		while (i < len && a_wsp((uint8_t)p[i]))
			i++;
		ks = i;
		while (i < len && p[i] != '=' && !a_wsp((uint8_t)p[i]))
			i++;
		kl = i - ks;
		if (i < len && p[i] == '=') {
			hasv = true;
			vs = ++i;
			while (i < len && !a_wsp((uint8_t)p[i]))
				i++;
			vl = i - vs;
		}
		if (kl == 0)
			continue;
		if (a_eq(p + ks, kl, "BODY") && hasv) {
			if (a_eq(p + vs, vl, "7BIT"))
				c->body = BODY_7BIT;
			else if (a_eq(p + vs, vl, "8BITMIME"))
				c->body = BODY_8BITMIME;
			else if (a_eq(p + vs, vl, "BINARYMIME"))
				c->body = BODY_BINARYMIME;
			else
				c->body = BODY_OTHER;
		} else if (a_eq(p + ks, kl, "SIZE") && hasv) {
			(void)span_num(p + vs, vl, &c->size);
		} else if (a_eq(p + ks, kl, "SMTPUTF8")) {
			c->smtputf8 = true;
		} else if (a_eq(p + ks, kl, "RET")) {
			c->ret = true;
		} else if (a_eq(p + ks, kl, "ENVID")) {
			c->envid = true;
		} else if (a_eq(p + ks, kl, "NOTIFY")) {
			c->notify = true;
		} else if (a_eq(p + ks, kl, "ORCPT")) {
			c->orcpt = true;
		}
	}
}

/* "FROM:" or "TO:" with optional spaces around the colon (tolerated, as
 * most servers do, though RFC 5321 allows none). */
static bool
skip_keyword(struct cmd *c, const char *kw, const char **rest, size_t *rlen)
{
	const char *p = c->arg.p;
	size_t len = c->arg.len, n = strlen(kw), i;

	if (!a_prefix(p, len, kw))
		return false;
	i = n;
	while (i < len && a_wsp((uint8_t)p[i]))
		i++;
	if (i >= len || p[i] != ':')
		return false;
	i++;
	*rest = p + i;
	*rlen = len - i;
	return true;
}

void
cmd_args_mail(struct cmd *c)
{
	const char *rest;
	size_t rlen;

	if (!skip_keyword(c, "FROM", &rest, &rlen))
		return;
	parse_path(c, rest, rlen);
	parse_params(c);
}

void
cmd_args_rcpt(struct cmd *c)
{
	const char *rest;
	size_t rlen;

	if (!skip_keyword(c, "TO", &rest, &rlen))
		return;
	parse_path(c, rest, rlen);
	parse_params(c);
}

/* RFC 3030: "BDAT" SP chunk-size [ SP "LAST" ] */
void
cmd_args_bdat(struct cmd *c)
{
	const char *p = c->arg.p;
	size_t len = c->arg.len, i = 0, j;

	while (i < len && a_digit((uint8_t)p[i]))
		i++;
	if (!span_num(p, i, &c->bdat_size))
		return;
	j = i;
	while (j < len && a_wsp((uint8_t)p[j]))
		j++;
	if (j == len) {
		c->syntax_ok = j == i;
		return;
	}
	if (j > i && a_eq(p + j, len - j, "LAST")) {
		c->bdat_last = true;
		c->syntax_ok = true;
	}
}

/* RFC 4954: "AUTH" SP mechanism [ SP initial-response ] */
void
cmd_args_auth(struct cmd *c)
{
	const char *p = c->arg.p;
	size_t len = c->arg.len, i = 0;

	while (i < len && !a_wsp((uint8_t)p[i]))
		i++;
	c->mech.p = p;
	c->mech.len = i;
	while (i < len && a_wsp((uint8_t)p[i]))
		i++;
	c->auth_initial = i < len;
	c->syntax_ok = c->mech.len > 0;
}

/* ---------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------ */
void
cmd_parse(const char *line, size_t len, struct cmd *c)
{
	size_t i = 0, vl;

	memset(c, 0, sizeof(*c));
	c->id = CMD_UNKNOWN;
	while (i < len && !a_wsp((uint8_t)line[i]))
		i++;
	vl = i;
	c->verb.p = line;
	c->verb.len = vl;
	while (i < len && a_wsp((uint8_t)line[i]))
		i++;
	c->arg.p = line + i;
	c->arg.len = len - i;
	/* Trailing spaces are common and harmless. */
	while (c->arg.len > 0 && a_wsp((uint8_t)c->arg.p[c->arg.len - 1]))
		c->arg.len--;
	for (unsigned id = 0; id < CMD_MAX; id++) {
		const struct verb *v = &verb_table[id];

		/* The names are upper case: the first octet sorts out most. */
		if ((v->flags & VF_WIRE) && vl > 0 &&
		    a_upper((uint8_t)line[0]) == (uint8_t)v->name[0] &&
		    a_eq(line, vl, v->name)) {
			c->id = (enum cmd_id)id;
			v->parse(c);
			return;
		}
	}
}

bool
cmd_strict(const char *line, size_t len)
{
	struct cmd c;

	cmd_parse(line, len, &c);
	if (c.id == CMD_UNKNOWN || !c.syntax_ok)
		return false;
	/* A verb alone, or a well-formed path: a mail body line like
	 * "Data follows" or "help me" is not a command. */
	if (verb_table[c.id].flags & VF_STRICT_PATH)
		return c.addr.p != NULL && c.addr.p > line && c.addr.p[-1] == '<';
	if (verb_table[c.id].flags & VF_STRICT_BARE)
		return c.arg.len == 0;
	return true;
}
