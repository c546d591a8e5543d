"""train/bottleneck.py (entropy tables, rounding, shapes) and train/prune.py (groups, pruning keeps the
cut's shape and lowers the MACs by the pruned share)."""
import math
import os
import sys
import unittest

import numpy as np
import torch

ROOT = os.environ.get("FTC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "train"))
import bottleneck as bn  # noqa: E402
import onnx_torch  # noqa: E402
import prune as pr  # noqa: E402


class EntropyModel(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(5)
        self.em = bn.FactorizedEntropyModel(3)
        with torch.no_grad():  # make the channels differ
            for k, b in enumerate(self.em.biases):
                b.add_(torch.randn_like(b))

    def test_table_rows_are_cdf_differences_summing_to_one(self):
        lo, hi = -4, 5
        pmf = self.em.pmf_table(lo, hi)
        self.assertEqual(pmf.shape, (3, hi - lo + 1))
        self.assertTrue((pmf > 0).all())
        np.testing.assert_allclose(pmf.sum(1), 1.0, atol=1e-12)
        # interior entries equal the model's likelihood of that integer
        v = torch.arange(lo + 1, hi, dtype=torch.float32)
        y = v.reshape(1, 1, 1, -1).expand(1, 3, 1, -1).contiguous()
        lik = self.em.likelihood(y).detach().reshape(3, -1).double().numpy()
        np.testing.assert_allclose(pmf[:, 1:-1], lik, rtol=1e-4, atol=1e-7)

    def test_table_bits_match_model_bits_inside_the_range(self):
        lo, hi = -6, 6
        pmf = self.em.pmf_table(lo, hi)
        y = torch.randint(lo + 1, hi, (4, 3, 2, 2)).float()
        a = bn.table_bits(pmf, lo, y)
        b = self.em.bits(y).detach().double()
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-3)
        # a hand count for one item
        want = -sum(math.log2(pmf[c, int(y[0, c, i, j]) - lo]) for c in range(3) for i in range(2) for j in range(2))
        self.assertAlmostEqual(a[0].item(), want, places=6)

    def test_cdf_is_monotone(self):
        x = torch.linspace(-20, 20, 401).reshape(1, 1, -1).expand(3, 1, -1).contiguous()
        f = self.em.logits_cdf(x).detach()
        self.assertTrue((f[:, :, 1:] >= f[:, :, :-1]).all())


class Bottleneck(unittest.TestCase):
    def test_shapes_rounding_and_clamp(self):
        torch.manual_seed(0)
        for hw, stride in (((14, 14), 2), ((7, 7), 2), ((7, 7), 1)):
            b = bn.Bottleneck(6, hw, latent=3, stride=stride, nonnegative=True)
            t = torch.rand(2, 6, *hw)
            b.lo, b.hi = -1, 1
            t_hat, bits = b(t, "round")
            self.assertEqual(t_hat.shape, t.shape)
            self.assertTrue((t_hat >= 0).all())
            y = b.quantize(b.encoder(t) * 100)
            self.assertTrue(torch.equal(y, torch.round(y)) and y.min() >= -1 and y.max() <= 1)
            self.assertEqual(bits.shape, (2,))
        self.assertEqual(bn.round_half_up(torch.tensor([-1.5, -0.5, 0.49, 0.5, 2.5])).tolist(),
                         [-1.0, 0.0, 0.0, 1.0, 3.0])

    def test_ste_passes_gradients(self):
        y = torch.tensor([0.2, 1.7], requires_grad=True)
        bn.ste_round(y).sum().backward()
        self.assertEqual(y.grad.tolist(), [1.0, 1.0])


class Prune(unittest.TestCase):
    def test_resnet_head_groups_and_pruning(self):
        model = os.path.join(ROOT, "models", "fmnist_resnet.onnx")
        head, _ = onnx_torch.cut(model, "/stage2/block1/relu_2/Relu_output_0")
        groups = pr.find_groups(head)
        # the residual blocks' inner pairs; the stem and the blocks' second convs feed an Add
        self.assertEqual([(g.producer.name, g.consumer.name) for g in groups],
                         [("/stage1/block1/conv1/conv/Conv", "/stage1/block1/conv2/conv/Conv"),
                          ("/stage2/block1/conv1/conv/Conv", "/stage2/block1/conv2/conv/Conv")])
        x = torch.randn(2, 1, 28, 28)
        before = head.count_macs(x[:1])
        with torch.no_grad():
            t0 = head(x)
        # saliency: a zero score for the channels a loss does not see
        sal = pr.Saliency(head, groups[-1:])
        loss = head(x)[:, :5].sum()
        loss.backward()
        sal.accumulate()
        scores = sal.close()
        self.assertEqual(len(scores[0]), 64)
        done = pr.prune(head, groups, [torch.arange(32, 0, -1).float(), torch.arange(64, 0, -1).float()], 0.5)
        self.assertEqual([(c, k) for _, c, k in done], [(32, 16), (64, 32)])
        with torch.no_grad():
            t1 = head(x)
        self.assertEqual(t1.shape, t0.shape)
        after = head.count_macs(x[:1])
        # stage1: conv1 and conv2 each lose half (16 of 32 channels) at 28x28, 3x3 kernels;
        # stage2: conv1 (32 in, stride 2) and conv2 lose half of their 64 at 14x14
        saved = 2 * 16 * 32 * 9 * 28 * 28 + 32 * 32 * 9 * 14 * 14 + 32 * 64 * 9 * 14 * 14
        self.assertEqual(before - after, saved)

    def test_mobilenet_groups_run_through_depthwise(self):
        model = os.path.join(ROOT, "models", "fmnist_mobilenetv2.onnx")
        head, _ = onnx_torch.cut(model, "/stage2/block2/Add_output_0")
        groups = pr.find_groups(head)
        self.assertTrue(groups)
        self.assertTrue(all(any(n.op == "Conv" for n in g.path) for g in groups))
        x = torch.randn(1, 1, 28, 28)
        with torch.no_grad():
            shape = head(x).shape
        pr.prune(head, groups, [torch.rand(pr.channels(head, g)) for g in groups], 0.25)
        with torch.no_grad():
            self.assertEqual(head(x).shape, shape)


if __name__ == "__main__":
    unittest.main()
