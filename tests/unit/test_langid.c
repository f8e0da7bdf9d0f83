/* test_langid.c — language identification (tx_langid_*): sentences written for this test,
 * restriction to the served languages, undecidable and invalid input, errors that name the
 * input, and the accuracy target on multi30k's held-out test captions (../shared/data). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"
#include "tx.h"

static const char *four[] = {"en", "de", "fr", "cs"};

static tx_langid *make(const char *const *langs, int n)
{
    tx_langid *id = NULL;
    struct tx_error err = {0};
    cr_assert_eq(tx_langid_new(langs, n, NULL, &id, &err), TX_OK, "%s", err.message);
    return id;
}

static int detect(const tx_langid *id, const char *text, struct tx_lang_guess *g, int max_out)
{
    int n = -1;
    struct tx_error err = {0};
    cr_assert_eq(tx_langid_detect(id, text, strlen(text), g, max_out, &n, &err), TX_OK, "%s",
                 err.message);
    return n;
}

/* Detects text (n bytes) placed at the very end of a page followed by an inaccessible one: any
 * read past the length is a SIGSEGV (the test crashes). */
static void detect_at_page_end(const char *text, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *pg = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(pg, MAP_FAILED);
    cr_assert_eq(mprotect(pg + page, page, PROT_NONE), 0);
    char *s = pg + page - n;
    memcpy(s, text, n);
    tx_langid *id = make(four, 4);
    struct tx_lang_guess g[4];
    int k = -1;
    struct tx_error err = {0};
    cr_assert_eq(tx_langid_detect(id, s, n, g, 4, &k, &err), TX_OK, "%s", err.message);
    cr_assert_geq(k, 0);
    tx_langid_free(id);
    munmap(pg, 2 * page);
}

Test(langid, reads_nothing_past_the_length_it_is_given)
{
    /* fuzz_langid's finds: libexttextcat's fp_Create read past its length up to a NUL on the
     * first text, CLD2's UTF-8 scanner past the end of the second (with NUL bytes inside) */
    char text[84] = "u";
    memset(text + 1, '2', 81);
    text[82] = 'e';
    detect_at_page_end(text, 83);
    static const unsigned char cld2[] = {
        0x65, 0x65, 0x65, 0x69, 0x65, 0x65, 0xe5, 0x9e, 0x9e, 0x00, 0x00, 0x60, 0x65,
        0xe5, 0x97, 0x9e, 0x6a, 0x65, 0x69, 0x65, 0x65, 0x65, 0x69, 0x65, 0x65, 0x69,
        0x65, 0x65, 0xe5, 0x9e, 0x9e, 0x00, 0x00, 0x60, 0x65, 0xe5, 0x97, 0x9e, 0x6a,
        0x65, 0x69, 0x69, 0x65, 0x60, 0x65, 0xe5, 0x97, 0x9e, 0x69, 0x65, 0x65, 0x65,
        0xe5, 0x9e, 0x9e, 0x00, 0x00, 0x60, 0x65, 0xe5, 0x97, 0x9e};
    detect_at_page_end((const char *)cld2, sizeof cld2);
}

