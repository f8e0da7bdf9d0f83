#!/usr/bin/python3
"""eval_models.py — scores the shipped default models by running the C engine (attnserve-cli)
over the held-out test sets, exactly as a user's text would go through it.

    tools/eval/eval_models.py [--cli build/cli/attnserve-cli] [--only translate|summarize]
                              [--limit N] [--out DIR] [--valid] [--dtype auto|int8|f16]
                              [-- extra attnserve-cli options]

Recurrent translator (--only rnn, models/rnn-en-de-additive or --rnn-model): as the translator.
Translator (models/marian-en-de): BLEU (sacreBLEU 13a, cased, detokenized) on multi30k
test_2016_flickr and on the europarl folder's test file (newstest2015, first 1,000 lines).
Summarizer (models/marian-headlines): ROUGE-1/2/L F1 (rouge-score definitions, Porter stemming) on the
second half of the gigaword sample's valid file and on the Reuters-21578 test set, normalised as
for training (tools/train/data.py), next to the lead-N baseline with N tuned on the dev splits
(the first half of that valid file; the held-out end of the Reuters train file).
Decoding uses each model's generation_config.json plus the options the server's default
configuration (config/attnserve.json) gives that model, unless extra options are passed.
Hypotheses are written to --out (default tools/eval/out/) for inspection. --dtype int8|f16
keeps the weights as int8 or F16 (attnserve-cli --dtype) and, when the F32 run's outputs are in
--out, also prints the share of outputs identical to them.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import data  # noqa: E402
from bleu import corpus_bleu  # noqa: E402
from lead import lead  # noqa: E402
from rouge import rouge_scores  # noqa: E402


def server_options(name):
    """The default_options of model `name` in config/attnserve.json, as CLI flags."""
    cfg = json.load(open(os.path.join(ROOT, "config", "attnserve.json")))
    for m in cfg["models"]:
        if m["name"] == name:
            flags = []
            for k, v in m.get("default_options", {}).items():
                flags += ["--" + k.replace("_", "-"), str(v).lower() if isinstance(v, bool)
                          else str(v)]
            return flags
    return []


def run_cli(cli, cmd, model, texts, extra):
    args = [cli, cmd, "--model", model, *extra]
    t0 = time.time()
    p = subprocess.run(args, input="".join(t.replace("\n", " ") + "\n" for t in texts),
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    out = p.stdout.split("\n")
    if out and out[-1] == "":
        out.pop()
    if len(out) != len(texts):
        raise SystemExit(f"{cmd}: {len(texts)} inputs but {len(out)} outputs")
    return out, time.time() - t0


def save(out_dir, name, lines, dtype="auto"):
    """Writes the outputs (name gets a .int8 suffix for int8 runs); for an int8 run whose F32
    twin is there, returns the share of identical outputs, else None."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name + ("" if dtype == "auto" else "." + dtype))
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(x + "\n" for x in lines)
    same = identical_to(lines, os.path.join(out_dir, name)) if dtype != "auto" else None
    if same is None:
        return None
    print(f"  {'':16s} identical to the F32 outputs: {100 * same / len(lines):.1f}%")
    return round(100 * same / len(lines), 1)


def identical_to(lines, path):
    """How many of lines equal the same line of the outputs saved at path (an earlier run's),
    or None when there is no such file of as many lines."""
    if not os.path.exists(path):
        return None
    ref = open(path, encoding="utf-8").read().split("\n")[: len(lines)]
    if len(ref) != len(lines):
        return None
    return sum(a == b for a, b in zip(lines, ref))


def dtype_flags(a):
    return [] if a.dtype == "auto" else ["--dtype", a.dtype]


