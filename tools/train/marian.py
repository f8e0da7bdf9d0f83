"""marian.py — what the two default models share: both are MarianMTModels with one joint
SentencePiece vocabulary in the OPUS-MT id layout. The vocabulary, the model's config fields,
batched greedy decoding for validation, and the export as a Hugging Face Marian folder."""
import json
import os

import sentencepiece as spm
import torch

import hf_export
import nn as tnn


class Vocab:
    """OPUS-MT layout: </s> 0, <unk> 1, the SentencePiece pieces in model order, <pad> last."""

    def __init__(self, sp):
        self.sp = sp
        pieces = ["</s>", "<unk>"]
        for i in range(sp.get_piece_size()):
            if not (sp.is_control(i) or sp.is_unknown(i)):
                pieces.append(sp.id_to_piece(i))
        pieces.append("<pad>")
        self.pieces = pieces
        self.ids = {p: i for i, p in enumerate(pieces)}
        self.eos, self.unk, self.pad = 0, 1, len(pieces) - 1

    def encode(self, text):
        return [self.ids.get(p, self.unk) for p in self.sp.encode_as_pieces(text)] + [self.eos]

    def decode(self, ids):
        return self.sp.decode_pieces([self.pieces[i] for i in ids
                                      if i not in (self.eos, self.pad)])


def load_vocab(work, spm_name):
    """The Vocab of work/spm_name; writes its piece -> id map to work/vocab.json (exported)."""
    vocab = Vocab(spm.SentencePieceProcessor(model_file=os.path.join(work, spm_name)))
    with open(os.path.join(work, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab.ids, f, ensure_ascii=False, indent=1)
    return vocab


def model_config(arch, vocab):
    """arch (layers, widths, dropout) plus the vocabulary's sizes and special ids."""
    c = dict(arch)
    c.update(vocab_size=len(vocab.pieces), decoder_vocab_size=len(vocab.pieces),
             pad_token_id=vocab.pad, eos_token_id=vocab.eos, bos_token_id=vocab.eos,
             decoder_start_token_id=vocab.pad, forced_eos_token_id=vocab.eos)
    return c


def greedy_texts(model, vocab, texts, encode, max_new, batch=64):
    """Greedy outputs for texts (encode(text) -> source ids), in batches of texts of similar
    lengths (bf16)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = [None] * len(texts)
    for b in range(0, len(order), batch):
        idx = order[b: b + batch]
        enc = [encode(texts[i]) for i in idx]
        src = torch.full((len(enc), max(map(len, enc))), vocab.pad, dtype=torch.long)
        for r, e in enumerate(enc):
            src[r, : len(e)] = torch.tensor(e)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            ys = tnn.greedy(model, src, vocab.pad, vocab.eos, vocab.pad, max_new,
                            banned=(vocab.pad,))
        for i, y in zip(idx, ys):
            out[i] = vocab.decode(y)
    return out


def export(out_dir, model, c, vocab, work, spm_name, langs, max_length, extra_config=None):
    """Writes a transformers MarianMTModel folder: config.json (c plus Marian's fixed fields and
    extra_config), generation_config.json (4 beams, <pad> banned, max_length), F16 weights,
    source.spm = target.spm = work/spm_name, vocab.json, tokenizer files."""
    vocab_json = os.path.join(work, "vocab.json")
    config = {"architectures": ["MarianMTModel"], "model_type": "marian",
              "activation_function": "swish", "is_encoder_decoder": True,
              "share_encoder_decoder_embeddings": True, "tie_word_embeddings": True,
              "normalize_embedding": False, "static_position_embeddings": True,
              "add_bias_logits": False, "classifier_dropout": 0.0,
              "encoder_layerdrop": 0.0, "decoder_layerdrop": 0.0, "use_cache": True,
              "num_hidden_layers": c["encoder_layers"], "max_length": max_length, "num_beams": 4,
              "bad_words_ids": [[vocab.pad]], **(extra_config or {}), **c}
    gen = {"bad_words_ids": [[vocab.pad]], "bos_token_id": vocab.eos,
           "decoder_start_token_id": vocab.pad, "eos_token_id": vocab.eos,
           "forced_eos_token_id": vocab.eos, "max_length": max_length, "num_beams": 4,
           "pad_token_id": vocab.pad}
    spm_path = os.path.join(work, spm_name)
    tok_cfg = {"tokenizer_class": "MarianTokenizer", "source_lang": langs[0],
               "target_lang": langs[1], "separate_vocabs": False, "model_max_length": 512,
               "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
               "sp_model_kwargs": {}}
    hf_export.export(out_dir, model.export_state(), config, gen,
                     {"source.spm": spm_path, "target.spm": spm_path, "vocab.json": vocab_json},
                     tok_cfg, {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
