#!/usr/bin/python3
"""make_rnn_fixtures.py — the parity fixtures of the rnn_seq2seq architecture
(tests/fixtures/rnn/<variant>/): tiny random models of every variant (LSTM/GRU, additive/dot/
general, input feeding on/off, uni/bidirectional encoders, stacked layers, local window and top-k
hard attention), exported as model folders (F32 safetensors), and cases.json with what the
PyTorch reference (rnn.py) computes for them: teacher-forced logits and cross-attention, greedy
and beam-search token ids (transformers 4.35's search rules, forced eos at max_length, <pad>
banned). tests/unit/test_rnn.c checks attnserve against these.

    tools/train/make_rnn_fixtures.py [--out tests/fixtures/rnn]
"""
import argparse
import json
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_export  # noqa: E402
import rnn  # noqa: E402

V, PAD, EOS = 40, 39, 0
VARIANTS = {
    "lstm-additive": {"cell": "lstm", "attention": "additive", "encoder_layers": 2},
    "lstm-dot-feed": {"cell": "lstm", "attention": "dot", "input_feeding": True,
                      "decoder_layers": 2},
    "lstm-general": {"cell": "lstm", "attention": "general", "input_feeding": False},
    "gru-additive-uni": {"cell": "gru", "attention": "additive", "bidirectional_encoder": False,
                         "decoder_layers": 2},
    "gru-general-feed": {"cell": "gru", "attention": "general", "input_feeding": True,
                         "encoder_layers": 2},
    "lstm-general-local-top2": {"cell": "lstm", "attention": "general", "input_feeding": True,
                                "local_window": 2, "attention_top_k": 2},
}
MAX_LENGTH = 12
BEAMS = 3


def hf_greedy(model, src_ids, max_length):
    """transformers' greedy search: start token, argmax of the processed scores (<pad> banned,
    eos forced at the last position) until eos or max_length ids."""
    c = model.c
    enc, valid, keys = model.encode(torch.tensor([src_ids]))
    state, feed = model.decoder.init_state(enc, valid)
    ids = [PAD]
    while len(ids) < max_length:
        a, _, state, feed = model.decoder.step(model.decoder.embed(torch.tensor([ids[-1]])),
                                               state, feed, enc, keys, valid, len(ids) - 1,
                                               c["local_window"], c["attention_top_k"])
        lp = F.log_softmax(model.lm_head(a).float(), -1)[0]
        lp[PAD] = -float("inf")
        if len(ids) == max_length - 1:
            tok = EOS
        else:
            tok = int(lp.argmax())
        ids.append(tok)
        if tok == EOS:
            break
    return ids


def make(out_root, name, spec, seed):
    torch.manual_seed(seed)
    cfg = dict({"vocab_size": V, "embedding_size": 8, "hidden_size": 12, "encoder_layers": 1,
                "decoder_layers": 1, "bidirectional_encoder": True, "input_feeding": True,
                "local_window": -1, "attention_top_k": 0, "dropout": 0.0}, **spec)
    model = rnn.RNNSeq2Seq(cfg, PAD)
    with torch.no_grad():  # larger weights than training's init: peaked, tie-free outputs
        for p in model.parameters():
            p.uniform_(-0.6, 0.6)
        if seed % 2:  # half the variants end sentences early: beams finish on eos
            model.lm_head.bias[EOS] += 0.4
    model.eval()
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    config = dict(model.hf_config(), pad_token_id=PAD, eos_token_id=EOS, bos_token_id=EOS,
                  decoder_start_token_id=PAD, forced_eos_token_id=EOS, is_encoder_decoder=True)
    gen = {"bad_words_ids": [[PAD]], "bos_token_id": EOS, "decoder_start_token_id": PAD,
           "eos_token_id": EOS, "forced_eos_token_id": EOS, "max_length": MAX_LENGTH,
           "num_beams": 1, "pad_token_id": PAD}
    hf_export.export(out, model.export_state(), config, gen, {}, {"tokenizer_class": "none"},
                     dtype=torch.float32)
    os.remove(os.path.join(out, "tokenizer_config.json"))
    rng = random.Random(seed)
    cases = []
    for k, n in enumerate((1, 5, 9)):
        src = [rng.randrange(1, V - 1) for _ in range(n - 1)] + [EOS]
        dec = [PAD] + [rng.randrange(1, V - 1) for _ in range(6)]
        with torch.no_grad():
            logits, att = model(torch.tensor([src]), torch.tensor([dec]), return_attention=True)
            greedy = hf_greedy(model, src, MAX_LENGTH)
            beam, beam_score = rnn.beam_search(model, src, PAD, EOS, BEAMS, MAX_LENGTH,
                                               banned=(PAD,))
        cases.append({"name": f"case{k}", "input_ids": src, "decoder_input_ids": dec,
                      "logits": [round(x, 7) for x in logits[0].flatten().tolist()],
                      "cross_attentions": [round(x, 7) for x in att[0].flatten().tolist()],
                      "greedy_ids": greedy, "beam_ids": beam, "beam_score": beam_score,
                      "num_beams": BEAMS, "max_length": MAX_LENGTH})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"variant": name, "cases": cases}, f)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(hf_export.ROOT, "tests", "fixtures", "rnn"))
    args = ap.parse_args()
    for i, (name, spec) in enumerate(VARIANTS.items()):
        make(args.out, name, spec, 100 + i)
        print("wrote", os.path.join(args.out, name))


if __name__ == "__main__":
    main()
