// langid_compare.cc — how attnserve's language identification was chosen: CLD2 alone,
// libexttextcat alone (fingerprints of the four served languages only) and the two combined as
// core/langid/langid.c does (CLD2 when it is reliable and names a served language, else
// libexttextcat), on the same held-out sentences as tools/eval/eval_langid.py.
//
//   g++ -O2 tools/eval/langid_compare.cc -o /tmp/langid_compare -lcld2 -lexttextcat-2.0
//   /tmp/langid_compare ../shared/data
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>
#include <libexttextcat/textcat.h>

static const char *kLangs[] = {"en", "de", "fr", "cs"};

static bool served(const char *code)
{
    for (const char *l : kLangs)
        if (!strcmp(l, code)) return true;
    return false;
}

static std::vector<std::string> gz_lines(const std::string &path, const char *filter)
{
    std::vector<std::string> out;
    std::string cmd = "gzip -dc '" + path + "'" + filter;
    FILE *p = popen(cmd.c_str(), "r");
    char buf[8192];
    while (p && fgets(buf, sizeof buf, p)) {
        buf[strcspn(buf, "\r\n")] = 0;
        out.push_back(buf);
    }
    if (p) pclose(p);
    return out;
}

int main(int argc, char **argv)
{
    std::string dir = argc > 1 ? argv[1] : "../shared/data";
    FILE *conf = fopen("/tmp/langid_compare.conf", "w");
    for (const char *l : kLangs) fprintf(conf, "%s.lm %s\n", l, l);
    fclose(conf);
    void *tc = special_textcat_Init("/tmp/langid_compare.conf", "/usr/share/libexttextcat/");
    textcat_SetProperty(tc, TCPROP_MINIMUM_DOCUMENT_SIZE, 1);
    candidate_t *cand = textcat_GetClassifyFullOutput(tc);
    struct Set {
        std::string name, lang;
        std::vector<std::string> lines;
    };
    std::vector<Set> sets;
    for (const char *l : kLangs)
        sets.push_back({std::string("multi30k test ") + l, l,
                        gz_lines(dir + "/multi30k/test_2016_flickr." + l + ".gz", "")});
    sets.push_back({"tatoeba en", "en", gz_lines(dir + "/tatoeba/deu-eng.tsv.gz",
                                                 " | tail -n 2000 | cut -f1")});
    sets.push_back({"tatoeba de", "de", gz_lines(dir + "/tatoeba/deu-eng.tsv.gz",
                                                 " | tail -n 2000 | cut -f2")});
    printf("| sentences | n | CLD2 | libexttextcat (4 languages) | both |\n|---|---|---|---|---|\n");
    for (const Set &s : sets) {
        int cld = 0, tcat = 0, both = 0;
        for (const std::string &line : s.lines) {
            CLD2::Language l3[3];
            int p3[3], tb;
            double n3[3];
            bool rel;
            CLD2::CLDHints h = {nullptr, nullptr, CLD2::UNKNOWN_ENCODING, CLD2::UNKNOWN_LANGUAGE};
            CLD2::ExtDetectLanguageSummary(line.data(), (int)line.size(), true, &h, 0, l3, p3, n3,
                                           nullptr, &tb, &rel);
            const char *c = CLD2::LanguageCode(l3[0]);
            int k = textcat_ClassifyFull(tc, line.data(), line.size(), cand);
            const char *t = k > 0 ? cand[0].name : "und";
            const char *b = rel && served(c) ? c : t;
            cld += s.lang == c;
            tcat += s.lang == t;
            both += s.lang == b;
        }
        double n = (double)s.lines.size();
        printf("| %s | %zu | %.2f%% | %.2f%% | %.2f%% |\n", s.name.c_str(), s.lines.size(),
               100 * cld / n, 100 * tcat / n, 100 * both / n);
    }
    textcat_ReleaseClassifyFullOutput(tc, cand);
    textcat_Done(tc);
}
