"""Load an ONNX graph into a torch.nn.Module, op by op, and cut it at a named tensor.

    m = onnx_torch.load("models/fmnist_resnet.onnx")
    head, tail = onnx_torch.cut(m, "/stage2/block1/relu_2/Relu_output_0")
    logits = tail(head(x))                   # == m(x)

Every float initializer becomes an nn.Parameter (frozen until a caller sets
requires_grad), so heads and tails can be fine-tuned, pruned and re-exported
with torch.onnx.export. Nodes run in the graph's order (ONNX requires a
topological order). An op the loader does not know raises UnsupportedOp naming
the node and its op type; so does an attribute value it does not implement.
"""
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn


class UnsupportedOp(ValueError):
    pass


class CutError(ValueError):
    pass


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class Node:
    """One ONNX node: op type, attributes, input and output tensor names."""

    def __init__(self, proto):
        self.name = proto.name or (proto.output[0] if proto.output else proto.op_type)
        self.op = proto.op_type
        self.attrs = _attrs(proto)
        self.inputs = list(proto.input)
        self.outputs = list(proto.output)


def _sym_pads(node, pads, rank):
    """ONNX pads [b1..bn, e1..en] -> (torch symmetric padding, explicit F.pad list or None)."""
    if not pads:
        return [0] * rank, None
    begin, end = pads[:rank], pads[rank:]
    if begin == end:
        return list(begin), None
    flat = []
    for b, e in zip(reversed(begin), reversed(end)):  # F.pad lists the last dim first
        flat += [b, e]
    return [0] * rank, flat


def _check_auto_pad(node):
    if node.attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise UnsupportedOp(f"node '{node.name}' ({node.op}): auto_pad {node.attrs['auto_pad']!r} is not supported")


def _conv(node, x, w, b):
    _check_auto_pad(node)
    if w.dim() != 4:
        raise UnsupportedOp(f"node '{node.name}' (Conv): only 2-D convolutions are supported")
    a = node.attrs
    pad, explicit = _sym_pads(node, list(a.get("pads", [])), 2)
    if explicit:
        x = F.pad(x, explicit)
    return F.conv2d(x, w, b, stride=tuple(a.get("strides", [1, 1])), padding=tuple(pad),
                    dilation=tuple(a.get("dilations", [1, 1])), groups=a.get("group", 1))


def _pool(node, x, kind):
    _check_auto_pad(node)
    a = node.attrs
    k = list(a["kernel_shape"])
    if len(k) != 2:
        raise UnsupportedOp(f"node '{node.name}' ({node.op}): only 2-D pooling is supported")
    pad, explicit = _sym_pads(node, list(a.get("pads", [])), 2)
    ceil = bool(a.get("ceil_mode", 0))
    s = tuple(a.get("strides", [1, 1]))
    if kind == "max":
        if explicit:
            x = F.pad(x, explicit, value=float("-inf"))
        return F.max_pool2d(x, k, s, tuple(pad), dilation=tuple(a.get("dilations", [1, 1])), ceil_mode=ceil)
    cip = bool(a.get("count_include_pad", 0))
    if explicit:
        if not cip:
            raise UnsupportedOp(f"node '{node.name}' (AveragePool): asymmetric pads without count_include_pad")
        x = F.pad(x, explicit)
    return F.avg_pool2d(x, k, s, tuple(pad), ceil_mode=ceil, count_include_pad=cip)


def _reshape_target(x, shape, allowzero=0):
    shape = [int(s) for s in shape]
    out = []
    for i, s in enumerate(shape):
        out.append(x.shape[i] if (s == 0 and not allowzero) else s)
    return out


def _softmax(node, x, opset):
    axis = node.attrs.get("axis", -1 if opset >= 13 else 1)
    if opset >= 13:
        return torch.softmax(x, axis)
    # opset < 13: softmax over the flattened dims from `axis` on
    axis = axis % x.dim()
    shape = x.shape
    return torch.softmax(x.reshape(*shape[:axis], -1), -1).reshape(shape)


def _as_list(t):
    return [int(v) for v in t.reshape(-1).tolist()]


