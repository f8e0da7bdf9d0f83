#!/usr/bin/python3
"""train_translator.py — the default English->German translator (models/marian-en-de): a
MarianMTModel (6 encoder layers, 3 decoder layers, d_model 256, 4 heads, FFN 1024, one joint
8,000-piece SentencePiece vocabulary shared by both sides and by the output layer).

    tools/train/train_translator.py train            # resumable: run it again to continue
    tools/train/train_translator.py recipe           # the shipped model: train, then export
    tools/train/train_translator.py export [--weights best|avg] [--out models/marian-en-de]
    tools/train/train_translator.py status           # validation history so far

Data: multi30k train (twice), europarl train and tatoeba (see data.py); validation BLEU on
multi30k val (greedy) after every epoch. Speed tips (2-4x on a small CPU):
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 TRAIN_THREADS=2 tools/train/train_translator.py train
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval"))
import data  # noqa: E402
import marian  # noqa: E402
import nn as tnn  # noqa: E402
import trainer  # noqa: E402
from bleu import corpus_bleu  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work", "translator")
RUN = os.path.join(HERE, "runs", "translator")
SEED = 1
VOCAB_PIECES = 8000
MAX_LEN = 128  # training pairs longer than this (either side, in pieces) are left out

ARCH = {
    "d_model": 256, "encoder_layers": 6, "decoder_layers": 3,
    "encoder_attention_heads": 4, "decoder_attention_heads": 4,
    "encoder_ffn_dim": 1024, "decoder_ffn_dim": 1024,
    "dropout": 0.15, "attention_dropout": 0.0, "activation_dropout": 0.0,
    "max_position_embeddings": 512, "init_std": 0.02, "scale_embedding": True,
}


def prepare():
    os.makedirs(WORK, exist_ok=True)
    splits = data.translator_splits()
    model = os.path.join(WORK, "spm.model")
    if not os.path.exists(model):
        texts = [t for pair in splits["train"] for t in pair]
        data.train_spm(texts, os.path.join(WORK, "spm"), VOCAB_PIECES)
    return splits, marian.load_vocab(WORK, os.path.basename(model))


def model_config(vocab):
    return marian.model_config(ARCH, vocab)


def translate_greedy(model, vocab, texts, max_new=96):
    return marian.greedy_texts(model, vocab, texts, lambda t: vocab.encode(t)[:MAX_LEN * 2],
                               max_new)


def cmd_train(args):
    threads = trainer.setup_threads()
    splits, vocab = prepare()
    train = splits["multi30k_train"] + splits["train"]  # multi30k twice (in-domain)
    ex = []
    for en, de in train:
        a, b = vocab.encode(en), vocab.encode(de)
        if len(a) <= MAX_LEN and len(b) <= MAX_LEN:
            ex.append((a, b))
    valid = splits["valid"]

    def validate(model):
        hyps = translate_greedy(model, vocab, [s for s, _ in valid])
        b = corpus_bleu(hyps, [t for _, t in valid])
        return b.score, {"bleu": round(b.score, 2), "sample": hyps[0]}

    model = tnn.Marian(model_config(vocab))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"translator: {len(ex)} pairs, vocab {len(vocab.pieces)}, {n_params / 1e6:.2f}M "
          f"parameters, {threads} threads", flush=True)
    t = trainer.Trainer(RUN, model, ex, pad_id=vocab.pad, start_id=vocab.pad, validate=validate,
                        seed=SEED, max_tokens=args.max_tokens, lr=args.lr, warmup=args.warmup,
                        epochs=args.epochs, label_smoothing=0.1)
    t.run(stop_after_s=args.hours * 3600 if args.hours else None)


def cmd_export(args):
    _, vocab = prepare()
    c = model_config(vocab)
    model = tnn.Marian(c)
    model.load_state_dict(trainer.load_weights(RUN, args.weights))
    marian.export(args.out, model, c, vocab, WORK, "spm.model", ("en", "de"), 256)
    print(f"exported {args.weights} weights to {args.out}")


def cmd_status(_):
    trainer.print_status(RUN)


RECIPE = [  # how models/marian-en-de was made (`recipe` runs it; each step resumes or skips)
    ["train", "--epochs", "12"],
    ["export", "--weights", "avg3"],
]


def cmd_recipe(_):
    for argv in RECIPE:
        print("recipe:", " ".join(argv), flush=True)
        main(argv)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--epochs", type=int, default=40)
    t.add_argument("--max-tokens", type=int, default=6000)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--warmup", type=int, default=1500)
    t.add_argument("--hours", type=float, default=0, help="stop (resumably) after this long")
    e = sub.add_parser("export")
    e.add_argument("--weights", default="best", help="best, or avgN (mean of the last N epochs)")
    e.add_argument("--out", default=os.path.join(data.ROOT, "models", "marian-en-de"))
    sub.add_parser("status")
    sub.add_parser("recipe", help="the commands that made the shipped model, in order")
    args = ap.parse_args(argv)
    {"train": cmd_train, "export": cmd_export, "status": cmd_status,
     "recipe": cmd_recipe}[args.cmd](args)


if __name__ == "__main__":
    main()
