#!/usr/bin/python3
"""train_multilingual.py — the four-language default translator (models/marian-mul): one
MarianMTModel for all 12 directions among English, German, French and Czech, in OPUS-MT's
multilingual convention: the source starts with the target language's token (">>fr<< A man
...") and the model writes that language. 6 encoder layers, 3 decoder layers, d_model 256,
4 heads, FFN 1024, one joint 12,000-piece SentencePiece vocabulary (the four language tokens are
user-defined pieces) shared by both sides and by the output layer.

    tools/train/train_multilingual.py train            # resumable: run it again to continue
    tools/train/train_multilingual.py recipe           # the shipped model: train, then export
    tools/train/train_multilingual.py export [--weights best|avgN|epochK] [--out models/marian-mul]
    tools/train/train_multilingual.py status           # validation history so far

Data (data.multilingual_splits): multi30k train in all 12 directions, europarl + tatoeba
English<->German in both directions. Validation: greedy BLEU averaged over the 12 directions on
the first 200 multi30k val captions of each, after every epoch.
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 TRAIN_THREADS=1 tools/train/train_multilingual.py train
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
WORK = os.path.join(HERE, "work", "multilingual")
RUN = os.path.join(HERE, "runs", "multilingual")
SEED = 1
VOCAB_PIECES = 12000
MAX_LEN = 128  # training pairs longer than this (either side, in pieces) are left out
LANG_TOKENS = [f">>{lang}<<" for lang in data.LANGS]

ARCH = {
    "d_model": 256, "encoder_layers": 6, "decoder_layers": 3,
    "encoder_attention_heads": 4, "decoder_attention_heads": 4,
    "encoder_ffn_dim": 1024, "decoder_ffn_dim": 1024,
    "dropout": 0.1, "attention_dropout": 0.0, "activation_dropout": 0.0,
    "max_position_embeddings": 512, "init_std": 0.02, "scale_embedding": True,
}


def prepare():
    os.makedirs(WORK, exist_ok=True)
    splits = data.multilingual_splits()
    model = os.path.join(WORK, "spm.model")
    if not os.path.exists(model):
        seen, texts = set(), []
        for _, _, a, b in splits["train"]:  # each caption once, whatever its directions
            for t in (a, b):
                if t not in seen:
                    seen.add(t)
                    texts.append(t)
        data.train_spm(texts, os.path.join(WORK, "spm"), VOCAB_PIECES,
                       ["--user_defined_symbols=" + ",".join(LANG_TOKENS)])
    return splits, marian.load_vocab(WORK, os.path.basename(model))


def encode_source(vocab, tgt_lang, text):
    """MarianTokenizer's multilingual source: the language token, then the text's pieces, </s>."""
    return [vocab.ids[f">>{tgt_lang}<<"]] + vocab.encode(text)


def model_config(vocab):
    return marian.model_config(ARCH, vocab)


def translate_greedy(model, vocab, rows, max_new=96):
    """rows: (src_lang, tgt_lang, text) -> greedy translations."""
    keyed = [f"{t}\t{x}" for _, t, x in rows]
    return marian.greedy_texts(
        model, vocab, keyed,
        lambda k: encode_source(vocab, k.split("\t", 1)[0], k.split("\t", 1)[1])[:MAX_LEN * 2],
        max_new)


def cmd_train(args):
    threads = trainer.setup_threads()
    splits, vocab = prepare()
    ex = []
    for _, tl, a, b in splits["train"]:
        x, y = encode_source(vocab, tl, a), vocab.encode(b)
        if len(x) <= MAX_LEN and len(y) <= MAX_LEN:
            ex.append((x, y))
    valid = splits["valid"]

    def validate(model):
        hyps = translate_greedy(model, vocab, [(s, t, x) for s, t, x, _ in valid])
        per, scores = {}, []
        for i in range(0, len(valid), 200):
            s, t = valid[i][0], valid[i][1]
            b = corpus_bleu(hyps[i: i + 200], [r for *_, r in valid[i: i + 200]]).score
            per[f"{s}-{t}"] = round(b, 2)
            scores.append(b)
        mean = sum(scores) / len(scores)
        return mean, {"bleu": round(mean, 2), "per_direction": per, "sample": hyps[0]}

    model = tnn.Marian(model_config(vocab))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"multilingual: {len(ex)} pairs, vocab {len(vocab.pieces)}, {n_params / 1e6:.2f}M "
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
    marian.export(args.out, model, c, vocab, WORK, "spm.model", ("mul", "mul"), 256)
    print(f"exported {args.weights} weights to {args.out}")


def cmd_status(_):
    trainer.print_status(RUN)


RECIPE = [  # how models/marian-mul was made (`recipe` runs it; each step resumes or skips)
    ["train", "--epochs", "4"],  # epochs 0-3; the schedule does not depend on --epochs
    ["export", "--weights", "epoch3"],
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
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--max-tokens", type=int, default=6000)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--warmup", type=int, default=2000)
    t.add_argument("--hours", type=float, default=0, help="stop (resumably) after this long")
    e = sub.add_parser("export")
    e.add_argument("--weights", default="best", help="best, epochK, or avgN (mean of the last N)")
    e.add_argument("--out", default=os.path.join(data.ROOT, "models", "marian-mul"))
    sub.add_parser("status")
    sub.add_parser("recipe", help="the commands that made the shipped model, in order")
    args = ap.parse_args(argv)
    {"train": cmd_train, "export": cmd_export, "status": cmd_status,
     "recipe": cmd_recipe}[args.cmd](args)


if __name__ == "__main__":
    main()
