#!/usr/bin/python3
"""make_tokenizer_json.py — writes tests/fixtures/tokenizers/t5-json/: the project's T5 test
tokenizer (tests/fixtures/tokenizers/t5/spiece.model) exported in the Hugging Face tokenizers
format the way the published t5 checkpoints ship it (Unigram model with the 100 sentinels,
Precompiled + " {2,}" normalizer, WhitespaceSplit + Metaspace pre-tokenizer, Metaspace decoder,
"$A </s>" template). Only sentencepiece (Debian's python3) is needed; the charsmap is taken
from the model's protobuf with a minimal wire-format walk.
    /usr/bin/python3 tools/tok_fixtures/make_tokenizer_json.py
"""
import base64, json, os
import sentencepiece as spm

src = "tests/fixtures/tokenizers/t5/spiece.model"
out = "tests/fixtures/tokenizers/t5-json"
os.makedirs(out, exist_ok=True)

def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return v, i

def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        elif wt == 5:
            v = b[i:i + 4]; i += 4
        elif wt == 1:
            v = b[i:i + 8]; i += 8
        yield f, wt, v

proto = open(src, "rb").read()
charsmap = b""
for f, wt, v in fields(proto):
    if f == 3:  # normalizer_spec
        for f2, wt2, v2 in fields(v):
            if f2 == 2:
                charsmap = v2

sp = spm.SentencePieceProcessor(model_file=src)
vocab = [[sp.id_to_piece(i), sp.get_score(i)] for i in range(sp.get_piece_size())]
vocab += [[f"<extra_id_{i}>", 0.0] for i in range(99, -1, -1)]
added = []
for i, c in ((0, "<pad>"), (1, "</s>"), (2, "<unk>")):
    added.append({"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True})
for i in range(100):
    added.append({"id": sp.get_piece_size() + 99 - i, "content": f"<extra_id_{i}>", "single_word": False,
                  "lstrip": False, "rstrip": False, "normalized": False, "special": True})
added.sort(key=lambda a: a["id"])
tok = {
    "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"},
        {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}]},
    "post_processor": {"type": "TemplateProcessing",
                       "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                  {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                       "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                {"Sequence": {"id": "B", "type_id": 0}},
                                {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                       "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True},
    "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab, "byte_fallback": False},
}
with open(f"{out}/tokenizer.json", "w") as f:
    json.dump(tok, f, ensure_ascii=False)
with open(f"{out}/tokenizer_config.json", "w") as f:
    json.dump({"tokenizer_class": "T5TokenizerFast", "eos_token": "</s>", "unk_token": "<unk>",
               "pad_token": "<pad>", "extra_ids": 100}, f, indent=2)
print("wrote", out)
