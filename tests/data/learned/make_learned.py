#!/usr/bin/python3
"""Writes the learned-codec fixture that tests/runtime/runtime_learned_test.cpp and
tests/cli/learn_cli_test.cpp use: what train/learn.py would write, made from numpy alone (no
torch, no training). Deterministic: re-running it rewrites byte-identical files.

    /usr/bin/python3 tests/data/learned/make_learned.py [OUT_DIR]   (default: this script's folder)

device.onnx   input [1,1,28,28] (the bundled ResNet's normalized input) -> Conv 4x4 stride 4 to 4
              channels -> Round -> Clip(-3, 3) -> latent [1,4,7,7], integer-valued.
server.onnx   latent [1,4,7,7] -> Conv 1x1 -> Relu -> Flatten -> Gemm -> logits [1,10].
codec.json    format ftc-learned-codec/1, made-up pmfs: channels 0, 1, 3 over -3..3 (discretized
              Laplacians of different scales), channel 2 over -2..2 (narrower than the others).
report.json   estimated_bits_per_image = the pmfs' entropy times 49 positions per channel (what
              a latent distributed as the pmfs would cost), and the fields learn.py writes.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 11
C, H, W = 4, 7, 7


def init(rng, name, shape, scale):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def save(model, path):
    onnx.checker.check_model(model)
    onnx.save(model, path)
    print("wrote", path)


def device(rng):
    nodes = [
        helper.make_node("Conv", ["input", "w", "b"], ["y"], kernel_shape=[4, 4], strides=[4, 4], name="enc_conv"),
        helper.make_node("Round", ["y"], ["r"], name="round"),
        helper.make_node("Clip", ["r", "lo", "hi"], ["latent"], name="clamp"),
    ]
    inits = [init(rng, "w", [C, 1, 4, 4], 0.35), init(rng, "b", [C], 0.2),
             numpy_helper.from_array(np.array(-3.0, np.float32), "lo"),
             numpy_helper.from_array(np.array(3.0, np.float32), "hi")]
    g = helper.make_graph(nodes, "learned_device",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 28, 28])],
                          [helper.make_tensor_value_info("latent", TensorProto.FLOAT, [1, C, H, W])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="make_learned.py")


def server(rng):
    nodes = [
        helper.make_node("Conv", ["latent", "w", "b"], ["z"], kernel_shape=[1, 1], name="dec_conv"),
        helper.make_node("Relu", ["z"], ["zr"], name="dec_relu"),
        helper.make_node("Flatten", ["zr"], ["f"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["f", "gw", "gb"], ["logits"], transB=1, name="fc"),
    ]
    inits = [init(rng, "w", [8, C, 1, 1], 0.5), init(rng, "b", [8], 0.1),
             init(rng, "gw", [10, 8 * H * W], 0.1), init(rng, "gb", [10], 0.1)]
    g = helper.make_graph(nodes, "learned_server",
                          [helper.make_tensor_value_info("latent", TensorProto.FLOAT, [1, C, H, W])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="make_learned.py")


def laplace_pmf(lo, hi, scale):
    v = np.arange(lo, hi + 1, dtype=np.float64)
    p = np.exp(-np.abs(v) / scale)
    return p / p.sum()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    rng = np.random.default_rng(16)
    save(device(rng), os.path.join(out, "device.onnx"))
    save(server(rng), os.path.join(out, "server.onnx"))
    ranges = [(-3, 3, 0.7), (-3, 3, 1.5), (-2, 2, 0.4), (-3, 3, 3.0)]
    channels, bits = [], 0.0
    for lo, hi, scale in ranges:
        p = laplace_pmf(lo, hi, scale)
        channels.append({"lo": lo, "pmf": [round(float(x), 8) for x in p]})
        bits += H * W * float(-(p * np.log2(p)).sum())
    codec = {
        "format": "ftc-learned-codec/1",
        "model": "fmnist_resnet.onnx", "at": "/stage2/block1/relu_2/Relu_output_0",
        "latent": {"name": "latent", "shape": [1, C, H, W]},
        "device_graph": "device.onnx", "server_graph": "server.onnx",
        "channels": channels,
        "metadata": {"trained_on": "nothing: a fixture of tests/data/learned/make_learned.py"},
    }
    report = {"at": codec["at"], "model": codec["model"], "latent_shape": [1, C, H, W], "latent_range": [-3, 3],
              "estimated_bits_per_image": round(bits, 2)}
    for name, obj in (("codec.json", codec), ("report.json", report)):
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
        print("wrote", os.path.join(out, name))


if __name__ == "__main__":
    main()
