"""Reference networks for 1x28x28 Fashion-MNIST inputs.

Module attribute names are chosen so that torch.onnx.export (1.13) produces
readable tensor names, e.g. `/stage2/block2/relu_2/Relu_output_0`.
"""
from collections import OrderedDict

import torch
from torch import nn


def conv_bn(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(OrderedDict([
        ("conv", nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)),
        ("bn", nn.BatchNorm2d(cout)),
    ]))


# --------------------------------------------------------------------------- ResNet

class BasicBlock(nn.Module):
    """out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))"""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride)
        self.relu_1 = nn.ReLU()
        self.conv2 = conv_bn(cout, cout, 3, 1)
        self.shortcut = conv_bn(cin, cout, 1, stride) if (stride != 1 or cin != cout) else nn.Identity()
        self.relu_2 = nn.ReLU()

    def forward(self, x):
        y = self.conv2(self.relu_1(self.conv1(x)))
        return self.relu_2(y + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(self, widths=(32, 64, 128), blocks=(1, 1, 1), num_classes=10):
        super().__init__()
        self.stem = conv_bn(1, widths[0], 3)
        self.stem_relu = nn.ReLU()
        stages = []
        cin = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            layers = OrderedDict()
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                layers[f"block{j + 1}"] = BasicBlock(cin, w, stride)
                cin = w
            stages.append(nn.Sequential(layers))
        self.stage1, self.stage2, self.stage3 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.stem_relu(self.stem(x))
        x = self.stage3(self.stage2(self.stage1(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


# ----------------------------------------------------------------------- MobileNetV2

class InvertedResidual(nn.Module):
    """1x1 expand + ReLU6, 3x3 depthwise + ReLU6, 1x1 linear projection (+ x if shapes match)."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.has_expand = expand != 1
        if self.has_expand:
            self.expand = conv_bn(cin, hidden, 1)
            self.expand_relu = nn.ReLU6()
        self.dw = conv_bn(hidden, hidden, 3, stride, groups=hidden)
        self.dw_relu = nn.ReLU6()
        self.project = conv_bn(hidden, cout, 1)

    def forward(self, x):
        y = self.expand_relu(self.expand(x)) if self.has_expand else x
        y = self.project(self.dw_relu(self.dw(y)))
        return x + y if self.use_res else y


class SmallMobileNetV2(nn.Module):
    # (expand t, channels c, repeats n, first stride s) per stage, MobileNetV2 notation
    # (expansions are below MobileNetV2's 6 to keep one-core CPU training ~10 min)
    CONFIG = ((1, 16, 1, 1),   # stage1 28x28
              (3, 24, 2, 2),   # stage2 14x14
              (4, 32, 2, 2),   # stage3 7x7
              (4, 64, 1, 1))   # stage4 7x7

    def __init__(self, stem=16, last=128, num_classes=10, config=CONFIG):
        super().__init__()
        self.stem = conv_bn(1, stem, 3)
        self.stem_relu = nn.ReLU6()
        cin = stem
        stages = []
        for t, c, n, s in config:
            layers = OrderedDict()
            for j in range(n):
                layers[f"block{j + 1}"] = InvertedResidual(cin, c, s if j == 0 else 1, t)
                cin = c
            stages.append(nn.Sequential(layers))
        self.stage1, self.stage2, self.stage3, self.stage4 = stages
        self.head = conv_bn(cin, last, 1)
        self.head_relu = nn.ReLU6()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(last, num_classes)

    def forward(self, x):
        x = self.stem_relu(self.stem(x))
        x = self.stage4(self.stage3(self.stage2(self.stage1(x))))
        x = self.head_relu(self.head(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def build(arch):
    if arch == "resnet":
        return SmallResNet()
    if arch == "mobilenetv2":
        return SmallMobileNetV2()
    raise ValueError(f"unknown arch {arch!r}")
