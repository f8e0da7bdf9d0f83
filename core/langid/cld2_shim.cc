// cld2_shim.cc — the one C++ file of the core: calls CLD2 for langid.c (see cld2_shim.h).
#include <cstdio> // compact_lang_det.h uses FILE without including it
#include <cstring>

#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>

#include "cld2_shim.h"

extern "C" void txi_cld2_detect(const char *text, int len, char codes[3][8], int percent[3],
                                int *reliable)
{
    CLD2::Language lang3[3];
    double normalized3[3];
    int text_bytes = 0;
    bool is_reliable = false;
    CLD2::CLDHints hints = {nullptr, nullptr, CLD2::UNKNOWN_ENCODING, CLD2::UNKNOWN_LANGUAGE};
    CLD2::ExtDetectLanguageSummary(text, len, true, &hints, 0, lang3, percent, normalized3,
                                   nullptr, &text_bytes, &is_reliable);
    for (int i = 0; i < 3; i++) {
        std::snprintf(codes[i], 8, "%s", CLD2::LanguageCode(lang3[i]));
    }
    *reliable = is_reliable ? 1 : 0;
}
