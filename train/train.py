"""Train a Fashion-MNIST reference model and export it to ONNX for ftc.

    /usr/bin/python3 train/train.py --arch resnet      --out models/fmnist_resnet.onnx
    /usr/bin/python3 train/train.py --arch mobilenetv2 --out models/fmnist_mobilenetv2.onnx

Writes NAME.onnx (static shapes, batch 1, input `input` [1,1,28,28] float32,
output `logits` [1,10]; opset 11 for resnet, opset 10 for mobilenetv2 because
OpenCV 4.6's ONNX importer only accepts the attribute form of Clip (ReLU6)) and NAME.json (input/output, normalization,
measured test top-1, recommended split tensors with shapes and statistics).
The NAME.md model card is written by hand from the JSON.
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist as fm  # noqa: E402
import nets  # noqa: E402

# Per-architecture defaults, chosen so each trains in ~10 min on one CPU core.
# opset: OpenCV 4.6 rejects opset-11 Clip (min/max as inputs), so the ReLU6 net uses opset 10
# where Clip carries min/max as attributes and OpenCV maps it to its ReLU6 layer.
DEFAULTS = {
    "resnet": dict(epochs=3, lr=0.1, batch_size=128, opset=11, crop_pad=0),
    "mobilenetv2": dict(epochs=4, lr=0.1, batch_size=128, opset=10, crop_pad=2),
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def augment(x, gen, pad):
    """Random horizontal flip and random crop with `pad` pixels of background padding."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if pad > 0:
        bg = (0.0 - fm.MEAN) / fm.STD  # value of a black pixel after normalization
        xp = F.pad(x, (pad, pad, pad, pad), value=bg)
        off = torch.randint(0, 2 * pad + 1, (n, 2), generator=gen)
        x = torch.stack([xp[i, :, off[i, 0]:off[i, 0] + 28, off[i, 1]:off[i, 1] + 28] for i in range(n)])
    return x


@torch.no_grad()
def evaluate(model, x, y, bs=500):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], bs):
        correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / x.shape[0]


def inline_identity_initializers(m):
    """Replace `Identity(initializer)` nodes (torch dedups equal folded constants that way)
    by a copy of the initializer: OpenCV 4.6 cannot import an Identity of a constant."""
    import onnx
    inits = {i.name: i for i in m.graph.initializer}
    keep = []
    for node in m.graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            copy = onnx.TensorProto()
            copy.CopyFrom(inits[node.input[0]])
            copy.name = node.output[0]
            m.graph.initializer.append(copy)
        else:
            keep.append(node)
    removed = len(m.graph.node) - len(keep)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    return removed


def stage_outputs(onnx_model, prefixes):
    """Last node output inside each module scope, e.g. '/stage2/' -> its final tensor."""
    last = {}
    for node in onnx_model.graph.node:
        for p in prefixes:
            if node.name.startswith(p):
                last[p] = node.output[0]
    return [last[p] for p in prefixes]


def split_candidates(arch, onnx_model):
    if arch == "resnet":
        s1, s2, s3 = stage_outputs(onnx_model, ["/stage1/", "/stage2/", "/stage3/"])
        return [
            (s1, "stage 1 output (after Add+ReLU), non-negative; largest tensor"),
            (s2, "stage 2 output (after Add+ReLU), non-negative; RECOMMENDED demo split"),
            (s3, "stage 3 output (after Add+ReLU) before global average pooling, non-negative"),
        ], 1
    s2, s3, head = stage_outputs(onnx_model, ["/stage2/", "/stage3/", "/head_relu/"])
    return [
        (s2, "stage 2 output: linear bottleneck (residual Add, no activation) -> SIGNED values; "
             "smallest tensor at 14x14; RECOMMENDED demo split"),
        (s3, "stage 3 output: linear bottleneck (residual Add) -> SIGNED values"),
        (head, "final 1x1 conv after ReLU6 (Clip), before global average pooling -> values in [0, 6]"),
    ], 0


def tensor_stats(a):
    return {
        "min": float(a.min()), "max": float(a.max()), "mean": float(a.mean()), "std": float(a.std()),
        "frac_zero": float((a == 0).mean()),
    }


