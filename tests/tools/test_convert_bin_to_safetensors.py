#!/usr/bin/python3
"""test_convert_bin_to_safetensors.py — tools/convert_bin_to_safetensors.py: tiny state dicts saved
with torch.save are converted, read back with an independent reader, and compared; tied weights
are stored once; a Hugging Face-written model.safetensors is reproduced name for name.

Run: /usr/bin/python3 -m unittest discover -s tests/tools -v   (from the repository root)
"""
import contextlib
import importlib.util
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

try:
    import torch
except ImportError:  # the converter needs PyTorch (Debian: python3-torch); so do its tests
    torch = None

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(ROOT, "tools", "convert_bin_to_safetensors.py")
if torch is not None:
    spec = importlib.util.spec_from_file_location("convert", TOOL)
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    CODES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
             "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32, "I16": torch.int16,
             "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}


def read(path):
    """An independent reader (not the tool's): header, and {name: tensor}."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dt = CODES[info["dtype"]]
        if dt == torch.bool:
            t = torch.tensor(list(data[b:e]), dtype=torch.uint8).to(torch.bool)
        elif e > b:
            t = torch.frombuffer(bytearray(data[b:e]), dtype=dt)
        else:
            t = torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"])
    return n, header, data, out


def run_tool(*args):
    """Runs the tool's main() in this process (torch is slow to import): returncode, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = convert.main(list(args))
    return subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())


def sample_state_dict():
    g = torch.Generator().manual_seed(0)
    shared = torch.randn(12, 8, generator=g)
    base = torch.randn(6, 10, generator=g)
    sd = {
        "model.shared.weight": shared,
        "model.encoder.embed_tokens.weight": shared,   # tied: the same tensor
        "model.decoder.embed_tokens.weight": shared,
        "lm_head.weight": shared,
        "final_logits_bias": torch.zeros(1, 12),
        "model.encoder.layers.0.fc1.weight": torch.randn(16, 8, generator=g),
        "model.encoder.layers.0.fc1.bias": torch.randn(16, generator=g).half(),
        "model.decoder.layers.0.fc1.weight": torch.randn(16, 8, generator=g).to(torch.bfloat16),
        "transposed": torch.randn(5, 3, generator=g).t(),           # not contiguous
        "slice.a": base[:3],                                        # views of one storage,
        "slice.b": base[3:, 2:7],                                   # different numbers: both kept
        "scalar": torch.tensor(2.5, dtype=torch.float64),
        "positions": torch.arange(7, dtype=torch.int64),
        "counts": torch.tensor([1, -2, 3], dtype=torch.int32),
        "mask": torch.tensor([True, False, True, True]),
        "bytes": torch.tensor([0, 255, 7], dtype=torch.uint8),
        "empty": torch.zeros(0, 4),
    }
    return sd


