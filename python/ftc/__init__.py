"""ftc — feature tensor codec for split DNN inference.

    import numpy as np, ftc
    frame = ftc.encode(features, bits=4, per_channel=1, coder="rans")   # bytes
    restored = ftc.decode(frame)                                          # numpy.ndarray
    ftc.info(frame)["tensors"][0]["payload_bytes"]

Options are the encoder's option table (ftc.encoder_options(); the CLI's flags without the
dashes, '-' written '_'): bits, per_channel, coder, level, chunk_elements, chunk_checksums,
threads, layout, lanes, quantizer ("uniform", "lossless", "f16", "bf16"), clip=(lo, hi).
The same input and options give the same bytes as `ftc encode`.

Arrays of any strides are read in place when their strides are whole elements in native byte
order, else copied once. PyTorch tensors go through NumPy: ``t.detach().cpu().numpy()`` shares
the memory of a CPU tensor (no copy), and ``torch.from_numpy(ftc.decode(frame))`` shares the
decoded array's. Coding releases the GIL. Every failure raises ftc.Error, whose ``status`` names the
ftc status code ("corrupt", "truncated", "invalid_argument", ...; ftc::StatusCode), ``code`` is
its number (the C ABI's ftc_status) and ``message`` the reason.
"""
from ._ftc import Error, __version__, format_version, encoder_options, info, decode_all
from . import _ftc

__all__ = ["Error", "encode", "decode", "decode_all", "info", "encoder_options", "__version__",
           "format_version"]


def encode(tensors, bits=None, per_channel=None, coder=None, *, name=None, **options):
    """Encodes one array (or a dict {name: array}, or a list of arrays / (name, array) pairs)
    into one ftc frame and returns its bytes.

    bits: uniform quantizer bits (1..16; default 8). per_channel: the axis with one range per
    index (None: one range for the tensor). coder: "zstd" (default), "rans", "rans-wide",
    "adaptive", "raw". Other keywords: see ftc.encoder_options(). None leaves an option at its
    default.
    """
    settings = {"bits": bits, "per_channel": per_channel, "coder": coder}
    settings.update(options)
    return _ftc.encode(tensors, name=name, **{k: v for k, v in settings.items() if v is not None})


def decode(data, *, threads=1, max_output_bytes=None):
    """Decodes an ftc frame (bytes, bytearray or memoryview). One tensor: a numpy.ndarray.
    Several: a dict {name: ndarray} in frame order, "tensor<i>" standing for an empty or repeated
    name (ftc.decode_all gives the (name, array) pairs as they are). bfloat16 tensors come back as float32 (exactly)."""
    tensors = decode_all(data, threads=threads, max_output_bytes=max_output_bytes)
    if len(tensors) == 1:
        return tensors[0][1]
    names = [n for n, _ in tensors]
    return {(n if n and names.count(n) == 1 else "tensor%d" % i): a for i, (n, a) in enumerate(tensors)}


if hasattr(_ftc, "layers"):  # built with the ONNX pipeline
    from ._ftc import layers  # noqa: F401

    def split(model, at, *, head=None, tail=None):
        """Cuts an ONNX model at a tensor name (or a list of them); writes the head and tail
        models when paths are given, and returns what the cut sends and costs as a dict."""
        return _ftc.split(model, [at] if isinstance(at, str) else list(at), head=head, tail=tail)

    __all__ += ["layers", "split"]
