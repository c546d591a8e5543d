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
    """(path, field) of every MANIFEST line of `kind` under tests/golden/v*/."""
    rows = []
    for m in sorted(SOURCE.glob("tests/golden/v*/MANIFEST")):
        for line in m.read_text().splitlines():
            parts = line.split()
            if len(parts) < 3 or parts[0] != kind:
                continue
            # Compact model-bound frames need their codec model, which this module cannot
            # register yet; the C++ golden test decodes them.
            if parts[1].startswith("compact_"):
                continue
            # "1.N:S": the status decoders from format 1.N on return (this module reads 1.3).
            field = parts[2]
            for later in parts[3:]:
                field = later.split(":", 1)[1]
            rows.append((m.parent / kind / parts[1], field))
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
        for path, code in rows:
            with self.subTest(path.name):
                with self.assertRaises(ftc.Error) as cm:
                    ftc.decode_all(path.read_bytes())
                self.assertEqual(cm.exception.code, int(code), str(cm.exception))

    def test_damaged_valid_vectors_raise_or_decode_never_crash(self):
        rows = manifest("valid")
        self.assertGreater(len(rows), 20)
        rng = np.random.default_rng(7)
        raised = 0
        for path, _ in rows:
            data = path.read_bytes()
            ftc.decode_all(data)
            ftc.info(data)
            cuts = sorted(set(rng.integers(0, len(data), 8).tolist()))
            damaged = [data[:c] for c in cuts]
            for _ in range(8):
                b = bytearray(data)
                b[int(rng.integers(0, len(b)))] ^= 1 << int(rng.integers(0, 8))
                damaged.append(bytes(b))
            for d in damaged:
                for fn in (ftc.decode_all, ftc.info):
                    try:
                        fn(d)
                    except ftc.Error as e:
                        self.assertTrue(e.message)
                        raised += 1
        self.assertGreater(raised, len(rows) * 8)


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
        with self.assertRaises(ftc.Error) as cm:
            ftc.split(model, ["no such tensor"])
        self.assertIn("no such tensor", cm.exception.message)
        self.assertIn(single[0]["tensor"], names)
        with self.assertRaises(ftc.Error):
            ftc.layers(str(SOURCE / "README.md"))


if __name__ == "__main__":
    unittest.main()
