/* utf8.h — strict UTF-8 decoding/encoding and the few Unicode predicates the core needs. */
#ifndef ATTNSERVE_UTF8_H
#define ATTNSERVE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from s (n > 0 bytes available) strictly (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). Returns its length 1..4 and sets *cp, or returns 0
 * when the bytes at s do not start a valid sequence. Pure; thread-safe. */
int txi_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Byte offset of the first invalid sequence in s, or n when all n bytes are valid UTF-8. */
size_t txi_utf8_validate(const char *s, size_t n);

/* Writes cp (<= U+10FFFF) as UTF-8 to out; returns the number of bytes (1..4). */
int txi_utf8_encode(uint32_t cp, char out[4]);

/* Length of the character whose lead byte is c, as SentencePiece's OneCharLen: by the high
 * nibble only (continuation bytes count 1). Always 1..4. */
static inline int txi_utf8_lead_len(unsigned char c)
{
    return "\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[c >> 4];
}

/* Python's str.isspace(): bidirectional class WS, B or S, or category Zs (utf8proc data). */
int txi_utf8_is_py_space(uint32_t cp);

/* The Unicode White_Space property (what the `regex` module's \s matches): categories Zs, Zl,
 * Zp plus U+0009..U+000D and U+0085. */
int txi_utf8_is_white_space(uint32_t cp);

/* \p{L} (Lu Ll Lt Lm Lo) and \p{N} (Nd Nl No), from utf8proc's category data. */
int txi_utf8_is_letter(uint32_t cp);
int txi_utf8_is_number(uint32_t cp);

/* Length of the prefix of s (n > 0) that Python's bytes.decode("utf-8", errors="replace") turns
 * into one unit: a valid character (returns its length, *cp set) or one U+FFFD for a maximal
 * invalid subpart (returns the subpart's length >= 1, *cp = 0xFFFD). */
int txi_utf8_decode_replace(const char *s, size_t n, uint32_t *cp);

#endif
