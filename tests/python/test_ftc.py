"""The Python module against the core and the CLI: round trips, strides, options through the
encoder's option table, errors as ftc.Error, every must-fail golden vector, layers and split of
the bundled model. Environment: PYTHONPATH holds the built package, FTC_SOURCE_DIR the source
tree (default: this file's)."""
import os
import pathlib
import tempfile
import threading
import unittest

import numpy as np

import ftc

SOURCE = pathlib.Path(os.environ.get("FTC_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))


def features(shape=(1, 16, 14, 14), seed=3):
    rng = np.random.default_rng(seed)
    x = rng.exponential(1.0, size=shape) * (rng.random(shape) < 0.5)
    return (x * np.arange(1, shape[1] + 1).reshape((1, -1) + (1,) * (len(shape) - 2)) * 0.1).astype(np.float32)


def manifest(kind):
    """(path, field, models) of every MANIFEST line of `kind` under tests/golden/v*/, with the
    codec models of that version's models/ folder (what compact model-bound frames name)."""
    rows = []
    for m in sorted(SOURCE.glob("tests/golden/v*/MANIFEST")):
        models = [ftc.CodecModel.load(str(p)) for p in sorted((m.parent / "models").glob("*.ftcm"))]
        for line in m.read_text().splitlines():
            parts = line.split()
            if len(parts) < 3 or parts[0] != kind:
                continue
            # "1.N:S": the status decoders from format 1.N on return (this module reads 1.3).
            field = parts[2]
            for later in parts[3:]:
                field = later.split(":", 1)[1]
            rows.append((m.parent / kind / parts[1], field, models))
    return rows


class RoundTrip(unittest.TestCase):
    def test_lossless_is_exact_for_every_dtype(self):
        rng = np.random.default_rng(1)
        for dt in ["float32", "float64", "float16", "int8", "uint8", "int16", "uint16", "int32"]:
            x = (rng.standard_normal((3, 5, 7)) * 100).astype(dt)
            y = ftc.decode(ftc.encode(x, quantizer="lossless"))
            self.assertEqual(y.dtype, x.dtype, dt)
            np.testing.assert_array_equal(y, x, dt)

    def test_uniform_error_within_half_a_step_per_channel(self):
        x = features()
        y = ftc.decode(ftc.encode(x, bits=6, per_channel=1, coder="rans"))
        for c in range(x.shape[1]):
            lo, hi = x[:, c].min(), x[:, c].max()
            step = (hi - lo) / 63
            self.assertLessEqual(np.abs(y[:, c] - x[:, c]).max(), step / 2 + 1e-6 * max(1.0, abs(hi)))

    def test_any_strides_encode_as_their_c_order_copy(self):
        x = features((2, 8, 10, 12))
        views = [x.transpose(0, 2, 3, 1), x[:, ::-1], x[..., ::3], x[:, :, 1:9:2, ::-2],
                 x.astype(x.dtype.newbyteorder(">")), np.asfortranarray(x)]
        for v in views:
            self.assertEqual(ftc.encode(v, bits=5), ftc.encode(np.ascontiguousarray(v, dtype="=f4"), bits=5))
            np.testing.assert_array_equal(ftc.decode(ftc.encode(v, quantizer="lossless")), v)

    def test_bfloat16_decodes_to_float32_exactly(self):
        x = features()
        y = ftc.decode(ftc.encode(x, quantizer="bf16"))
        self.assertEqual(y.dtype, np.float32)
        # bf16 keeps the top 16 bits, rounded to nearest even: within 2^-8 relative.
        np.testing.assert_allclose(y, x, rtol=2.0 ** -8, atol=0)
        self.assertTrue(np.all((y.view(np.uint32) & 0xFFFF) == 0))

    def test_several_tensors_come_back_by_name(self):
        a, b = features(), np.arange(10, dtype=np.int32)
        out = ftc.decode(ftc.encode({"a": a, "b": b}, quantizer="lossless"))
        self.assertEqual(list(out), ["a", "b"])
        np.testing.assert_array_equal(out["b"], b)
        pairs = ftc.decode_all(ftc.encode([a, ("x", b), a], quantizer="lossless"))
        self.assertEqual([n for n, _ in pairs], ["", "x", ""])
        self.assertEqual(list(ftc.decode(ftc.encode([a, ("x", b), a], quantizer="lossless"))),
                         ["tensor0", "x", "tensor2"])

    def test_decoded_array_owns_its_memory_after_the_frame_is_gone(self):
        frame = bytearray(ftc.encode(features(), quantizer="lossless"))
        y = ftc.decode(memoryview(frame))
        del frame
        np.testing.assert_array_equal(y, features())
        self.assertTrue(y.flags.writeable and y.flags.c_contiguous)

    def test_info_reports_what_the_frame_declares(self):
        frame = ftc.encode(features(), bits=4, per_channel=1, coder="rans", name="conv1", layout="nchw")
        i = ftc.info(frame)
        self.assertEqual(i["bytes"], len(frame))
        t = i["tensors"][0]
        self.assertEqual((t["name"], t["dtype"], t["shape"], t["bits"], t["channel_axis"], t["coder"], t["layout"]),
                         ("conv1", "f32", (1, 16, 14, 14), 4, 1, "rans", "nchw"))

    def test_threads_release_the_gil_and_agree(self):
        x = features((4, 32, 28, 28))
        want = ftc.encode(x, bits=8, coder="rans", chunk_elements=4096)
        got = [None] * 4

        def work(i):
            got[i] = ftc.encode(x, bits=8, coder="rans", chunk_elements=4096, threads=2)

        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(got, [want] * 4)
        np.testing.assert_array_equal(ftc.decode(want, threads=3), ftc.decode(want))


try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None


@unittest.skipUnless(torch is not None, "PyTorch not installed")
class PyTorch(unittest.TestCase):
    """CPU tensors go through NumPy without copies: in (t.numpy() or the tensor itself) and out."""

    def test_tensors_in_and_out_share_memory(self):
        t = torch.from_numpy(features((2, 8, 6, 6)))
        a = t.numpy()
        self.assertEqual(a.ctypes.data, t.data_ptr())  # a view, not a copy
        frame = ftc.encode(a, bits=6, per_channel=1)
        self.assertEqual(ftc.encode(t, bits=6, per_channel=1), frame)  # a tensor as it is
        self.assertEqual(ftc.encode(t.permute(0, 2, 3, 1), bits=6),
                         ftc.encode(np.ascontiguousarray(a.transpose(0, 2, 3, 1)), bits=6))
        y = ftc.decode(frame)
        ty = torch.from_numpy(y)
        self.assertEqual(ty.data_ptr(), y.ctypes.data)
        self.assertEqual(tuple(ty.shape), a.shape)


class Errors(unittest.TestCase):
    def assertError(self, status, fn, *args, **kwargs):
        with self.assertRaises(ftc.Error) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.status, status, str(cm.exception))
        self.assertTrue(cm.exception.message)
        return cm.exception

    def test_bad_options_name_the_option_and_its_range(self):
        e = self.assertError("invalid_argument", ftc.encode, features(), bits=17)
        self.assertIn("bits", e.message)
        self.assertIn("1..16", e.message)
        self.assertIn("unknown encoder option 'colour'",
                      self.assertError("invalid_argument", ftc.encode, features(), colour=1).message)
        self.assertError("invalid_argument", ftc.encode, features(), coder="brotli")
        self.assertError("invalid_argument", ftc.encode, features(), clip=(2, 1))
        self.assertError("invalid_argument", ftc.encode, features(), per_channel=7)

    def test_bad_arrays(self):
        self.assertIn("dtype", self.assertError("invalid_argument", ftc.encode, np.zeros(3, np.int64)).message)
        self.assertError("invalid_argument", ftc.encode, np.zeros(3, np.complex64))
        self.assertError("invalid_argument", ftc.encode, np.zeros((1,) * 9, np.float32))
        self.assertError("invalid_argument", ftc.encode, {})
        self.assertError("invalid_argument", ftc.encode, [1, 2])
        self.assertError("invalid_argument", ftc.encode, np.array([1.0, np.nan], np.float32))
        self.assertError("invalid_argument", ftc.decode, "not bytes")
        self.assertError("invalid_argument", ftc.decode, b"", threads=0)

    def test_limits_are_the_callers(self):
        frame = ftc.encode(features(), quantizer="lossless")
        self.assertError("limit_exceeded", ftc.decode, frame, max_output_bytes=1000)

    def test_every_must_fail_golden_vector_raises_its_status(self):
        rows = manifest("invalid")
        self.assertGreater(len(rows), 20)
        self.assertGreaterEqual(sum(1 for p, _, _ in rows if p.name.startswith("compact_")), 6)
        for path, code, models in rows:
            with self.subTest(path.name):
                with self.assertRaises(ftc.Error) as cm:
                    ftc.decode_all(path.read_bytes(), codec_model=models)
                self.assertEqual(cm.exception.code, int(code), str(cm.exception))

    def test_damaged_valid_vectors_raise_or_decode_never_crash(self):
        rows = manifest("valid")
        self.assertGreater(len(rows), 20)
        rng = np.random.default_rng(7)
        raised = 0
        for path, _, models in rows:
            data = path.read_bytes()
            ftc.decode_all(data, codec_model=models)
            ftc.info(data, codec_model=models)
            cuts = sorted(set(rng.integers(0, len(data), 8).tolist()))
            damaged = [data[:c] for c in cuts]
            for _ in range(8):
                b = bytearray(data)
                b[int(rng.integers(0, len(b)))] ^= 1 << int(rng.integers(0, 8))
                damaged.append(bytes(b))
            for d in damaged:
                for fn in (ftc.decode_all, ftc.info):
                    try:
                        fn(d, codec_model=models)
                    except ftc.Error as e:
                        self.assertTrue(e.message)
                        raised += 1
        self.assertGreater(raised, len(rows) * 8)


class CodecModels(unittest.TestCase):
    """The bundled fitted model (models/fmnist_resnet.ftcm) from Python: compact frames both ways."""

    PATH = SOURCE / "models" / "fmnist_resnet.ftcm"

    def setUp(self):
        self.model = ftc.CodecModel.load(str(self.PATH))
        self.x = features(self.model.tensor_shape)

    def test_load_and_from_bytes_are_the_same_model(self):
        m = ftc.CodecModel.from_bytes(self.PATH.read_bytes())
        self.assertEqual((m.id, m.hash, m.rate_points), (self.model.id, self.model.hash, self.model.rate_points))
        self.assertEqual(len(m.rate_point_labels), m.rate_points)
        self.assertEqual(m.tensor_dtype, "f32")
        self.assertEqual(ftc.encode(self.x, codec_model=m, rate_point=2),
                         ftc.encode(self.x, codec_model=self.model, rate_point=2))
        with self.assertRaises(AttributeError):
            m.rate_points = 1  # immutable

    def test_compact_frames_round_trip_at_every_rate_point(self):
        sizes = []
        for r in range(self.model.rate_points):
            frame = ftc.encode(self.x, codec_model=self.model, rate_point=r)
            i = ftc.info(frame, codec_model=self.model)
            self.assertEqual((i["model_id"], i["model_hash"], i["rate_point"]), (self.model.id, self.model.hash, r))
            self.assertEqual(i["header_bytes"], 6)
            y = ftc.decode(frame, codec_model=[self.model])
            self.assertEqual((y.shape, y.dtype), (self.x.shape, self.x.dtype))
            # The decoder reconstructs what the model's quantizer chose: decoding is deterministic.
            np.testing.assert_array_equal(y, ftc.decode(frame, codec_model=self.model, threads=2))
            sizes.append(len(frame))
        self.assertEqual(ftc.encode(self.x, codec_model=self.model), ftc.encode(self.x, codec_model=self.model, rate_point=0))
        self.assertLess(sizes[-1], sizes[0])  # lower rate points send fewer bytes

    def test_one_model_shared_by_threads(self):
        want = [ftc.encode(self.x, codec_model=self.model, rate_point=r) for r in range(4)]
        got = [None] * 8

        def work(i):
            frame = ftc.encode(self.x, codec_model=self.model, rate_point=i % 4)
            ftc.decode(frame, codec_model=self.model)
            got[i] = frame

        ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(got, want + want)

    def test_errors(self):
        frame = ftc.encode(self.x, codec_model=self.model, rate_point=1)
        e = Errors.assertError(self, "model_mismatch", ftc.decode, frame)
        self.assertIn("registered models: none", e.message)
        Errors.assertError(self, "invalid_argument", ftc.encode, self.x, codec_model=self.model, bits=4)
        Errors.assertError(self, "invalid_argument", ftc.encode, self.x, codec_model=self.model, name="x")
        Errors.assertError(self, "invalid_argument", ftc.encode, self.x, rate_point=1)
        Errors.assertError(self, "invalid_argument", ftc.encode, self.x, codec_model=self.model, rate_point=self.model.rate_points)
        Errors.assertError(self, "invalid_argument", ftc.encode, self.x[:, :32], codec_model=self.model)
        Errors.assertError(self, "invalid_argument", ftc.encode, self.x, codec_model=str(self.PATH))
        Errors.assertError(self, "invalid_argument", ftc.decode, frame, codec_model=[self.model, "x"])
        Errors.assertError(self, "io_error", ftc.CodecModel.load, str(self.PATH) + ".missing")
        data = self.PATH.read_bytes()
        for bad in (data[:100], data[:-1], b"", bytes(b ^ 1 if i == 40 else b for i, b in enumerate(data))):
            with self.assertRaises(ftc.Error) as cm:
                ftc.CodecModel.from_bytes(bad)
            self.assertTrue(cm.exception.message)


class Contradictions(unittest.TestCase):
    def test_options_that_exclude_each_other_raise(self):
        x = features()
        for kw in (dict(quantizer="lossless", bits=4), dict(quantizer="f16", bits=4), dict(quantizer="bf16", clip=(0, 1)),
                   dict(quantizer="lossless", per_channel=1), dict(coder="rans", level=9), dict(lanes=64)):
            with self.subTest(**{k: str(v) for k, v in kw.items()}):
                e = Errors.assertError(self, "invalid_argument", ftc.encode, x, **kw)
                self.assertIn("exclude each other", e.message)
        ftc.encode(x, quantizer="lossless", level=9)
        ftc.encode(x, coder="rans", lanes=64)


@unittest.skipUnless(hasattr(ftc, "layers"), "built without the ONNX pipeline")
class Evaluate(unittest.TestCase):
    def test_the_study_as_dicts(self):
        rng = np.random.default_rng(5)
        with tempfile.TemporaryDirectory() as d:
            # NumPy's defaults: (N, H, W, C) uint8 images and int64 labels.
            np.save(os.path.join(d, "x.npy"), rng.integers(0, 256, (3, 28, 28, 1), dtype=np.uint8))
            np.save(os.path.join(d, "y.npy"), np.array([0, 1, 2]))
            data = "npy:%s,%s" % (os.path.join(d, "x.npy"), os.path.join(d, "y.npy"))
            model = str(SOURCE / "models" / "fmnist_resnet.onnx")
            r = ftc.evaluate(model, data, codec={"coder": "rans"}, sweep={"bits": [2, 6]},
                             codec_models=[str(SOURCE / "models" / "fmnist_resnet.ftcm")], baselines="none", threads=2)
            self.assertEqual(r["images"], 3)
            names = [row["name"] for row in r["rows"]]
            self.assertEqual(len(names), 2 + ftc.CodecModel.load(str(SOURCE / "models" / "fmnist_resnet.ftcm")).rate_points)
            self.assertIn("ftc-u-pc1-rans b=2", names)
            for row in r["rows"]:
                self.assertEqual(row["images"], 3)
                self.assertGreater(row["bytes_mean"], 0)
                self.assertLessEqual(row["top1_ci95"][0], row["top1"])
                self.assertGreaterEqual(row["top1_ci95"][1], row["top1"])
            b2 = next(row for row in r["rows"] if row["name"] == "ftc-u-pc1-rans b=2")
            b6 = next(row for row in r["rows"] if row["name"] == "ftc-u-pc1-rans b=6")
            self.assertLess(b2["bytes_mean"], b6["bytes_mean"])
            self.assertTrue(r["command"].startswith("ftc.evaluate("))
            with self.assertRaises(ftc.Error) as cm:
                ftc.evaluate(model, data, codec={"quantizer": "lossless", "bits": 4}, baselines="none")
            self.assertIn("exclude each other", cm.exception.message)
            with self.assertRaises(ftc.Error) as cm:
                ftc.evaluate(model, "npy:" + os.path.join(d, "missing.npy"), baselines="none")
            self.assertIn("missing.npy", cm.exception.message)


@unittest.skipUnless(hasattr(ftc, "layers"), "built without the ONNX pipeline")
class Models(unittest.TestCase):
    def test_layers_and_split_of_the_bundled_model(self):
        model = str(SOURCE / "models" / "fmnist_resnet.onnx")
        layers = ftc.layers(model)
        self.assertGreater(len(layers), 5)
        names = [l["tensor"] for l in layers]
        single = [l for l in layers if len(l["cut"]) == 1]
        self.assertTrue(single)
        with tempfile.TemporaryDirectory() as d:
            s = ftc.split(model, [single[0]["tensor"]], head=os.path.join(d, "h.onnx"), tail=os.path.join(d, "t.onnx"))
            self.assertEqual(s["cut"], [single[0]["tensor"]])
            self.assertTrue(os.path.getsize(os.path.join(d, "h.onnx")) > 0)
            # Both parts or neither: a tail that cannot be written leaves no new head, and an
            # existing head as it was.
            head = os.path.join(d, "h2.onnx")
            with self.assertRaises(ftc.Error):
                ftc.split(model, [single[0]["tensor"]], head=head, tail=os.path.join(d, "no", "dir", "t.onnx"))
            self.assertFalse(os.path.exists(head))
            with open(head, "wb") as f:
                f.write(b"old")
            with self.assertRaises(ftc.Error):
                ftc.split(model, [single[0]["tensor"]], head=head, tail=os.path.join(d, "no", "dir", "t.onnx"))
            with open(head, "rb") as f:
                self.assertEqual(f.read(), b"old")
            self.assertEqual(sorted(os.listdir(d)), ["h.onnx", "h2.onnx", "t.onnx"])
        with self.assertRaises(ftc.Error) as cm:
            ftc.split(model, ["no such tensor"])
        self.assertIn("no such tensor", cm.exception.message)
        self.assertIn(single[0]["tensor"], names)
        with self.assertRaises(ftc.Error):
            ftc.layers(str(SOURCE / "README.md"))


if __name__ == "__main__":
    unittest.main()
