#!/usr/bin/python3
"""bleu.py — corpus BLEU as sacreBLEU computes it by default (BLEU-4, tokenize 13a, mixed case,
brevity penalty, "exp" smoothing, one reference per segment), in plain Python.

    tools/eval/bleu.py HYPOTHESES REFERENCES      # one segment per line; .gz accepted
    from bleu import corpus_bleu; corpus_bleu(hyps, refs).score

The 13a tokenizer is mteval-v13a.pl's (the rules sacreBLEU reimplements): unescape a few HTML
entities, split off punctuation and symbols, split periods and commas not inside numbers, and a
dash after a digit.
"""
import gzip
import math
import re
import sys
from collections import Counter, namedtuple

_RULES_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]


def tokenize_13a(line):
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = (line.replace("&quot;", '"').replace("&amp;", "&")
                .replace("&lt;", "<").replace("&gt;", ">"))
    line = f" {line} "
    for rx, rep in _RULES_13A:
        line = rx.sub(rep, line)
    return line.split()


def _ngrams(tokens, n_max=4):
    out = Counter()
    for n in range(1, n_max + 1):
        for i in range(len(tokens) - n + 1):
            out[tuple(tokens[i:i + n])] += 1
    return out


Bleu = namedtuple("Bleu", "score precisions bp sys_len ref_len")


def corpus_bleu(hyps, refs, n_max=4):
    """BLEU of a list of hypothesis strings against one reference string each (0-100)."""
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    correct = [0] * n_max
    total = [0] * n_max
    sys_len = ref_len = 0
    for h, r in zip(hyps, refs):
        ht, rt = tokenize_13a(h.strip()), tokenize_13a(r.strip())
        sys_len += len(ht)
        ref_len += len(rt)
        hc, rc = _ngrams(ht, n_max), _ngrams(rt, n_max)
        for g, c in hc.items():
            correct[len(g) - 1] += min(c, rc.get(g, 0))
        for n in range(1, n_max + 1):
            total[n - 1] += max(0, len(ht) - n + 1)
    # Brevity penalty first: sacreBLEU reports it even when the score is 0.
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    else:
        bp = 1.0
    # No matching n-gram of any order: BLEU 0 (sacreBLEU 2's early stop), not the small positive
    # value "exp" smoothing would otherwise give every order.
    if not any(correct):
        return Bleu(0.0, [0.0] * n_max, bp, sys_len, ref_len)
    # sacreBLEU's "exp" smoothing: the k-th zero-match order gets 1 / (2^k * total).
    precisions = []
    smooth = 1.0
    for n in range(n_max):
        if total[n] == 0:
            precisions.append(0.0)
        elif correct[n] == 0:
            smooth *= 2
            precisions.append(100.0 / (smooth * total[n]))
        else:
            precisions.append(100.0 * correct[n] / total[n])
    if min(precisions) <= 0:  # an order with no n-grams at all (hypotheses too short)
        return Bleu(0.0, precisions, bp, sys_len, ref_len)
    score = bp * math.exp(sum(math.log(p) for p in precisions) / n_max)
    return Bleu(score, precisions, bp, sys_len, ref_len)


def read(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def main(argv):
    if len(argv) != 3:
        print("usage: bleu.py HYPOTHESES REFERENCES", file=sys.stderr)
        return 2
    b = corpus_bleu(read(argv[1]), read(argv[2]))
    p = "/".join(f"{x:.1f}" for x in b.precisions)
    print(f"BLEU = {b.score:.2f} {p} (BP = {b.bp:.3f} ratio = {b.sys_len / max(1, b.ref_len):.3f} "
          f"hyp_len = {b.sys_len} ref_len = {b.ref_len})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