@unittest.skipIf(torch is None, "PyTorch is not installed (apt-get install python3-torch)")
class ConvertTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def save(self, sd, name="pytorch_model.bin", **kw):
        path = os.path.join(self.dir, name)
        torch.save(sd, path, **kw)
        return path

    def check_layout(self, n, header, data):
        self.assertEqual(n % 8, 0, "header length is a multiple of 8")
        spans = sorted(v["data_offsets"] for k, v in header.items() if k != "__metadata__")
        pos = 0
        for b, e in spans:
            self.assertEqual(b, pos, "no holes or overlaps in the data")
            pos = e
        self.assertEqual(pos, len(data), "the data ends with the last tensor")
        for k, v in header.items():
            if k == "__metadata__":
                continue
            size = torch.empty(0, dtype=CODES[v["dtype"]]).element_size()
            self.assertEqual(v["data_offsets"][0] % size, 0, f"{k} is aligned to its element size")

    def test_converts_every_dtype_and_layout_and_stores_tied_weights_once(self):
        sd = sample_state_dict()
        self.save(sd)
        r = run_tool(self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        n, header, data, got = read(os.path.join(self.dir, "model.safetensors"))
        self.check_layout(n, header, data)
        self.assertEqual(header["__metadata__"], {"format": "pt"})
        tied = {"model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"}
        self.assertEqual(set(got), set(sd) - tied)
        for name, t in got.items():
            self.assertEqual(t.dtype, sd[name].dtype, name)
            self.assertEqual(tuple(t.shape), tuple(sd[name].shape), name)
            self.assertTrue(torch.equal(t, sd[name]), name)
        self.assertIn("lm_head.weight is the same tensor as model.shared.weight", r.stdout)

    def test_command_line(self):
        self.save({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)})
        out = os.path.join(self.dir, "cli.safetensors")
        r = subprocess.run([sys.executable, TOOL, os.path.join(self.dir, "pytorch_model.bin"), "-o", out],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("wrote", r.stdout)
        _, _, _, got = read(out)
        self.assertEqual(got["w"].tolist(), [[0, 1, 2], [3, 4, 5]])
        r = subprocess.run([sys.executable, TOOL], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2, "usage error")

    def test_keep_duplicates_writes_every_name(self):
        sd = sample_state_dict()
        self.save(sd)
        out = os.path.join(self.dir, "dup.safetensors")
        r = run_tool(os.path.join(self.dir, "pytorch_model.bin"), "-o", out, "--keep-duplicates")
        self.assertEqual(r.returncode, 0, r.stderr)
        _, _, _, got = read(out)
        self.assertEqual(set(got), set(sd))
        self.assertTrue(torch.equal(got["lm_head.weight"], sd["model.shared.weight"]))

    def test_legacy_non_zip_torch_save_format(self):
        sd = {"w": torch.randn(3, 4), "b": torch.randn(4).half()}
        self.save(sd, _use_new_zipfile_serialization=False)
        self.assertEqual(run_tool(self.dir).returncode, 0)
        _, _, _, got = read(os.path.join(self.dir, "model.safetensors"))
        for k in sd:
            self.assertTrue(torch.equal(got[k], sd[k]))

    def test_sharded_checkpoint_gets_shards_and_an_index(self):
        a = {"x.weight": torch.randn(4, 4), "x.bias": torch.randn(4)}
        b = {"y.weight": torch.randn(2, 4).half()}
        self.save(a, "pytorch_model-00001-of-00002.bin")
        self.save(b, "pytorch_model-00002-of-00002.bin")
        wm = {k: "pytorch_model-00001-of-00002.bin" for k in a}
        wm.update({k: "pytorch_model-00002-of-00002.bin" for k in b})
        with open(os.path.join(self.dir, "pytorch_model.bin.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": wm}, f)
        r = run_tool(self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.dir, "model.safetensors.index.json")) as f:
            index = json.load(f)
        self.assertEqual(set(index["weight_map"]), set(a) | set(b))
        self.assertEqual(index["metadata"]["total_size"], 16 * 4 + 4 * 4 + 8 * 2)
        for name, shard in index["weight_map"].items():
            _, _, _, got = read(os.path.join(self.dir, shard))
            self.assertTrue(torch.equal(got[name], {**a, **b}[name]))

    def test_refuses_to_overwrite_without_force(self):
        self.save({"w": torch.ones(2)})
        self.assertEqual(run_tool(self.dir).returncode, 0)
        r = run_tool(self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--force", r.stderr)
        self.assertEqual(run_tool(self.dir, "--force").returncode, 0)

    def test_bad_inputs_fail_with_a_message(self):
        r = run_tool(os.path.join(self.dir, "missing"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such file", r.stderr)
        bad = os.path.join(self.dir, "pytorch_model.bin")
        with open(bad, "wb") as f:
            f.write(b"this is not a checkpoint")
        r = run_tool(self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot load", r.stderr)
        torch.save({"w": torch.ones(2), "step": 3}, bad)
        r = run_tool(self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("'step' is not a tensor (it is int)", r.stderr)
        torch.save({"c": torch.ones(2, dtype=torch.complex64)}, bad)
        r = run_tool(self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("complex64", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "model.safetensors")))

    def test_reproduces_a_hugging_face_written_model_safetensors(self):
        """hf-tiny/marian's model.safetensors was written by save_pretrained. Rebuild the
        pytorch_model.bin that HF would write (tied names included), convert it, and expect the
        same tensor names and values."""
        candidates = [os.path.join(ROOT, "tests", "fixtures", "hf-tiny", "marian"),
                      os.path.join(ROOT, "..", "shared", "fixtures", "hf-tiny", "marian")]
        folder = next((c for c in candidates if os.path.exists(os.path.join(c, "model.safetensors"))), None)
        if folder is None:
            self.skipTest("no hf-tiny/marian fixture (tests/fixtures or ../shared/fixtures)")
        _, hf_header, _, hf = read(os.path.join(folder, "model.safetensors"))
        sd = dict(hf)
        shared = sd["model.shared.weight"]
        for alias in ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight",
                      "lm_head.weight"):
            sd[alias] = shared
        self.save(sd)
        r = run_tool(self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        _, header, _, got = read(os.path.join(self.dir, "model.safetensors"))
        self.assertEqual(set(got), set(hf))
        for k in hf:
            self.assertEqual(header[k]["dtype"], hf_header[k]["dtype"])
            self.assertTrue(torch.equal(got[k], hf[k]), k)


if __name__ == "__main__":
    unittest.main()