def export_and_describe(model, arch, out_path, test_acc, args, x_test, train_seconds):
    import onnx
    import onnx_check

    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, dummy, out_path, input_names=["input"], output_names=["logits"],
                      opset_version=args.opset, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL, export_params=True)
    m = onnx.load(out_path)
    if inline_identity_initializers(m):
        onnx.save(m, out_path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    log(f"exported {out_path} ({os.path.getsize(out_path)} bytes), ops: {ops}")
    shapes = onnx_check.tensor_shapes(m)

    splits, rec = split_candidates(arch, m)
    producer = {o: n.name for n in m.graph.node for o in n.output}
    names = [s for s, _ in splits]

    # Check: numpy reference evaluation of the ONNX graph vs PyTorch on 200 test images.
    xs = x_test[:200]
    with torch.no_grad():
        ref = model(xs).numpy()
    got = onnx_check.run(m, xs.numpy(), want=names)
    max_diff = float(np.abs(got["logits"] - ref).max())
    agree = float((got["logits"].argmax(1) == ref.argmax(1)).mean())
    log(f"onnx(numpy reference) vs torch on 200 images: max |diff| {max_diff:.2e}, argmax agreement {agree:.4f}")
    if max_diff > 1e-3 or agree < 1.0:
        raise SystemExit("ONNX export check failed")

    info = {
        "model": os.path.basename(out_path),
        "arch": arch,
        "opset": args.opset,
        "input": {"name": "input", "shape": [1, 1, 28, 28], "dtype": "float32"},
        "output": {"name": "logits", "shape": [1, 10], "dtype": "float32"},
        "normalization": {"scale": 1.0 / 255.0, "mean": fm.MEAN, "std": fm.STD,
                          "formula": "x = (pixel * scale - mean) / std"},
        "classes": fm.CLASSES,
        "test_top1": round(test_acc, 4),
        "test_images": int(x_test.shape[0]),
        "splits": [{"tensor": s, "shape": shapes[s], "note": note,
                    "opencv_layer": "onnx_node!" + producer[s],
                    "stats_200_test_images": tensor_stats(got[s])} for s, note in splits],
        "recommended_split": names[rec],
        "training": {"command": f"/usr/bin/python3 train/train.py --arch {arch} --out models/{os.path.basename(out_path)}"
                                f" --epochs {args.epochs} --seed {args.seed}",
                     "seed": args.seed, "epochs": args.epochs, "batch_size": args.batch_size,
                     "max_lr": args.lr, "crop_pad": args.crop_pad, "threads": 1, "torch": torch.__version__,
                     "train_seconds": round(train_seconds)},
        "export_check": {"method": "train/onnx_check.py numpy evaluation vs PyTorch, 200 test images",
                         "max_abs_diff_logits": max_diff, "argmax_agreement": agree},
        "onnx_ops": ops,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "onnx_bytes": os.path.getsize(out_path),
    }
    json_path = os.path.splitext(out_path)[0] + ".json"
    with open(json_path, "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    log(f"wrote {json_path}")
    for s in info["splits"]:
        log(f"split {s['tensor']} {s['shape']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=sorted(DEFAULTS), required=True)
    ap.add_argument("--out", required=True, help="output .onnx path (a .json is written next to it)")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, help="peak learning rate of the one-cycle schedule")
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--opset", type=int, help="ONNX opset (default: 11 resnet, 10 mobilenetv2)")
    ap.add_argument("--state-out", help="also save the PyTorch state_dict here")
    ap.add_argument("--crop-pad", type=int, help="random-crop padding, 0 disables (default: 0 resnet, 2 mobilenetv2)")
    ap.add_argument("--train-limit", type=int, default=0, help="use only the first N training images (smoke tests)")
    ap.add_argument("--data-dir", default=fm.DEFAULT_DIR)
    args = ap.parse_args()
    for k, v in DEFAULTS[args.arch].items():
        if getattr(args, k) is None:
            setattr(args, k, v)

    torch.set_num_threads(1)
    seed_everything(args.seed)

    xtr, ytr = fm.load("train", args.data_dir)
    xte, yte = fm.load("test", args.data_dir)
    if args.train_limit:
        xtr, ytr = xtr[:args.train_limit], ytr[:args.train_limit]
    x_train = torch.from_numpy(fm.normalize(xtr))
    y_train = torch.from_numpy(ytr.astype(np.int64))
    x_test = torch.from_numpy(fm.normalize(xte))
    y_test = torch.from_numpy(yte.astype(np.int64))

    model = nets.build(args.arch)
    log(f"{args.arch}: {sum(p.numel() for p in model.parameters())} parameters, "
        f"{args.epochs} epochs, batch {args.batch_size}, seed {args.seed}")

    steps_per_epoch = (x_train.shape[0] + args.batch_size - 1) // args.batch_size
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.25)
    gen = torch.Generator().manual_seed(args.seed)

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(x_train.shape[0], generator=gen)
        tot_loss, tot_correct, seen = 0.0, 0, 0
        for step in range(steps_per_epoch):
            idx = perm[step * args.batch_size:(step + 1) * args.batch_size]
            xb = augment(x_train[idx], gen, args.crop_pad)
            yb = y_train[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += loss.item() * yb.shape[0]
            tot_correct += (out.argmax(1) == yb).sum().item()
            seen += yb.shape[0]
            if step % 100 == 0:
                log(f"epoch {epoch + 1} step {step}/{steps_per_epoch} loss {tot_loss / seen:.4f}")
        acc = evaluate(model, x_test, y_test)
        log(f"epoch {epoch + 1}/{args.epochs}: train loss {tot_loss / seen:.4f} "
            f"train acc {tot_correct / seen:.4f} test top-1 {acc:.4f} ({time.time() - t0:.0f}s)")
    train_seconds = time.time() - t0

    test_acc = evaluate(model, x_test, y_test)
    log(f"final test top-1 (float32, eval mode, 10000 images): {test_acc:.4f}; training took {train_seconds:.0f}s")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.state_out:
        torch.save(model.state_dict(), args.state_out)
    export_and_describe(model, args.arch, args.out, test_acc, args, x_test, train_seconds)


if __name__ == "__main__":
    main()
