"""trainer.py — the training loop both default models share: token-budget batches, Adam with
inverse-square-root warm-up, label smoothing, bfloat16 autocast on the CPU, validation after every
epoch, resumable checkpoints (written atomically every few minutes and at each epoch end), the
best epoch kept by the validation score, and an average of the last epochs' weights.

A run is a folder (tools/train/runs/<name>/, never committed):
  last.pt          model + optimizer + schedule + RNG + position in the epoch: resume point
  epoch-<k>.pt     model weights after epoch k (the last `keep` are kept, for averaging)
  best.pt          weights of the epoch with the best validation score
  log.jsonl        one line per logging interval and per validation
Running the same command again resumes from last.pt; data order depends only on the seed and the
epoch number, so a resumed run sees the same batches as an uninterrupted one.
"""
import json
import math
import os
import random
import time

import torch
import torch.nn.functional as F


def setup_threads():
    n = int(os.environ.get("TRAIN_THREADS", "0")) or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


def make_batches(examples, max_tokens, seed, epoch, max_sentences=256):
    """Groups examples (src_ids, tgt_ids) of similar length into batches whose padded size
    (rows x longest side) stays under max_tokens; returns them in a seeded random order."""
    rng = random.Random(seed * 1000003 + epoch)
    idx = list(range(len(examples)))
    rng.shuffle(idx)  # random order among equal lengths
    idx.sort(key=lambda i: (len(examples[i][0]), len(examples[i][1])))
    batches, cur, longest = [], [], 0
    for i in idx:
        n = max(len(examples[i][0]), len(examples[i][1]))
        if cur and (max(longest, n) * (len(cur) + 1) > max_tokens or len(cur) >= max_sentences):
            batches.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def collate(examples, batch, pad_id, start_id):
    """-> src [B,S], dec_in [B,T], labels [B,T] (labels -100 on padding)."""
    srcs = [examples[i][0] for i in batch]
    tgts = [examples[i][1] for i in batch]
    s, t = max(map(len, srcs)), max(map(len, tgts))
    src = torch.full((len(batch), s), pad_id, dtype=torch.long)
    dec = torch.full((len(batch), t), pad_id, dtype=torch.long)
    lab = torch.full((len(batch), t), -100, dtype=torch.long)
    for r, (a, b) in enumerate(zip(srcs, tgts)):
        src[r, : len(a)] = torch.tensor(a)
        dec[r, 0] = start_id
        dec[r, 1: len(b)] = torch.tensor(b[:-1])
        lab[r, : len(b)] = torch.tensor(b)
    return src, dec, lab


def smoothed_loss(logits, labels, eps):
    """Label-smoothed cross entropy (fairseq style) summed over non-padding tokens."""
    lp = F.log_softmax(logits.float(), dim=-1)
    keep = labels != -100
    tgt = labels.clamp(min=0)
    nll = -lp.gather(-1, tgt[..., None]).squeeze(-1)
    smooth = -lp.mean(-1)
    loss = ((1 - eps) * nll + eps * smooth)[keep].sum()
    return loss, nll[keep].sum(), int(keep.sum())


def fused_smoothed_loss(logits, labels, eps):
    """The same label-smoothed loss as smoothed_loss in one fused call (F.cross_entropy with
    label_smoothing: (1 - eps) nll + eps mean(-log p), summed over non-padding tokens); fewer
    passes over the (tokens, vocab) logits. Its second value is that smoothed loss, not the nll."""
    v = logits.shape[-1]
    loss = F.cross_entropy(logits.reshape(-1, v), labels.reshape(-1), ignore_index=-100,
                           label_smoothing=eps, reduction="sum")
    return loss, loss.detach(), int((labels != -100).sum())


def _save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def average_weights(paths):
    avg = None
    for p in paths:
        sd = torch.load(p, map_location="cpu")["model"]
        if avg is None:
            avg = {k: v.clone().double() for k, v in sd.items()}
        else:
            for k in avg:
                avg[k] += sd[k].double()
    return {k: (v / len(paths)).float() for k, v in avg.items()}


