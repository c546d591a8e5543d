"""Train a learned bottleneck at a cut of an ONNX classifier; write device/server graphs and the entropy tables.

    /usr/bin/python3 train/learn.py --model M.onnx --at TENSOR --data fashion-mnist:train[:N] --out DIR
        [--rate-weight L] [--latent-channels C] [--prune FRACTION] [--minutes N] [--epochs E] [--seed S]
        [--finetune-tail [--tail-lr F]] [--stride 1|2] [--test]

This is the interface `ftc learn` calls. It writes, all or nothing:
  DIR/device.onnx   input -> (pruned) head -> encoder -> latent, rounded (floor(y + 1/2)) and clamped to [lo, hi]
  DIR/server.onnx   latent -> decoder -> tail -> the model's output
  DIR/codec.json    per latent channel the integer range and pmf of the factorized entropy model
  DIR/report.json   estimated bits per image, held-out top-1, MACs, settings
Progress goes to stderr. The first N training images are used (default 60,000); the last
min(5000, N/10) of them are held out for every choice and for the report. --test adds the
test-set figures to report.json (measured after training; never used for a choice).
"""
import argparse
import json
import os
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:
    sys.stderr.write("ftc learn: needs python3-torch (scripts/install-deps.sh)\n")
    sys.exit(1)
try:
    import onnx
except ImportError:
    sys.stderr.write("ftc learn: needs python3-onnx (scripts/install-deps.sh)\n")
    sys.exit(1)

import bottleneck as bn  # noqa: E402
import fashion_mnist  # noqa: E402
import onnx_torch  # noqa: E402
import prune as pr  # noqa: E402

FORMAT = "ftc-learned-codec/1"
TEMPERATURE = 2.0
BATCH = 64


def log(msg):
    sys.stderr.write("learn: " + msg + "\n")
    sys.stderr.flush()


class Fail(Exception):
    pass


def parse_data(spec):
    """'fashion-mnist:train[:N]' -> N (or None)."""
    parts = spec.split(":")
    if len(parts) < 2 or parts[0] != "fashion-mnist":
        raise Fail(f"--data '{spec}': expected fashion-mnist:train[:N]")
    if parts[1] != "train":
        raise Fail(f"--data '{spec}': training and every choice use the training images only (fashion-mnist:train[:N])")
    if len(parts) == 2:
        return None
    if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) < 20:
        raise Fail(f"--data '{spec}': N must be an integer >= 20")
    return int(parts[2])


def normalization(model_path, args):
    mean, std = fashion_mnist.MEAN, fashion_mnist.STD
    card = os.path.splitext(model_path)[0] + ".json"
    if os.path.exists(card):
        with open(card) as f:
            n = json.load(f).get("normalization", {})
        mean, std = n.get("mean", mean), n.get("std", std)
    if args.mean is not None:
        mean = args.mean
    if args.std is not None:
        std = args.std
    return float(mean), float(std)


def prepare(images_u8, mean, std):
    x = torch.from_numpy(images_u8.astype(np.float32) / 255.0)[:, None]
    return (x - mean) / std


@torch.no_grad()
def batched(fn, x, bs=500):
    return torch.cat([fn(x[i:i + bs]) for i in range(0, len(x), bs)])


def distill_loss(student, teacher):
    t = TEMPERATURE
    return F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), log_target=True,
                    reduction="batchmean") * t * t


