#!/usr/bin/python3
"""lead.py — the lead-N baseline for headline generation: the first N whitespace-separated words
of each source, N tuned on a validation set to maximise the mean of ROUGE-1, ROUGE-2 and ROUGE-L
F1 (rouge.py, i.e. rouge-score's definitions), then scored on a test set.

    tools/eval/lead.py VAL_SRC VAL_TGT TEST_SRC TEST_TGT [--max-n 30] [--no-stem] [-v]
    from lead import lead; lead(texts, n)

Sources and targets are plain text, one per line (line i of a source pairs with line i of its
target); .gz accepted. Prints the chosen N, its validation objective, and the test ROUGE F1.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rouge  # noqa: E402  (tools/eval/rouge.py, next to this file)


def lead(texts, n):
    """The first `n` whitespace-separated words of each text, joined by single spaces."""
    if n < 0:
        raise ValueError(f"lead length must be >= 0, got {n}")
    return [" ".join(t.split()[:n]) for t in texts]


def tune(srcs, tgts, max_n=30, stem=True):
    """Mean ROUGE-1/2/L F1 (×100) of lead-N on (srcs, tgts) for N = 1..max_n: a list of
    (n, objective, {"rouge1": F, "rouge2": F, "rougeL": F}) in order of n.

    Each source is tokenized once, word by word: rouge.tokenize of "w1 ... wN" is the
    concatenation of rouge.tokenize of each word (a space is always a token boundary, and
    lowercasing and stemming act on one token at a time), so lead-N's tokens grow by one word's
    tokens per step instead of being re-read for every N."""
    if len(srcs) != len(tgts):
        raise ValueError(f"{len(srcs)} sources but {len(tgts)} targets")
    stemmer = rouge.Stemmer() if stem else None
    words = [[rouge.tokenize(w, stemmer) for w in s.split()[:max_n]] for s in srcs]
    refs = [rouge.tokenize(t, stemmer) for t in tgts]
    hyps = [[] for _ in srcs]   # lead-N tokens of each source, extended in place
    k = max(len(srcs), 1)
    out = []
    for n in range(1, max_n + 1):
        f = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
        for h, w, r in zip(hyps, words, refs):
            if n <= len(w):
                h.extend(w[n - 1])
            f["rouge1"] += rouge.ngram_score(h, r, 1).fmeasure
            f["rouge2"] += rouge.ngram_score(h, r, 2).fmeasure
            f["rougeL"] += rouge.lcs_score(h, r).fmeasure
        f = {t: 100.0 * v / k for t, v in f.items()}
        out.append((n, sum(f.values()) / 3, f))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Lead-N headline baseline: tune N on validation "
                                 "(mean ROUGE-1/2/L F1), score on test.")
    ap.add_argument("val_src")
    ap.add_argument("val_tgt")
    ap.add_argument("test_src")
    ap.add_argument("test_tgt")
    ap.add_argument("--max-n", type=int, default=30, help="try N = 1..MAX_N (default 30)")
    ap.add_argument("--no-stem", action="store_true", help="no Porter stemming in ROUGE")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every N's validation score")
    args = ap.parse_args(argv)
    if args.max_n < 1:
        ap.error("--max-n must be >= 1")
    stem = not args.no_stem
    vs, vt = rouge.read(args.val_src), rouge.read(args.val_tgt)
    ts, tt = rouge.read(args.test_src), rouge.read(args.test_tgt)
    for a, b, x, y in ((args.val_src, args.val_tgt, vs, vt),
                       (args.test_src, args.test_tgt, ts, tt)):
        if len(x) != len(y):
            print(f"lead.py: {a} has {len(x)} lines but {b} has {len(y)}", file=sys.stderr)
            return 1
    try:
        table = tune(vs, vt, args.max_n, stem)
        if args.verbose:
            for n, obj, f in table:
                print(f"val N={n:<2} mean {obj:.2f}  R1 {f['rouge1']:.2f}  R2 {f['rouge2']:.2f}  "
                      f"RL {f['rougeL']:.2f}")
        n, obj, _ = max(table, key=lambda row: (row[1], -row[0]))  # ties: the shorter lead
        res = rouge.rouge_scores(lead(ts, n), tt, stem=stem)
    except RuntimeError as e:
        print(f"lead.py: {e}", file=sys.stderr)
        return 1
    print(f"lead-{n} (validation mean ROUGE-1/2/L F1 {obj:.2f})")
    print(f"test ROUGE-1 {res['rouge1']:.2f}  ROUGE-2 {res['rouge2']:.2f}  "
          f"ROUGE-L {res['rougeL']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