class Trainer:
    def __init__(self, run_dir, model, examples, *, pad_id, start_id, validate, seed=1,
                 max_tokens=4096, lr=1e-3, warmup=2000, label_smoothing=0.1, epochs=30,
                 keep=5, clip=1.0, checkpoint_every_s=600, bf16=True, loss=smoothed_loss):
        self.run_dir, self.model, self.examples = run_dir, model, examples
        self.pad_id, self.start_id, self.validate = pad_id, start_id, validate
        self.seed, self.max_tokens, self.lr, self.warmup = seed, max_tokens, lr, warmup
        self.eps, self.epochs, self.keep, self.clip = label_smoothing, epochs, keep, clip
        self.every, self.bf16, self.loss = checkpoint_every_s, bf16, loss
        os.makedirs(run_dir, exist_ok=True)
        self.opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-9)
        self.state = {"epoch": 0, "batch": 0, "step": 0, "best": -math.inf, "best_epoch": -1,
                      "history": [], "train_seconds": 0.0}
        self.log_path = os.path.join(run_dir, "log.jsonl")

    def log(self, **kv):
        kv["time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        line = json.dumps(kv)
        print(line, flush=True)
        with open(self.log_path, "a") as f:
            f.write(line + "\n")

    def lr_at(self, step):
        step = max(step, 1)
        return self.lr * min(step / self.warmup, math.sqrt(self.warmup / step))

    def checkpoint(self):
        _save({"model": self.model.state_dict(), "opt": self.opt.state_dict(),
               "state": self.state, "rng": torch.get_rng_state(),
               "py_rng": random.getstate()}, os.path.join(self.run_dir, "last.pt"))

    def resume(self):
        path = os.path.join(self.run_dir, "last.pt")
        if not os.path.exists(path):
            torch.manual_seed(self.seed)
            random.seed(self.seed)
            return False
        ck = torch.load(path, map_location="cpu")
        self.model.load_state_dict(ck["model"])
        self.opt.load_state_dict(ck["opt"])
        self.state = ck["state"]
        torch.set_rng_state(ck["rng"])
        random.setstate(ck["py_rng"])
        self.log(event="resume", epoch=self.state["epoch"], batch=self.state["batch"],
                 step=self.state["step"])
        return True

    def run(self, stop_after_s=None):
        self.resume()
        t_start = time.time()
        last_ck = time.time()
        while self.state["epoch"] < self.epochs:
            ep = self.state["epoch"]
            batches = make_batches(self.examples, self.max_tokens, self.seed, ep)
            self.model.train()
            tot_nll, tot_tok, t0 = 0.0, 0, time.time()
            while self.state["batch"] < len(batches):
                bi = self.state["batch"]
                src, dec, lab = collate(self.examples, batches[bi], self.pad_id, self.start_id)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                    logits = self.model(src, dec)
                loss, nll, ntok = self.loss(logits, lab, self.eps)
                self.opt.zero_grad(set_to_none=True)
                (loss / ntok).backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
                self.state["step"] += 1
                for g in self.opt.param_groups:
                    g["lr"] = self.lr_at(self.state["step"])
                self.opt.step()
                self.state["batch"] += 1
                tot_nll += float(nll)
                tot_tok += ntok
                if self.state["step"] % 100 == 0:
                    dt = time.time() - t0
                    self.log(event="train", epoch=ep, batch=bi + 1, of=len(batches),
                             step=self.state["step"], nll=round(tot_nll / max(tot_tok, 1), 4),
                             tok_per_s=round(tot_tok / max(dt, 1e-9)),
                             lr=round(self.lr_at(self.state["step"]), 7))
                if time.time() - last_ck > self.every:
                    self.state["train_seconds"] += time.time() - last_ck
                    last_ck = time.time()
                    self.checkpoint()
                if stop_after_s and time.time() - t_start > stop_after_s:
                    self.state["train_seconds"] += time.time() - last_ck
                    self.checkpoint()
                    self.log(event="stopped", reason="time limit")
                    return
            # epoch end: validate, keep weights, move on
            self.model.eval()
            score, detail = self.validate(self.model)
            self.model.train()
            self.state["history"].append({"epoch": ep, "score": score, **detail})
            _save({"model": self.model.state_dict()},
                  os.path.join(self.run_dir, f"epoch-{ep}.pt"))
            old = os.path.join(self.run_dir, f"epoch-{ep - self.keep}.pt")
            if os.path.exists(old):
                os.remove(old)
            if score > self.state["best"]:
                self.state["best"], self.state["best_epoch"] = score, ep
                _save({"model": self.model.state_dict(), "epoch": ep, "score": score},
                      os.path.join(self.run_dir, "best.pt"))
            self.log(event="valid", epoch=ep, score=round(score, 3), **detail,
                     best=round(self.state["best"], 3), best_epoch=self.state["best_epoch"],
                     train_nll=round(tot_nll / max(tot_tok, 1), 4))
            self.state["epoch"] += 1
            self.state["batch"] = 0
            self.state["train_seconds"] += time.time() - last_ck
            last_ck = time.time()
            self.checkpoint()
        self.log(event="done", epochs=self.epochs, best=self.state["best"],
                 best_epoch=self.state["best_epoch"],
                 train_hours=round(self.state["train_seconds"] / 3600, 2))

    def epoch_files(self):
        eps = sorted(int(f[6:-3]) for f in os.listdir(self.run_dir)
                     if f.startswith("epoch-") and f.endswith(".pt"))
        return [os.path.join(self.run_dir, f"epoch-{e}.pt") for e in eps]


def load_weights(run_dir, which):
    """Weights of a run: "best" (best.pt), "epochK" (the end of epoch K) or "avgN" (mean of the
    last N epoch files, N=5)."""
    if which == "best":
        return torch.load(os.path.join(run_dir, "best.pt"), map_location="cpu")["model"]
    if which.startswith("epoch") and which[5:].isdigit():
        path = os.path.join(run_dir, f"epoch-{int(which[5:])}.pt")
        if not os.path.exists(path):
            raise SystemExit(f"--weights {which}: no {path}")
        return torch.load(path, map_location="cpu")["model"]
    if not which.startswith("avg"):
        raise SystemExit(f"--weights {which}: use best, epochK or avgN")
    files = sorted((f for f in os.listdir(run_dir) if f.startswith("epoch-")),
                   key=lambda f: int(f[6:-3]))
    return average_weights([os.path.join(run_dir, f) for f in files[-int(which[3:] or 5):]])


def print_status(run_dir):
    """Prints the validation, resume and end lines of a run's log."""
    path = os.path.join(run_dir, "log.jsonl")
    if not os.path.exists(path):
        print("no run yet")
        return
    with open(path) as f:
        for line in f:
            if json.loads(line)["event"] in ("valid", "done", "resume", "stopped"):
                print(line.strip())
