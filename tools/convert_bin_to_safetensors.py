#!/usr/bin/python3
"""convert_bin_to_safetensors.py — turns a PyTorch checkpoint (pytorch_model.bin, or a sharded
pytorch_model.bin.index.json) into model.safetensors, the format attnserve loads.

Needs only PyTorch (Debian: apt-get install python3-torch); the safetensors format is written
here directly (https://github.com/huggingface/safetensors#format):

    8 bytes   little-endian u64 N: the size of the JSON header
    N bytes   JSON {"__metadata__": {...}, NAME: {"dtype": "F32", "shape": [..],
              "data_offsets": [begin, end]}, ...}, padded with spaces to a multiple of 8
    the data  every tensor's bytes, row-major, little-endian; offsets count from here and
              cover the buffer exactly (no holes, no overlaps)

Tensors are written largest element size first, so every tensor starts at a multiple of its
element size (attnserve mmaps the file and reads the numbers in place). Tied weights (one
tensor under several names, e.g. model.shared.weight = encoder/decoder embed_tokens = lm_head)
are stored once, under the name Hugging Face's save_pretrained keeps (*shared.weight, else a
name that is not embed_tokens/lm_head); --keep-duplicates writes every name.

Usage:
    tools/convert_bin_to_safetensors.py CHECKPOINT_DIR              # writes model.safetensors there
    tools/convert_bin_to_safetensors.py pytorch_model.bin -o out.safetensors
    tools/convert_bin_to_safetensors.py DIR_WITH_INDEX_JSON         # writes shards + index

The .bin is unpickled with torch.load(weights_only=True), which refuses arbitrary code; a
trusted old checkpoint that needs full unpickling can be read with --unsafe-full-pickle.
Exit status: 0 converted (and verified by reading the output back), 1 error, 2 usage.
"""
import argparse
import json
import os
import struct
import sys

import torch

DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
# Same-size integer dtype used to get at the raw bytes through numpy (which has no bfloat16).
RAW_VIEW = {2: torch.int16, 4: torch.int32, 8: torch.int64, 1: torch.uint8}


class ConvertError(Exception):
    pass


def load_state_dict(path, unsafe):
    """Reads a torch.save'd state dict (zip or legacy format) onto the CPU."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not unsafe)
    except Exception as e:  # pickle errors, truncated files, refused globals
        hint = "" if unsafe else " (if you trust this file, --unsafe-full-pickle may read it)"
        raise ConvertError(f"{path}: cannot load: {e}{hint}") from e
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ConvertError(f"{path}: not a state dict (got {type(obj).__name__})")
    out = {}
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            raise ConvertError(f"{path}: entry {k!r} is not a tensor (it is {type(v).__name__})")
        if v.dtype not in DTYPES:
            raise ConvertError(f"{path}: tensor {k} has dtype {v.dtype}, which safetensors "
                               f"cannot store")
        if v.is_sparse or v.is_quantized:
            raise ConvertError(f"{path}: tensor {k} is sparse or quantized")
        out[str(k)] = v
    return out


def keep_name(names):
    """Which of several names for one tied tensor to keep (as save_pretrained does)."""
    names = sorted(names)
    shared = [n for n in names if n.endswith("shared.weight")]
    if shared:
        return min(shared, key=len)
    plain = [n for n in names if "embed_tokens" not in n and not n.startswith("lm_head")]
    return min(plain or names, key=len)


def identity(t):
    """Tensors with the same identity are the same numbers in the same memory."""
    if t.numel() == 0:
        return None  # empty tensors share nothing worth deduplicating
    st = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()
    return (st.data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)


def dedupe(tensors, keep_duplicates):
    """Returns ({name: tensor} to write, {dropped name: kept name})."""
    if keep_duplicates:
        return dict(tensors), {}
    groups = {}
    for name, t in tensors.items():
        key = identity(t)
        groups.setdefault(key if key is not None else ("empty", name), []).append(name)
    write, aliases = {}, {}
    for names in groups.values():
        k = keep_name(names)
        write[k] = tensors[k]
        for n in names:
            if n != k:
                aliases[n] = k
    return write, aliases


def tensor_bytes(t):
    t = t.detach().contiguous().reshape(-1)
    size = t.element_size()
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    elif t.dtype == torch.bfloat16 or t.dtype == torch.float16:
        t = t.view(RAW_VIEW[size])
    data = t.numpy().tobytes()
    if sys.byteorder != "little" and size > 1:
        raise ConvertError("big-endian hosts are not supported")
    return data


def write_safetensors(tensors, path, metadata=None):
    """Writes {name: tensor} to path (via a temporary file renamed at the end)."""
    order = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n))
    header = {"__metadata__": dict(metadata or {"format": "pt"})}
    offset = 0
    for name in order:
        t = tensors[name]
        n = t.numel() * t.element_size()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + n]}
        offset += n
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(hjson)))
            f.write(hjson)
            for name in order:
                f.write(tensor_bytes(tensors[name]))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return 8 + len(hjson) + offset


def read_safetensors(path):
    """Reads a safetensors file back: {name: tensor}. Checks the layout rules strictly."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ConvertError(f"{path}: shorter than its 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ConvertError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    by_code = {v: k for k, v in DTYPES.items()}
    out, spans = {}, []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = by_code[info["dtype"]]
        b, e = info["data_offsets"]
        count = 1
        for d in info["shape"]:
            count *= d
        size = torch.empty(0, dtype=dt).element_size()
        if e - b != count * size or not 0 <= b <= e <= len(data):
            raise ConvertError(f"{path}: {name}: offsets {b}..{e} do not hold {info['shape']}")
        spans.append((b, e))
        raw = bytearray(data[b:e])
        if dt == torch.bool:
            t = torch.frombuffer(raw, dtype=torch.uint8).to(torch.bool) if raw else torch.empty(0, dtype=torch.bool)
        elif raw:
            t = torch.frombuffer(raw, dtype=dt)
        else:
            t = torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"])
    spans.sort()
    pos = 0
    for b, e in spans:
        if b != pos:
            raise ConvertError(f"{path}: the data has a hole or an overlap at byte {pos}")
        pos = e
    if pos != len(data):
        raise ConvertError(f"{path}: {len(data) - pos} unused bytes after the last tensor")
    return out, header


