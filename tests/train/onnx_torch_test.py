"""train/onnx_torch.py: the torch module reproduces the ONNX graph (numpy reference evaluator
train/onnx_check.py) on both bundled models, cuts at a tensor, and names unsupported ops."""
import os
import sys
import unittest

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

ROOT = os.environ.get("FTC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "train"))
import onnx_check  # noqa: E402
import onnx_torch  # noqa: E402

MODELS = {
    "fmnist_resnet.onnx": "/stage2/block1/relu_2/Relu_output_0",
    "fmnist_mobilenetv2.onnx": "/stage2/block2/Add_output_0",
}


def inputs():
    rng = np.random.default_rng(7)
    return rng.standard_normal((4, 1, 28, 28)).astype(np.float32)


class Bundled(unittest.TestCase):
    def test_whole_graph_matches_reference(self):
        x = inputs()
        for name in MODELS:
            m = onnx.load(os.path.join(ROOT, "models", name))
            ref = onnx_check.run(m, x)["logits"]
            with torch.no_grad():
                got = onnx_torch.load(m)(torch.from_numpy(x)).numpy()
            np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0, err_msg=name)

    def test_cut_head_and_tail(self):
        x = inputs()
        for name, at in MODELS.items():
            m = onnx.load(os.path.join(ROOT, "models", name))
            ref = onnx_check.run(m, x, want=[at])
            head, tail = onnx_torch.cut(m, at)
            with torch.no_grad():
                t = head(torch.from_numpy(x))
                logits = tail(t).numpy()
            np.testing.assert_allclose(t.numpy(), ref[at], atol=1e-4, rtol=0, err_msg=name)
            np.testing.assert_allclose(logits, ref["logits"], atol=1e-4, rtol=0, err_msg=name)
            # the two halves share no node and together hold every node of the graph
            hn = {n.name for n in head.nodes}
            tn = {n.name for n in tail.nodes}
            self.assertFalse(hn & tn)
            self.assertEqual(len(hn) + len(tn), len(m.graph.node))

    def test_not_a_cut(self):
        # inside a residual block the shortcut bypasses the tensor
        m = onnx.load(os.path.join(ROOT, "models", "fmnist_resnet.onnx"))
        with self.assertRaisesRegex(onnx_torch.CutError, "does not cut the graph"):
            onnx_torch.cut(m, "/stage2/block1/relu_1/Relu_output_0")
        with self.assertRaisesRegex(onnx_torch.CutError, "not the output of any node"):
            onnx_torch.cut(m, "no_such_tensor")

    def test_macs(self):
        m = onnx_torch.load(os.path.join(ROOT, "models", "fmnist_resnet.onnx"))
        # stem conv: 32 filters of 1x3x3 over 28x28 outputs; the Gemm: 128x10
        m.count_macs(torch.zeros(1, 1, 28, 28))
        m.macs = []
        with torch.no_grad():
            m(torch.zeros(1, 1, 28, 28))
        macs = dict(m.macs)
        m.macs = None
        self.assertEqual(macs["/stem/conv/Conv"], 32 * 9 * 28 * 28)
        self.assertEqual(macs["/fc/Gemm"], 128 * 10)


def tiny_graph(op_nodes, inits, out_shape):
    g = helper.make_graph(op_nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)])


class Ops(unittest.TestCase):
    def test_unsupported_op_is_named(self):
        m = tiny_graph([helper.make_node("LRN", ["x"], ["y"], name="my_lrn", size=3)], {}, [1, 2, 4, 4])
        with self.assertRaises(onnx_torch.UnsupportedOp) as e:
            onnx_torch.load(m)
        self.assertIn("my_lrn", str(e.exception))
        self.assertIn("LRN", str(e.exception))

    def test_ops_outside_the_bundled_models(self):
        rng = np.random.default_rng(1)
        scale, bias = rng.random(2).astype(np.float32) + 0.5, rng.standard_normal(2).astype(np.float32)
        mean, var = rng.standard_normal(2).astype(np.float32), rng.random(2).astype(np.float32) + 0.1
        w = rng.standard_normal((16, 5)).astype(np.float32)
        nodes = [
            helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["bn"], epsilon=1e-3),
            helper.make_node("HardSigmoid", ["bn"], ["hs"]),
            helper.make_node("Mul", ["bn", "hs"], ["sw"]),
            helper.make_node("MaxPool", ["sw"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("AveragePool", ["sw"], ["ap"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
            helper.make_node("Concat", ["mp", "ap"], ["cat"], axis=1),
            helper.make_node("Reshape", ["cat", "shape"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["mm"]),
            helper.make_node("Softmax", ["mm"], ["y"], axis=1),
        ]
        m = tiny_graph(nodes, {"s": scale, "b": bias, "m": mean, "v": var, "w": w,
                               "shape": np.array([1, -1], np.int64)}, [1, 5])
        x = torch.from_numpy(rng.standard_normal((1, 2, 4, 4)).astype(np.float32))
        with torch.no_grad():
            got = onnx_torch.load(m)(x)
            bn = (x - torch.from_numpy(mean)[:, None, None]) / torch.sqrt(torch.from_numpy(var)[:, None, None] + 1e-3)
            bn = bn * torch.from_numpy(scale)[:, None, None] + torch.from_numpy(bias)[:, None, None]
            sw = bn * torch.clamp(0.2 * bn + 0.5, 0, 1)
            mp = torch.nn.functional.max_pool2d(sw, 2, 2)
            ap = torch.nn.functional.avg_pool2d(sw, 3, 2, 1, count_include_pad=False)
            want = torch.softmax(torch.cat([mp, ap], 1).reshape(1, -1) @ torch.from_numpy(w), 1)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


if __name__ == "__main__":
    unittest.main()
