"""Render models/NAME.md (model card) from models/NAME.json written by train.py.

    /usr/bin/python3 train/model_card.py models/fmnist_resnet.json [--opencv-check TEXT]
"""
import argparse
import json
import os

ARCH_TEXT = {
    "resnet": """Small ResNet (basic blocks) for 1x28x28 input, BatchNorm folded into the convolutions at export:

| part | layers | output |
|---|---|---|
| stem | conv 3x3 1->32, BN, ReLU | 32x28x28 |
| stage1 | basic block (conv3x3-BN-ReLU-conv3x3-BN, identity shortcut, Add, ReLU) | 32x28x28 |
| stage2 | basic block, stride 2, 1x1 conv+BN projection shortcut | 64x14x14 |
| stage3 | basic block, stride 2, 1x1 conv+BN projection shortcut | 128x7x7 |
| head | global average pool, flatten, linear 128->10 | 10 |
""",
    "mobilenetv2": """MobileNetV2-style network for 1x28x28 input, BatchNorm folded into the convolutions at export.
Inverted residual block: 1x1 expand conv + BN + ReLU6 (omitted when t=1), 3x3 depthwise conv + BN + ReLU6,
1x1 linear projection conv + BN, residual Add when stride 1 and channels match.

| part | layers (t = expansion, n = blocks, s = first stride) | output |
|---|---|---|
| stem | conv 3x3 1->16, BN, ReLU6 | 16x28x28 |
| stage1 | t=1, c=16, n=1, s=1 | 16x28x28 |
| stage2 | t=3, c=24, n=2, s=2 | 24x14x14 |
| stage3 | t=4, c=32, n=2, s=2 | 32x7x7 |
| stage4 | t=4, c=64, n=1, s=1 | 64x7x7 |
| head | conv 1x1 64->128, BN, ReLU6; global average pool, flatten, linear 128->10 | 10 |

Expansion factors are smaller than the paper's 6 so that training fits in ~10 minutes on one CPU core.
""",
}


def fmt_shape(s):
    return "[" + ", ".join(str(d) for d in s) + "]"


def render(info, opencv_check):
    name = os.path.splitext(info["model"])[0]
    tr = info["training"]
    n = info["normalization"]
    lines = [
        f"# {name}",
        "",
        f"Fashion-MNIST classifier used as a reference model for ftc split inference. "
        f"Written by `train/train.py`; facts below are also in `{name}.json`.",
        "",
        "## Summary",
        "",
        f"- file: `{info['model']}` ({info['onnx_bytes']:,} bytes, {info['parameters']:,} parameters), "
        f"ONNX opset {info['opset']}, static shapes, batch size 1",
        f"- ops: {', '.join(info['onnx_ops'])}",
        f"- **test top-1: {info['test_top1'] * 100:.2f}%** on the {info['test_images']:,} Fashion-MNIST test images "
        "(PyTorch, float32, eval mode, measured by train.py)",
        f"- input: `{info['input']['name']}` float32 {fmt_shape(info['input']['shape'])} (NCHW)",
        f"- output: `{info['output']['name']}` float32 {fmt_shape(info['output']['shape'])} "
        "(unnormalized logits; classes in label order: " + ", ".join(info["classes"]) + ")",
        "",
        "## Input normalization",
        "",
        f"`x = (pixel / 255 - {n['mean']:.4f}) / {n['std']:.4f}`, pixel in 0..255 (uint8 IDX images, "
        "white object on black background, no resizing). A black pixel becomes "
        f"{(0 - n['mean']) / n['std']:.4f}.",
        "",
        "## Architecture",
        "",
        ARCH_TEXT[info["arch"]],
        "## Recommended split tensors",
        "",
        "ONNX tensor names exactly as in the exported graph; shapes from `onnx.shape_inference`. "
        "With OpenCV 4.6 DNN, request the layer name in the last column (`net.forward(name)`); "
        "statistics are over the first 200 test images.",
        "",
        "| tensor | shape | OpenCV layer | min / max | mean | zeros | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in info["splits"]:
        st = s["stats_200_test_images"]
        mark = " **(demo default)**" if s["tensor"] == info["recommended_split"] else ""
        lines.append(f"| `{s['tensor']}`{mark} | {fmt_shape(s['shape'])} | `{s['opencv_layer']}` | "
                     f"{st['min']:.3f} / {st['max']:.3f} | {st['mean']:.3f} | {st['frac_zero'] * 100:.1f}% | {s['note']} |")
    rec = next(s for s in info["splits"] if s["tensor"] == info["recommended_split"])
    lines += [
        "",
        f"**Recommended split for the demo: `{rec['tensor']}`, shape {fmt_shape(rec['shape'])}.**",
        "",
        "## Training",
        "",
        "```",
        tr["command"],
        "```",
        "",
        f"Seed {tr['seed']}, {tr['epochs']} epochs over the 60,000 training images, batch {tr['batch_size']}, "
        f"SGD (momentum 0.9, Nesterov, weight decay 5e-4) with a one-cycle schedule peaking at lr {tr['max_lr']}, "
        "cross-entropy loss; augmentation: random horizontal flip"
        + (f" and random crop with {tr['crop_pad']}-pixel background padding" if tr["crop_pad"] else "")
        + f". Single CPU thread, torch {tr['torch']} (Debian python3-torch); training took "
        f"{tr['train_seconds']} s on a shared 2-core machine.",
        "",
        "## Export checks",
        "",
        f"- `onnx.checker.check_model` passes.",
        f"- `train/onnx_check.py` (numpy reference evaluator) vs PyTorch on 200 test images: "
        f"max |logit diff| {info['export_check']['max_abs_diff_logits']:.2e}, "
        f"argmax agreement {info['export_check']['argmax_agreement'] * 100:.0f}%.",
    ]
    if opencv_check:
        lines.append(f"- OpenCV 4.6 DNN (C++, `readNetFromONNX`): {opencv_check}")
    if info["opset"] == 10:
        lines += ["", "Opset 10 rather than 11: OpenCV 4.6's ONNX importer rejects opset-11 `Clip` (min/max as "
                  "inputs) and only maps the opset-10 attribute form to its ReLU6 layer."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("--opencv-check", default="", help="one-line result of an OpenCV check, if one was run")
    args = ap.parse_args()
    with open(args.json) as f:
        info = json.load(f)
    out = os.path.splitext(args.json)[0] + ".md"
    with open(out, "w") as f:
        f.write(render(info, args.opencv_check))
    print("wrote", out)
