#!/usr/bin/python3
"""make_regression_fixture.py — the expected outputs of the shipped default models, computed by
Hugging Face transformers (the reference implementation, run on the exported F16 weights in
float32), for the regression test tests/unit/test_default_models.c.

Development aid: needs the transformers oracle of ../shared/oracle (README there); the test reads
only the JSON this writes (tests/fixtures/default-models.json), never transformers.

    export ORACLE_ROOT=/tmp/oracle; . ../shared/oracle/env.sh
    $PY tools/train/make_regression_fixture.py

For every fixed input: the tokenizer's ids (slow MarianTokenizer), greedy and
4-beam generate() ids (decoder start token first, as generate() returns them), the decoded
text, and the smallest gap between the best and second-best score over the greedy steps (so a
reader can see no step is a near-tie that float32 rounding could flip).
"""
import json
import os
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "oracle"))
import hf_slow_tokenizers  # noqa: E402,F401  (the oracle's slow-tokenizer setup)
import transformers.generation.utils as _gu  # noqa: E402
from transformers import AutoModelForSeq2SeqLM, MarianTokenizer  # noqa: E402

if hasattr(_gu, "is_fsdp_managed_module"):
    _gu.is_fsdp_managed_module = lambda module: False

TRANSLATE = [
    "A man in a blue shirt is standing on a ladder.",
    "Two dogs are playing in the snow.",
    "Where is the train station?",
    "I would like a cup of coffee, please.",
    "The children are swimming in the lake.",
    "Tom doesn't know what to do.",
    "A woman is riding a bicycle down the street.",
    "The European Parliament adopted the resolution yesterday.",
]
# the four-language translator: (source text, target language) in all 12 directions
MULTILINGUAL = [
    ("A man in a blue shirt is standing on a ladder.", "de"),
    ("Two dogs are playing in the snow.", "fr"),
    ("A woman is riding a bicycle down the street.", "cs"),
    ("Ein kleines Mädchen klettert in ein Spielhaus aus Holz.", "en"),
    ("Zwei Männer stehen an einem Strand.", "fr"),
    ("Eine Frau mit einem roten Hut sitzt auf einer Bank.", "cs"),
    ("Un homme en veste orange travaille sur la route.", "en"),
    ("Des enfants jouent dans une fontaine.", "de"),
    ("Un chien noir court dans l'herbe.", "cs"),
    ("Muž v modré košili stojí na žebříku.", "en"),
    ("Dva psi si hrají ve sněhu.", "de"),
    ("Skupina lidí stojí před budovou.", "fr"),
]
SUMMARIZE = [
    "australia's current account deficit shrunk by a record 4.5 billion dollars in the june "
    "quarter due to soaring commodity prices, figures released monday showed.",
    "The European Central Bank kept interest rates unchanged on Thursday, saying inflation in "
    "the euro zone remained under control despite rising energy prices.",
    "at least two people were killed in a suspected bomb attack on a passenger bus in the "
    "southern philippines on monday, the military said.",
    "Texas Commerce Bancshares Inc said it filed an application with the Comptroller of the "
    "Currency to create the largest banking network in Harris County.",
    "Japanese shares closed higher on Tuesday as exporters gained on a weaker yen, dealers said.",
]


def run(model_dir, tok, texts, prefix="", targets=None):
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, local_files_only=True,
                                                  use_safetensors=True)
    model.eval()
    out = []
    for i, text in enumerate(texts):
        if targets:  # a multilingual model: the target token the server adds
            prefix = f">>{targets[i]}<< "
        enc = tok(prefix + text, return_tensors="pt")
        with torch.no_grad():
            g = model.generate(**enc, num_beams=1, do_sample=False, output_scores=True,
                               return_dict_in_generate=True, max_new_tokens=64)
            b = model.generate(**enc, num_beams=4, do_sample=False, max_new_tokens=64,
                               num_return_sequences=1)
        gaps = []
        for s in g.scores:
            top = torch.topk(s[0].float(), 2).values
            gaps.append(float(top[0] - top[1]))
        greedy = g.sequences[0].tolist()
        beam = b[0].tolist()
        out.append({"text": text, "input_ids": enc.input_ids[0].tolist(), "greedy": greedy,
                    "greedy_text": tok.decode(greedy, skip_special_tokens=True), "beam4": beam,
                    "beam4_text": tok.decode(beam, skip_special_tokens=True),
                    "min_greedy_gap": round(min(gaps), 4)})
        if targets:
            out[-1]["target"] = targets[i]
            out[-1]["prefix"] = prefix
    return out


def main():
    mt = os.path.join(ROOT, "models", "marian-en-de")
    sm = os.path.join(ROOT, "models", "marian-headlines")
    mul = os.path.join(ROOT, "models", "marian-mul")
    mt_tok = MarianTokenizer.from_pretrained(mt, local_files_only=True)
    sm_tok = MarianTokenizer.from_pretrained(sm, local_files_only=True)
    mul_tok = MarianTokenizer.from_pretrained(mul, local_files_only=True)
    cfg = json.load(open(os.path.join(sm, "config.json")))
    prefix = cfg["task_specific_params"]["summarization"].get("prefix", "")
    res = {
        "about": "expected outputs of models/marian-en-de, models/marian-headlines and "
                 "models/marian-mul (its source prefixed with the target token), computed by "
                 "Hugging Face transformers 4.35.2 (float32, on the shipped F16 weights) with "
                 "tools/train/make_regression_fixture.py; generate() with max_new_tokens=64 and "
                 "each model's generation_config.json otherwise; greedy = num_beams 1, beam4 = "
                 "num_beams 4.",
        "transformers_version": __import__("transformers").__version__,
        "torch_version": torch.__version__,
        "weights_sha256": {},
        "translate": run(mt, mt_tok, TRANSLATE),
        "summarize": run(sm, sm_tok, SUMMARIZE, prefix),
        "summarize_prefix": prefix,
        "translate_multilingual": run(mul, mul_tok, [t for t, _ in MULTILINGUAL],
                                      targets=[g for _, g in MULTILINGUAL]),
    }
    import hashlib
    for name, d in (("marian-en-de", mt), ("marian-headlines", sm), ("marian-mul", mul)):
        with open(os.path.join(d, "model.safetensors"), "rb") as f:
            res["weights_sha256"][name] = hashlib.sha256(f.read()).hexdigest()
    path = os.path.join(ROOT, "tests", "fixtures", "default-models.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for task in ("translate", "summarize", "translate_multilingual"):
        for r in res[task]:
            print(f"{task}: {r['text'][:50]!r} -> {r['beam4_text']!r} "
                  f"(greedy gap {r['min_greedy_gap']})")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
