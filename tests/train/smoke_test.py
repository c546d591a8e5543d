"""train/learn.py end to end on 512 training images for one epoch: the four files, codec.json
against the ftc-learned-codec/1 schema, device.onnx latents integer-valued inside [lo, hi],
server.onnx giving the model's output; plus its one-line failures."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
import torch

ROOT = os.environ.get("FTC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "train"))
import fashion_mnist  # noqa: E402
import onnx_torch  # noqa: E402

LEARN = os.path.join(ROOT, "train", "learn.py")
MODEL = os.path.join(ROOT, "models", "fmnist_resnet.onnx")
AT = "/stage2/block1/relu_2/Relu_output_0"


def learn(*args):
    return subprocess.run([sys.executable, LEARN, *args], capture_output=True, text=True)


class Smoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "out")
        cls.proc = learn("--model", MODEL, "--at", AT, "--data", "fashion-mnist:train:512", "--out", cls.out,
                        "--epochs", "1", "--latent-channels", "4", "--seed", "3")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_writes_the_four_files_and_nothing_else(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertEqual(sorted(os.listdir(self.out)), ["codec.json", "device.onnx", "report.json", "server.onnx"])
        self.assertIn("held-out top-1", self.proc.stderr)
        self.assertIn("bits/image", self.proc.stderr)

    def test_codec_json_schema(self):
        with open(os.path.join(self.out, "codec.json")) as f:
            c = json.load(f)
        self.assertEqual(c["format"], "ftc-learned-codec/1")
        self.assertEqual(c["model"], "fmnist_resnet.onnx")
        self.assertEqual(c["at"], AT)
        self.assertEqual(c["device_graph"], "device.onnx")
        self.assertEqual(c["server_graph"], "server.onnx")
        self.assertEqual(c["latent"]["name"], "latent")
        shape = c["latent"]["shape"]
        self.assertEqual(shape, [1, 4, 7, 7])
        self.assertEqual(len(c["channels"]), shape[1])
        for ch in c["channels"]:
            self.assertIsInstance(ch["lo"], int)
            pmf = ch["pmf"]
            self.assertTrue(1 <= len(pmf) <= 256)
            self.assertTrue(all(p > 0 for p in pmf))
            self.assertAlmostEqual(sum(pmf), 1.0, places=6)
        for k in ("trained_on", "rate_weight", "seed", "command"):
            self.assertIsInstance(c["metadata"][k], str)
        self.assertEqual(c["metadata"]["seed"], "3")

    def test_report(self):
        with open(os.path.join(self.out, "report.json")) as f:
            r = json.load(f)
        with open(os.path.join(self.out, "codec.json")) as f:
            c = json.load(f)
        self.assertEqual(r["latent_shape"], c["latent"]["shape"])
        self.assertGreater(r["estimated_bits_per_image"], 0)
        self.assertTrue(0 <= r["heldout_top1"] <= 1 and 0.5 < r["reference_top1"] <= 1)
        self.assertGreater(r["head_macs"], r["encoder_macs"])
        for k in ("at", "prune_fraction", "rate_weight", "seed", "seconds"):
            self.assertIn(k, r)

    def test_graphs_run_and_latents_are_clamped_integers(self):
        with open(os.path.join(self.out, "codec.json")) as f:
            c = json.load(f)
        dev = onnx.load(os.path.join(self.out, "device.onnx"))
        srv = onnx.load(os.path.join(self.out, "server.onnx"))
        self.assertEqual(dev.graph.input[0].name, "input")
        self.assertEqual([o.name for o in dev.graph.output], ["latent"])
        self.assertEqual(srv.graph.input[0].name, "latent")
        self.assertEqual([o.name for o in srv.graph.output], ["logits"])
        self.assertTrue(all(o.version <= 13 for o in dev.opset_import))
        images, _ = fashion_mnist.load("test")
        x = torch.from_numpy(fashion_mnist.normalize(images[:50]))
        with torch.no_grad():
            y = onnx_torch.load(dev)(x)
            logits = onnx_torch.load(srv)(y)
        self.assertEqual(list(y.shape[1:]), c["latent"]["shape"][1:])
        self.assertTrue(torch.equal(y, torch.round(y)))
        for k, ch in enumerate(c["channels"]):
            lo, hi = ch["lo"], ch["lo"] + len(ch["pmf"]) - 1
            self.assertGreaterEqual(y[:, k].min().item(), lo)
            self.assertLessEqual(y[:, k].max().item(), hi)
        # extreme inputs still land inside the range (the clamp, not the data, bounds them)
        with torch.no_grad():
            big = onnx_torch.load(dev)(torch.full((1, 1, 28, 28), 1e4))
        lo = min(ch["lo"] for ch in c["channels"])
        hi = max(ch["lo"] + len(ch["pmf"]) - 1 for ch in c["channels"])
        self.assertTrue(lo <= big.min().item() and big.max().item() <= hi)
        self.assertEqual(list(logits.shape), [50, 10])


class Failures(unittest.TestCase):
    def test_bad_cut_is_one_line_and_writes_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out")
            r = learn("--model", MODEL, "--at", "nope", "--data", "fashion-mnist:train:512", "--out", out)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
            self.assertTrue(r.stderr.startswith("ftc learn: "), r.stderr)
            self.assertIn("nope", r.stderr)
            self.assertFalse(os.path.exists(out))

    def test_test_data_refused(self):
        r = learn("--model", MODEL, "--at", AT, "--data", "fashion-mnist:test", "--out", "/nonexistent/x")
        self.assertEqual(r.returncode, 1)
        self.assertIn("training images only", r.stderr)

    def test_missing_torch(self):
        code = ("import runpy, sys; sys.modules['torch'] = None; sys.argv = ['learn.py', '--help']; "
                f"runpy.run_path({LEARN!r}, run_name='__main__')")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ftc learn: needs python3-torch (scripts/install-deps.sh)\n")


if __name__ == "__main__":
    unittest.main()
