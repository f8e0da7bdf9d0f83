#!/usr/bin/python3
"""test_train_export.py — the training code's models (tools/train/nn.py) are the architectures the
engine runs: a tiny random Marian and T5 (unequal encoder/decoder depths, as the default models)
are exported with tools/train/hf_export.py and run by attnserve-cli forward, whose logits and
attentions must equal PyTorch's within 1e-4; and an interrupted training run resumed from its
checkpoint ends with the same weights as an uninterrupted one.

Run: /usr/bin/python3 -m unittest discover -s tests/tools -v   (from the repository root, after
make build; the engine comparison skips visibly when build/cli/attnserve-cli is absent)
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

try:
    import torch
except ImportError:
    torch = None

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.environ.get("ATTNSERVE_CLI", os.path.join(ROOT, "build", "cli", "attnserve-cli"))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))

if torch is not None:
    import hf_export
    import nn as tnn
    import trainer

MARIAN = {"vocab_size": 40, "d_model": 16, "encoder_layers": 3, "decoder_layers": 1,
          "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 24,
          "decoder_ffn_dim": 24, "dropout": 0.1, "attention_dropout": 0.0,
          "max_position_embeddings": 32, "pad_token_id": 39, "eos_token_id": 0,
          "decoder_start_token_id": 39, "scale_embedding": True}
T5 = {"vocab_size": 40, "d_model": 16, "d_kv": 8, "d_ff": 24, "num_layers": 3,
      "num_decoder_layers": 1, "num_heads": 2, "relative_attention_num_buckets": 8,
      "relative_attention_max_distance": 16, "dropout_rate": 0.1, "layer_norm_epsilon": 1e-6,
      "feed_forward_proj": "relu", "pad_token_id": 0, "eos_token_id": 1,
      "decoder_start_token_id": 0}


@unittest.skipIf(torch is None, "PyTorch is not installed (Debian: apt-get install python3-torch)")
class ExportMatchesEngine(unittest.TestCase):
    def export(self, model, config, d):
        cfg = dict(config, model_type=self.model_type, architectures=[self.arch],
                   is_encoder_decoder=True, tie_word_embeddings=True)
        if self.model_type == "marian":
            cfg.update(activation_function="swish", share_encoder_decoder_embeddings=True)
        hf_export.export(d, model.export_state(), cfg, {}, {}, {}, dtype=torch.float32)
        os.remove(os.path.join(d, "tokenizer_config.json"))

    def compare(self, model, config, src, dec):
        if not os.access(CLI, os.X_OK):
            self.skipTest(f"{CLI} not built (make build)")
        model.eval()
        with torch.no_grad():
            for p in model.parameters():  # larger weights than the init, so errors show
                p.add_(torch.randn_like(p) * 0.3)
            want = model(torch.tensor([src]), torch.tensor([dec]))[0]
        with tempfile.TemporaryDirectory() as d:
            self.export(model, config, d)
            p = subprocess.run([CLI, "forward", "--model", d, "--input-ids",
                                ",".join(map(str, src)), "--decoder-ids",
                                ",".join(map(str, dec)), "--attentions"],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = json.loads(p.stdout)
        logits = torch.tensor(got["logits"])
        self.assertEqual(tuple(logits.shape), tuple(want.shape))
        self.assertGreater(float(want.abs().max()), 0.5)  # a meaningful comparison
        self.assertLess(float((logits - want).abs().max()), 1e-4)
        n_enc = config.get("encoder_layers", config.get("num_layers"))
        n_dec = config.get("decoder_layers", config.get("num_decoder_layers"))
        self.assertEqual(len(got["encoder_attentions"]), n_enc)
        self.assertEqual(len(got["cross_attentions"]), n_dec)
        return got

    def test_marian_with_deeper_encoder(self):
        self.model_type, self.arch = "marian", "MarianMTModel"
        torch.manual_seed(3)
        m = tnn.Marian(MARIAN)
        self.compare(m, MARIAN, [5, 9, 17, 3, 0], [39, 4, 8, 22])

    def test_t5_with_deeper_encoder(self):
        self.model_type, self.arch = "t5", "T5ForConditionalGeneration"
        torch.manual_seed(4)
        m = tnn.T5(T5)
        # 20 source positions: relative distances reach the logarithmic buckets
        self.compare(m, T5, list(range(2, 21)) + [1], [0, 7, 3, 9, 12])


@unittest.skipIf(torch is None, "PyTorch is not installed (Debian: apt-get install python3-torch)")
class ResumeIsExact(unittest.TestCase):
    def run_training(self, run_dir, stop_after_steps=None):
        torch.manual_seed(0)
        model = tnn.Marian(MARIAN)
        examples = [([(i * 7 + j) % 30 + 2 for j in range(3 + i % 5)] + [0],
                     [(i * 5 + j) % 30 + 2 for j in range(2 + i % 4)] + [0]) for i in range(64)]
        t = trainer.Trainer(run_dir, model, examples, pad_id=39, start_id=39,
                            validate=lambda m: (0.0, {}), max_tokens=64, lr=1e-3, warmup=4,
                            epochs=2, checkpoint_every_s=1e9, bf16=False)
        if stop_after_steps:
            # stop mid-epoch through the time limit, as a session ending would
            t.run(stop_after_s=-1)
            return None
        t.run()
        return {k: v.clone() for k, v in model.state_dict().items()}

    def test_resumed_run_equals_uninterrupted_run(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            whole = self.run_training(a)
            self.run_training(b, stop_after_steps=1)  # one step, checkpoint, stop
            with open(os.path.join(b, "log.jsonl")) as f:
                self.assertIn('"stopped"', f.read())
            resumed = self.run_training(b)
        for k in whole:
            self.assertTrue(torch.equal(whole[k], resumed[k]), k)


if __name__ == "__main__":
    unittest.main()