SUPPORTED = ("Conv", "ConvTranspose", "Floor", "Round", "Slice", "BatchNormalization", "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Add", "Sub",
             "Mul", "Div", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm", "MatMul", "Flatten", "Reshape",
             "Concat", "Softmax", "Identity", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Dropout")


def run_node(node, ins, opset, macs=None):
    """Evaluate one node on torch tensors `ins` (None for an empty input name); returns its outputs."""
    op, a = node.op, node.attrs
    x = ins[0] if ins else None
    if op == "Conv":
        y = _conv(node, x, ins[1], ins[2] if len(ins) > 2 else None)
        if macs is not None:
            w = ins[1]
            macs.append((node.name, y[0].numel() * w.shape[1] * w.shape[2] * w.shape[3]))
    elif op == "ConvTranspose":
        _check_auto_pad(node)
        pad, explicit = _sym_pads(node, list(a.get("pads", [])), 2)
        if explicit or "output_shape" in a:
            raise UnsupportedOp(f"node '{node.name}' (ConvTranspose): asymmetric pads / output_shape are not supported")
        y = F.conv_transpose2d(x, ins[1], ins[2] if len(ins) > 2 else None, stride=tuple(a.get("strides", [1, 1])),
                               padding=tuple(pad), output_padding=tuple(a.get("output_padding", [0, 0])),
                               groups=a.get("group", 1), dilation=tuple(a.get("dilations", [1, 1])))
    elif op == "Floor":
        y = torch.floor(x)
    elif op == "Round":
        y = torch.round(x)
    elif op == "Slice":
        if "starts" in a:  # opset < 10: attributes
            starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), None
        else:
            starts, ends = _as_list(ins[1]), _as_list(ins[2])
            axes = _as_list(ins[3]) if len(ins) > 3 and ins[3] is not None else None
            steps = _as_list(ins[4]) if len(ins) > 4 and ins[4] is not None else None
        axes = list(axes) if axes is not None else list(range(len(starts)))
        steps = steps or [1] * len(starts)
        idx = [slice(None)] * x.dim()
        for s0, e0, ax, st in zip(starts, ends, axes, steps):
            n = x.shape[ax]
            idx[ax] = slice(max(min(s0, n), -n), max(min(e0, n), -n - 1), st)
        y = x[tuple(idx)]
    elif op == "BatchNormalization":
        y = F.batch_norm(x, ins[3], ins[4], ins[1], ins[2], False, 0.0, a.get("epsilon", 1e-5))
    elif op == "Relu":
        y = torch.relu(x)
    elif op == "Clip":
        lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min")
        hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max")
        lo = float(lo) if lo is not None else None
        hi = float(hi) if hi is not None else None
        y = torch.clamp(x, lo, hi)
    elif op == "Sigmoid":
        y = torch.sigmoid(x)
    elif op == "HardSigmoid":
        y = torch.clamp(a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0.0, 1.0)
    elif op == "HardSwish":
        y = x * torch.clamp(x / 6.0 + 0.5, 0.0, 1.0)
    elif op == "Add":
        y = ins[0] + ins[1]
    elif op == "Sub":
        y = ins[0] - ins[1]
    elif op == "Mul":
        y = ins[0] * ins[1]
    elif op == "Div":
        y = ins[0] / ins[1]
    elif op == "MaxPool":
        if len(node.outputs) > 1 and node.outputs[1]:
            raise UnsupportedOp(f"node '{node.name}' (MaxPool): the Indices output is not supported")
        y = _pool(node, x, "max")
    elif op == "AveragePool":
        y = _pool(node, x, "avg")
    elif op == "GlobalAveragePool":
        if x.dim() == 4:
            y = F.adaptive_avg_pool2d(x, 1)  # exports as GlobalAveragePool again
        else:
            y = x.mean(dim=tuple(range(2, x.dim())), keepdim=True)
    elif op == "Gemm" and not a.get("transA", 0) and a.get("transB", 0) and a.get("alpha", 1.0) == 1.0 \
            and a.get("beta", 1.0) == 1.0:
        y = F.linear(ins[0], ins[1], ins[2] if len(ins) > 2 else None)  # exports as one Gemm again
        if macs is not None:
            macs.append((node.name, ins[1].shape[0] * ins[1].shape[1]))
    elif op == "Gemm":
        A = ins[0].t() if a.get("transA", 0) else ins[0]
        B = ins[1].t() if a.get("transB", 0) else ins[1]
        y = a.get("alpha", 1.0) * (A @ B)
        if len(ins) > 2 and ins[2] is not None:
            y = y + a.get("beta", 1.0) * ins[2]
        if macs is not None:
            macs.append((node.name, A.shape[-1] * B.shape[-1]))
    elif op == "MatMul":
        y = ins[0] @ ins[1]
        if macs is not None:
            macs.append((node.name, y[0].numel() * ins[0].shape[-1]))
    elif op == "Flatten":
        ax = a.get("axis", 1) % max(x.dim(), 1)
        if ax == 1:
            y = torch.flatten(x, 1)  # exports as Flatten
        else:
            lead = 1
            for d in x.shape[:ax]:
                lead *= int(d)
            y = x.reshape(lead, -1)
    elif op == "Reshape":
        y = x.reshape(_reshape_target(x, _as_list(ins[1]), a.get("allowzero", 0)))
    elif op == "Concat":
        y = torch.cat([t for t in ins if t is not None], dim=a["axis"])
    elif op == "Softmax":
        y = _softmax(node, x, opset)
    elif op in ("Identity", "Dropout"):
        y = x
    elif op == "Constant":
        if "value" not in a:
            raise UnsupportedOp(f"node '{node.name}' (Constant): only the 'value' attribute is supported")
        y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
    elif op == "Shape":
        y = torch.tensor(list(x.shape), dtype=torch.int64)
    elif op == "Gather":
        idx = ins[1]
        y = torch.index_select(x, a.get("axis", 0), idx.reshape(-1).long())
        y = y.reshape(*x.shape[:a.get("axis", 0)], *idx.shape, *x.shape[a.get("axis", 0) + 1:])
    elif op == "Unsqueeze":
        axes = a["axes"] if "axes" in a else _as_list(ins[1])
        y = x
        for ax in sorted(v % (x.dim() + len(axes)) for v in axes):
            y = y.unsqueeze(ax)
    elif op == "Squeeze":
        axes = a.get("axes") or (_as_list(ins[1]) if len(ins) > 1 and ins[1] is not None else None)
        y = x.squeeze() if axes is None else x
        if axes is not None:
            for ax in sorted((v % x.dim() for v in axes), reverse=True):
                y = y.squeeze(ax)
    else:
        raise UnsupportedOp(f"node '{node.name}': op type '{op}' is not supported by train/onnx_torch.py")
    return [y]


