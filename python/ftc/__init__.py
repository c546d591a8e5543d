"""ftc — feature tensor codec for split DNN inference.

    import numpy as np, ftc
    frame = ftc.encode(features, bits=4, per_channel=1, coder="rans")   # bytes
    restored = ftc.decode(frame)                                          # numpy.ndarray
    ftc.info(frame)["tensors"][0]["payload_bytes"]

Options are the encoder's option table (ftc.encoder_options(); the CLI's flags without the
dashes, '-' written '_'): bits, per_channel, coder, level, chunk_elements, chunk_checksums,
threads, layout, lanes, quantizer ("uniform", "lossless", "f16", "bf16"), clip=(lo, hi).
The same input and options give the same bytes as `ftc encode`. Options that exclude each other
(quantizer="lossless" with bits=4, level= without the zstd coder, lanes= without rans) raise
instead of one being ignored.

Codec models (.ftcm, fitted by `ftc fit`): ``m = ftc.CodecModel.load(path)`` (or
``CodecModel.from_bytes``) is immutable and may be shared by any number of calls and threads;
``ftc.encode(x, codec_model=m, rate_point=2)`` writes a compact model-bound frame (the bytes of
``ftc encode --codec-model``), ``ftc.decode(frame, codec_model=m)`` (or a list of models) reads it.

Arrays of any strides are read in place when their strides are whole elements in native byte
order, else copied once. PyTorch tensors go through NumPy: ``t.detach().cpu().numpy()`` shares
the memory of a CPU tensor (no copy), and ``torch.from_numpy(ftc.decode(frame))`` shares the
decoded array's. Coding releases the GIL. Every failure raises ftc.Error, whose ``status`` names the
ftc status code ("corrupt", "truncated", "invalid_argument", ...; ftc::StatusCode), ``code`` is
its number (the C ABI's ftc_status) and ``message`` the reason.
"""
import json as _json

from ._ftc import CodecModel, Error, __version__, format_version, encoder_options
from . import _ftc

__all__ = ["CodecModel", "Error", "encode", "decode", "decode_all", "info", "encoder_options", "__version__",
           "format_version"]


def encode(tensors, bits=None, per_channel=None, coder=None, *, name=None, codec_model=None, rate_point=None,
           **options):
    """Encodes one array (or a dict {name: array}, or a list of arrays / (name, array) pairs)
    into one ftc frame and returns its bytes.

    bits: uniform quantizer bits (1..16; default 8). per_channel: the axis with one range per
    index (None: one range for the tensor). coder: "zstd" (default), "rans", "rans-wide",
    "adaptive", "raw". Other keywords: see ftc.encoder_options(). None leaves an option at its
    default. codec_model: an ftc.CodecModel; the frame is then a compact model-bound frame at
    `rate_point` (default 0, the highest rate), and the model fixes every other option.
    """
    settings = {"bits": bits, "per_channel": per_channel, "coder": coder}
    settings.update(options)
    return _ftc.encode(tensors, name=name, codec_model=codec_model, rate_point=rate_point,
                       **{k: v for k, v in settings.items() if v is not None})


def decode_all(data, *, threads=1, max_output_bytes=None, codec_model=None):
    """Decodes an ftc frame into its (name, numpy.ndarray) pairs, in frame order. codec_model:
    an ftc.CodecModel or a list of them, which model-bound frames may name."""
    return _ftc.decode_all(data, threads=threads, max_output_bytes=max_output_bytes, codec_model=codec_model)


def decode(data, *, threads=1, max_output_bytes=None, codec_model=None):
    """Decodes an ftc frame (bytes, bytearray or memoryview). One tensor: a numpy.ndarray.
    Several: a dict {name: ndarray} in frame order, "tensor<i>" standing for an empty or repeated
    name (ftc.decode_all gives the (name, array) pairs as they are). bfloat16 tensors come back as
    float32 (exactly). codec_model: as for decode_all."""
    tensors = decode_all(data, threads=threads, max_output_bytes=max_output_bytes, codec_model=codec_model)
    if len(tensors) == 1:
        return tensors[0][1]
    names = [n for n, _ in tensors]
    return {(n if n and names.count(n) == 1 else "tensor%d" % i): a for i, (n, a) in enumerate(tensors)}


def info(data, *, codec_model=None):
    """What a frame declares (format version, sizes, each tensor's dtype, shape, quantizer and
    coder) as a dict, without decoding payloads. Model-bound frames need their codec_model."""
    return _ftc.info(data, codec_model=codec_model)


if hasattr(_ftc, "layers"):  # built with the ONNX pipeline
    from ._ftc import layers  # noqa: F401

    def split(model, at, *, head=None, tail=None):
        """Cuts an ONNX model at a tensor name (or a list of them); writes the head and tail
        models when paths are given, and returns what the cut sends and costs as a dict."""
        return _ftc.split(model, [at] if isinstance(at, str) else list(at), head=head, tail=tail)

    def evaluate(model, data="fashion-mnist:test", *, at=None, codec=None, sweep=None, codec_models=(),
                 baselines="all", limit=0, threads=0, calibration=None, calibration_images=500, mean=None, std=None,
                 input_shape=None, fashion_mnist_dir=None, anchor=None):
        """Runs the rate-accuracy study of `ftc eval` (head -> encode -> decode -> tail on every
        image, beside the baselines) and returns its report as plain dicts and lists: the
        `ftc eval --json` document (rows, curves with BD-rate, reference_top1, notes, ...).

        data: "fashion-mnist:test[:N]", "images:DIR", "npy:X.npy,Y.npy[:N]". at: the tensor(s)
        to split at (default: the model card's recommended split). codec: {option: value} as
        encode() takes them, one configuration; sweep: {option: [values]}, their Cartesian
        product (neither: the default sweep). codec_models: .ftcm paths, each rate point a row.
        baselines: "all", "none" or a comma-separated list. limit: the first N images (0: all).
        threads: images in parallel (0: one per core). Raises ftc.Error like `ftc eval` fails.
        """
        call = "ftc.evaluate(%r, %r%s)" % (model, data, "".join(
            ", %s=%r" % (k, v) for k, v in (("at", at), ("codec", codec), ("sweep", sweep), ("baselines", baselines),
                                             ("limit", limit)) if v))
        text = _ftc.evaluate(
            model, data=data, at=[at] if isinstance(at, str) else list(at or []), codec=dict(codec or {}),
            sweep=dict(sweep or {}), codec_models=[str(p) for p in codec_models], baselines=baselines,
            limit=int(limit), threads=int(threads), calibration=calibration or "",
            calibration_images=int(calibration_images), mean=list(mean or []), std=list(std or []),
            input_shape=input_shape or "", fashion_mnist_dir=fashion_mnist_dir or "", anchor=anchor or "",
            command=call)
        return _json.loads(text)

    __all__ += ["layers", "split", "evaluate"]
