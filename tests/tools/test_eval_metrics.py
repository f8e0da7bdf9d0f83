#!/usr/bin/python3
"""test_eval_metrics.py — tools/eval/rouge.py, lead.py and bleu.py against cases worked out by
hand (each derivation is in the comment above it), against naive reference algorithms on random
input, and, when ../shared/data/cnndm is present, against the published CNN/DM pointer-generator
figures.

Run: /usr/bin/python3 -m unittest discover -s tests/tools -v   (from the repository root)
Tests that need NLTK's Porter stemmer (Debian: python3-nltk) are skipped, saying so, without it.
"""
import contextlib
import gzip
import io
import math
import os
import random
import sys
import tempfile
import unittest
from unittest import mock

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "eval"))
import bleu  # noqa: E402
import lead  # noqa: E402
import rouge  # noqa: E402

try:
    from nltk.stem.porter import PorterStemmer
except ImportError:
    PorterStemmer = None
NEED_NLTK = unittest.skipIf(PorterStemmer is None,
                            "nltk is not importable (Debian: apt-get install python3-nltk)")
CNNDM = os.path.join(ROOT, "..", "shared", "data", "cnndm")


def run_main(main, *args):
    """(returncode, stdout, stderr) of a tool's main(argv) run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def write(path, lines):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def naive_lcs_table(a, b):
    """The textbook O(n*m) table, cell by cell (rouge-score's _lcs_table)."""
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                t[i][j] = t[i - 1][j - 1] + 1
            else:
                t[i][j] = max(t[i - 1][j], t[i][j - 1])
    return t


def naive_backtrack(a, b):
    """rouge-score's _backtrack_norec on the naive table: left only if strictly larger, else up."""
    t = naive_lcs_table(a, b)
    i, j, out = len(a), len(b), []
    while i > 0 and j > 0:
        if a[i - 1] == b[j - 1]:
            out.insert(0, i - 1)
            i, j = i - 1, j - 1
        elif t[i][j - 1] > t[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return out


class TokenizerTest(unittest.TestCase):
    def test_lowercases_and_splits_on_every_non_alphanumeric_run(self):
        # "It's 3.5-fold, OK?" -> lowercase -> runs of [^a-z0-9] become one space:
        # "it s 3 5 fold ok " -> it / s / 3 / 5 / fold / ok.
        self.assertEqual(rouge.tokenize("It's 3.5-fold, OK?"), ["it", "s", "3", "5", "fold", "ok"])

    def test_ptb_tokens_and_separators(self):
        # `` and '' are all punctuation and vanish; -lrb- keeps its letters; <q> becomes "q"
        # (which is why --sep must remove it before tokenizing).
        self.assertEqual(rouge.tokenize("`` yes '' -lrb- cnn -rrb- . <q> no"),
                         ["yes", "lrb", "cnn", "rrb", "q", "no"])

    def test_non_ascii_letters_are_separators(self):
        # é and ï are outside [a-z0-9] after lowercasing: "café naïve" -> caf / na / ve.
        self.assertEqual(rouge.tokenize("Café naïve"), ["caf", "na", "ve"])

    def test_empty_and_punctuation_only(self):
        self.assertEqual(rouge.tokenize(""), [])
        self.assertEqual(rouge.tokenize(" .,;!? -- "), [])

    def test_stemmer_sees_only_tokens_longer_than_3_characters(self):
        # A stand-in stemmer that marks what it was given: "cats" (4) and "eats" (4) go through
        # it, "dog" (3) and "a" (1) do not.
        self.assertEqual(rouge.tokenize("a dog cats eats", lambda w: "x" + w),
                         ["a", "dog", "xcats", "xeats"])

    def test_stems_that_are_not_alphanumeric_are_dropped(self):
        # rouge-score checks ^[a-z0-9]+$ after stemming, so such a stem disappears.
        self.assertEqual(rouge.tokenize("dogs cat", lambda w: w + "!"), ["cat"])

    @NEED_NLTK
    def test_porter_stemming_with_the_length_gate(self):
        # Porter (1980): caresses -> caress (sses -> ss), ponies -> poni (ies -> i), running ->
        # run (-ing, then undouble nn), this -> thi (drop s). "was" would become "wa" the same
        # way, which NLTK does, but it has 3 characters and so is left alone.
        self.assertEqual(PorterStemmer().stem("was"), "wa")
        self.assertEqual(rouge.tokenize("Caresses ponies running this was", rouge.Stemmer()),
                         ["caress", "poni", "run", "thi", "was"])

    @NEED_NLTK
    def test_stemmer_is_nltks_default_mode(self):
        # rouge-score builds PorterStemmer() in NLTK_EXTENSIONS mode, which maps a 4-letter
        # "-ies" word to "-ie" (dies -> die) where Porter's original rule gives "di".
        self.assertEqual(rouge.tokenize("dies ties", rouge.Stemmer()), ["die", "tie"])


class RougeNTest(unittest.TestCase):
    def test_hand_computed_unigrams_and_bigrams(self):
        # hyp: the cat sat on the mat / ref: the cat is on the mat (6 tokens each).
        # Unigrams in common: the x2, cat, on, mat = 5 -> P = R = F = 5/6.
        # Bigrams: hyp {the cat, cat sat, sat on, on the, the mat}, ref {the cat, cat is, is on,
        # on the, the mat}: 3 shared of 5 -> P = R = F = 3/5.
        s = rouge.rouge_scores(["the cat sat on the mat"], ["the cat is on the mat"], stem=False)
        self.assertAlmostEqual(s["rouge1"], 100 * 5 / 6)
        self.assertAlmostEqual(s["rouge2"], 100 * 3 / 5)

    def test_counts_are_clipped(self):
        # hyp "the" x4 vs ref "the cat": "the" matches min(4, 1) = 1 time.
        # P = 1/4, R = 1/2, F = 2 * (1/8) / (3/4) = 1/3.
        s = rouge.ngram_score(["the"] * 4, ["the", "cat"], 1)
        self.assertAlmostEqual(s.precision, 0.25)
        self.assertAlmostEqual(s.recall, 0.5)
        self.assertAlmostEqual(s.fmeasure, 1 / 3)

    def test_precision_and_recall_differ_with_lengths(self):
        # hyp a b c, ref a b c d e. ROUGE-1: 3 shared, P = 3/3, R = 3/5, F = 1.2/1.6 = 0.75.
        # ROUGE-2: hyp {ab, bc} both in ref {ab, bc, cd, de}: P = 1, R = 2/4, F = 2/3.
        p = rouge.rouge_prf(["a b c"], ["a b c d e"], stem=False)
        self.assertAlmostEqual(p["rouge1"].precision, 100.0)
        self.assertAlmostEqual(p["rouge1"].recall, 60.0)
        self.assertAlmostEqual(p["rouge1"].fmeasure, 75.0)
        self.assertAlmostEqual(p["rouge2"].recall, 50.0)
        self.assertAlmostEqual(p["rouge2"].fmeasure, 100 * 2 / 3)

    def test_empty_hypothesis_scores_zero(self):
        s = rouge.rouge_scores(["", "?!"], ["a b", "a b"], stem=False)
        self.assertEqual(s, {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0, "rougeLsum": 0.0})


class RougeLTest(unittest.TestCase):
    def test_lcs_respects_order(self):
        # hyp a b c d vs ref d c b a: every unigram matches (ROUGE-1 = 1) but the longest common
        # subsequence has length 1, so ROUGE-L P = R = F = 1/4.
        s = rouge.rouge_scores(["a b c d"], ["d c b a"], stem=False)
        self.assertAlmostEqual(s["rouge1"], 100.0)
        self.assertAlmostEqual(s["rougeL"], 25.0)

    def test_lcs_skips_gaps(self):
        # the cat sat on the mat / the cat is on the mat: LCS "the cat on the mat" = 5 -> 5/6.
        s = rouge.rouge_scores(["the cat sat on the mat"], ["the cat is on the mat"], stem=False)
        self.assertAlmostEqual(s["rougeL"], 100 * 5 / 6)

    def test_lcs_table_matches_the_textbook_table(self):
        # Row-at-a-time table (running max, shared unmatched rows) vs the cell-by-cell DP.
        rng = random.Random(1)
        for _ in range(300):
            a = [rng.choice("abcd") for _ in range(rng.randint(0, 12))]
            b = [rng.choice("abcde") for _ in range(rng.randint(0, 12))]
            self.assertEqual(rouge.lcs_table(a, b), naive_lcs_table(a, b), (a, b))
            self.assertEqual(rouge.lcs_length(a, b), naive_lcs_table(a, b)[-1][-1])

    def test_backtracking_breaks_ties_as_rouge_score(self):
        # ref "a b", cand "b a": t[2][2] = 1 with t[2][1] = t[1][2] = 1, no strict "left" -> step
        # up to (1, 2), where a == a: the LCS read out is "a" (ref position 0), not "b".
        self.assertEqual(rouge.lcs_indices(["a", "b"], ["b", "a"]), [0])
        rng = random.Random(2)
        for _ in range(300):
            a = [rng.choice("abc") for _ in range(rng.randint(0, 10))]
            b = [rng.choice("abc") for _ in range(rng.randint(0, 10))]
            self.assertEqual(rouge.lcs_indices(a, b), naive_backtrack(a, b), (a, b))


class RougeLsumTest(unittest.TestCase):
    # Lin (2004), section 3.2: r = w1 w2 w3 w4 w5, c1 = w1 w2 w6 w7 w8, c2 = w1 w3 w8 w9 w5.
    # LCS(r, c1) = w1 w2, LCS(r, c2) = w1 w3 w5, union = w1 w2 w3 w5 (4 tokens).
    R = "w1 w2 w3 w4 w5"
    C = ["w1 w2 w6 w7 w8", "w1 w3 w8 w9 w5"]

    def test_union_lcs_of_lins_example(self):
        r = self.R.split()
        self.assertEqual(rouge.union_lcs(r, [c.split() for c in self.C]), ["w1", "w2", "w3", "w5"])

    def test_union_follows_the_chosen_lcs(self):
        # With "b a" alone the LCS taken is "a" (see the tie test); adding candidate "b" adds b.
        self.assertEqual(rouge.union_lcs(["a", "b"], [["b", "a"]]), ["a"])
        self.assertEqual(rouge.union_lcs(["a", "b"], [["b", "a"], ["b"]]), ["a", "b"])

    def test_summary_level_score_of_lins_example(self):
        # 4 hits; |ref| = 5, |hyp| = 10: R = 4/5, P = 4/10, F = 0.64 / 1.2 = 8/15.
        s = rouge.rouge_prf(["\n".join(self.C)], [self.R], stem=False)["rougeLsum"]
        self.assertAlmostEqual(s.recall, 80.0)
        self.assertAlmostEqual(s.precision, 40.0)
        self.assertAlmostEqual(s.fmeasure, 100 * 8 / 15)

    def test_a_token_is_counted_at_most_as_often_as_it_occurs(self):
        # ref sentences "a b" and "a b", hyp "a b": each ref sentence's union LCS is a b, but the
        # hyp has only one a and one b, so hits = 2 (not 4). R = 2/4, P = 2/2, F = 2/3.
        s = rouge.summary_lcs_score([["a", "b"]], [["a", "b"], ["a", "b"]])
        self.assertAlmostEqual(s.recall, 0.5)
        self.assertAlmostEqual(s.precision, 1.0)
        self.assertAlmostEqual(s.fmeasure, 2 / 3)

    def test_sentence_splitting_matters(self):
        # ref "a b c d"; hyp sentences "c d" and "a b". Split, each hyp sentence's LCS with the
        # ref covers two ref tokens, union a b c d: hits 4, P = R = F = 1. As one sentence
        # "c d a b" the LCS with "a b c d" is 2 long: P = R = F = 1/2.
        split = rouge.rouge_scores(["c d\na b"], ["a b c d"], stem=False)
        joined = rouge.rouge_scores(["c d a b"], ["a b c d"], stem=False)
        self.assertAlmostEqual(split["rougeLsum"], 100.0)
        self.assertAlmostEqual(joined["rougeLsum"], 50.0)
        self.assertAlmostEqual(split["rougeL"], 50.0)  # sentence-level L ignores the split

    def test_custom_sentence_splitter(self):
        # The default splitter only knows newlines; " | " is punctuation to the tokenizer.
        by_bar = lambda t: t.split(" | ")  # noqa: E731
        self.assertAlmostEqual(
            rouge.rouge_scores(["c d | a b"], ["a b c d"], stem=False, split=by_bar)["rougeLsum"],
            100.0)
        self.assertAlmostEqual(
            rouge.rouge_scores(["c d | a b"], ["a b c d"], stem=False)["rougeLsum"], 50.0)


class RougeCorpusTest(unittest.TestCase):
    def test_corpus_score_is_the_mean_of_pair_scores(self):
        # Pair 1 identical (all 100), pair 2 disjoint (all 0): every mean is 50.
        s = rouge.rouge_scores(["a b", "x"], ["a b", "y"], stem=False)
        for t in rouge.ROUGE_TYPES:
            self.assertAlmostEqual(s[t], 50.0, msg=t)

    def test_unequal_lengths_are_an_error(self):
        with self.assertRaises(ValueError):
            rouge.rouge_scores(["a"], ["a", "b"], stem=False)

    @NEED_NLTK
    def test_stemming_changes_matches(self):
        # hyp: the cats were running -> the / cat / were / run; ref: a cat runs -> a / cat / run.
        # Shared: cat, run -> P = 2/4, R = 2/3, F = (2/3) / (7/6) = 4/7. Unstemmed: nothing shared.
        self.assertAlmostEqual(
            rouge.rouge_scores(["the cats were running"], ["a cat runs"])["rouge1"], 100 * 4 / 7)
        self.assertEqual(
            rouge.rouge_scores(["the cats were running"], ["a cat runs"], stem=False)["rouge1"], 0)

    def test_missing_nltk_is_a_clear_error(self):
        with mock.patch.dict(sys.modules, {"nltk": None, "nltk.stem": None}):
            with self.assertRaisesRegex(RuntimeError, "python3-nltk"):
                rouge.rouge_scores(["a"], ["a"])
            self.assertEqual(rouge.rouge_scores(["a"], ["a"], stem=False)["rouge1"], 100.0)
            with tempfile.TemporaryDirectory() as d:
                h, r = os.path.join(d, "h"), os.path.join(d, "r")
                write(h, ["a"])
                write(r, ["a"])
                rc, out, err = run_main(rouge.main, h, r)
                self.assertEqual(rc, 1)
                self.assertIn("--no-stem", err)


class RougeCliTest(unittest.TestCase):
    # One pair: hyp "w1 w2 w6 w7 w8 <q> w1 w3 w8 w9 w5", ref "w1 w2 w3 w4 w5" (Lin's example).
    # With --sep: ROUGE-1 4 shared of 10 / 5 -> P .4, R .8, F 8/15 = 53.33. ROUGE-2: 9 hyp
    # bigrams, 4 ref bigrams, only w1 w2 shared -> P 1/9, R 1/4, F 2/13 = 15.38. ROUGE-L: LCS of the
    # run-together hyp is w1 w2 w3 w5 = 4 -> 53.33. ROUGE-Lsum: 8/15 = 53.33 (see above).
    # Without --sep the hyp has an 11th token "q": ROUGE-1 P 4/11, R 4/5, F = 0.5 -> 50.00, and
    # the one-sentence Lsum equals L = 50.00.
    def run_cli(self, *extra):
        with tempfile.TemporaryDirectory() as d:
            h, r = os.path.join(d, "hyp.gz"), os.path.join(d, "ref.txt")
            write(h, ["w1 w2 w6 w7 w8 <q> w1 w3 w8 w9 w5"])
            write(r, ["w1 w2 w3 w4 w5"])
            rc, out, err = run_main(rouge.main, h, r, "--no-stem", *extra)
        self.assertEqual(rc, 0, err)
        return {line.split()[0]: float(line.split()[2]) for line in out.splitlines()}

    def test_separator_is_removed_and_splits_sentences(self):
        self.assertEqual(self.run_cli("--sep", "<q>"),
                         {"rouge1": 53.33, "rouge2": 15.38, "rougeL": 53.33, "rougeLsum": 53.33})

    def test_without_separator_it_is_a_token(self):
        s = self.run_cli()
        self.assertEqual((s["rouge1"], s["rougeL"], s["rougeLsum"]), (50.0, 50.0, 50.0))

    def test_line_count_mismatch(self):
        with tempfile.TemporaryDirectory() as d:
            h, r = os.path.join(d, "h"), os.path.join(d, "r")
            write(h, ["a", "b"])
            write(r, ["a"])
            rc, out, err = run_main(rouge.main, h, r, "--no-stem")
        self.assertEqual(rc, 1)
        self.assertIn("2 lines", err)


@unittest.skipUnless(os.path.isdir(CNNDM), f"no CNN/DM data at {CNNDM} (the shared data folder)")
@NEED_NLTK
class CnnDmPublishedTest(unittest.TestCase):
    def test_pointer_generator_coverage_matches_published_rouge(self):
        # See et al. 2017, pointer-generator + coverage: ROUGE-1/2/L F1 39.53 / 17.28 / 36.38
        # (ROUGE-1.5.5 with stemming; its ROUGE-L is summary-level = our rougeLsum). All 11,490
        # pairs: a few seconds.
        hyps, refs = ([rouge.join_sentences(t, "<q>") for t in rouge.read(os.path.join(CNNDM, f))]
                      for f in ("test.pgcov.gz", "test.reference.gz"))
        self.assertEqual(len(hyps), 11490)
        s = rouge.rouge_scores(hyps, refs)
        self.assertLess(abs(s["rouge1"] - 39.53), 0.5, s)
        self.assertLess(abs(s["rouge2"] - 17.28), 0.5, s)
        self.assertLess(abs(s["rougeLsum"] - 36.38), 0.5, s)


class LeadTest(unittest.TestCase):
    def test_first_n_whitespace_words(self):
        self.assertEqual(lead.lead(["a b c d", "x", "  p\tq \n r  "], 2), ["a b", "x", "p q"])
        self.assertEqual(lead.lead(["a b"], 0), [""])
        with self.assertRaises(ValueError):
            lead.lead(["a"], -1)

    def test_tuning_objective_by_hand(self):
        # src "a b c d e", tgt "a b".
        # N=1 "a": R1 P 1 R 1/2 F 2/3; R2 no hyp bigram -> 0; RL 2/3; mean 4/9.
        # N=2 "a b": all 1; mean 1.
        # N=3 "a b c": R1 P 2/3 R 1 F .8; R2 P 1/2 R 1 F 2/3; RL .8; mean (.8 + 2/3 + .8)/3.
        table = lead.tune(["a b c d e"], ["a b"], max_n=3, stem=False)
        self.assertEqual([row[0] for row in table], [1, 2, 3])
        self.assertAlmostEqual(table[0][1], 100 * 4 / 9)
        self.assertAlmostEqual(table[1][1], 100.0)
        self.assertAlmostEqual(table[2][1], 100 * (0.8 + 2 / 3 + 0.8) / 3)

    def test_tuning_agrees_with_scoring_the_lead_texts(self):
        # The word-by-word token shortcut must give what rouge_scores gives on lead() output.
        srcs = ["The U.S. economy's growth -- 3.5% -- beat forecasts, officials said.",
                "Rain fell on Paris ; the Seine rose . Commuters waded home",
                "short"]
        tgts = ["us economy beats forecasts", "paris floods", "a short one"]
        for n, obj, f in lead.tune(srcs, tgts, max_n=12, stem=False):
            s = rouge.rouge_scores(lead.lead(srcs, n), tgts, stem=False)
            for t in ("rouge1", "rouge2", "rougeL"):
                self.assertAlmostEqual(f[t], s[t], msg=(n, t))
            self.assertAlmostEqual(obj, (s["rouge1"] + s["rouge2"] + s["rougeL"]) / 3)

    def test_cli_picks_n_on_validation_and_scores_test(self):
        # Validation: lead-2 is exact (objective 100, see above); test with lead-2 is exact too.
        with tempfile.TemporaryDirectory() as d:
            p = {k: os.path.join(d, k + ".gz") for k in ("vs", "vt", "ts", "tt")}
            write(p["vs"], ["a b c d e", "f g h i"])
            write(p["vt"], ["a b", "f g"])
            write(p["ts"], ["p q r s"])
            write(p["tt"], ["p q"])
            rc, out, err = run_main(lead.main, p["vs"], p["vt"], p["ts"], p["tt"], "--no-stem")
        self.assertEqual(rc, 0, err)
        self.assertIn("lead-2 ", out)
        self.assertIn("ROUGE-1 100.00  ROUGE-2 100.00  ROUGE-L 100.00", out)

    def test_cli_prefers_the_shorter_lead_on_ties(self):
        # A 2-word source: lead-2 ... lead-30 are all the same text, all scoring 100.
        with tempfile.TemporaryDirectory() as d:
            src, tgt = os.path.join(d, "src"), os.path.join(d, "tgt")
            write(src, ["a b"])
            write(tgt, ["a b"])
            rc, out, err = run_main(lead.main, src, tgt, src, tgt, "--no-stem")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("lead-2 "), out)


class Bleu13aTest(unittest.TestCase):
    def test_punctuation_numbers_and_periods(self):
        # "3.5" and "1,000": period/comma between digits stay; "end." and "costs," split; the
        # dash after a digit splits ("5-3"), between letters it stays ("well-known"); brackets
        # split; case is kept.
        self.assertEqual(
            bleu.tokenize_13a("It costs 3.5 or 1,000 (5-3) well-known, the end."),
            ["It", "costs", "3.5", "or", "1,000", "(", "5", "-", "3", ")", "well-known", ",",
             "the", "end", "."])

    def test_apostrophe_is_not_split(self):
        # mteval-v13a's symbol class is {-~ [-` space-& (-+ :-@ /: U+0027 (') lies between & and
        # ( and is in none of them, so 13a keeps "it's" whole (the "intl" tokenizer would split).
        self.assertEqual(bleu.tokenize_13a("it's Bob's"), ["it's", "Bob's"])

    def test_html_entities(self):
        self.assertEqual(bleu.tokenize_13a("&quot;a&quot; &amp; b&lt;c"),
                         ['"', "a", '"', "&", "b", "<", "c"])


class BleuTest(unittest.TestCase):
    def test_perfect_match_is_100(self):
        b = bleu.corpus_bleu(["The dog bit the man."], ["The dog bit the man."])
        self.assertAlmostEqual(b.score, 100.0)
        self.assertEqual(b.bp, 1.0)

    def test_brevity_penalty_of_a_short_hypothesis(self):
        # hyp 5 tokens, every n-gram of it in the 6-token ref: precisions 100;
        # BP = exp(1 - 6/5) = exp(-0.2).
        b = bleu.corpus_bleu(["the cat sat on the"], ["the cat sat on the mat"])
        self.assertAlmostEqual(b.bp, math.exp(-0.2))
        self.assertAlmostEqual(b.score, 100 * math.exp(-0.2))
        # A longer hypothesis is not penalised: BP = 1.
        self.assertEqual(bleu.corpus_bleu(["the cat sat on the mat ."], ["the cat sat on the"]).bp,
                         1.0)

    def test_clipping_and_exp_smoothing(self):
        # Papineni's example: hyp "the" x7, ref "the cat is on the mat". Unigram matches clipped
        # to the 2 "the" of the ref: p1 = 2/7. No bigram/trigram/4-gram matches: "exp" smoothing
        # gives 1/(2*6), 1/(4*5), 1/(8*4). BP = 1 (7 >= 6). BLEU = geometric mean.
        b = bleu.corpus_bleu(["the the the the the the the"], ["the cat is on the mat"])
        self.assertAlmostEqual(b.precisions[0], 100 * 2 / 7)
        want = (2 / 7 * 1 / 12 * 1 / 20 * 1 / 32) ** 0.25 * 100
        self.assertAlmostEqual(b.score, want)

    def test_sacrebleu_statistics_case(self):
        # From sacreBLEU's own tests: "am I am a character sequence" vs "I am a symbol string
        # sequence a a" has matches [4, 2, 1, 0] of [6, 5, 4, 3]. Exp smoothing: p4 = 1/(2*3).
        # BP = exp(1 - 8/6). BLEU = (4/6 * 2/5 * 1/4 * 1/6)^(1/4) * BP.
        b = bleu.corpus_bleu(["am I am a character sequence"],
                             ["I am a symbol string sequence a a"])
        self.assertEqual([round(p, 6) for p in b.precisions],
                         [round(100 * x, 6) for x in (4 / 6, 2 / 5, 1 / 4, 1 / 6)])
        self.assertAlmostEqual(b.score, 100 * (1 / 90) ** 0.25 * math.exp(1 - 8 / 6))

    def test_statistics_are_summed_over_the_corpus(self):
        # Segments "a b c d"/"a b c d" and "e f g h"/"e f x y": matches [4+2, 3+1, 2+0, 1+0] of
        # [8, 6, 4, 2] -> precisions 3/4, 2/3, 1/2, 1/2 -> BLEU = (1/8)^(1/4) (not a mean).
        b = bleu.corpus_bleu(["a b c d", "e f g h"], ["a b c d", "e f x y"])
        self.assertAlmostEqual(b.score, 100 * 0.125 ** 0.25)

    def test_no_match_at_all_is_zero(self):
        # sacreBLEU 2 stops early when no n-gram of any order matches; smoothing must not turn
        # that into a positive score. BP is still reported (4 vs 4 tokens: 1).
        b = bleu.corpus_bleu(["a b c d"], ["e f g h"])
        self.assertEqual(b.score, 0.0)
        self.assertEqual(b.bp, 1.0)

    def test_too_short_for_4_grams_is_zero(self):
        # 3-token corpus: no 4-grams at all, so the 4-gram precision is 0 and BLEU is 0.
        self.assertEqual(bleu.corpus_bleu(["a b c"], ["a b c"]).score, 0.0)

    def test_unequal_lengths_are_an_error(self):
        with self.assertRaises(ValueError):
            bleu.corpus_bleu(["a"], [])


if __name__ == "__main__":
    unittest.main()
