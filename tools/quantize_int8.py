#!/usr/bin/python3
"""quantize_int8.py — writes an attnserve int8 checkpoint: a model folder whose weight matrices
are stored already quantized, so that loading it is a mapping of the file (milliseconds), not a
conversion (about a second for the opus-mt-en-de shape). Loading a normal folder with
dtype int8 gives the very same numbers: this tool quantizes exactly as attnserve does at load
(core/kernels/quant.c txi_q8_quantize), and tests/tools/test_quantize_int8.py checks that the
two give bit-identical outputs.

    tools/quantize_int8.py MODEL_DIR OUT_DIR

Every linear layer's weight, the token embeddings and the output projection (the matrices
attnserve's dtype int8 quantizes) become an I8 tensor NAME of the same shape plus an F32
tensor NAME.attnserve_scale (rows): one symmetric scale per output row, scale = max|w| / 127
(1 for an all-zero row), q = round-half-away(w / scale), computed in float32 as the C code
does. Everything else (norms, biases, position tables, T5's relative attention bias) is copied
unchanged. The other files of the folder (config.json, generation_config.json, tokenizer
files, the model card) are copied. attnserve loads the result with dtype auto or int8 (as
stored), or w8a8 (the same int8 rows, repacked at load); dtype f16/f32 is refused for it.
Transformers cannot read I8 weight matrices: keep the original for anything else.

Supported: the Transformer models (marian, bart, mbart, t5) and rnn_seq2seq; a single
model.safetensors (not sharded). Needs PyTorch (Debian: python3-torch).
Exit status: 0 written, 1 error, 2 usage.
"""
import argparse
import json
import os
import re
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_bin_to_safetensors import (ConvertError, read_safetensors,  # noqa: E402
                                        write_safetensors)

SCALE_SUFFIX = ".attnserve_scale"
TRANSFORMERS = {"marian", "bart", "mbart", "t5"}
# rnn_seq2seq: the recurrent cells and the linear layers; its embeddings and the attention's
# scoring vector v stay as they are (core/model/model.c bind_rnn)
RNN_MATRIX = re.compile(r"(\.weight_(ih|hh)_l\d+(_reverse)?|"
                        r"^decoder\.(bridge|attention\.key_proj|attention\.query_proj|"
                        r"attention\.W|combine)\.weight|^lm_head\.weight)$")


def is_matrix(model_type, name, t):
    """Whether attnserve's dtype int8 quantizes tensor `name` of this model type."""
    if t.dim() != 2 or not t.dtype.is_floating_point:
        return False
    if model_type == "rnn_seq2seq":
        return bool(RNN_MATRIX.search(name))
    # linear layers, shared/embed_tokens, lm_head; not the position tables or T5's bias table
    return (name.endswith(".weight") and "embed_positions" not in name
            and "relative_attention_bias" not in name)


def quantize_rows(w):
    """(q int8, scale float32) of a 2-D tensor, exactly as txi_q8_quantize computes them."""
    w = w.to(torch.float32)
    mx = w.abs().amax(dim=1)
    scale = torch.where(mx > 0, mx / torch.tensor(127.0, dtype=torch.float32),
                        torch.ones_like(mx))
    x = w / scale[:, None]  # float32 division, as w[t] / s in C
    a = x.abs()
    r = torch.floor(a)
    r = r + ((a - r) >= 0.5).to(torch.float32)  # lroundf: halves away from zero (a - r is exact)
    q = torch.clamp(torch.copysign(r, x), -127, 127).to(torch.int8)
    return q.contiguous(), scale.contiguous()


def convert(model_dir, out_dir):
    cfg_path = os.path.join(model_dir, "config.json")
    with open(cfg_path, encoding="utf-8") as f:
        model_type = json.load(f).get("model_type")
    if model_type not in TRANSFORMERS and model_type != "rnn_seq2seq":
        raise ConvertError(f"{cfg_path}: model_type {model_type!r} has no int8 form "
                           f"(supported: {', '.join(sorted(TRANSFORMERS))}, rnn_seq2seq)")
    src = os.path.join(model_dir, "model.safetensors")
    if not os.path.exists(src):
        raise ConvertError(f"{src}: missing (a single model.safetensors is needed; sharded "
                           "checkpoints are not supported)")
    tensors, header = read_safetensors(src)
    if any(n.endswith(SCALE_SUFFIX) for n in tensors):
        raise ConvertError(f"{src}: already an attnserve int8 checkpoint")
    out, n_q = {}, 0
    for name, t in tensors.items():
        if is_matrix(model_type, name, t):
            out[name], out[name + SCALE_SUFFIX] = quantize_rows(t)
            n_q += 1
        else:
            out[name] = t
    if n_q == 0:
        raise ConvertError(f"{src}: no weight matrix to quantize")
    if os.path.abspath(out_dir) == os.path.abspath(model_dir):
        raise ConvertError("the output folder must differ from the model folder")
    os.makedirs(out_dir, exist_ok=True)
    for fn in sorted(os.listdir(model_dir)):
        p = os.path.join(model_dir, fn)
        if os.path.isfile(p) and fn != "model.safetensors" and not fn.endswith(".bin"):
            shutil.copyfile(p, os.path.join(out_dir, fn))
    meta = dict(header.get("__metadata__") or {})
    meta.update({"format": "pt", "attnserve_dtype": "int8"})
    size = write_safetensors(out, os.path.join(out_dir, "model.safetensors"), meta)
    return n_q, os.path.getsize(src), size


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out_dir")
    a = ap.parse_args(argv)
    try:
        n_q, before, after = convert(a.model_dir, a.out_dir)
    except (ConvertError, OSError, ValueError) as e:
        print(f"quantize_int8: {e}", file=sys.stderr)
        return 1
    print(f"quantize_int8: {n_q} matrices as int8; model.safetensors {before / 1e6:.1f} MB -> "
          f"{after / 1e6:.1f} MB in {a.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
