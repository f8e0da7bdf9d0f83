"""data.py — reads the corpora in ../shared/data into (source, target) text pairs, normalised the
same way for training, validation and test, and trains the SentencePiece models.

Translator (English -> German): multi30k train + europarl train + tatoeba, validated on multi30k
val, tested on multi30k test_2016_flickr and europarl test (newstest2015).

Summarizer (headlines): gigaword sample + Reuters-21578, normalised to one form:
  * gigaword is Penn-Treebank tokenised ("australia 's", "-lrb-", "``"); it is detokenised into
    plain text, since users send plain text;
  * Reuters titles are in capitals; case is folded by the tokenizer itself (SentencePiece
    normalisation rule nmt_nfkc_cf), so the model sees lower case whatever the user sends, and
    ROUGE (which lower-cases) is unaffected;
  * Reuters ticker tags ("<SRD>") are removed from titles and bodies;
  * pairs containing gigaword's "<unk>" placeholder are dropped (the word is lost);
  * digits: gigaword replaced every digit by "#" and that cannot be undone; Reuters keeps its
    digits (the model copies numbers either way).
Held-out splits: the last 500 gigaword train pairs and the last 1,000 Reuters train pairs are
the validation sets (checkpoint choice, lead-N tuning); gigaword valid (1,000 pairs) and the
Reuters test set (5,458 pairs) are the test sets and are never trained on.
"""
import gzip
import os
import re
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.environ.get("ATTNSERVE_DATA", os.path.join(ROOT, "..", "shared", "data"))


def read_lines(rel):
    path = os.path.join(DATA, rel)
    if not os.path.exists(path):
        raise SystemExit(f"{path}: not found (set ATTNSERVE_DATA to the shared data folder)")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def clean(s):
    return " ".join(s.split())


def pairs(src_rel, tgt_rel):
    src, tgt = read_lines(src_rel), read_lines(tgt_rel)
    if len(src) != len(tgt):
        raise SystemExit(f"{src_rel} has {len(src)} lines but {tgt_rel} has {len(tgt)}")
    return [(clean(a), clean(b)) for a, b in zip(src, tgt)]


# ---------------------------------------------------------------- translator


def tatoeba_pairs():
    out = []
    for i, line in enumerate(read_lines("tatoeba/deu-eng.tsv.gz")):
        if i == 0 and line == "1\t2":
            continue
        cols = line.split("\t")
        if len(cols) == 2:
            out.append((clean(cols[0]), clean(cols[1])))
    return out


def translator_splits():
    """{'train': [(en, de)], 'valid': ..., 'test_multi30k': ..., 'test_europarl': ...}"""
    m30k = pairs("multi30k/train.en.gz", "multi30k/train.de.gz")
    epl = pairs("europarl/train.en.gz", "europarl/train.de.gz")
    tat = tatoeba_pairs()
    train = [p for p in m30k + epl + tat if p[0] and p[1]]
    return {
        "train": train,
        "multi30k_train": m30k,
        "valid": pairs("multi30k/val.en.gz", "multi30k/val.de.gz"),
        "test_multi30k": pairs("multi30k/test_2016_flickr.en.gz",
                               "multi30k/test_2016_flickr.de.gz"),
        "test_europarl": pairs("europarl/test.en.gz", "europarl/test.de.gz"),
    }


LANGS = ("en", "de", "fr", "cs")


def multilingual_splits(valid_per_direction=200):
    """The four-language translator's data, as (src_lang, tgt_lang, src, tgt) tuples:
    'train': all 12 directions of the 4-way parallel multi30k train captions, plus europarl and
    tatoeba English<->German in both directions; 'valid': the first valid_per_direction multi30k
    val captions of every direction; 'test_multi30k': the full test_2016_flickr of every
    direction."""
    def m30k(split):
        return {lang: [clean(s) for s in read_lines(f"multi30k/{split}.{lang}.gz")]
                for lang in LANGS}

    def directions(cap, limit=None):
        out = []
        for a in LANGS:
            for b in LANGS:
                if a != b:
                    rows = list(zip(cap[a], cap[b]))[:limit]
                    out += [(a, b, x, y) for x, y in rows if x and y]
        return out

    ende = [p for p in pairs("europarl/train.en.gz", "europarl/train.de.gz") + tatoeba_pairs()
            if p[0] and p[1]]
    train = directions(m30k("train"))
    train += [("en", "de", en, de) for en, de in ende] + [("de", "en", de, en) for en, de in ende]
    return {"train": train, "valid": directions(m30k("val"), valid_per_direction),
            "test_multi30k": directions(m30k("test_2016_flickr"))}


# ---------------------------------------------------------------- summarizer