class OnnxModule(nn.Module):
    """Runs a list of ONNX nodes from `input_names` to `output_names`.

    `params` maps ONNX initializer names to tensors; float ones are registered as
    nn.Parameter (requires_grad False), the rest as buffers. forward(*inputs)
    returns one tensor when there is one output, else a tuple."""

    def __init__(self, nodes, input_names, output_names, params, opset):
        super().__init__()
        self.nodes = nodes
        self.input_names = list(input_names)
        self.output_names = list(output_names)
        self.opset = opset
        self.key = {}  # ONNX name -> attribute name in self.p / buffers
        self.p = nn.ParameterDict()
        for i, (name, t) in enumerate(params.items()):
            k = f"t{i}"
            self.key[name] = k
            if t.is_floating_point():
                self.p[k] = nn.Parameter(t.clone(), requires_grad=False)
            else:
                self.register_buffer(k, t.clone())
        self.macs = None  # a list while count_macs() runs
        self.post = {}  # tensor name -> function applied to it right after it is computed (pruning masks)

    def tensor(self, name):
        k = self.key[name]
        return self.p[k] if k in self.p else getattr(self, k)

    def set_tensor(self, name, value):
        """Replace an initializer (e.g. a pruned weight), keeping its trainable flag."""
        k = self.key[name]
        if k in self.p:
            self.p[k] = nn.Parameter(value.detach().clone(), requires_grad=self.p[k].requires_grad)
        else:
            setattr(self, k, value.clone())

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise ValueError(f"expected {len(self.input_names)} inputs, got {len(inputs)}")
        env = dict(zip(self.input_names, inputs))
        for node in self.nodes:
            ins = []
            for n in node.inputs:
                if not n:
                    ins.append(None)
                elif n in env:
                    ins.append(env[n])
                else:
                    ins.append(self.tensor(n))
            outs = run_node(node, ins, self.opset, self.macs)
            for name, y in zip(node.outputs, outs):
                env[name] = self.post[name](y) if name in self.post else y
        res = tuple(env[n] for n in self.output_names)
        return res[0] if len(res) == 1 else res

    def count_macs(self, *inputs):
        """Multiply-accumulates of Conv/Gemm/MatMul nodes for one item of the batch."""
        self.macs = []
        try:
            with torch.no_grad():
                self.forward(*inputs)
            return sum(m for _, m in self.macs)
        finally:
            self.macs = None


