/* cld2_shim.h — a C view of CLD2's ExtDetectLanguageSummary (CLD2 is C++; internal). */
#ifndef ATTNSERVE_CLD2_SHIM_H
#define ATTNSERVE_CLD2_SHIM_H

#ifdef __cplusplus
extern "C" {
#endif

/* CLD2's top three languages of text[0..len) (plain text, valid UTF-8): codes[i] its ISO
 * codes ("en", "un" for unknown; at most 7 bytes + NUL), percent[i] the share of the text's
 * bytes in that language, *reliable CLD2's own verdict. Thread-safe (CLD2 keeps no state). */
void txi_cld2_detect(const char *text, int len, char codes[3][8], int percent[3], int *reliable);

#ifdef __cplusplus
}
#endif

#endif
