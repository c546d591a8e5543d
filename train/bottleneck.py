"""Learned bottleneck inserted at a cut: encoder, quantization proxy, factorized entropy model, decoder.

    y      = encoder(t)                       t: the cut tensor [N, C, H, W]
    y_hat  = q(y)                             q = floor(y + 1/2), clamped to [lo, hi] once deployed
    t_hat  = decoder(y_hat)                   shape of t again, fed to the tail
    bits   = -sum log2 P(y_hat)               P from the factorized entropy model

Quantization proxies (Balle et al. 2017): in training, additive uniform noise
y + u, u ~ U(-1/2, 1/2) (the density of y + u is the model's CDF difference at
+-1/2, so -log2 of it is a differentiable bit count); for fine-tuning,
straight-through rounding (forward floor(y + 1/2), backward identity).

The entropy model is Balle et al. 2018's non-parametric factorized prior:
per latent channel c a cumulative c_c(x) = sigmoid(f_c(x)) where f_c is a
composition of K = 4 scalar->vector->scalar layers whose matrices pass through
softplus (non-negative, so f_c is monotone) and whose gates a*tanh(x) have
|tanh(a)| < 1 (keeping each layer increasing). P(v) = c(v + 1/2) - c(v - 1/2).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def round_half_up(y):
    """floor(y + 1/2): the rounding device.onnx performs (Add + Floor), also used in training."""
    return torch.floor(y + 0.5)


class _STERound(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y):
        return round_half_up(y)

    @staticmethod
    def backward(ctx, g):
        return g


def ste_round(y):
    return _STERound.apply(y)


def noisy(y):
    return y + torch.empty_like(y).uniform_(-0.5, 0.5)


class FactorizedEntropyModel(nn.Module):
    def __init__(self, channels, filters=(3, 3, 3), init_scale=2.0):
        super().__init__()
        self.channels = channels
        dims = (1,) + tuple(filters) + (1,)
        scale = init_scale ** (1.0 / (len(dims) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for k in range(len(dims) - 1):
            init = math.log(math.expm1(1.0 / scale / dims[k + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[k + 1], dims[k]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, dims[k + 1], 1).uniform_(-0.5, 0.5)))
            if k < len(dims) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[k + 1], 1)))

    def logits_cdf(self, x):
        """x [C, 1, M] -> f_c(x) [C, 1, M]."""
        for k in range(len(self.matrices)):
            x = torch.matmul(F.softplus(self.matrices[k]), x) + self.biases[k]
            if k < len(self.factors):
                x = x + torch.tanh(self.factors[k]) * torch.tanh(x)
        return x

    def likelihood(self, y):
        """P(y) per element for y [N, C, H, W] (integers or noisy values)."""
        n, c, h, w = y.shape
        v = y.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower = self.logits_cdf(v - 0.5)
        upper = self.logits_cdf(v + 0.5)
        s = -torch.sign(lower + upper).detach()  # evaluate in the tail where sigmoid is accurate
        p = torch.abs(torch.sigmoid(s * upper) - torch.sigmoid(s * lower))
        p = torch.clamp(p, min=1e-9)
        return p.reshape(c, n, h, w).permute(1, 0, 2, 3)

    def bits(self, y):
        """Estimated bits per item: -sum log2 P over the item's latent."""
        return -torch.log2(self.likelihood(y)).flatten(1).sum(1)

    @torch.no_grad()
    def pmf_table(self, lo, hi):
        """[C, hi-lo+1] float64: P(v) for v = lo..hi with the tails folded into the end points,
        P(lo) = c(lo + 1/2), P(hi) = 1 - c(hi - 1/2), so that each row sums to 1 (the clamp in
        device.onnx maps every value below lo to lo and above hi to hi)."""
        edges = torch.arange(lo, hi, dtype=torch.float64) + 0.5  # lo+1/2 .. hi-1/2
        m = self.double()
        try:
            cdf = torch.sigmoid(m.logits_cdf(edges.reshape(1, 1, -1).expand(self.channels, 1, -1).contiguous()))
        finally:
            self.float()
        cdf = cdf.reshape(self.channels, -1)
        zeros = torch.zeros(self.channels, 1, dtype=torch.float64)
        ones = torch.ones(self.channels, 1, dtype=torch.float64)
        full = torch.cat([zeros, cdf, ones], 1)
        pmf = (full[:, 1:] - full[:, :-1]).clamp(min=1e-9)
        return (pmf / pmf.sum(1, keepdim=True)).numpy()


