#!/usr/bin/python3
"""train_han.py — the sentence-salience Hierarchical Attention Network (han.py) for whole-document
summaries (issue 14), trained on CNN/DailyMail with labels from a greedy ROUGE oracle.

    tools/train/train_han.py prepare        # sentences, pieces and oracle labels (cached)
    tools/train/train_han.py train          # resumable: run it again to continue
    tools/train/train_han.py eval [--split dev|test] [--weights best|epochK] [--engine DIR]
    tools/train/train_han.py export [--weights best|epochK] [--out models/han-cnndm]

Data: ../shared/data/cnndm holds only the CNN/DailyMail *test* set (11,490 articles, See et al.
2017). Articles 1-9,490 train, 9,491-10,490 are the dev set (choices), 10,491-11,490 the test set
(reported only). Articles are Penn-Treebank tokenised and lower-cased there; they are split into
sentences at their . ? ! tokens, detokenised (data.detok_ptb) so that they look like what users
send, and cut into models/marian-headlines' 8,000 SentencePiece pieces (case-folding), at most
50 sentences of at most 50 pieces. Labels: the greedy oracle of Nallapati et al. (2017): add the
sentence that most raises the mean of ROUGE-1 and ROUGE-2 F1 against the reference highlights,
while it does (at most 3). Scores: ROUGE-1/2/L F1 of the top 3 sentences in document order
(tools/eval/rouge.py, Porter stemming; ROUGE-L is the summary-level rougeLsum over the
sentences, one per line, as published CNN/DM figures are) next to lead-3 and the oracle.
"""
import argparse
import json
import os
import random
import re
import sys
import time
from collections import Counter

import sentencepiece as spm
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval"))
import data  # noqa: E402
import han  # noqa: E402
import marian  # noqa: E402
from rouge import rouge_scores  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work", "han")
RUN = os.path.join(HERE, "runs", "han")
TOK = os.path.join(data.ROOT, "models", "marian-headlines")
MAX_SENT, MAX_TOK = 50, 50
N_TRAIN, N_DEV = 9490, 1000
SEED = 1
ARCH = {"embedding_size": 128, "word_hidden": 64, "sentence_hidden": 64, "max_positions": 50,
        "dropout": 0.2}


def split_sentences(article):
    """Sentences of a PTB-tokenised article: a sentence ends at a . ? ! token (with a closing
    quote or bracket that follows it)."""
    out, cur = [], []
    toks = article.split()
    for i, t in enumerate(toks):
        cur.append(t)
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t in (".", "?", "!") and nxt not in ("''", ")", "'"):
            out.append(" ".join(cur))
            cur = []
        elif t in ("''", ")", "'") and len(cur) > 1 and cur[-2] in (".", "?", "!"):
            out.append(" ".join(cur))
            cur = []
    if cur:
        out.append(" ".join(cur))
    return out


def words(s):
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).split()


def oracle(sents, ref, k=3):
    """Greedy ROUGE-1+2 oracle: indices of the chosen sentences (Nallapati et al. 2017)."""
    ref_w = words(ref)
    r1, r2 = Counter(ref_w), Counter(zip(ref_w, ref_w[1:]))
    sw = [words(s) for s in sents]

    def score(sel):
        w = [x for i in sorted(sel) for x in sw[i]]
        c1, c2 = Counter(w), Counter(zip(w, w[1:]))
        f = 0.0
        for c, r in ((c1, r1), (c2, r2)):
            o = sum((c & r).values())
            p, q = o / max(sum(c.values()), 1), o / max(sum(r.values()), 1)
            f += 2 * p * q / (p + q) if p + q else 0.0
        return f / 2

    chosen, best = [], 0.0
    while len(chosen) < k:
        cand = [(score(chosen + [i]), i) for i in range(len(sents)) if i not in chosen]
        if not cand:
            break
        s, i = max(cand)
        if s <= best:
            break
        chosen.append(i)
        best = s
    return sorted(chosen)


def vocab():
    return marian.Vocab(spm.SentencePieceProcessor(model_file=os.path.join(TOK, "source.spm")))


