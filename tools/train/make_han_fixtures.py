#!/usr/bin/python3
"""make_han_fixtures.py — parity fixtures of the han architecture (tests/fixtures/han/tiny/): a
tiny random model of tools/train/han.py exported as a model folder (F32 safetensors) and
cases.json with what the PyTorch reference computes for documents of 1, 3 and 7 sentences (7 >
max_positions 4: later sentences share the last position bias): salience logits, the sentence
attention and each sentence's word attention. tests/unit/test_han.c checks attnserve against it.

    tools/train/make_han_fixtures.py [--out tests/fixtures/han]
"""
import argparse
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_export  # noqa: E402
import han  # noqa: E402

V, PAD = 30, 29


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(hf_export.ROOT, "tests", "fixtures", "han"))
    args = ap.parse_args()
    torch.manual_seed(7)
    model = han.HAN({"vocab_size": V, "embedding_size": 6, "word_hidden": 5, "sentence_hidden": 4,
                     "max_positions": 4, "pad_token_id": PAD, "dropout": 0.0})
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.7, 0.7)
    model.eval()
    out = os.path.join(args.out, "tiny")
    os.makedirs(out, exist_ok=True)
    config = dict(model.hf_config(), eos_token_id=0)
    hf_export.export(out, model.state_dict(), config, {"pad_token_id": PAD, "eos_token_id": 0},
                     {}, {"tokenizer_class": "none"}, dtype=torch.float32)
    os.remove(os.path.join(out, "tokenizer_config.json"))
    rng = random.Random(7)
    cases = []
    for k, n_sent in enumerate((1, 3, 7)):
        sents = [[rng.randrange(1, V - 1) for _ in range(rng.randrange(1, 9))] + [0]
                 for _ in range(n_sent)]
        S, T = len(sents), max(map(len, sents))
        ids = torch.full((1, S, T), PAD, dtype=torch.long)
        n_tok = torch.zeros((1, S), dtype=torch.long)
        for i, s in enumerate(sents):
            ids[0, i, : len(s)] = torch.tensor(s)
            n_tok[0, i] = len(s)
        with torch.no_grad():
            logits, wa, sa = model(ids, n_tok, torch.tensor([S]))
        cases.append({"name": f"doc{k}", "sentences": sents,
                      "scores": [round(x, 7) for x in logits[0].tolist()],
                      "sentence_attention": [round(x, 7) for x in sa[0].tolist()],
                      "word_attention": [round(x, 7) for i, s in enumerate(sents)
                                         for x in wa[0, i, : len(s)].tolist()]})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"cases": cases}, f)
        f.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