class Trainer:
    def __init__(self, args, head, tail, bneck, feats, teacher, labels, x_train):
        self.args, self.head, self.tail, self.b = args, head, tail, bneck
        self.feats, self.teacher, self.labels, self.x = feats, teacher, labels, x_train
        self.t0 = time.time()
        self.lam = args.rate_weight  # lambda; --rate-target moves it, --rate-warmup scales it
        self.warm = 1.0

    def control(self, bits):
        """With --rate-target, after each step past the warm-up: a multiplicative controller on the batch's
        estimated bits, lambda *= exp(0.02 * (bits - target) / target), kept in [rate_weight / 100, rate_weight * 100]."""
        a = self.args
        if a.rate_target and self.warm >= 1.0:
            lam = self.lam * float(np.exp(0.02 * (bits - a.rate_target) / a.rate_target))
            self.lam = min(max(lam, a.rate_weight / 100), a.rate_weight * 100)

    def loss(self, t, teacher, labels, mode):
        t_hat, bits = self.b(t, mode)
        logits = self.tail(t_hat)
        ce = F.cross_entropy(logits, labels)
        kd = distill_loss(logits, teacher)
        return ce + kd + self.lam * self.warm * bits.mean(), bits.mean().item(), logits

    def batch(self, idx, head_live):
        if head_live:
            t = self.head(self.x[idx])
        else:
            t = self.feats[idx].float()
        return t, self.teacher[idx], self.labels[idx]

    def run(self, params, epochs, lr, head_live, deadline, tag, evaluate, ste_from=0.0, warmup=0.0):
        """Adam with a cosine learning rate; 'noise' proxy for the first ste_from of the steps, then 'ste'."""
        n = len(self.labels)
        steps_per_epoch = max(1, n // BATCH)
        total = max(1, epochs * steps_per_epoch)
        opt = torch.optim.Adam([g for g in params if g["params"]], lr=lr)
        gen = torch.Generator().manual_seed(self.args.seed)
        step = 0
        report_every = max(1, steps_per_epoch // 4)
        for ep in range(epochs):
            perm = torch.randperm(n, generator=gen)
            run_loss, run_bits, seen = 0.0, 0.0, 0
            for s in range(steps_per_epoch):
                progress = max(step / total, (time.time() - self.t0) / deadline if deadline else 0.0)
                if progress >= 1.0:
                    log(f"{tag}: time budget reached at step {step}/{total}")
                    return
                for g in opt.param_groups:
                    g.setdefault("base_lr", g["lr"])
                    g["lr"] = g["base_lr"] * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * progress)))
                mode = "noise" if progress < ste_from else "ste"
                idx = perm[s * BATCH:(s + 1) * BATCH]
                t, teacher, labels = self.batch(idx, head_live)
                # lambda warm-up: linear from 0 over the first `warmup` of the progress
                self.warm = min(1.0, progress / warmup) if warmup > 0 else 1.0
                loss, bits, _ = self.loss(t, teacher, labels, mode)
                opt.zero_grad()
                loss.backward()
                opt.step()
                self.control(bits)
                step += 1
                run_loss += loss.item()
                run_bits += bits
                seen += 1
                if (s + 1) % report_every == 0:
                    log(f"{tag} epoch {ep + 1}/{epochs} step {s + 1}/{steps_per_epoch}: loss {run_loss / seen:.4f} "
                        f"est. bits/image {run_bits / seen:.1f} ({mode}) lambda {self.lam * self.warm:.5f} "
                        f"{time.time() - self.t0:.0f} s")
                    run_loss, run_bits, seen = 0.0, 0.0, 0
            acc, bits = evaluate()
            log(f"{tag} epoch {ep + 1}/{epochs}: held-out top-1 {acc * 100:.2f}% est. bits/image {bits:.1f} "
                f"(rounded) {time.time() - self.t0:.0f} s")


def conv_macs(module, x):
    """MACs per item of the Conv2d layers of `module` on input x."""
    total = [0]

    def hook(m, i, o):
        total[0] += o[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]

    hs = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        module(x)
    for h in hs:
        h.remove()
    return total[0]


class DeviceGraph(nn.Module):
    """input -> head -> encoder -> floor(y + 1/2) clamped to [lo, hi].
    The clamp is relu(r - lo) - relu(r - hi) + lo (exact on integers; OpenCV 4.6 imports it at any opset)."""

    def __init__(self, head, encoder, lo, hi):
        super().__init__()
        self.head, self.encoder, self.lo, self.hi = head, encoder, float(lo), float(hi)

    def forward(self, x):
        r = torch.floor(self.encoder(self.head(x)) + 0.5)
        return torch.relu(r - self.lo) - torch.relu(r - self.hi) + self.lo


class ServerGraph(nn.Module):
    def __init__(self, decoder, tail):
        super().__init__()
        self.decoder, self.tail = decoder, tail

    def forward(self, y):
        return self.tail(self.decoder(y))


