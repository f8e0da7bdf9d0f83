#!/usr/bin/python3
"""make_hf_extra.py — extra reference cases from Hugging Face transformers 4.35.2's slow tokenizers
(MarianTokenizer, T5Tokenizer, BartTokenizer) for behaviour the shared cases.jsonl do not reach:
sentinel tokens glued to words (single_word/lstrip/rstrip), Marian language codes, the target side
with special tokens, BART with add_prefix_space, and decoding of random id lists with and without
skip_special_tokens. Writes tests/fixtures/tokenizers/<name>/hf_extra.jsonl.

Needs the local transformers oracle (see ../shared/oracle/README.md):
    export ORACLE_ROOT=/tmp/oracle; . ../shared/oracle/env.sh
    $PY tools/tok_fixtures/make_hf_extra.py ../shared
"""
import json, random, sys
shared = sys.argv[1] if len(sys.argv) > 1 else "../shared"
sys.path.insert(0, f"{shared}/oracle")
import hf_slow_tokenizers  # noqa: F401  (AddedToken fix for the slow tokenizers)
from transformers import BartTokenizer, MarianTokenizer, T5Tokenizer

F = f"{shared}/fixtures/tokenizers"
rng = random.Random(1234)

common = ["foo<extra_id_0>", "<extra_id_0>bar", "<extra_id_0><extra_id_1>", "a\t<extra_id_0>\tb",
          "x <extra_id_0>  y", "x  <extra_id_1> <extra_id_2>z", "<extra_id_99>", "<extra_id_100>",
          "end</s>", "</s></s>", "a</s> b", "<unk><unk>x", " <pad> ", "\u00a0<mask>\u00a0",
          ">>de<< Hello", "Hello >>fr<< world", ">>a<<>>b<< x", "line >>x\ny<< z", ">><< empty",
          "say >>de<< and <<", "<s>start", "mid<s>dle</s>", "x <mask>y", "x\t<mask>"]

def dump(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

def rand_ids(n_vocab, specials, k):
    out = []
    for _ in range(k):
        n = rng.randint(0, 12)
        ids = [rng.randrange(n_vocab) if rng.random() < 0.8 else rng.choice(specials) for _ in range(n)]
        out.append(ids)
    return out

# T5
t5 = T5Tokenizer.from_pretrained(f"{F}/t5")
rows = [{"text": t, "ids": t5(t).input_ids} for t in common]
for ids in rand_ids(len(t5), [0, 1, 2, 8099, 8098, 8000], 150) + [[8099, 5, 8098], [5, 8099], [47, 47, 5]]:
    for skip in (True, False):
        rows.append({"decode_ids": ids, "skip": skip, "decoded": t5.decode(ids, skip_special_tokens=skip)})
dump("tests/fixtures/tokenizers/t5/hf_extra.jsonl", rows)

# Marian (both sides)
mt = MarianTokenizer.from_pretrained(f"{F}/marian-en-de")
rows = [{"text": t, "ids": mt(t).input_ids, "side": "source"} for t in common]
rows += [{"text": t, "ids": mt(text_target=t).input_ids, "side": "target"} for t in common]
for ids in rand_ids(len(mt), [0, 1, 15321], 150) + [[0, 5, 1, 15321], [15321]]:
    for skip in (True, False):
        rows.append({"decode_ids": ids, "skip": skip, "decoded": mt.decode(ids, skip_special_tokens=skip)})
dump("tests/fixtures/tokenizers/marian-en-de/hf_extra.jsonl", rows)

# BART, and BART with add_prefix_space=True
bt = BartTokenizer.from_pretrained(f"{F}/bart")
bp = BartTokenizer.from_pretrained(f"{F}/bart", add_prefix_space=True)
rows = [{"text": t, "ids": bt(t).input_ids} for t in common]
rows += [{"text": t, "ids": bp(t).input_ids, "add_prefix_space": True} for t in common + ["Hello", " Hello", "\tx"]]
for ids in rand_ids(len(bt), [0, 1, 2, 3, 50264], 150) + [[0, 48585, 2], [6800, 6800], [41, 37249]]:
    for skip in (True, False):
        rows.append({"decode_ids": ids, "skip": skip, "decoded": bt.decode(ids, skip_special_tokens=skip)})
dump("tests/fixtures/tokenizers/bart/hf_extra.jsonl", rows)
print("ok")

# T5Tokenizer (slow) in a folder that also ships tokenizer.json and whose tokenizer_config.json
# has no added_tokens_decoder (as the published t5 checkpoints): the sentinels take their flags
# from tokenizer.json's added_tokens (no stripping, not single-word).
import os, shutil, tempfile
d = tempfile.mkdtemp()
shutil.copy(f"{F}/t5/spiece.model", d)
shutil.copy("tests/fixtures/tokenizers/t5-json/tokenizer.json", d)
with open(f"{d}/tokenizer_config.json", "w") as f:
    json.dump({"tokenizer_class": "T5Tokenizer", "extra_ids": 100}, f)
t5l = T5Tokenizer.from_pretrained(d)
rows = [{"text": t, "ids": t5l(t).input_ids} for t in common]
dump("tests/fixtures/tokenizers/t5/hf_legacy_tokjson.jsonl", rows)
shutil.rmtree(d)
print("ok legacy")