def eval_translator(a, extra, model=None, name="en-de", tag="translate"):
    model = model or os.path.join(ROOT, "models", "marian-en-de")
    flags = (extra or server_options(name)) + dtype_flags(a)
    s = data.translator_splits()
    print(f"translator {model} ({' '.join(flags) or 'generation_config.json'})")
    res = {}
    for name in ("test_multi30k", "test_europarl"):
        pairs = s[name][: a.limit or None]
        hyps, dt = run_cli(a.cli, "translate", model, [x for x, _ in pairs], flags)
        b = corpus_bleu(hyps, [y for _, y in pairs])
        res[name] = round(b.score, 2)
        print(f"  {name:16s} {len(pairs):5d} sentences  BLEU {b.score:6.2f}  "
              f"({'/'.join(f'{p:.1f}' for p in b.precisions)}, BP {b.bp:.3f})  {dt:6.1f} s")
        save(a.out, f"{tag}.{name}.de", hyps, a.dtype)
    return res


def tune_lead(pairs):
    best = None
    for n in range(1, 31):
        r = rouge_scores(lead([x for x, _ in pairs], n), [y for _, y in pairs])
        m = (r["rouge1"] + r["rouge2"] + r["rougeL"]) / 3
        if best is None or m > best[0]:
            best = (m, n)
    return best[1]


def eval_summarizer(a, extra):
    model = os.path.join(ROOT, "models", "marian-headlines")
    flags = (extra or server_options("headlines")) + dtype_flags(a)
    s = data.summarizer_splits()
    print(f"summarizer {model} ({' '.join(flags) or 'generation_config.json'})")
    res = {}
    for test, valid in (("test_gigaword", "dev_gigaword"), ("test_reuters", "valid_reuters")):
        if a.valid:  # for choosing decoding options: the dev split in place of the test
            test = valid
        pairs = s[test][: a.limit or None]
        n = tune_lead(s[valid])
        hyps, dt = run_cli(a.cli, "summarize", model, [x for x, _ in pairs], flags)
        refs = [y for _, y in pairs]
        r = rouge_scores(hyps, refs)
        lb = rouge_scores(lead([x for x, _ in pairs], n), refs)
        res[test] = {"model": {k: round(r[k], 2) for k in ("rouge1", "rouge2", "rougeL")},
                     f"lead{n}": {k: round(lb[k], 2) for k in ("rouge1", "rouge2", "rougeL")}}
        print(f"  {test:14s} {len(pairs):5d} texts  model  R1 {r['rouge1']:5.2f} "
              f"R2 {r['rouge2']:5.2f} RL {r['rougeL']:5.2f}   {dt:6.1f} s")
        save(a.out, f"summarize.{test}.txt", hyps, a.dtype)
        print(f"  {'':14s} {'':5s}        lead-{n:<2d} R1 {lb['rouge1']:5.2f} "
              f"R2 {lb['rouge2']:5.2f} RL {lb['rougeL']:5.2f}   (N tuned on {valid})")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "cli", "attnserve-cli"))
    ap.add_argument("--only", choices=("translate", "summarize", "rnn"))
    ap.add_argument("--rnn-model", default=os.path.join(ROOT, "models", "rnn-en-de-additive"),
                    help="--only rnn: the recurrent translator to score (options of en-de-rnn)")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N of each set")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--json", action="store_true", help="also print the scores as JSON")
    ap.add_argument("--dtype", choices=("auto", "int8", "w8a8", "f16"), default="auto",
                    help="weights as stored (auto), quantized to int8 at load, or kept as F16")
    ap.add_argument("--valid", action="store_true",
                    help="summarizer: score the dev splits instead of the test sets "
                         "(to choose decoding options without looking at the test sets)")
    a, extra = ap.parse_known_args()
    extra = [x for x in extra if x != "--"]
    if not os.access(a.cli, os.X_OK):
        raise SystemExit(f"{a.cli}: not found; build first (make build)")
    res = {}
    if a.only in (None, "translate"):
        res["translate"] = eval_translator(a, extra)
    if a.only in (None, "summarize"):
        res["summarize"] = eval_summarizer(a, extra)
    if a.only in (None, "rnn"):
        res["rnn"] = eval_translator(a, extra, a.rnn_model, "en-de-rnn",
                                     "rnn." + os.path.basename(a.rnn_model.rstrip("/")))
    if a.json:
        print(json.dumps(res))


if __name__ == "__main__":
    main()
