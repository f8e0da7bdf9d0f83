#!/usr/bin/python3
"""test_quantize_int8.py — tools/quantize_int8.py writes int8 checkpoints that attnserve runs
exactly as it runs the original folder loaded with dtype int8: the rows are quantized as the C
code does (checked here against a float32 reference written element by element with numpy, on
random rows and on the rounding edge cases), and attnserve-cli generate gives identical JSON
(ids and scores, greedy and 4 beams) on int8 copies of the fixture Marian, BART, T5 and
recurrent models and of the shipped translator. Also: the tool refuses models it cannot
convert, and attnserve refuses an int8 checkpoint with dtype f32, naming the tensor.

Run: /usr/bin/python3 -m unittest discover -s tests/tools -v   (from the repository root, after
make build; the engine comparisons skip visibly when build/cli/attnserve-cli is absent)
"""
import os
import subprocess
import sys
import tempfile
import unittest

try:
    import numpy as np
    import torch
except ImportError:
    torch = None

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.environ.get("ATTNSERVE_CLI", os.path.join(ROOT, "build", "cli", "attnserve-cli"))
TOOL = os.path.join(ROOT, "tools", "quantize_int8.py")
sys.path.insert(0, os.path.join(ROOT, "tools"))


def reference_row(w):
    """txi_q8_quantize on one row, written out with numpy float32 scalars."""
    w = [np.float32(v) for v in w]
    mx = np.float32(0)
    for v in w:
        mx = max(mx, abs(v))
    s = np.float32(mx / np.float32(127)) if mx > 0 else np.float32(1)
    q = []
    for v in w:
        x = np.float32(v / s)
        r = int(abs(x))  # floor of |x|
        if abs(x) - r >= 0.5:  # exact for |x| < 2^23
            r += 1
        r = min(r, 127)
        q.append(-r if x < 0 else r)
    return q, s


@unittest.skipIf(torch is None, "PyTorch/numpy are not installed (Debian: python3-torch)")
class QuantizeRows(unittest.TestCase):
    def test_rows_match_the_c_formula_elementwise(self):
        import quantize_int8
        g = torch.Generator().manual_seed(5)
        w = torch.randn(20, 37, generator=g) * 0.3
        w[3] = 0  # an all-zero row: scale 1, q 0
        w[4, :4] = torch.tensor([127.0, 63.5, -63.5, 0.5])  # scale 1: halves round away
        w[5, :3] = torch.tensor([1e-30, -2.0, 2.0])
        q, s = quantize_int8.quantize_rows(w)
        self.assertEqual(q.dtype, torch.int8)
        for j in range(w.shape[0]):
            rq, rs = reference_row(w[j].tolist())
            self.assertEqual(q[j].tolist(), rq, f"row {j}")
            self.assertEqual(np.float32(s[j].item()), rs, f"row {j} scale")
        self.assertEqual(q[4, :4].tolist(), [127, 64, -64, 1])
        self.assertEqual(s[3].item(), 1.0)


@unittest.skipIf(torch is None, "PyTorch is not installed (Debian: python3-torch)")
class Int8CheckpointRunsAsLoadTimeInt8(unittest.TestCase):
    def run_cli(self, *args):
        p = subprocess.run([CLI, *args], capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr

    def convert(self, src, out):
        p = subprocess.run([sys.executable, TOOL, src, out], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("matrices as int8", p.stdout)

    def test_fixture_and_shipped_models_give_identical_outputs(self):
        if not os.access(CLI, os.X_OK):
            self.skipTest(f"{CLI} not built (make build)")
        cases = [("tests/fixtures/hf-tiny/marian", "5,17,30,2,0"),
                 ("tests/fixtures/hf-tiny/bart", "0,12,40,77,3,2"),
                 ("tests/fixtures/hf-tiny/t5", "12,40,77,3,1"),
                 ("tests/fixtures/rnn/lstm-general", "5,9,13,2"),
                 ("tests/fixtures/rnn/gru-additive-uni", "5,9,13,2"),
                 ("models/marian-en-de", "100,200,300,400,0")]
        with tempfile.TemporaryDirectory() as tmp:
            for i, (model, ids) in enumerate(cases):
                src = os.path.join(ROOT, model)
                out = os.path.join(tmp, str(i))
                self.convert(src, out)
                for beams in ("1", "4"):
                    common = ["--input-ids", ids, "--num-beams", beams, "--max-new-tokens", "12"]
                    rc1, a, e1 = self.run_cli("generate", "--model", src, "--dtype", "int8",
                                              *common)
                    rc2, b, e2 = self.run_cli("generate", "--model", out, *common)
                    self.assertEqual((rc1, rc2), (0, 0), e1 + e2)
                    self.assertEqual(a, b, f"{model}, {beams} beams: the int8 checkpoint differs")
                    rc3, c, e3 = self.run_cli("generate", "--model", out, "--dtype", "w8a8",
                                              *common)
                    rc4, d, e4 = self.run_cli("generate", "--model", src, "--dtype", "w8a8",
                                              *common)
                    self.assertEqual((rc3, rc4), (0, 0), e3 + e4)
                    self.assertEqual(c, d, f"{model}, {beams} beams, w8a8 differs")

    def test_refusals_name_the_problem(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run([sys.executable, TOOL, os.path.join(ROOT, "models/han-cnndm"),
                                os.path.join(tmp, "han")], capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn("model_type 'han' has no int8 form", p.stderr)
            if not os.access(CLI, os.X_OK):
                self.skipTest(f"{CLI} not built (make build)")
            out = os.path.join(tmp, "m")
            self.convert(os.path.join(ROOT, "tests/fixtures/hf-tiny/marian"), out)
            p = subprocess.run([sys.executable, TOOL, out, os.path.join(tmp, "again")],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn("already an attnserve int8 checkpoint", p.stderr)
            rc, _, err = self.run_cli("generate", "--model", out, "--dtype", "f32",
                                      "--input-ids", "5,0")
            self.assertNotEqual(rc, 0)
            self.assertIn("is int8 (an attnserve int8 checkpoint): load it with dtype auto, "
                          "int8 or w8a8", err)
            # a matrix whose scales are missing, or whose scales have the wrong length
            from convert_bin_to_safetensors import read_safetensors, write_safetensors
            path = os.path.join(out, "model.safetensors")
            tensors, _ = read_safetensors(path)
            name = "model.decoder.layers.0.fc1.weight"
            for broken, why in ((None, "missing"), (torch.ones(3), "short")):
                t = dict(tensors)
                del t[name + ".attnserve_scale"]
                if broken is not None:
                    t[name + ".attnserve_scale"] = broken
                write_safetensors(t, path)
                rc, _, err = self.run_cli("generate", "--model", out, "--input-ids", "5,0")
                self.assertNotEqual(rc, 0, why)
                self.assertIn(f"int8 tensor {name} needs its scales {name}.attnserve_scale", err)


if __name__ == "__main__":
    unittest.main()
