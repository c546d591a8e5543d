#!/usr/bin/python3
"""Writes the tiny ONNX graphs that tests/runtime/*_test.cpp use. Deterministic: re-running it
rewrites byte-identical files. Needs only Debian's python3-onnx and python3-numpy (no torch).

    /usr/bin/python3 tests/data/onnx/make_models.py [OUT_DIR]   (default: this script's folder)

skipnet.onnx      input [1,1,8,8] → conv/relu → residual block (Add of a skip) → strided conv →
                  global pool → flatten → gemm → logits [1,3]. Cutting inside the residual block
                  needs two tensors (the block's branch and its skip).
dynbatch.onnx     input ["N",1,8,8] (dynamic batch) → conv/relu → conv/relu → flatten → matmul →
                  add → out ["N",5].
compat.onnx       PyTorch-style constructs OpenCV 4.6 cannot import as such: Identity of an
                  initializer (a deduplicated bias) and opset-11 Clip(x, min, max) (ReLU6), with
                  bounds from Constant nodes and from initializers. compat_x.npy → compat_y.npy is
                  its output computed with numpy.
unsupported.onnx  input [1,4] → Relu → Hardmax (an op OpenCV 4.6 cannot import) in a node named
                  "mystery_node" → out. For the executor's error-message test.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 11


def init(rng, name, shape, scale=0.3):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def save(model, path):
    onnx.checker.check_model(model)
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model)
    # Keep only declared inputs/outputs: tests exercise ftc's own shape inference.
    del model.graph.value_info[:]
    onnx.save(model, path)
    print("wrote", path)


def conv(name, x, w, b, y, stride=1, pad=1, k=3, group=1):
    return helper.make_node("Conv", [x, w, b], [y], name=name, kernel_shape=[k, k],
                            strides=[stride, stride], pads=[pad, pad, pad, pad], group=group)


def skipnet(rng):
    inits = [
        init(rng, "stem.w", (4, 1, 3, 3)), init(rng, "stem.b", (4,), 0.1),
        init(rng, "b1.w", (4, 4, 3, 3)), init(rng, "b1.b", (4,), 0.1),
        init(rng, "b2.w", (4, 4, 3, 3)), init(rng, "b2.b", (4,), 0.1),
        init(rng, "down.w", (8, 4, 3, 3)), init(rng, "down.b", (8,), 0.1),
        init(rng, "fc.w", (3, 8)), init(rng, "fc.b", (3,), 0.1),
    ]
    nodes = [
        conv("stem_conv", "input", "stem.w", "stem.b", "stem"),
        helper.make_node("Relu", ["stem"], ["stem_relu"], name="stem_relu"),
        conv("block_conv1", "stem_relu", "b1.w", "b1.b", "block_c1"),
        helper.make_node("Relu", ["block_c1"], ["block_r1"], name="block_relu1"),
        conv("block_conv2", "block_r1", "b2.w", "b2.b", "block_c2"),
        helper.make_node("Add", ["block_c2", "stem_relu"], ["block_add"], name="block_add"),
        helper.make_node("Relu", ["block_add"], ["block_out"], name="block_relu2"),
        conv("down_conv", "block_out", "down.w", "down.b", "down", stride=2),
        helper.make_node("Relu", ["down"], ["down_relu"], name="down_relu"),
        helper.make_node("GlobalAveragePool", ["down_relu"], ["pool"], name="pool"),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "skipnet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             producer_name="ftc-tests")


def dynbatch(rng):
    inits = [
        init(rng, "c1.w", (3, 1, 3, 3)), init(rng, "c1.b", (3,), 0.1),
        init(rng, "c2.w", (2, 3, 3, 3)), init(rng, "c2.b", (2,), 0.1),
        init(rng, "fc.w", (2 * 4 * 4, 5)), init(rng, "fc.b", (5,), 0.1),
    ]
    nodes = [
        conv("c1", "x", "c1.w", "c1.b", "c1_out"),
        helper.make_node("Relu", ["c1_out"], ["r1"], name="r1"),
        conv("c2", "r1", "c2.w", "c2.b", "c2_out", stride=2),
        helper.make_node("Relu", ["c2_out"], ["r2"], name="r2"),
        helper.make_node("Flatten", ["r2"], ["flat"], name="flatten", axis=1),
        helper.make_node("MatMul", ["flat", "fc.w"], ["mm"], name="fc_matmul"),
        helper.make_node("Add", ["mm", "fc.b"], ["out"], name="fc_add"),
    ]
    graph = helper.make_graph(
        nodes, "dynbatch",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             producer_name="ftc-tests")


def compat(rng):
    w1 = (rng.standard_normal((3, 2, 1, 1)) * 2).astype(np.float32)
    w2 = (rng.standard_normal((3, 3, 1, 1)) * 2).astype(np.float32)
    b = (rng.standard_normal(3)).astype(np.float32)
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
             numpy_helper.from_array(b, "bias"),
             numpy_helper.from_array(np.array(-1.0, np.float32), "lo"),
             numpy_helper.from_array(np.array(1.5, np.float32), "hi")]
    nodes = [
        helper.make_node("Identity", ["bias"], ["bias_a"], name="dedup_a"),
        helper.make_node("Identity", ["bias"], ["bias_b"], name="dedup_b"),
        conv("c1", "x", "w1", "bias_a", "c1_out", pad=0, k=1),
        helper.make_node("Constant", [], ["zero"], name="zero",
                         value=numpy_helper.from_array(np.array(0.0, np.float32))),
        helper.make_node("Constant", [], ["six"], name="six",
                         value=numpy_helper.from_array(np.array(6.0, np.float32))),
        helper.make_node("Clip", ["c1_out", "zero", "six"], ["relu6"], name="relu6"),
        conv("c2", "relu6", "w2", "bias_b", "c2_out", pad=0, k=1),
        helper.make_node("Clip", ["c2_out", "lo", "hi"], ["y"], name="clip"),
    ]
    graph = helper.make_graph(
        nodes, "compat",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 3, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="ftc-tests")
    x = np.linspace(-2, 2, 18, dtype=np.float32).reshape(1, 2, 3, 3)
    h = np.clip(np.einsum("oc,nchw->nohw", w1[:, :, 0, 0], x) + b.reshape(1, 3, 1, 1), 0, 6)
    y = np.clip(np.einsum("oc,nchw->nohw", w2[:, :, 0, 0], h) + b.reshape(1, 3, 1, 1), -1, 1.5)
    return model, x, y.astype(np.float32)


def unsupported():
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="first_relu"),
        helper.make_node("Hardmax", ["r"], ["y"], name="mystery_node", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "unsupported",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             producer_name="ftc-tests")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    rng = np.random.default_rng(20240601)
    save(skipnet(rng), os.path.join(out, "skipnet.onnx"))
    save(dynbatch(rng), os.path.join(out, "dynbatch.onnx"))
    model, x, y = compat(rng)
    save(model, os.path.join(out, "compat.onnx"))
    np.save(os.path.join(out, "compat_x.npy"), x)
    np.save(os.path.join(out, "compat_y.npy"), y)
    save(unsupported(), os.path.join(out, "unsupported.onnx"))


if __name__ == "__main__":
    main()
