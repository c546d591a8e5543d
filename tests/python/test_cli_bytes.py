"""Byte identity of the two faces: ftc.encode(x, name="x", **options) gives the bytes of
`ftc encode x.npy` with the matching flags. Environment: as test_ftc.py, and FTC_CLI the ftc
command."""
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import ftc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_ftc import SOURCE, features  # noqa: E402

CLI = os.environ["FTC_CLI"]


class SameBytesAsTheCli(unittest.TestCase):
    """ftc.encode(x, name="x", **kw) == `ftc encode x.npy` with the matching flags, byte for byte."""

    CASES = [
        ([], {}),
        (["--bits", "4", "--per-channel", "1", "--coder", "rans"], dict(bits=4, per_channel=1, coder="rans")),
        (["--bits", "3", "--coder", "adaptive"], dict(bits=3, coder="adaptive")),
        (["--bits", "8", "--coder", "rans-wide", "--lanes", "128"], dict(bits=8, coder="rans-wide", lanes=128)),
        (["--lossless", "--coder", "zstd", "--level", "9"], dict(quantizer="lossless", level=9)),
        (["--cast", "f16", "--coder", "raw"], dict(quantizer="f16", coder="raw")),
        (["--bits", "6", "--clip", "0,2.5", "--layout", "nchw"], dict(bits=6, clip=(0, 2.5), layout="nchw")),
        (["--bits", "2", "--chunk-elements", "1000", "--no-checksums", "--threads", "2"],
         dict(bits=2, chunk_elements=1000, chunk_checksums=False, threads=2)),
        (["--bits", "12", "--per-channel", "-3", "--coder", "rans", "--lanes", "32"],
         dict(bits=12, per_channel=-3, coder="rans", lanes=32)),
    ]

    def test_same_bytes(self):
        x = features((2, 16, 14, 14))
        with tempfile.TemporaryDirectory() as d:
            np.save(os.path.join(d, "x.npy"), x)
            for i, (flags, kw) in enumerate(self.CASES):
                with self.subTest(flags=" ".join(flags)):
                    out = os.path.join(d, "x%d.ftc" % i)
                    r = subprocess.run([CLI, "encode", os.path.join(d, "x.npy"), "-o", out, "-q"] + flags,
                                       capture_output=True, text=True)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    cli = pathlib.Path(out).read_bytes()
                    self.assertEqual(ftc.encode(x, name="x", **kw), cli)
                    # A strided view of the same values gives the same bytes.
                    v = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
                    self.assertEqual(ftc.encode(v, name="x", **kw), cli)
                    np.testing.assert_array_equal(ftc.decode(cli), ftc.decode(ftc.encode(x, name="x", **kw)))

    def test_codec_model_frames(self):
        """ftc.encode(x, codec_model=m, rate_point=r) == `ftc encode --codec-model M --rate-point r`,
        and each face decodes the other's frame to the same array."""
        path = str(SOURCE / "models" / "fmnist_resnet.ftcm")
        model = ftc.CodecModel.load(path)
        x = features(model.tensor_shape, seed=11)
        with tempfile.TemporaryDirectory() as d:
            np.save(os.path.join(d, "x.npy"), x)
            for r in range(model.rate_points):
                with self.subTest(rate_point=r):
                    out = os.path.join(d, "x%d.ftc" % r)
                    p = subprocess.run([CLI, "encode", os.path.join(d, "x.npy"), "-o", out, "-q", "--codec-model", path,
                                        "--rate-point", str(r)], capture_output=True, text=True)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    cli = pathlib.Path(out).read_bytes()
                    self.assertEqual(ftc.encode(x, codec_model=model, rate_point=r), cli)
                    npy = os.path.join(d, "y%d.npy" % r)
                    p = subprocess.run([CLI, "decode", out, "-o", npy, "--codec-model", path], capture_output=True, text=True)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    np.testing.assert_array_equal(np.load(npy), ftc.decode(cli, codec_model=model))

    def test_several_tensors(self):
        a, b = features(), features((3, 5), seed=9)
        with tempfile.TemporaryDirectory() as d:
            np.save(os.path.join(d, "a.npy"), a)
            np.save(os.path.join(d, "b.npy"), b)
            out = os.path.join(d, "ab.ftc")
            r = subprocess.run([CLI, "encode", os.path.join(d, "a.npy"), os.path.join(d, "b.npy"), "-o", out, "-q",
                                "--bits", "5"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(ftc.encode({"a": a, "b": b}, bits=5), pathlib.Path(out).read_bytes())
            # `ftc decode` to .npz: what numpy.load reads is what ftc.decode returns.
            npz = os.path.join(d, "ab.npz")
            r = subprocess.run([CLI, "decode", out, "-o", npz], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            want = ftc.decode(pathlib.Path(out).read_bytes())
            with np.load(npz) as z:
                self.assertEqual(sorted(z.files), ["a", "b"])
                for k in want:
                    np.testing.assert_array_equal(z[k], want[k])



if __name__ == "__main__":
    unittest.main()