def strip_identity(model):
    """Replace Identity nodes by their input (torch emits them for shared constants; OpenCV 4.6 rejects them)."""
    g = model.graph
    rename = {}
    keep = []
    outputs = {o.name for o in g.output}
    for n in g.node:
        if n.op_type == "Identity" and n.output[0] not in outputs:
            rename[n.output[0]] = n.input[0]
        else:
            keep.append(n)
    for n in keep:
        for i, name in enumerate(n.input):
            while name in rename:
                name = rename[name]
            n.input[i] = name
    del g.node[:]
    g.node.extend(keep)
    return model


def export(module, example, in_name, out_name, opset, path):
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    tmp = path + ".export"
    torch.onnx.export(module, (example,), tmp, opset_version=opset, input_names=[in_name], output_names=[out_name],
                      do_constant_folding=True)
    m = strip_identity(onnx.load(tmp))
    os.unlink(tmp)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--at", required=True, help="ONNX tensor name to cut at")
    ap.add_argument("--data", default="fashion-mnist:train")
    ap.add_argument("--data-dir", default=fashion_mnist.DEFAULT_DIR)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rate-weight", type=float, default=0.002, help="lambda: loss per bit of the latent (default 0.002)")
    ap.add_argument("--rate-target", type=float, default=None,
                    help="bits per image: adapt lambda during training (starting from --rate-weight) so that the "
                         "estimated rate approaches this")
    ap.add_argument("--rate-warmup", type=float, default=0.0,
                    help="share of the bottleneck's training over which lambda rises linearly from 0 (default 0)")
    ap.add_argument("--latent-channels", type=int, default=8)
    ap.add_argument("--stride", type=int, default=2, choices=(1, 2), help="encoder stride (default 2)")
    ap.add_argument("--prune", type=float, default=0.0, help="fraction of channels removed per pruned group")
    ap.add_argument("--prune-groups", type=int, default=2, help="how many of the head's last prunable groups")
    ap.add_argument("--minutes", type=float, default=None, help="stop training after this many minutes")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--finetune-tail", action="store_true")
    ap.add_argument("--tail-lr", type=float, default=0.1,
                    help="with --finetune-tail: the tail's learning rate as a fraction of --lr (default 0.1)")
    ap.add_argument("--noise-fraction", type=float, default=0.0,
                    help="share of the steps that feed the decoder noisy latents before straight-through rounding "
                         "(default 0: rounding from the start; the rate always uses the noise proxy)")
    ap.add_argument("--mean", type=float, default=None)
    ap.add_argument("--std", type=float, default=None)
    ap.add_argument("--cache", default=None, help="directory for the head's features, reused by runs with the "
                    "same model bytes, cut, data and normalization")
    ap.add_argument("--test", action="store_true", help="also report test-set figures (not used for any choice)")
    args = ap.parse_args(argv)
    t_start = time.time()

    if not (0.0 <= args.prune < 1.0):
        raise Fail("--prune must be in [0, 1)")
    if not (1 <= args.latent_channels <= 256):
        raise Fail("--latent-channels must be 1..256")
    if args.rate_weight < 0:
        raise Fail("--rate-weight must be >= 0")
    if args.rate_target is not None and (args.rate_target <= 0 or args.rate_weight <= 0):
        raise Fail("--rate-target needs a positive target and a positive --rate-weight to start from")
    if not (0.0 < args.tail_lr <= 10.0):
        raise Fail("--tail-lr must be in (0, 10]")
    if not (0.0 <= args.rate_warmup < 1.0):
        raise Fail("--rate-warmup must be in [0, 1)")
    n_req = parse_data(args.data)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    model_proto = onnx.load(args.model)
    in_name, in_shape, out_name = onnx_torch.io_info(model_proto)
    try:
        head, tail = onnx_torch.cut(model_proto, args.at)
    except (onnx_torch.UnsupportedOp, onnx_torch.CutError) as e:
        raise Fail(str(e))
    opset = max(9, onnx_torch._opset(model_proto))
    mean, std = normalization(args.model, args)

    images, labels = fashion_mnist.load("train", args.data_dir)
    n = len(images) if n_req is None else min(n_req, len(images))
    images, labels = images[:n], labels[:n]
    n_hold = min(5000, n // 10)
    x = prepare(images, mean, std)
    if list(x.shape[1:]) != [d for d in in_shape[1:]]:
        raise Fail(f"the model's input '{in_name}' is {in_shape}, the data is {list(x.shape)}")
    y = torch.from_numpy(labels.astype(np.int64))
    x_tr, y_tr, x_ho, y_ho = x[:-n_hold], y[:-n_hold], x[-n_hold:], y[-n_hold:]
    log(f"{args.model} cut at '{args.at}': {n - n_hold} training images, {n_hold} held out")

    head.eval()
    tail.eval()
    cache = feature_cache_path(args, mean, std, n)
    if cache and os.path.exists(cache):
        feats, teacher, feats_ho, teacher_ho = torch.load(cache)
        log(f"features from {cache}")
    else:
        feats = batched(head, x_tr)
        teacher = batched(tail, feats)
        feats_ho = batched(head, x_ho)
        teacher_ho = batched(tail, feats_ho)
        feats = feats.half()  # the head is frozen until pruning; fp16 halves the memory
        if cache:
            os.makedirs(os.path.dirname(cache), exist_ok=True)
            torch.save((feats, teacher, feats_ho, teacher_ho), cache + f".tmp-{os.getpid()}")
            os.replace(cache + f".tmp-{os.getpid()}", cache)
    nonneg = bool((feats_ho.min() >= 0).item()) and bool((feats.min() >= 0).item())
    ref_top1 = (teacher_ho.argmax(1) == y_ho).float().mean().item()
    c_in, h, w = feats.shape[1:]
    log(f"cut tensor [{c_in}, {h}, {w}] ({'non-negative' if nonneg else 'signed'}); reference held-out top-1 "
        f"{ref_top1 * 100:.2f}%; features cached in {time.time() - t_start:.0f} s")

    bneck = bn.Bottleneck(c_in, (h, w), args.latent_channels, args.stride, nonneg)
    example = x_tr[:1]
    head_macs_before = head.count_macs(example)

    def evaluate(live=False, exact=None):
        """(held-out top-1, bits/image) with rounded latents; exact=(pmf, lo) uses the tables."""
        bneck.eval()
        with torch.no_grad():
            accs, bits = [], []
            for i in range(0, n_hold, 500):
                t = head(x_ho[i:i + 500]) if live else feats_ho[i:i + 500]
                yq = bneck.quantize(bneck.encoder(t))
                logits = tail(bneck.decoder(yq))
                accs.append((logits.argmax(1) == y_ho[i:i + 500]).float())
                bits.append(bn.table_bits(exact[0], exact[1], yq) if exact else bneck.entropy.bits(yq))
        bneck.train()
        return torch.cat(accs).mean().item(), torch.cat(bits).mean().item()

    deadline = args.minutes * 60.0 if args.minutes else None
    trainer = Trainer(args, head, tail, bneck, feats, teacher, y_tr, x_tr)
    # the entropy model learns faster than the networks (its densities must follow the latents)
    params = [{"params": list(bneck.encoder.parameters()) + list(bneck.decoder.parameters())},
              {"params": list(bneck.entropy.parameters()), "lr": args.lr * 5}]
    tail_params = []
    if args.finetune_tail:
        for p in tail.parameters():
            p.requires_grad_(True)
            tail_params.append(p)
    groups_pruned = []
    if args.prune > 0:
        # 60% of the time and epochs for the bottleneck, then prune and fine-tune head + bottleneck.
        e1 = max(1, int(round(args.epochs * 0.6)))
        trainer.run(params + [{"params": tail_params, "lr": args.lr * args.tail_lr}], e1, args.lr, False,
                    deadline * 0.6 if deadline else None, "bottleneck", evaluate, args.noise_fraction,
                    args.rate_warmup)
        groups = pr.find_groups(head)[-args.prune_groups:]
        if not groups:
            raise Fail("--prune: the head has no prunable convolution pair")
        sal = pr.Saliency(head, groups)
        gen = torch.Generator().manual_seed(args.seed + 1)
        perm = torch.randperm(len(y_tr), generator=gen)
        for s in range(min(20, len(y_tr) // BATCH) or 1):
            idx = perm[s * BATCH:(s + 1) * BATCH]
            loss, _, _ = trainer.loss(head(x_tr[idx]), teacher[idx], y_tr[idx], "ste")
            loss.backward()
            sal.accumulate()
        for p in list(bneck.parameters()) + tail_params:
            p.grad = None
        scores = sal.close()
        for g, c, k in pr.prune(head, groups, scores, args.prune):
            groups_pruned.append({"producer": g.producer.name, "consumer": g.consumer.name, "channels": [c, k]})
            log(f"pruned {g}: {c} -> {k} channels")
        head_params = pr.trainable(head, groups)
        log(f"head MACs {head_macs_before:,} -> {head.count_macs(example):,}")
        log(f"after pruning: held-out top-1 {evaluate(live=True)[0] * 100:.2f}%")
        trainer.t0 = time.time()
        trainer.run(params + [{"params": head_params, "lr": args.lr * 0.25},
                     {"params": tail_params, "lr": args.lr * args.tail_lr}], max(1, args.epochs - e1), args.lr * 0.5, True,
                    deadline * 0.4 if deadline else None, "fine-tune", lambda: evaluate(live=True), ste_from=0.0)
        with torch.no_grad():
            feats_ho = batched(head, x_ho)
    else:
        trainer.run(params + [{"params": tail_params, "lr": args.lr * args.tail_lr}], args.epochs, args.lr, False,
                    deadline, "bottleneck", evaluate, args.noise_fraction, args.rate_warmup)
    head.eval()
    tail.eval()
    bneck.eval()

    # The integer range: every rounded held-out and (a sample of) training latent, at most 256 values.
    with torch.no_grad():
        sample = feats_ho if args.prune > 0 else torch.cat([feats_ho, feats[:5000].float()])
        yr = bn.round_half_up(batched(bneck.encoder, sample))
    lo, hi = int(yr.min().item()), int(yr.max().item())
    if hi - lo + 1 > 256:
        med = int(yr.median().item())
        lo, hi = max(lo, med - 128), min(hi, med + 127)
        lo = min(lo, hi - 255)
    bneck.lo, bneck.hi = lo, hi
    pmf = bneck.entropy.pmf_table(lo, hi)
    top1, bits = evaluate(exact=(pmf, lo))
    log(f"final: latent range [{lo}, {hi}], held-out top-1 {top1 * 100:.2f}% (reference {ref_top1 * 100:.2f}%), "
        f"est. {bits:.1f} bits = {bits / 8:.2f} B/image")

    with torch.no_grad():
        y_ex = bneck.quantize(bneck.encoder(head(example)))
    latent_shape = [1] + list(y_ex.shape[1:])
    head_macs = head.count_macs(example)
    enc_macs = conv_macs(bneck.encoder, head(example))

    out = args.out
    os.makedirs(out, exist_ok=True)
    tag = f".tmp-{os.getpid()}"
    names = ["device.onnx", "server.onnx", "codec.json", "report.json"]
    tmp = {k: os.path.join(out, "." + k + tag) for k in names}
    try:
        device = DeviceGraph(head, bneck.encoder, lo, hi)
        server = ServerGraph(bneck.decoder, tail)
        export(device, example, in_name, "latent", opset, tmp["device.onnx"])
        export(server, y_ex, "latent", out_name, opset, tmp["server.onnx"])
        check = check_exports(tmp["device.onnx"], tmp["server.onnx"], device, server, x_ho[:64], lo, hi)
        log(f"export check: device latents identical on 64 held-out images, server max |logit diff| {check:.2e}")
        test = run_test(args, mean, std, head, bneck, tail, pmf, lo) if args.test else None
        seconds = round(time.time() - t_start, 1)
        codec = {
            "format": FORMAT,
            "model": os.path.basename(args.model), "at": args.at,
            "latent": {"name": "latent", "shape": latent_shape},
            "device_graph": "device.onnx", "server_graph": "server.onnx",
            "channels": [{"lo": lo, "pmf": [float(p) for p in row]} for row in pmf],
            "metadata": {"trained_on": f"{args.data} (first {n - n_hold} images; last {n_hold} held out)",
                         "rate_weight": repr(args.rate_weight), "seed": str(args.seed),
                         "command": " ".join(shlex.quote(a) for a in ["train/learn.py"] + list(argv))},
        }
        report = {
            "at": args.at, "model": os.path.basename(args.model), "latent_shape": latent_shape,
            "latent_range": [lo, hi],
            "estimated_bits_per_image": round(bits, 2),
            "heldout_top1": round(top1, 4), "reference_top1": round(ref_top1, 4), "heldout_images": n_hold,
            "head_macs": head_macs, "head_macs_unpruned": head_macs_before, "encoder_macs": enc_macs,
            "prune_fraction": args.prune, "pruned_groups": groups_pruned,
            "rate_weight": args.rate_weight, "rate_target": args.rate_target, "rate_warmup": args.rate_warmup,
            "rate_weight_final": trainer.lam, "latent_channels": args.latent_channels, "stride": args.stride,
            "finetune_tail": args.finetune_tail, "tail_lr": args.tail_lr, "epochs": args.epochs, "seed": args.seed,
            "seconds": seconds,
        }
        if test:
            report["test"] = test
        write_json(tmp["codec.json"], codec)
        write_json(tmp["report.json"], report)
        for k in names:
            os.replace(tmp[k], os.path.join(out, k))
    finally:
        for k in names:
            for p in (tmp[k], tmp[k] + ".export"):
                if os.path.exists(p):
                    os.unlink(p)
    log(f"wrote {out}/{{device.onnx, server.onnx, codec.json, report.json}} in {seconds:.0f} s")
    return 0


def feature_cache_path(args, mean, std, n):
    if not args.cache:
        return None
    import hashlib
    h = hashlib.sha256()
    with open(args.model, "rb") as f:
        h.update(f.read())
    h.update(repr((args.at, n, mean, std, os.path.realpath(args.data_dir))).encode())
    return os.path.join(args.cache, h.hexdigest()[:24] + ".pt")


def check_exports(device_path, server_path, device, server, x, lo, hi):
    """Read both exported graphs back with onnx_torch and compare with the trained modules."""
    d = onnx_torch.load(device_path)
    s = onnx_torch.load(server_path)
    with torch.no_grad():
        ya, yb = device(x), d(x)
        if not torch.equal(ya, yb) or not torch.equal(yb, torch.round(yb)) or yb.min() < lo or yb.max() > hi:
            raise Fail("export check: device.onnx does not reproduce the trained latent")
        diff = (server(ya) - s(ya)).abs().max().item()
    if diff > 1e-3:
        raise Fail(f"export check: server.onnx differs from the trained tail by {diff:.2e}")
    return diff


def run_test(args, mean, std, head, bneck, tail, pmf, lo):
    images, labels = fashion_mnist.load("test", args.data_dir)
    x = prepare(images, mean, std)
    y = torch.from_numpy(labels.astype(np.int64))
    ref_cache = feature_cache_path(args, mean, std, -1)  # n = -1: the test set's reference logits
    if ref_cache and os.path.exists(ref_cache):
        ref_logits = torch.load(ref_cache)
    else:
        ref_logits = batched(onnx_torch.load(args.model), x)
        if ref_cache:
            torch.save(ref_logits, ref_cache + f".tmp-{os.getpid()}")
            os.replace(ref_cache + f".tmp-{os.getpid()}", ref_cache)
    with torch.no_grad():
        yq = batched(lambda v: bneck.quantize(bneck.encoder(head(v))), x)
        logits = batched(lambda v: tail(bneck.decoder(v)), yq)
        bits = bn.table_bits(pmf, lo, yq)
    res = {"images": len(y), "top1": round((logits.argmax(1) == y).float().mean().item(), 4),
           "reference_top1": round((ref_logits.argmax(1) == y).float().mean().item(), 4),
           "estimated_bits_per_image": round(bits.mean().item(), 2)}
    log(f"test: top-1 {res['top1'] * 100:.2f}% (reference {res['reference_top1'] * 100:.2f}%), "
        f"est. {res['estimated_bits_per_image'] / 8:.2f} B/image")
    return res


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (Fail, onnx_torch.UnsupportedOp, onnx_torch.CutError, OSError, ValueError) as e:
        sys.stderr.write(f"ftc learn: {e}\n")
        sys.exit(1)