def prepare():
    path = os.path.join(WORK, "data.pt")
    if os.path.exists(path):
        return torch.load(path)
    os.makedirs(WORK, exist_ok=True)
    v = vocab()
    arts = data.read_lines("cnndm/test.article.gz")
    refs = data.read_lines("cnndm/test.reference.gz")
    docs = []
    t0 = time.time()
    for i, (a, r) in enumerate(zip(arts, refs)):
        sents = [data.detok_ptb(s) for s in split_sentences(a)][:MAX_SENT]
        ref = "\n".join(data.detok_ptb(x) for x in r.split("<q>"))
        ids = [v.encode(s)[:MAX_TOK - 1] + [v.eos] for s in sents]
        docs.append({"sents": sents, "ids": ids, "ref": ref, "label": oracle(sents, ref)})
        if i % 1000 == 0:
            print(f"prepare: {i} articles, {time.time() - t0:.0f} s", flush=True)
    torch.save(docs, path)
    return docs


def splits(docs):
    return docs[:N_TRAIN], docs[N_TRAIN:N_TRAIN + N_DEV], docs[N_TRAIN + N_DEV:]


def batch_tensors(docs, pad):
    S = max(len(d["ids"]) for d in docs)
    T = max(len(s) for d in docs for s in d["ids"])
    ids = torch.full((len(docs), S, T), pad, dtype=torch.long)
    n_tok = torch.zeros((len(docs), S), dtype=torch.long)
    lab = torch.zeros((len(docs), S))
    for b, d in enumerate(docs):
        for i, s in enumerate(d["ids"]):
            ids[b, i, : len(s)] = torch.tensor(s)
            n_tok[b, i] = len(s)
        for i in d["label"]:
            lab[b, i] = 1.0
    n_sent = torch.tensor([len(d["ids"]) for d in docs])
    return ids, n_tok, n_sent, lab


@torch.no_grad()
def scores(model, docs, pad, batch=32):
    model.eval()
    out = []
    for b in range(0, len(docs), batch):
        chunk = docs[b: b + batch]
        ids, n_tok, n_sent, _ = batch_tensors(chunk, pad)
        logits, _, _ = model(ids, n_tok, n_sent)
        for d, row in zip(chunk, logits):
            out.append(row[: len(d["ids"])].tolist())
    return out


def trigrams(s):
    w = words(s)
    return set(zip(w, w[1:], w[2:]))


def top_k_summary(doc, sc, k=3, block=True):
    """The k best sentences in document order. block: trigram blocking (Paulus et al. 2018), as
    the C engine's tx_text_extract: best first, a sentence sharing a word trigram with one
    already chosen is skipped; the best skipped ones fill up when too few are left."""
    order = sorted(range(len(sc)), key=lambda i: (-sc[i], i))
    pick, seen = [], set()
    for i in order:
        if len(pick) == k:
            break
        t = trigrams(doc["sents"][i])
        if block and t & seen:
            continue
        pick.append(i)
        seen |= t
    pick += [i for i in order if i not in pick][:k - len(pick)]
    return "\n".join(doc["sents"][i] for i in sorted(pick))


def rouge_of(docs, summaries):
    r = rouge_scores(summaries, [d["ref"] for d in docs])
    return {k: round(r[k], 2) for k in ("rouge1", "rouge2", "rougeLsum")}


def model_config(v):
    return dict(ARCH, vocab_size=len(v.pieces), pad_token_id=v.pad, eos_token_id=v.eos)


def cmd_train(args):
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", "1")))
    v = vocab()
    train, dev, _ = splits(prepare())
    os.makedirs(RUN, exist_ok=True)
    model = han.HAN(model_config(v))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    state = {"epoch": 0, "best": -1.0, "best_epoch": -1, "history": []}
    last = os.path.join(RUN, "last.pt")
    if os.path.exists(last):
        ck = torch.load(last)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        print("resume at epoch", state["epoch"], flush=True)
    torch.manual_seed(SEED + state["epoch"])
    while state["epoch"] < args.epochs:
        ep = state["epoch"]
        order = list(range(len(train)))
        random.Random(SEED * 1000 + ep).shuffle(order)
        model.train()
        t0, tot, n = time.time(), 0.0, 0
        for b in range(0, len(order), args.batch):
            chunk = [train[i] for i in order[b: b + args.batch]]
            ids, n_tok, n_sent, lab = batch_tensors(chunk, v.pad)
            logits, _, _ = model(ids, n_tok, n_sent)
            mask = torch.arange(ids.shape[1])[None, :] < n_sent[:, None]
            loss = F.binary_cross_entropy_with_logits(logits[mask], lab[mask])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
            opt.step()
            tot += float(loss)
            n += 1
            if n % 50 == 0:
                print(json.dumps({"event": "train", "epoch": ep, "batch": n, "loss": round(tot / n, 4),
                                  "s": round(time.time() - t0)}), flush=True)
        sc = scores(model, dev, v.pad)
        r = rouge_of(dev, [top_k_summary(d, s) for d, s in zip(dev, sc)])
        score = (r["rouge1"] + r["rouge2"] + r["rougeLsum"]) / 3
        torch.save({"model": model.state_dict()}, os.path.join(RUN, f"epoch-{ep}.pt"))
        if score > state["best"]:
            state["best"], state["best_epoch"] = score, ep
            torch.save({"model": model.state_dict(), "epoch": ep}, os.path.join(RUN, "best.pt"))
        state["history"].append({"epoch": ep, "dev": r, "loss": round(tot / max(n, 1), 4),
                                 "seconds": round(time.time() - t0)})
        state["epoch"] += 1
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state}, last)
        print(json.dumps({"event": "valid", **state["history"][-1], "best_epoch": state["best_epoch"]}),
              flush=True)


