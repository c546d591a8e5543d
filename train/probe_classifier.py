"""A third Fashion-MNIST classifier, of an architecture neither ftc learn nor ftc fit was developed
on, to check that their commands work on it unchanged (issues 15 and 16: "the same command works
unchanged on an ONNX classifier it was not developed on").

    /usr/bin/python3 train/probe_classifier.py --out DIR/probe.onnx [--epochs 2] [--seed 1]

The network (`InceptionSE`) differs from the bundled ResNet and MobileNetV2 in the ops the split
and the bottleneck see: max pooling instead of strided convolutions, two parallel branches joined
by Concat, and a squeeze-and-excitation gate (GlobalAveragePool → 1×1 convs → Sigmoid → Mul)
just before the cut:

    conv3×3 32, ReLU, MaxPool 2                                   → 32 × 14 × 14
    [conv1×1 32 | conv3×3 32 → conv3×3 32], Concat, ReLU          → 64 × 14 × 14
    SE gate: x · sigmoid(W2 relu(W1 gap(x)))                      → 64 × 14 × 14  (the recommended cut)
    MaxPool 2, conv3×3 128, ReLU, GlobalAveragePool, Flatten, Gemm → 10 logits

Writes probe.onnx (opset 11, input `input` [1,1,28,28], output `logits` [1,10], BatchNorm folded
by the exporter) and probe.json, the model card ftc reads (normalization as the bundled models,
measured test top-1, the recommended split). One thread, seeded: the same weights on a re-run on
this machine.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist as fm  # noqa: E402

MEAN, STD = 0.2860, 0.3530
CUT = "/se/Mul_output_0"


def conv_bn(cin, cout, k):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        return x * g


class InceptionSE(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 32, 3)
        self.b1 = conv_bn(32, 32, 1)
        self.b2a = conv_bn(32, 32, 3)
        self.b2b = conv_bn(32, 32, 3)
        self.se = SqueezeExcite(64)
        self.conv3 = conv_bn(64, 128, 3)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.stem(x)), 2)
        x = F.relu(torch.cat([self.b1(x), self.b2b(F.relu(self.b2a(x)))], 1))
        x = self.se(x)
        x = F.relu(self.conv3(F.max_pool2d(x, 2)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="the .onnx to write (its .json card beside it)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=fm.DEFAULT_DIR)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    x_tr, y_tr = fm.load("train", args.data_dir)
    x_te, y_te = fm.load("test", args.data_dir)
    norm = lambda x: (torch.from_numpy(np.array(x)).float().div(255.0).sub(MEAN).div(STD)).unsqueeze(1)  # noqa: E731
    xt, yt = norm(x_tr), torch.from_numpy(y_tr.astype(np.int64))
    xe, ye = norm(x_te), torch.from_numpy(y_te.astype(np.int64))

    model = InceptionSE()
    steps = args.epochs * (len(yt) // 128)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    model.train()
    for ep in range(args.epochs):
        perm = torch.randperm(len(yt), generator=gen)
        for s in range(len(yt) // 128):
            idx = perm[s * 128:(s + 1) * 128]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"probe: epoch {ep + 1}/{args.epochs} loss {loss.item():.3f} {time.time() - t0:.0f} s", flush=True)
    model.eval()
    with torch.no_grad():
        top1 = float(torch.cat([model(xe[i:i + 1000]).argmax(1) == ye[i:i + 1000] for i in range(0, len(ye), 1000)])
                     .float().mean())
    print(f"probe: test top-1 {top1 * 100:.2f}%", flush=True)

    out = args.out
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    torch.onnx.export(model, (xe[:1],), out, opset_version=11, input_names=["input"], output_names=["logits"],
                      do_constant_folding=True)
    m = onnx.load(out)
    onnx.checker.check_model(m)
    names = {o for n in m.graph.node for o in n.output}
    if CUT not in names:
        raise SystemExit(f"probe: the export has no tensor {CUT}")
    card = {
        "model": os.path.basename(out),
        "arch": "inception-se (probe)",
        "opset": 11,
        "input": {"name": "input", "shape": [1, 1, 28, 28], "dtype": "float32"},
        "output": {"name": "logits", "shape": [1, 10], "dtype": "float32"},
        "normalization": {"scale": 1.0 / 255.0, "mean": MEAN, "std": STD,
                          "formula": "x = (pixel * scale - mean) / std"},
        "test_top1": round(top1, 4),
        "splits": [{"tensor": CUT, "shape": [1, 64, 14, 14]}],
        "recommended_split": CUT,
        "training": {"command": " ".join(["/usr/bin/python3", "train/probe_classifier.py"] + sys.argv[1:]),
                     "epochs": args.epochs, "seed": args.seed, "train_seconds": round(time.time() - t0, 1)},
    }
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(card, f, indent=2)
    print(f"probe: wrote {out} and its card", flush=True)


if __name__ == "__main__":
    main()
