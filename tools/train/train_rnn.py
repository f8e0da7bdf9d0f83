#!/usr/bin/python3
"""train_rnn.py — the classic attentional RNN translators (models/rnn-en-de-*): English->German
LSTM encoder-decoders with Bahdanau (additive) or Luong (general, input feeding) attention, the
architecture of rnn.py, on the shipped translator's 8,000-piece SentencePiece vocabulary
(models/marian-en-de: source.spm, vocab.json), so both translators tokenize alike.

    tools/train/train_rnn.py train --variant additive     # resumable: run it again to continue
    tools/train/train_rnn.py export --variant additive [--weights best|avgN|epochK]
    tools/train/train_rnn.py status --variant additive

Data: multi30k train (twice: in-domain) and tatoeba's short everyday pairs (see data.py); pairs
over 64 pieces left out; validation BLEU (greedy) on multi30k val after every epoch.
Speed (measured here: 5.7x together, 3,800 target tokens/s on one thread):
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 TRAIN_THREADS=1 \
    MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 tools/train/train_rnn.py train
(jemalloc otherwise returns the large logits buffers to the kernel after every batch, and
page faults on their fresh pages took most of the time.) Memory then only grows (24 GB after 80
minutes: killed): train in slices that restart the process (--hours 0.5 in a loop; it resumes
from last.pt). The logged "nll" of this run is the label-smoothed loss
(trainer.fused_smoothed_loss).
"""
import argparse
import os
import sys

import sentencepiece as spm
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval"))
import data  # noqa: E402
import hf_export  # noqa: E402
import marian  # noqa: E402
import rnn  # noqa: E402
import trainer  # noqa: E402
from bleu import corpus_bleu  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOK = os.path.join(data.ROOT, "models", "marian-en-de")
SEED = 1
MAX_LEN = 64

VARIANTS = {
    "additive": {"cell": "lstm", "attention": "additive", "input_feeding": False},
    "general": {"cell": "lstm", "attention": "general", "input_feeding": True},
}
ARCH = {"embedding_size": 256, "hidden_size": 384, "encoder_layers": 2, "decoder_layers": 1,
        "bidirectional_encoder": True, "dropout": 0.25, "local_window": -1,
        "attention_top_k": 0}


def vocab():
    return marian.Vocab(spm.SentencePieceProcessor(model_file=os.path.join(TOK, "source.spm")))


def model_config(variant, v):
    c = dict(ARCH, **VARIANTS[variant])
    c.update(vocab_size=len(v.pieces), pad_token_id=v.pad, eos_token_id=v.eos,
             bos_token_id=v.eos, decoder_start_token_id=v.pad, forced_eos_token_id=v.eos)
    return c


def run_dir(variant):
    return os.path.join(HERE, "runs", f"rnn-{variant}")


def translate_greedy(model, v, texts, max_new=80, batch=64):
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = [None] * len(texts)
    for b in range(0, len(order), batch):
        idx = order[b: b + batch]
        enc = [v.encode(texts[i])[:MAX_LEN * 2] for i in idx]
        src = torch.full((len(enc), max(map(len, enc))), v.pad, dtype=torch.long)
        for r, e in enumerate(enc):
            src[r, : len(e)] = torch.tensor(e)
        ys = rnn.greedy(model, src, v.pad, v.eos, max_new, banned=(v.pad,))
        for i, y in zip(idx, ys):
            out[i] = v.decode(y)
    return out


def cmd_train(args):
    threads = trainer.setup_threads()
    v = vocab()
    splits = data.translator_splits()
    train = splits["multi30k_train"] * 2 + data.tatoeba_pairs()
    ex = []
    for en, de in train:
        if not en or not de:
            continue
        a, b = v.encode(en), v.encode(de)
        if len(a) <= MAX_LEN and len(b) <= MAX_LEN:
            ex.append((a, b))
    valid = splits["valid"]

    def validate(model):
        hyps = translate_greedy(model, v, [s for s, _ in valid])
        b = corpus_bleu(hyps, [t for _, t in valid])
        return b.score, {"bleu": round(b.score, 2), "sample": hyps[0]}

    model = rnn.RNNSeq2Seq(model_config(args.variant, v), v.pad)
    print(f"rnn-{args.variant}: {len(ex)} pairs, {rnn.param_count(model) / 1e6:.2f}M parameters, "
          f"{threads} threads", flush=True)
    t = trainer.Trainer(run_dir(args.variant), model, ex, pad_id=v.pad, start_id=v.pad,
                        validate=validate, seed=SEED, max_tokens=args.max_tokens, lr=args.lr,
                        warmup=args.warmup, epochs=args.epochs, label_smoothing=0.1,
                        bf16=not args.fp32, loss=trainer.fused_smoothed_loss)
    t.run(stop_after_s=args.hours * 3600 if args.hours else None)


def export(out_dir, model, c, v):
    """A Hugging Face-style folder: config.json, generation_config.json, F16 model.safetensors,
    the Marian tokenizer files of models/marian-en-de."""
    config = dict(model.hf_config(), **{k: c[k] for k in c if k.endswith("token_id")},
                  is_encoder_decoder=True, max_length=128, num_beams=4,
                  bad_words_ids=[[v.pad]])
    gen = {"bad_words_ids": [[v.pad]], "bos_token_id": v.eos, "decoder_start_token_id": v.pad,
           "eos_token_id": v.eos, "forced_eos_token_id": v.eos, "max_length": 128,
           "num_beams": 4, "pad_token_id": v.pad}
    tok_cfg = {"tokenizer_class": "MarianTokenizer", "source_lang": "en", "target_lang": "de",
               "separate_vocabs": False, "model_max_length": 512, "eos_token": "</s>",
               "unk_token": "<unk>", "pad_token": "<pad>", "sp_model_kwargs": {}}
    spm_path = os.path.join(TOK, "source.spm")
    hf_export.export(out_dir, model.export_state(), config, gen,
                     {"source.spm": spm_path, "target.spm": spm_path,
                      "vocab.json": os.path.join(TOK, "vocab.json")},
                     tok_cfg, {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})


def cmd_export(args):
    v = vocab()
    c = model_config(args.variant, v)
    model = rnn.RNNSeq2Seq(c, v.pad)
    model.load_state_dict(trainer.load_weights(run_dir(args.variant), args.weights))
    out = args.out or os.path.join(data.ROOT, "models", f"rnn-en-de-{args.variant}")
    export(out, model, c, v)
    print(f"exported {args.weights} weights to {out}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--variant", choices=sorted(VARIANTS), default="additive")
    t.add_argument("--epochs", type=int, default=12)
    t.add_argument("--max-tokens", type=int, default=3000)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--warmup", type=int, default=400)
    t.add_argument("--fp32", action="store_true", help="no bfloat16 autocast")
    t.add_argument("--hours", type=float, default=0, help="stop (resumably) after this long")
    e = sub.add_parser("export")
    e.add_argument("--variant", choices=sorted(VARIANTS), default="additive")
    e.add_argument("--weights", default="best")
    e.add_argument("--out", default=None)
    s = sub.add_parser("status")
    s.add_argument("--variant", choices=sorted(VARIANTS), default="additive")
    args = ap.parse_args(argv)
    if args.cmd == "status":
        trainer.print_status(run_dir(args.variant))
        return
    {"train": cmd_train, "export": cmd_export}[args.cmd](args)


if __name__ == "__main__":
    main()