def table_bits(pmf, lo, y_int):
    """Bits of integer latents y_int [N, C, H, W] (already clamped to [lo, lo + width - 1])
    under the per-channel tables pmf [C, width]: -sum log2 pmf[c, y - lo] per item."""
    idx = (y_int - lo).long()
    logp = torch.from_numpy(np.log2(pmf))  # [C, width]
    n, c = idx.shape[:2]
    gathered = torch.gather(logp.unsqueeze(0).expand(n, -1, -1), 2, idx.flatten(2))
    return -gathered.sum((1, 2))


def _conv(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride, k // 2)


class Encoder(nn.Module):
    """cut tensor [C_in, H, W] -> latent [C_l, H / stride, W / stride] (ceil), `convs` convolutions."""

    def __init__(self, cin, latent, stride=2, mid=None, convs=2):
        super().__init__()
        mid = mid or cin
        layers = []
        if convs == 1:
            layers.append(_conv(cin, latent, 3, stride))
        else:
            layers += [_conv(cin, mid, 3, stride), nn.ReLU()]
            for _ in range(convs - 2):
                layers += [_conv(mid, mid, 3), nn.ReLU()]
            layers.append(_conv(mid, latent, 3))
        self.net = nn.Sequential(*layers)

    def forward(self, t):
        return self.net(t)


class Decoder(nn.Module):
    """latent -> a tensor of the cut's shape [C_out, H, W]; ReLU at the end when the cut is non-negative."""

    def __init__(self, latent, cout, out_hw, stride=2, mid=None, nonnegative=False):
        super().__init__()
        mid = mid or cout
        layers = [_conv(latent, mid, 3), nn.ReLU()]
        if stride == 2:
            # ConvTranspose k=4 s=2 p=1 maps n to 2n >= the cut's size (the encoder's stride-2 conv
            # gives ceil(n/2)); forward crops the odd row/column.
            layers += [nn.ConvTranspose2d(mid, mid, 4, 2, 1), nn.ReLU()]
            h, w = out_hw
            self.crop = out_hw if (h % 2 or w % 2) else None
        else:
            self.crop = None
        layers.append(_conv(mid, cout, 3))
        if nonnegative:
            layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, y):
        t = self.net(y)
        if self.crop is not None:
            t = t[:, :, :self.crop[0], :self.crop[1]]
        return t


class Bottleneck(nn.Module):
    def __init__(self, cin, shape_hw, latent=8, stride=2, nonnegative=False, mid=None):
        super().__init__()
        self.encoder = Encoder(cin, latent, stride, mid)
        self.decoder = Decoder(latent, cin, shape_hw, stride, mid, nonnegative)
        self.entropy = FactorizedEntropyModel(latent)
        self.lo, self.hi = None, None  # the integer range, fixed before export

    def forward(self, t, mode="noise"):
        """(t_hat, bits per item). mode: 'noise' (noise for rate and decoder), 'ste' (noise for the
        rate, straight-through rounding for the decoder), 'round' (rounded and clamped: deployment)."""
        y = self.encoder(t)
        if mode == "noise":
            yq = noisy(y)
            return self.decoder(yq), self.entropy.bits(yq)
        if mode == "ste":
            return self.decoder(ste_round(y)), self.entropy.bits(noisy(y))
        yq = self.quantize(y)
        return self.decoder(yq), self.entropy.bits(yq)

    def quantize(self, y):
        r = round_half_up(y)
        if self.lo is not None:
            r = torch.clamp(r, self.lo, self.hi)
        return r