def load_model(v, which):
    model = han.HAN(model_config(v))
    path = os.path.join(RUN, "best.pt" if which == "best" else f"epoch-{int(which[5:])}.pt")
    model.load_state_dict(torch.load(path)["model"])
    return model.eval()


def cmd_export(args):
    """A model folder: config.json, F16 model.safetensors, models/marian-headlines' tokenizer."""
    import hf_export
    v = vocab()
    model = load_model(v, args.weights)
    spm_path = os.path.join(TOK, "source.spm")
    hf_export.export(args.out, model.state_dict(), dict(model.hf_config(), eos_token_id=v.eos),
                     {"pad_token_id": v.pad, "eos_token_id": v.eos},
                     {"source.spm": spm_path, "target.spm": spm_path,
                      "vocab.json": os.path.join(TOK, "vocab.json")},
                     json.load(open(os.path.join(TOK, "tokenizer_config.json"))),
                     {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
    print(f"exported {args.weights} to {args.out}")


def engine_summaries(model_dir, docs, cli):
    """Top-3 summaries of docs by the C engine (attnserve-cli extract --tabs)."""
    import subprocess
    inp = "".join("\t".join(s.replace("\t", " ") for s in d["sents"]) + "\n" for d in docs)
    p = subprocess.run([cli, "extract", "--model", model_dir, "--tabs", "--top", "3"],
                       input=inp, capture_output=True, text=True, check=True)
    out = [json.loads(x) for x in p.stdout.splitlines()]
    return ["\n".join(o["sentences"][i] for i in o["top"]) for o in out]


def cmd_eval(args):
    v = vocab()
    _, dev, test = splits(prepare())
    docs = dev if args.split == "dev" else test
    lead3 = rouge_of(docs, ["\n".join(d["sents"][:3]) for d in docs])
    orc = rouge_of(docs, ["\n".join(d["sents"][i] for i in d["label"]) for d in docs])
    res = {"split": args.split, "articles": len(docs), "lead3": lead3, "oracle": orc}
    if args.engine:  # the exported model through the C engine
        res["han_top3_engine"] = rouge_of(docs, engine_summaries(args.engine, docs, args.cli))
    elif os.path.exists(os.path.join(RUN, "best.pt")):
        model = load_model(v, args.weights)
        sc = scores(model, docs, v.pad)
        res["han_top3"] = rouge_of(docs, [top_k_summary(d, s) for d, s in zip(docs, sc)])
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("prepare")
    t = sub.add_parser("train")
    t.add_argument("--epochs", type=int, default=8)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--lr", type=float, default=1e-3)
    e = sub.add_parser("eval")
    e.add_argument("--split", choices=("dev", "test"), default="dev")
    e.add_argument("--weights", default="best")
    e.add_argument("--engine", help="score this exported model folder with attnserve-cli instead")
    e.add_argument("--cli", default=os.path.join(data.ROOT, "build", "cli", "attnserve-cli"))
    x = sub.add_parser("export")
    x.add_argument("--weights", default="best")
    x.add_argument("--out", default=os.path.join(data.ROOT, "models", "han-cnndm"))
    args = ap.parse_args()
    if args.cmd == "prepare":
        docs = prepare()
        tr, dev, te = splits(docs)
        print(f"{len(tr)} train, {len(dev)} dev, {len(te)} test articles; "
              f"{sum(len(d['ids']) for d in docs) / len(docs):.1f} sentences per article; "
              f"{sum(len(d['label']) for d in docs) / len(docs):.2f} oracle sentences")
    elif args.cmd == "train":
        cmd_train(args)
    elif args.cmd == "export":
        cmd_export(args)
    else:
        cmd_eval(args)


if __name__ == "__main__":
    main()