def verify(path, expected):
    got, _ = read_safetensors(path)
    if set(got) != set(expected):
        raise ConvertError(f"{path}: read back {sorted(set(got) ^ set(expected))} differently")
    for name, t in expected.items():
        g = got[name]
        if g.dtype != t.dtype or tuple(g.shape) != tuple(t.shape) or not torch.equal(g, t.detach().cpu()):
            raise ConvertError(f"{path}: tensor {name} differs after the round trip")


def convert_file(src, dst, args):
    tensors = load_state_dict(src, args.unsafe_full_pickle)
    write, aliases = dedupe(tensors, args.keep_duplicates)
    size = write_safetensors(write, dst)
    if not args.no_verify:
        verify(dst, write)
    return write, aliases, size


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Convert pytorch_model.bin (or a sharded index) to safetensors.")
    ap.add_argument("src", help="checkpoint folder, pytorch_model.bin, or *.bin.index.json")
    ap.add_argument("-o", "--out", help="output file (single .bin) or folder (default: beside src)")
    ap.add_argument("--keep-duplicates", action="store_true",
                    help="write tied tensors under every name instead of once")
    ap.add_argument("--unsafe-full-pickle", action="store_true",
                    help="unpickle without weights_only (runs code from the file: trusted files only)")
    ap.add_argument("--force", action="store_true", help="overwrite existing output")
    ap.add_argument("--no-verify", action="store_true", help="skip reading the output back")
    args = ap.parse_args(argv)

    src = args.src
    if os.path.isdir(src):
        index = os.path.join(src, "pytorch_model.bin.index.json")
        single = os.path.join(src, "pytorch_model.bin")
        src = index if os.path.exists(index) else single
    if not os.path.exists(src):
        print(f"convert: {src}: no such file (expected pytorch_model.bin or its index)", file=sys.stderr)
        return 1
    try:
        if src.endswith(".index.json"):
            return convert_sharded(src, args)
        out = args.out or os.path.join(os.path.dirname(os.path.abspath(src)), "model.safetensors")
        if os.path.isdir(out):
            out = os.path.join(out, "model.safetensors")
        if os.path.exists(out) and not args.force:
            print(f"convert: {out} exists (use --force to overwrite)", file=sys.stderr)
            return 1
        write, aliases, size = convert_file(src, out, args)
        report(out, write, aliases, size)
        return 0
    except ConvertError as e:
        print(f"convert: {e}", file=sys.stderr)
        return 1


def convert_sharded(index_path, args):
    with open(index_path) as f:
        index = json.load(f)
    folder = os.path.dirname(os.path.abspath(index_path))
    out_dir = args.out or folder
    os.makedirs(out_dir, exist_ok=True)
    shards = sorted(set(index["weight_map"].values()))
    out_index = os.path.join(out_dir, "model.safetensors.index.json")
    if os.path.exists(out_index) and not args.force:
        raise ConvertError(f"{out_index} exists (use --force to overwrite)")
    weight_map, total = {}, 0
    for i, shard in enumerate(shards, 1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        write, aliases, size = convert_file(os.path.join(folder, shard), os.path.join(out_dir, name), args)
        report(os.path.join(out_dir, name), write, aliases, size)
        for t in write:
            weight_map[t] = name
            total += write[t].numel() * write[t].element_size()
    with open(out_index, "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
                  f, indent=2)
    print(f"wrote {out_index} ({len(weight_map)} tensors in {len(shards)} shards)")
    return 0


def report(path, write, aliases, size):
    print(f"wrote {path}: {len(write)} tensors, {size / 1e6:.1f} MB")
    for dropped, kept in sorted(aliases.items()):
        print(f"  {dropped} is the same tensor as {kept}: stored once")


if __name__ == "__main__":
    sys.exit(main())
