#!/usr/bin/env python3
"""hf_generate_speed.py — Hugging Face transformers' greedy generate() speed on a local Marian
checkpoint: the reference side of bench/vs_transformers.sh (a development aid: it needs the
transformers oracle of ../shared/oracle, never part of the build or tests).

    export ORACLE_ROOT=/tmp/oracle; . ../shared/oracle/env.sh
    $PY bench/hf_generate_speed.py MODEL_DIR --input-ids 5,17,... --new 32 --threads 2 [--reps 5]

Prints one JSON line: the generated ids (decoder start first), the best wall time of generate()
for 1 and for `new` new tokens (eos banned until `new`, so every step runs), and the decode rate
(new - 1) / (t_new - t_1) in tokens/s, which leaves out the encoder and the first step.
"""
import argparse
import json
import time

import torch
from transformers import MarianMTModel


def best_time(model, ids, new, reps):
    best, out = 1e30, None
    for _ in range(reps):
        t0 = time.perf_counter()
        with torch.no_grad():
            out = model.generate(ids, num_beams=1, do_sample=False, max_new_tokens=new,
                                 min_new_tokens=new)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--input-ids", required=True)
    ap.add_argument("--new", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    model = MarianMTModel.from_pretrained(a.model, local_files_only=True).eval()
    load_s = time.perf_counter() - t0
    ids = torch.tensor([[int(x) for x in a.input_ids.split(",")]])
    best_time(model, ids, 2, 1)  # warm-up
    t1, _ = best_time(model, ids, 1, a.reps)
    tn, out = best_time(model, ids, a.new, a.reps)
    print(json.dumps({"ids": out[0].tolist(), "load_s": load_s, "t_1": t1, "t_new": tn,
                      "new": a.new, "threads": a.threads,
                      "generate_tokens_per_s": a.new / tn,
                      "decode_tokens_per_s": (a.new - 1) / (tn - t1)}))


if __name__ == "__main__":
    main()
