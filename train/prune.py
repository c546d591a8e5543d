"""Communication-aware structured channel pruning of a head's last convolutions.

A prunable group is a Conv (the producer) whose output channels flow only through
channel-wise ops (Relu, Clip, Sigmoid, HardSigmoid, HardSwish, Identity, and
depthwise Convs with group == channels) into exactly one ordinary Conv (the
consumer). Removing channel k of such a group removes filter k of the producer
(and of every depthwise Conv on the way) and input slice k of the consumer; the
cut tensor itself keeps its shape, so the bottleneck and the tail are untouched.

Saliency is first-order Taylor (Molchanov et al. 2017) of the *whole* learn loss,
task CE + distillation + lambda * bits, with the bottleneck in place: a mask m_k = 1
multiplies channel k, and s_k = sum over batches |dL/dm_k| = |sum_{n,h,w} a * dL/da|.
So a channel that carries information the rate term makes expensive, or that the
tail does not use, scores low.
"""
import torch

CHANNELWISE = ("Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Identity")


class Group:
    def __init__(self, producer, path, consumer):
        self.producer = producer  # Node (Conv)
        self.path = path          # channel-wise Nodes between them (incl. depthwise Convs)
        self.consumer = consumer  # Node (Conv, group 1)

    def __repr__(self):
        return f"{self.producer.name} -> {self.consumer.name}"


def _consumers(nodes):
    use = {}
    for n in nodes:
        for t in n.inputs:
            use.setdefault(t, []).append(n)
    return use


def _is_depthwise(m, node):
    if node.op != "Conv":
        return False
    w = m.tensor(node.inputs[1])
    return w.shape[1] == 1 and node.attrs.get("group", 1) == w.shape[0] and w.shape[0] > 1


def find_groups(m):
    """Prunable groups of OnnxModule m, in graph order (by producer)."""
    use = _consumers(m.nodes)
    outs = set(m.output_names)
    groups = []
    for p in m.nodes:
        if p.op != "Conv" or _is_depthwise(m, p) or p.attrs.get("group", 1) != 1:
            continue
        t, path, ok = p.outputs[0], [], True
        while True:
            if t in outs:
                ok = False
                break
            users = use.get(t, [])
            if len(users) != 1:
                ok = False
                break
            u = users[0]
            if u.inputs[0] != t:
                ok = False
                break
            if u.op in CHANNELWISE or _is_depthwise(m, u):
                path.append(u)
                t = u.outputs[0]
                continue
            if u.op == "Conv" and u.attrs.get("group", 1) == 1:
                groups.append(Group(p, path, u))
            else:
                ok = False
            break
    return groups


def channels(m, g):
    return m.tensor(g.producer.inputs[1]).shape[0]


def head_macs(m, x):
    return m.count_macs(x)


class Saliency:
    """Attach masks to the producers' outputs of `groups`; accumulate |dL/dm| after each backward."""

    def __init__(self, m, groups):
        self.m, self.groups = m, groups
        self.masks = {}
        self.score = {}
        for g in groups:
            c = channels(m, g)
            mask = torch.ones(1, c, 1, 1, requires_grad=True)
            self.masks[g.producer.outputs[0]] = mask
            self.score[g.producer.outputs[0]] = torch.zeros(c)
            m.post[g.producer.outputs[0]] = (lambda mk: (lambda y: y * mk))(mask)

    def accumulate(self):
        for k, mask in self.masks.items():
            if mask.grad is not None:
                self.score[k] += mask.grad.detach().abs().reshape(-1)
                mask.grad = None

    def close(self):
        for k in self.masks:
            self.m.post.pop(k, None)
        return [self.score[g.producer.outputs[0]] for g in self.groups]


def prune_group(m, g, keep):
    """Keep channels `keep` (sorted LongTensor) of group g in OnnxModule m."""
    w = m.tensor(g.producer.inputs[1])
    m.set_tensor(g.producer.inputs[1], w[keep])
    if len(g.producer.inputs) > 2 and g.producer.inputs[2]:
        m.set_tensor(g.producer.inputs[2], m.tensor(g.producer.inputs[2])[keep])
    for n in g.path:
        if n.op == "Conv":  # depthwise
            m.set_tensor(n.inputs[1], m.tensor(n.inputs[1])[keep])
            if len(n.inputs) > 2 and n.inputs[2]:
                m.set_tensor(n.inputs[2], m.tensor(n.inputs[2])[keep])
            n.attrs["group"] = int(len(keep))
    wc = m.tensor(g.consumer.inputs[1])
    m.set_tensor(g.consumer.inputs[1], wc[:, keep])


def prune(m, groups, scores, fraction):
    """Remove round(fraction * C) lowest-saliency channels of every group; returns [(group, before, after)]."""
    done = []
    for g, s in zip(groups, scores):
        c = len(s)
        k = max(1, c - int(round(fraction * c)))
        keep = torch.sort(torch.argsort(s, descending=True)[:k]).values
        prune_group(m, g, keep)
        done.append((g, c, k))
    return done


def trainable(m, groups):
    """Make the pruned layers' weights (producer, path, consumer) trainable; returns the parameters."""
    params = []
    for g in groups:
        for n in [g.producer] + g.path + [g.consumer]:
            for name in n.inputs[1:]:
                if name and name in m.key and m.key[name] in m.p:
                    p = m.p[m.key[name]]
                    p.requires_grad_(True)
                    params.append(p)
    return params
