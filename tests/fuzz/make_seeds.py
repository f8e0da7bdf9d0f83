#!/usr/bin/python3
"""make_seeds.py — writes the generated fuzz seeds of tests/fuzz/seeds/ (run from anywhere with
Debian's /usr/bin/python3; the SentencePiece models need its sentencepiece module:
apt-get install python3-sentencepiece). Everything is made here from hand-written vocabularies
and a hand-written training text (no third-party files), small on purpose so that libFuzzer
mutates them quickly, and deterministic (the same bytes on every run):

  seeds/tokenizer_json/bpe_byte_level.json  BART/RoBERTa-style byte-level BPE: ByteLevel
      pre-tokenizer and decoder, RobertaProcessing, added special tokens, the 256 byte symbols
      and a few merges ("left right" strings).
  seeds/tokenizer_json/bpe_byte_fallback.json  Llama-style SentencePiece BPE: Prepend/Replace
      normalizers, no pre-tokenizer, byte_fallback with some <0xNN> pieces missing, fuse_unk,
      TemplateProcessing, Replace/ByteFallback/Fuse/Strip decoders.
  seeds/tokenizer_json/bpe_subword_prefix.json  continuing_subword_prefix "##" and
      end_of_word_suffix "</w>", NFKC + Lowercase, WhitespaceSplit, merges as [left, right]
      pairs, no unk token (unknown characters dropped), BertProcessing. A merge's result is
      left + right without the right part's prefix ("h" "##e" -> "he"), as Hugging Face
      tokenizers builds it.
  seeds/spm_model/tiny_bpe.model, tiny_unigram.model  SentencePiece models (identity
      normalization, so no charsmap) trained on TEXT below: BPE with <pad> and a user-defined
      piece; Unigram with byte fallback. fuzz_spm_model loads each both as a T5 folder and as
      a bare spm.model folder (kind_spm.c).

Usage: /usr/bin/python3 tests/fuzz/make_seeds.py   (rewrites the files above)
"""
import io
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")


def byte_level_alphabet():
    """GPT-2's bytes_to_unicode: the printable character standing for each byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + \
        list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def added(i, content, special=True, lstrip=False, normalized=False):
    return {"id": i, "content": content, "single_word": False, "lstrip": lstrip,
            "rstrip": False, "normalized": normalized, "special": special}


def with_merges(vocab, merges, prefix=""):
    """Adds each merge's result to vocab (ids after the existing ones): left + right, without
    the continuing-subword prefix the right part starts with (Hugging Face tokenizers' rule)."""
    for m in merges:
        l, r = m if isinstance(m, list) else m.split(" ")
        if prefix and r.startswith(prefix):
            r = r[len(prefix):]
        if l + r not in vocab:
            vocab[l + r] = len(vocab)
    return vocab


def bpe_byte_level():
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {s: i for i, s in enumerate(specials)}
    for ch in byte_level_alphabet():
        vocab[ch] = len(vocab)
    merges = ["H e", "l l", "He ll", "Hell o", "\u0120 w", "o r", "\u0120w or", "l d",
              "\u0120wor ld", "\u0120 a", "n d", "\u0120a nd", "1 2", "3 4", "12 34", "o k",
              "\u0120 ok"]
    with_merges(vocab, merges)
    mask = len(vocab)
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(i, s) for i, s in enumerate(specials)] +
                        [added(mask, "<mask>", lstrip=True)],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "vocab": vocab, "merges": merges},
    }


def bpe_byte_fallback():
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    # the bytes of "Ü" (C3 9C) and "é" (C3 A9), not those of "ï" or "ö": those become <unk>
    for b in (0x0A, 0x20, 0x9C, 0xA9, 0xC3, 0xE2):
        vocab["<0x%02X>" % b] = len(vocab)
    for ch in "\u2581HWabdeklnorw,!.<>/s":
        vocab[ch] = len(vocab)
    merges = ["\u2581 H", "e l", "el l", "\u2581H ell", "\u2581Hell o", "\u2581 w", "o r",
              "\u2581w or", "l d", "\u2581wor ld", "\u2581 a", "n d", "\u2581a nd", "o k",
              "\u2581 ok"]
    with_merges(vocab, merges)
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "vocab": vocab, "merges": merges},
    }


def bpe_subword_prefix():
    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}
    for ch in "helowrdank12345!,.":
        for form in (ch, "##" + ch, ch + "</w>", "##" + ch + "</w>"):
            vocab[form] = len(vocab)
    # a merge's result is left + right without the right part's "##" ("h" "##e" -> "he")
    merges = [["h", "##e"], ["##l", "##l"], ["he", "##ll"], ["hell", "##o</w>"],
              ["w", "##o"], ["##r", "##l"], ["wo", "##rl"], ["a", "##n"],
              ["an", "##d</w>"], ["o", "##k"], ["ok", "##.</w>"]]
    with_merges(vocab, merges, "##")
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(0, "[UNK]"), added(1, "[CLS]"), added(2, "[SEP]")],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"},
                                                           {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
        "decoder": None,
        "model": {"type": "BPE", "dropout": 0.0, "unk_token": None,
                  "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>",
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": merges},
    }


TEXT = """Hello, world! This is a tiny training text for the fuzz seeds.
Hello again: the world is small and the vocabulary is smaller.
Ünïcödé text, numbers 12345 and 67890, and <unk> or </s> as plain words.
ok ok ok. Fine words and fine numbers make a fine seed.
"""


def spm_model(model_type, vocab_size, **extra):
    import sentencepiece as spm
    out = io.BytesIO()
    lines = [line for line in TEXT.splitlines() if line] * 4
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=out, model_type=model_type,
        vocab_size=vocab_size, normalization_rule_name="identity", character_coverage=1.0,
        num_threads=1, minloglevel=2, hard_vocab_limit=False, **extra)
    return out.getvalue()


def write(rel, data):
    path = os.path.join(SEEDS, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, dict):
        data = (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    with open(path, "wb") as f:
        f.write(data)
    print("%6d %s" % (len(data), os.path.relpath(path)))


def main():
    write("tokenizer_json/bpe_byte_level.json", bpe_byte_level())
    write("tokenizer_json/bpe_byte_fallback.json", bpe_byte_fallback())
    write("tokenizer_json/bpe_subword_prefix.json", bpe_subword_prefix())
    write("spm_model/tiny_bpe.model",
          spm_model("bpe", 60, pad_id=3, user_defined_symbols="<sep>"))
    write("spm_model/tiny_unigram.model", spm_model("unigram", 310, byte_fallback=True))


if __name__ == "__main__":
    main()
