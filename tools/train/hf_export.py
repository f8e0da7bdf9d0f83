"""hf_export.py — writes a trained model as a Hugging Face checkpoint folder: config.json,
generation_config.json, model.safetensors (float16 by default), the tokenizer files and
tokenizer_config.json. Nothing attnserve-specific: transformers' from_pretrained reads it too.
"""
import importlib.util
import json
import os
import shutil

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_spec = importlib.util.spec_from_file_location(
    "convert_bin_to_safetensors", os.path.join(ROOT, "tools", "convert_bin_to_safetensors.py"))
_conv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conv)
write_safetensors = _conv.write_safetensors
read_safetensors = _conv.read_safetensors


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def export(out_dir, state, config, generation_config, files, tokenizer_config,
           special_tokens_map=None, dtype=torch.float16, metadata=None):
    """state: {hf_name: tensor}; files: {name in out_dir: source path} (tokenizer files)."""
    os.makedirs(out_dir, exist_ok=True)
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in state.items()}
    config = dict(config, torch_dtype=str(dtype).replace("torch.", ""),
                  transformers_version="4.35.2")
    write_json(os.path.join(out_dir, "config.json"), config)
    write_json(os.path.join(out_dir, "generation_config.json"),
               dict(generation_config, _from_model_config=False, transformers_version="4.35.2"))
    meta = {"format": "pt"}
    meta.update(metadata or {})
    write_safetensors(tensors, os.path.join(out_dir, "model.safetensors"), meta)
    for name, src in files.items():
        shutil.copyfile(src, os.path.join(out_dir, name))
    write_json(os.path.join(out_dir, "tokenizer_config.json"), tokenizer_config)
    if special_tokens_map:
        write_json(os.path.join(out_dir, "special_tokens_map.json"), special_tokens_map)


def load_exported(out_dir):
    """{name: float32 tensor} from out_dir/model.safetensors."""
    tensors, _ = read_safetensors(os.path.join(out_dir, "model.safetensors"))
    return {k: v.float() for k, v in tensors.items()}
