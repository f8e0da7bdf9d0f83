#!/usr/bin/python3
"""eval_summary_modes.py — scores every /summarize mode of the shipped configuration on the 1,000
held-out CNN/DailyMail articles (10,491-11,490 of ../shared/data/cnndm, the test split of
tools/train/train_han.py), through a running server, as a user's request would go.

    tools/eval/eval_summary_modes.py [--server build/server/attnserve] [--config config/attnserve.json]
                                     [--limit N] [--out tools/eval/out/summary_modes.json]

The articles are Penn-Treebank tokenised and lower-cased there: each is split at its . ? ! tokens
and detokenised as for training (train_han.py), and each sentence's first letter is upper-cased so
that the server's sentence splitter (". " followed by a capital) finds the same sentences; the
script reports how often it did. The reference is the highlights, one per line. Modes: document
(the default: headlines on the whole article, condensed by the extract model to its best sentences
that fit headlines' 96-piece input), abstractive (headlines on the article cut to 96 pieces),
extractive (extract's top 3 sentences), highlights (headlines on each of those 3), next to lead-3.
ROUGE-1/2/L F1 (tools/eval/rouge.py, Porter stemming; ROUGE-L is the summary-level rougeLsum over
lines: a summary's sentences, or highlights, one per line).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, HERE)
import data  # noqa: E402
from rouge import rouge_scores  # noqa: E402
from train_han import N_DEV, N_TRAIN, split_sentences  # noqa: E402

MODES = ("document", "abstractive", "extractive", "highlights")


def articles(limit):
    arts = data.read_lines("cnndm/test.article.gz")[N_TRAIN + N_DEV:]
    refs = data.read_lines("cnndm/test.reference.gz")[N_TRAIN + N_DEV:]
    out = []
    for a, r in list(zip(arts, refs))[:limit]:
        sents = [data.detok_ptb(s) for s in split_sentences(a)]
        sents = [s[:1].upper() + s[1:] for s in sents if s]
        out.append({"sents": sents, "text": " ".join(sents),
                    "ref": "\n".join(data.detok_ptb(x) for x in r.split("<q>"))})
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    req = urllib.request.Request(url + "/summarize", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise SystemExit(f"/summarize {body.get('mode')}: {e.code} {e.read()[:300]}")


def summary_lines(mode, s):
    """The summary as lines for rougeLsum: sentences (extractive), highlights, or one line."""
    if mode == "extractive":
        return "\n".join(s["sentences"][i]["text"] for i in s["used_sentences"])
    return s["text"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=os.path.join(ROOT, "build", "server", "attnserve"))
    ap.add_argument("--config", default=os.path.join(ROOT, "config", "attnserve.json"))
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--out", default=os.path.join(HERE, "out", "summary_modes.json"))
    args = ap.parse_args()
    docs = articles(args.limit)
    port = free_port()
    srv = subprocess.Popen([args.server, "--config", args.config, "--port", str(port),
                            "--log-level", "warn"])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/readyz", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        res = {"articles": len(docs)}
        hyps = {}
        for mode in MODES:
            t0 = time.time()
            with ThreadPoolExecutor(4) as pool:
                out = list(pool.map(lambda d: post(url, {"text": d["text"], "mode": mode}), docs))
            sec = time.time() - t0
            sums = [o["summaries"][0] for o in out]
            hyps[mode] = [summary_lines(mode, s) for s in sums]
            r = rouge_scores(hyps[mode], [d["ref"] for d in docs])
            res[mode] = {k: round(r[k], 2) for k in ("rouge1", "rouge2", "rougeLsum")}
            res[mode]["seconds"] = round(sec, 1)
            res[mode]["truncated"] = sum(s["truncated"] for s in sums)
            if mode == "document":
                res[mode]["condensed"] = sum(bool(s.get("condensed")) for s in sums)
                res[mode]["mean_sentences_read"] = round(
                    sum(len(s.get("used_sentences", [])) for s in sums if s.get("condensed")) /
                    max(1, res[mode]["condensed"]), 2)
            if mode == "extractive":
                res["splitter_agrees"] = sum(len(s["sentences"]) == len(d["sents"])
                                             for s, d in zip(sums, docs))
            print(mode, json.dumps(res[mode]), flush=True)
        lead = rouge_scores(["\n".join(d["sents"][:3]) for d in docs], [d["ref"] for d in docs])
        res["lead3"] = {k: round(lead[k], 2) for k in ("rouge1", "rouge2", "rougeLsum")}
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"scores": res, "hypotheses": hyps}, f, indent=1)
        print(json.dumps(res))
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