def _check_supported(nodes):
    for n in nodes:
        if n.op not in SUPPORTED:
            raise UnsupportedOp(f"node '{n.name}': op type '{n.op}' is not supported by train/onnx_torch.py")
        if n.op == "Constant" and "value" not in n.attrs:
            raise UnsupportedOp(f"node '{n.name}' (Constant): only the 'value' attribute is supported")


def _opset(model):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return 1


def _graph_parts(model):
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in inits]
    outputs = [o.name for o in model.graph.output]
    nodes = [Node(n) for n in model.graph.node]
    _check_supported(nodes)
    return nodes, inits, inputs, outputs


def _subgraph(nodes, inits, input_names, output_names, opset):
    """The nodes needed for output_names given input_names; raises CutError if they need anything else."""
    producer = {o: i for i, n in enumerate(nodes) for o in n.outputs}
    need, stack, keep = set(), list(output_names), set()
    while stack:
        t = stack.pop()
        if t in need or t in input_names or t in inits or not t:
            continue
        need.add(t)
        if t not in producer:
            raise CutError(f"tensor '{t}' is neither produced by a node nor given as an input")
        i = producer[t]
        if i not in keep:
            keep.add(i)
            stack.extend(nodes[i].inputs)
    sub = [nodes[i] for i in sorted(keep)]
    used = {n_in for n in sub for n_in in n.inputs}
    params = {k: v for k, v in inits.items() if k in used}
    return OnnxModule(sub, input_names, output_names, params, opset)


def load(path_or_model):
    """The whole graph as an OnnxModule (graph inputs -> graph outputs)."""
    model = onnx.load(path_or_model) if isinstance(path_or_model, str) else path_or_model
    nodes, inits, inputs, outputs = _graph_parts(model)
    m = _subgraph(nodes, inits, inputs, outputs, _opset(model))
    m.onnx_model = model
    return m


def cut(path_or_model, tensor):
    """(head, tail): head maps the graph input to `tensor`, tail maps `tensor` to the graph outputs.

    Raises CutError when `tensor` is not a node output or when the tail needs the graph
    input through a path that bypasses `tensor` (then it is not a cut of the graph)."""
    model = path_or_model.onnx_model if isinstance(path_or_model, OnnxModule) else (
        onnx.load(path_or_model) if isinstance(path_or_model, str) else path_or_model)
    nodes, inits, inputs, outputs = _graph_parts(model)
    if not any(tensor in n.outputs for n in nodes):
        raise CutError(f"'{tensor}' is not the output of any node")
    head = _subgraph(nodes, inits, inputs, [tensor], _opset(model))
    try:
        tail = _subgraph(nodes, inits, [tensor], outputs, _opset(model))
    except CutError:
        tail = None
    if tail is None or any(i in {x for n in tail.nodes for x in n.inputs} for i in inputs):
        raise CutError(f"'{tensor}' does not cut the graph: the outputs also depend on the input through another path")
    head.onnx_model = tail.onnx_model = model
    return head, tail


def io_info(model):
    """(input name, input shape, output name) of a single-input single-output graph."""
    inits = {i.name for i in model.graph.initializer}
    inp = [i for i in model.graph.input if i.name not in inits][0]
    shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
    return inp.name, shape, model.graph.output[0].name
