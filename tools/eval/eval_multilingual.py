#!/usr/bin/python3
"""eval_multilingual.py — scores a four-language translator (models/marian-mul) in all 12
directions among en, de, fr, cs by running the C engine (attnserve-cli) over multi30k
test_2016_flickr (1,000 captions per direction), with the target token the server adds
(">>fr<< " before the source), and prints sacreBLEU 13a (cased, detokenized) per direction.

    tools/eval/eval_multilingual.py [--model models/marian-mul] [--cli build/cli/attnserve-cli]
                                    [--limit N] [--out DIR] [--json] [-- extra CLI options]

Decoding: the options config/attnserve.json gives the model named --name (default "mul"),
else 4 beams and at most 256 new tokens, unless extra options are passed. A dedicated model
can be scored on its one direction with --pairs en-de --no-prefix.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import data  # noqa: E402
from bleu import corpus_bleu  # noqa: E402
from eval_models import identical_to, run_cli, server_options  # noqa: E402


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "marian-mul"))
    ap.add_argument("--name", default="mul", help="the model's name in config/attnserve.json")
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "cli", "attnserve-cli"))
    ap.add_argument("--pairs", default="", help="comma-separated directions (default: all 12)")
    ap.add_argument("--no-prefix", action="store_true", help="a dedicated one-pair model")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N of each")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--json", action="store_true", help="also print the scores as JSON")
    ap.add_argument("--dtype", choices=("auto", "int8", "w8a8", "f16"), default="auto",
                    help="weights as stored (auto) or quantized to int8 at load; an int8 run "
                         "also prints the share of outputs identical to an earlier auto run's")
    args = ap.parse_args(argv)
    if not extra:
        extra = server_options(args.name) or ["--num-beams", "4", "--max-new-tokens", "256"]
    want = set(p for p in args.pairs.split(",") if p)
    rows = data.multilingual_splits()["test_multi30k"]
    by_dir = {}
    for s, t, x, y in rows:
        by_dir.setdefault(f"{s}-{t}", []).append((x, y))
    os.makedirs(args.out, exist_ok=True)
    scores, identical = {}, []
    for d, items in by_dir.items():
        if want and d not in want:
            continue
        if args.limit:
            items = items[: args.limit]
        tgt = d.split("-")[1]
        prefix = [] if args.no_prefix else ["--prefix", f">>{tgt}<< "]
        dflags = [] if args.dtype == "auto" else ["--dtype", args.dtype]
        hyps, secs = run_cli(args.cli, "translate", args.model, [x for x, _ in items],
                             prefix + extra + dflags)
        name = os.path.join(args.out, f"multi30k.{d}.hyp")
        suffix = "" if args.dtype == "auto" else "." + args.dtype
        with open(name + suffix, "w") as f:
            f.write("".join(h + "\n" for h in hyps))
        b = corpus_bleu(hyps, [y for _, y in items]).score
        scores[d] = round(b, 2)
        same = ""
        n_same = identical_to(hyps, name) if suffix else None
        if n_same is not None:
            same = f", {100 * n_same / len(hyps):.1f}% identical to the auto run"
            identical.append((n_same, len(hyps)))
        print(f"{d}: BLEU {b:.2f} ({len(items)} captions, {secs:.1f} s{same})", flush=True)
    if scores:
        mean = sum(scores.values()) / len(scores)
        print(f"mean over {len(scores)} directions: {mean:.2f}")
        scores["mean"] = round(mean, 2)
    if identical:
        same = sum(a for a, _ in identical) / sum(b for _, b in identical)
        print(f"identical to the auto run: {100 * same:.1f}% of all outputs")
    print("decoding:", " ".join(extra))
    if args.json:
        print(json.dumps(scores))


if __name__ == "__main__":
    main()
