"""Tiny numpy reference evaluator for the plain ONNX graphs written by train.py.

Supports exactly the ops the reference models use: Conv, Relu, Clip, Add,
GlobalAveragePool, Flatten, Reshape, Gemm, Constant, Identity. It is used to
check an exported model against PyTorch (onnx 1.12 has no onnx.reference) and
to dump any intermediate tensor by its ONNX name.

    /usr/bin/python3 train/onnx_check.py models/fmnist_resnet.onnx --list
"""
import argparse

import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b, a):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    group = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if dh != 1 or dw != 1:
        raise NotImplementedError("dilated Conv")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - kh) // sh + 1
    ow = (wd + pl + pr - kw) // sw + 1
    # patches: [n, c, kh, kw, oh, ow]
    patches = np.empty((n, c, kh, kw, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patches[:, :, i, j] = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    mg = m // group
    out = np.empty((n, m, oh, ow), dtype=np.float64)
    for g in range(group):
        p = patches[:, g * cg:(g + 1) * cg].reshape(n, cg * kh * kw, oh * ow)
        wg = w[g * mg:(g + 1) * mg].reshape(mg, cg * kh * kw).astype(np.float64)
        out[:, g * mg:(g + 1) * mg] = np.einsum("mk,nkp->nmp", wg, p).reshape(n, mg, oh, ow)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def run(model, x, want=()):
    """Evaluate `model` on input array x (any batch size). Returns dict name->array
    for graph outputs plus every name in `want`."""
    env = {init.name: numpy_helper.to_array(init).astype(np.float64) for init in model.graph.initializer}
    env[model.graph.input[0].name] = x.astype(np.float64)
    for node in model.graph.node:
        a = _attrs(node)
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min", -np.inf)
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max", np.inf)
            y = np.clip(ins[0], lo, hi)
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "GlobalAveragePool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Reshape":
            shape = [int(s) for s in ins[1]]
            shape[0] = ins[0].shape[0] if shape[0] in (0, 1) else shape[0]
            y = ins[0].reshape(shape)
        elif op == "Gemm":
            A = ins[0].T if a.get("transA", 0) else ins[0]
            B = ins[1].T if a.get("transB", 0) else ins[1]
            y = a.get("alpha", 1.0) * A @ B
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        elif op == "Constant":
            y = numpy_helper.to_array(a["value"]).astype(np.float64)
        elif op == "Identity":
            y = ins[0]
        else:
            raise NotImplementedError(f"op {op} ({node.name})")
        env[node.output[0]] = y
    names = [o.name for o in model.graph.output] + list(want)
    return {k: env[k].astype(np.float32) for k in names}


def tensor_shapes(model):
    """name -> shape list for every value in the graph (via onnx.shape_inference)."""
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    return shapes


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--list", action="store_true", help="list every node output with its shape")
    args = ap.parse_args()
    m = onnx.load(args.model)
    onnx.checker.check_model(m)
    shapes = tensor_shapes(m)
    if args.list:
        for node in m.graph.node:
            for o in node.output:
                print(f"{node.op_type:18s} {o:50s} {shapes.get(o)}")
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    print("logits:", run(m, x)[m.graph.output[0].name].round(4).tolist())
