"""test_han_summary.py — tools/train/train_han.py's top-k selection (the Python twin of the C
engine's tx_text_extract): trigram blocking skips a sentence that repeats a word trigram of one
already chosen, the best skipped ones fill up, and the summary is in document order."""
import os
import sys
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))

try:
    import train_han
except ImportError:  # torch or sentencepiece missing
    train_han = None


@unittest.skipIf(train_han is None, "needs torch and sentencepiece (Debian's python3)")
class TopK(unittest.TestCase):
    DOC = {"sents": ["The council voted on Tuesday.",    # 0
                     "On Tuesday the council voted.",    # 1: "the council voted" repeats 2's
                     "Then the council voted to close the bridge.",  # 2
                     "Engineers found cracks.",          # 3
                     "A ferry will run."]}               # 4

    def test_blocking_skips_repeats_and_keeps_document_order(self):
        sc = [0.1, 0.9, 0.8, 0.5, 0.4]
        got = train_han.top_k_summary(self.DOC, sc, k=3).split("\n")
        # best first: 1, then 2 shares "the council voted" -> skipped, 3, 4
        self.assertEqual(got, [self.DOC["sents"][i] for i in (1, 3, 4)])
        plain = train_han.top_k_summary(self.DOC, sc, k=3, block=False).split("\n")
        self.assertEqual(plain, [self.DOC["sents"][i] for i in (1, 2, 3)])

    def test_too_few_distinct_sentences_are_filled_with_the_best_skipped(self):
        doc = {"sents": ["the river rose again", "the river rose once more", "the river rose"]}
        got = train_han.top_k_summary(doc, [0.3, 0.2, 0.9], k=2).split("\n")
        self.assertEqual(got, ["the river rose again", "the river rose"])

    def test_trigrams_ignore_case_and_punctuation(self):
        self.assertEqual(train_han.trigrams("The Council, voted!"), {("the", "council", "voted")})


if __name__ == "__main__":
    unittest.main()