Test(langid, names_the_language_of_ordinary_sentences)
{
    tx_langid *id = make(four, 4);
    static const struct {
        const char *text, *lang;
    } cases[] = {
        {"The children are playing football in the park after school.", "en"},
        {"Where is the nearest train station?", "en"},
        {"Die Kinder spielen nach der Schule im Park Fußball.", "de"},
        {"Wo ist der nächste Bahnhof?", "de"},
        {"Les enfants jouent au football dans le parc après l'école.", "fr"},
        {"Où est la gare la plus proche ?", "fr"},
        {"Děti si po škole hrají v parku fotbal.", "cs"},
        {"Kde je nejbližší nádraží?", "cs"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tx_lang_guess g[4];
        int n = detect(id, cases[i].text, g, 4);
        cr_assert_geq(n, 1, "undecided on \"%s\"", cases[i].text);
        cr_expect_str_eq(g[0].lang, cases[i].lang, "\"%s\"", cases[i].text);
        for (int k = 0; k < n; k++) {
            cr_expect(g[k].confidence >= 0 && g[k].confidence <= 100);
            if (k) cr_expect_leq(g[k].confidence, g[0].confidence, "best first");
        }
        cr_expect_geq(g[0].confidence, 50, "\"%s\": confidence %d", cases[i].text, g[0].confidence);
    }
    tx_langid_free(id);
}

Test(langid, answers_only_with_the_languages_it_was_given)
{
    static const char *two[] = {"en", "de"};
    tx_langid *id = make(two, 2);
    cr_assert_eq(tx_langid_count(id), 2);
    cr_assert_str_eq(tx_langid_language(id, 1), "de");
    cr_assert_null(tx_langid_language(id, 2));
    /* French and Czech text: the answer, if any, is English or German */
    const char *texts[] = {"Les enfants jouent au football dans le parc.",
                           "Děti si po škole hrají v parku fotbal."};
    for (int t = 0; t < 2; t++) {
        struct tx_lang_guess g[4];
        int n = detect(id, texts[t], g, 4);
        cr_assert_leq(n, 2);
        for (int k = 0; k < n; k++)
            cr_expect(strcmp(g[k].lang, "en") == 0 || strcmp(g[k].lang, "de") == 0, "%s",
                      g[k].lang);
    }
    tx_langid_free(id);
}

Test(langid, is_undecided_on_text_without_letters)
{
    tx_langid *id = make(four, 4);
    const char *texts[] = {"", "12345", "!!! ??? ...", "3.14 + 2.71 = 5.85", "   \n\t"};
    for (int t = 0; t < 5; t++) {
        struct tx_lang_guess g[4];
        cr_expect_eq(detect(id, texts[t], g, 4), 0, "\"%s\"", texts[t]);
    }
    tx_langid_free(id);
}

Test(langid, refuses_invalid_utf8_naming_the_byte)
{
    tx_langid *id = make(four, 4);
    struct tx_lang_guess g[2];
    int n = 7;
    struct tx_error err = {0};
    const char bad[] = "Hello \xff world";
    cr_assert_eq(tx_langid_detect(id, bad, sizeof bad - 1, g, 2, &n, &err), TX_ERR_ENCODING);
    cr_expect(strstr(err.message, "byte 6") != NULL, "%s", err.message);
    tx_langid_free(id);
}

Test(langid, names_a_language_it_has_no_fingerprint_for)
{
    static const char *langs[] = {"en", "xx"};
    tx_langid *id = NULL;
    struct tx_error err = {0};
    cr_assert_eq(tx_langid_new(langs, 2, NULL, &id, &err), TX_ERR_UNSUPPORTED);
    cr_expect(strstr(err.message, "'xx'") != NULL, "%s", err.message);
    cr_assert_null(id);
    static const char *bad[] = {"en", "e n"};
    cr_assert_eq(tx_langid_new(bad, 2, NULL, &id, &err), TX_ERR_INVALID);
    cr_expect(strstr(err.message, "'e n'") != NULL, "%s", err.message);
    cr_assert_eq(tx_langid_new(four, 4, "/nonexistent", &id, &err), TX_ERR_UNSUPPORTED);
    cr_expect(strstr(err.message, "/nonexistent/en.lm") != NULL, "%s", err.message);
}

/* Lines of a gzip file (owned, NUL-separated in *buf), or 0 when it is absent. */
static int read_gz_lines(const char *path, char ***lines_out)
{
    FILE *probe = fopen(path, "rb");
    if (!probe) return 0;
    fclose(probe);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char **lines = NULL;
    int n = 0, cap = 0;
    char buf[4096];
    while (fgets(buf, sizeof buf, p)) {
        buf[strcspn(buf, "\n")] = 0;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            lines = realloc(lines, (size_t)cap * sizeof *lines);
            cr_assert_not_null(lines);
        }
        lines[n++] = strdup(buf);
    }
    cr_assert_eq(pclose(p), 0);
    *lines_out = lines;
    return n;
}

Test(langid, is_right_on_98_percent_of_held_out_captions_of_every_language, .timeout = 120)
{
    tx_langid *id = make(four, 4);
    for (int l = 0; l < 4; l++) {
        char path[256];
        snprintf(path, sizeof path, "../shared/data/multi30k/test_2016_flickr.%s.gz", four[l]);
        char **lines = NULL;
        int n = read_gz_lines(path, &lines);
        if (n == 0) {
            tx_langid_free(id);
            TU_SKIP("SKIP: %s is absent", path);
        }
        int right = 0;
        for (int i = 0; i < n; i++) {
            struct tx_lang_guess g[1];
            if (detect(id, lines[i], g, 1) == 1 && strcmp(g[0].lang, four[l]) == 0) right++;
            free(lines[i]);
        }
        free(lines);
        fprintf(stderr, "langid: multi30k test %s: %d/%d right\n", four[l], right, n);
        cr_expect_geq(right * 100, n * 98, "%s: %d of %d right", four[l], right, n);
    }
    tx_langid_free(id);
}
