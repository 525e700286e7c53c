/*
 * escape.h - turning wire bytes into text that is safe to show or store.
 *
 * Every string that came off the wire (struct wstr in record.h) passes
 * through one of these before it reaches a terminal, a text report, a JSON
 * document or a CSV file.  Three escapers, one per kind of output:
 *
 *   text  vis(3) from libbsd with VIS_CSTYLE | VIS_OCTAL | VIS_TAB | VIS_NL
 *         | VIS_NOLOCALE: printable ASCII and space pass; backslash becomes
 *         "\\"; NUL, TAB, LF, CR, BEL, BS, VT, FF become "\0" "\t" "\n" "\r"
 *         "\a" "\b" "\v" "\f" (NUL is "\000" before a digit); every other
 *         control byte, DEL and every byte >= 0x80 becomes "\ooo" octal.  The
 *         result is pure printable ASCII and strunvis(3) gives the bytes
 *         back.  UTF-8 is deliberately not passed through: a terminal would
 *         interpret it, and the 8-bit octets are often what the user is
 *         hunting for.  ESC_SP additionally turns space into "\s", for
 *         key=value tokens that must stay one word.
 *
 *   json  a JSON string body (RFC 8259) for any bytes.  Strictly valid UTF-8
 *         (no overlong forms, no surrogates, nothing above U+10FFFF) passes
 *         as UTF-8, except U+0080..U+009F (C1 controls), U+2028 and U+2029,
 *         which become \uXXXX so the output is safe for terminals and for
 *         JavaScript.  '"' and '\' are escaped, C0 controls and DEL become
 *         \u00XX.  A byte that is not part of valid UTF-8 becomes the four
 *         characters \xHH (written in JSON as "\\xHH"), as Zeek writes it:
 *         the byte value survives, which a U+FFFD replacement would lose.  So
 *         that this stays unambiguous, a literal backslash followed by 'x' is
 *         written as \x5c: in the decoded string, "\x" followed by two hex
 *         digits always means one raw byte, and any other backslash is
 *         itself.  The output is valid JSON whatever the input.
 *
 *   csv   one RFC 4180 field: the text escaping above, except that valid
 *         UTF-8 of shown code points passes as UTF-8 (a CSV file is data:
 *         an address is written once, as UTF-8, as in JSON; no raw control
 *         byte and no invalid byte ever reaches the file), then enclosed in
 *         double quotes when it contains a comma, a double quote or a space
 *         at either end, with quotes doubled.  Spreadsheet formula guard: a
 *         field whose first byte is '=', '+', '-', '@', TAB or CR gets a
 *         leading single quote ("'=cmd|..."), the OWASP rule, so opening
 *         the CSV in a spreadsheet never evaluates wire text.  Numbers the
 *         exporters write themselves do not go through this guard.
 *
 * Buffer forms follow strlcpy(3): they always NUL-terminate (when size > 0),
 * never split an escape sequence, and return the length the whole result
 * would have had; a return >= size means the output was cut.  The text form
 * marks a cut with "..." at the end (the three dots are inside size).
 * Stream forms write to a FILE * and return 0, or -1 when the stream is in
 * error.  Nothing here allocates, prints on its own or depends on the locale.
 */
#ifndef SMTPSCOPE_ESCAPE_H
#define SMTPSCOPE_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

#include "record.h"

/* Flags for esc_text*(). */
#define ESC_SP		0x01	/* also escape space as "\s" */
/* Pass valid UTF-8 whose code points a terminal shows as text: for a
 * UTF-8 terminal.  C1 controls, U+2028/U+2029, the bidirectional controls
 * (U+200E/F, U+202A-E, U+2066-9), U+FEFF and invalid sequences are still
 * escaped byte by byte, so a name cannot reorder or hide what follows. */
#define ESC_UTF8	0x02
/* Is this code point safe to pass to a terminal or a data file as itself? */
int esc_utf8_shown(unsigned long cp);

/* Longest text escape of one byte ("\ooo"), and a size that always fits. */
#define ESC_TEXT_MAXCHAR 4
#define ESC_TEXT_SIZE(len) ((len) * ESC_TEXT_MAXCHAR + 1)

/*
 * Text escaping into dst[size].  Returns the length of the full escaped
 * string; if that is >= size the output was cut at an escape boundary and
 * ends in "..." (when size >= 4).
 */
size_t esc_text(char *dst, size_t size, const void *src, size_t len, int flags);
/* The same for a wstr; an absent string (p == NULL) gives "". */
size_t esc_text_wstr(char *dst, size_t size, const struct wstr *, int flags);
/* Stream form: the whole escaped string, no cut. */
int esc_text_fput(FILE *, const void *src, size_t len, int flags);

/*
 * JSON string body (no surrounding quotes) into dst[size]; cut at an escape
 * boundary (never inside a UTF-8 sequence or a \u escape), without a mark.
 */
size_t esc_json(char *dst, size_t size, const void *src, size_t len);
/* The length of the leading run of src that JSON takes as it is (printable
 * ASCII but '"' and '\\'): esc_json() copies such a run in one step, and
 * a string that is all one is copied without the escaper at all. */
size_t esc_json_plain(const void *src, size_t len);
/* Stream forms write the quoted string; esc_json_fput_wstr writes null for
 * an absent wstr and esc_json_fput_str null for a NULL pointer. */
int esc_json_fput(FILE *, const void *src, size_t len);
int esc_json_fput_wstr(FILE *, const struct wstr *);
int esc_json_fput_str(FILE *, const char *);

/*
 * One CSV field, quoted if needed and formula-guarded.  An empty or absent
 * input gives an empty field.  (Stream form only: a field cut short in a
 * buffer would be a different value, not a shorter one.)
 */
int esc_csv_fput(FILE *, const void *src, size_t len);
int esc_csv_fput_wstr(FILE *, const struct wstr *);
int esc_csv_fput_str(FILE *, const char *);

/*
 * Length of the valid UTF-8 sequence at s[0..len), or 0 if s does not start
 * with one (strict: RFC 3629, no overlongs, no surrogates, <= U+10FFFF).
 * *cp receives the code point.  Exposed for tests and for the UI.
 */
size_t esc_utf8_seq(const unsigned char *s, size_t len, unsigned long *cp);

#endif
