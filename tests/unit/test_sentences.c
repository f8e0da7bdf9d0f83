/* test_sentences.c — sentence splitting used for long-text translation. */
#include <criterion/criterion.h>
#include <string.h>

#include "tx.h"

/* Splits `text` and compares the sentences with the expected NULL-terminated list. */
static void expect_split(const char *text, const char *const *want)
{
    uint32_t spans[32][2];
    int n = tx_split_sentences(text, strlen(text), spans, 32);
    int n_want = 0;
    while (want[n_want]) n_want++;
    cr_assert_eq(n, n_want, "'%s': %d sentences, expected %d", text, n, n_want);
    for (int i = 0; i < n; i++) {
        size_t len = spans[i][1] - spans[i][0];
        cr_assert(len == strlen(want[i]) && !memcmp(text + spans[i][0], want[i], len),
                  "'%s': sentence %d is '%.*s', expected '%s'", text, i, (int)len,
                  text + spans[i][0], want[i]);
    }
}

Test(sentences, splits_after_terminators_followed_by_a_capital)
{
    expect_split("A dog runs. The cat sleeps! Is it late? Yes.",
                 (const char *[]){"A dog runs.", "The cat sleeps!", "Is it late?", "Yes.", NULL});
}

Test(sentences, keeps_abbreviations_initials_and_numbers_together)
{
    expect_split("Mr. Smith met Dr. Jones at 5 p.m. today. J. R. R. Tolkien wrote it.",
                 (const char *[]){"Mr. Smith met Dr. Jones at 5 p.m. today.",
                                  "J. R. R. Tolkien wrote it.", NULL});
    expect_split("Am 3. Mai kam er. Dann ging er.",
                 (const char *[]){"Am 3. Mai kam er.", "Dann ging er.", NULL});
}

Test(sentences, does_not_split_before_lower_case_or_inside_numbers)
{
    expect_split("The value is 3.14 and e.g. more. it continues",
                 (const char *[]){"The value is 3.14 and e.g. more. it continues", NULL});
}

Test(sentences, closing_quotes_stay_with_their_sentence)
{
    expect_split("He said \"Stop.\" Then he left... \"Why?\" she asked.",
                 (const char *[]){"He said \"Stop.\"", "Then he left...", "\"Why?\" she asked.",
                                  NULL});
}

Test(sentences, newlines_always_split_and_blank_lines_vanish)
{
    expect_split("first line\n\n  second line  \nthird",
                 (const char *[]){"first line", "second line", "third", NULL});
}

Test(sentences, cjk_terminators_split_without_spaces)
{
    expect_split("我很好。你呢？好的",
                 (const char *[]){"我很好。", "你呢？", "好的", NULL});
}

Test(sentences, empty_and_blank_texts_have_no_sentences)
{
    uint32_t spans[4][2];
    cr_assert_eq(tx_split_sentences("", 0, spans, 4), 0);
    cr_assert_eq(tx_split_sentences("  \n\t ", 5, spans, 4), 0);
    cr_assert_eq(tx_split_sentences(NULL, 0, spans, 4), 0);
}

Test(sentences, counts_beyond_max_spans_without_writing_them)
{
    uint32_t spans[2][2] = {{0}};
    const char *t2 = "One. Two. Three. Four.";
    int n = tx_split_sentences(t2, strlen(t2), spans, 2);
    cr_assert_eq(n, 4);
    cr_assert_eq(spans[1][0], 5u);
    cr_assert_eq(spans[1][1], 9u);
}

Test(sentences, invalid_utf8_does_not_crash_and_keeps_every_byte_in_some_span)
{
    const char t[] = "Bad \xff\xfe bytes. Next \xc3 one.";
    uint32_t spans[8][2];
    int n = tx_split_sentences(t, sizeof t - 1, spans, 8);
    cr_assert_eq(n, 2);
    cr_assert_eq(spans[0][0], 0u);
    cr_assert_eq(spans[1][1], (uint32_t)(sizeof t - 1));
}