PTB = [
    (re.compile(r"-lrb-", re.I), "("), (re.compile(r"-rrb-", re.I), ")"),
    (re.compile(r"-lsb-", re.I), "["), (re.compile(r"-rsb-", re.I), "]"),
    (re.compile(r"-lcb-", re.I), "{"), (re.compile(r"-rcb-", re.I), "}"),
    (re.compile(r"``\s*"), '"'), (re.compile(r"\s*''"), '"'),
    (re.compile(r"\(\s+"), "("), (re.compile(r"\s+\)"), ")"),
    (re.compile(r" (n't|'s|'re|'ve|'ll|'d|'m|')\b"), r"\1"),
    (re.compile(r" ([,.;:?!%])"), r"\1"),
    (re.compile(r"\$ (?=[#0-9])"), "$"),
]


def detok_ptb(s):
    """Undoes the Penn Treebank tokenisation of the gigaword sample ("it 's" -> "it's")."""
    for rx, rep in PTB:
        s = rx.sub(rep, s)
    return clean(s)


TICKER = re.compile(r"\s*<[A-Z0-9.&/-]+>")
SIGNOFF = re.compile(r"\s+Reuter\s*$")


def reuters_text(s):
    """Drops ticker tags ("<SRD>") and the closing "Reuter" sign-off of an article body."""
    return clean(SIGNOFF.sub("", TICKER.sub("", s)))


def summarizer_splits():
    giga = [(detok_ptb(a), detok_ptb(b))
            for a, b in pairs("headlines/gigaword_sample.train.src.gz",
                              "headlines/gigaword_sample.train.tgt.gz")
            if "<unk>" not in a and "<unk>" not in b]
    giga_test = [(detok_ptb(a), detok_ptb(b))
                 for a, b in pairs("headlines/gigaword_sample.valid.src.gz",
                                   "headlines/gigaword_sample.valid.tgt.gz")
                 if "<unk>" not in a and "<unk>" not in b]
    reut = [(reuters_text(a), reuters_text(b))
            for a, b in pairs("headlines/reuters21578.train.src.gz",
                              "headlines/reuters21578.train.tgt.gz")]
    reut_test = [(reuters_text(a), reuters_text(b))
                 for a, b in pairs("headlines/reuters21578.test.src.gz",
                                   "headlines/reuters21578.test.tgt.gz")]
    reut = [p for p in reut if p[0] and p[1]]
    reut_test = [p for p in reut_test if p[0] and p[1]]
    return {
        "train": giga[:-500] + reut[:-1000],
        "valid_gigaword": giga[-500:],
        "valid_reuters": reut[-1000:],
        # The gigaword sample's valid file, in two halves: the held-out end of its train file
        # shares near-duplicate stories with the training pairs and overstates what a model
        # learnt, so decoding options and checkpoints are chosen on the first half (dev) and the
        # second half is the test.
        "dev_gigaword": giga_test[: len(giga_test) // 2],
        "test_gigaword": giga_test[len(giga_test) // 2:],
        "test_reuters": reut_test,
    }


# Auxiliary task for the summarizer: the same article in, a mechanical compression of its first
# sentence out (the first clause of up to 16 words, without articles, auxiliaries, pronouns and
# reporting verbs, at most 12 words). It gives the model far more examples of what headlines are
# mostly made of -- words copied from the lead, in order -- than the ~20,000 real pairs do; it is
# trained under its own prefix ("compress: "), so "summarize: " stays the real task.
_SENT_END = re.compile(r'(?<=[a-z0-9%)"][.!?])\s+(?=[A-Z"(])')
_DROP = set("the a an its their his her was were is are been be being has have had will would "
            "that which who whom said says saying told it this these those there also".split())


def first_sentence(text):
    return _SENT_END.split(text, 1)[0]


def compress_lead(text, max_words=12):
    words = first_sentence(text).split()
    cut = len(words)
    for i, w in enumerate(words):
        if i >= 6 and w.endswith(","):
            cut = i + 1
            break
    out = []
    for w in words[: min(cut, 16)]:
        if w.lower().strip(',;:."\'') in _DROP:
            continue
        w = w.rstrip(",;:.")
        if w:
            out.append(w)
    return " ".join(out[:max_words])


# ---------------------------------------------------------------- SentencePiece


def train_spm(texts, prefix, vocab_size, extra_args=(), seed_sentences=400000):
    """Trains a unigram SentencePiece model with Debian's spm_train (deterministic for the same
    input). Writes prefix.model and prefix.vocab; returns prefix.model."""
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    corpus = prefix + ".corpus.txt"
    with open(corpus, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(t + "\n")
    cmd = ["spm_train", f"--input={corpus}", f"--model_prefix={prefix}",
           f"--vocab_size={vocab_size}", "--model_type=unigram", "--character_coverage=1.0",
           f"--input_sentence_size={seed_sentences}", "--shuffle_input_sentence=true",
           "--max_sentence_length=20000", "--num_threads=2", "--minloglevel=1",
           "--random_seed=17", *extra_args]
    subprocess.run(cmd, check=True)
    return prefix + ".model"
