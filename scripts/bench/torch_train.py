#!/usr/bin/python3
"""PyTorch peer of `reclf bench train` (src/bench/bench-train.ts): the model the TS trainer
builds (src/core/models: cnn-small / ResNet / ViT, BERT, MGCA projection heads, pieces summed
into words) and the alignment losses of src/core/align (convirt, gloria, mgca, reclf) for the
run config it receives, with the same shapes, parameter count and per-step work, then timed
training steps: forward + backward + clip_grad_norm_ + torch.optim.AdamW (+ BatchNorm running
statistics). Values differ (random init); the work does not.

Input (stdin, or --job FILE; JSON): {"config": RunConfig (resolved), "vocabSize": V, "batch": B,
"wordIndex": [B*T ints, -1 = no word], "steps": N, "warmup": W, "seed": S}, or a list of such
jobs with --count-only. `reclf bench train [--preset paper] --torch-job` prints the job the engine
would send (the presets, e.g. the papers' ResNet-50 + BERT-base at batch 48, are defined once, in
src/bench/bench-train.ts), so this side can also run alone on a machine without Node:
  reclf bench train --preset paper --torch-job > job.json
  python3 torch_train.py --device cuda --job job.json
Output (stdout, JSON): {"params", "buffers", "step_ms_median", "steps", "threads", "loss",
"device", "peak_allocated_mb", "peak_reserved_mb"}; --count-only prints only the counts.

--device cuda times with torch.cuda.synchronize() before the clock starts and after each step,
and reports torch.cuda.max_memory_allocated / max_memory_reserved over the timed steps (reset
after warm-up); float32 throughout, TF32 off unless --tf32 (the TF.js step is plain float32).
--device cpu reports no memory peak (null).
Run with Debian's /usr/bin/python3 (python3-torch + libopenblas0-pthread), or any Python whose
torch has CUDA for --device cuda."""
import argparse
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
    TORCH_IMPORT_ERROR = None
except ImportError as _e:  # --help works without torch; main() reports the missing module
    torch = F = None
    TORCH_IMPORT_ERROR = _e

    class nn:  # noqa: N801  (stand-in so the module's classes can be defined)
        Module = object

NEG = -1e9


# ---------------------------------------------------------------- building blocks (models/ops.ts)

def l2norm(x, eps=1e-8):
    return x * torch.rsqrt((x * x).sum(-1, keepdim=True) + eps)


def masked_softmax(logits, mask=None):
    if mask is None:
        return torch.softmax(logits, -1)
    return torch.softmax(logits + (1 - mask) * NEG, -1)


def gelu(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


class Dense(nn.Module):
    """TF layout [in, out] like layers.ts Dense (bias by default)."""

    def __init__(self, i, o, bias=True, std=None):
        super().__init__()
        limit = 1 / math.sqrt(i)
        w = torch.randn(i, o) * std if std is not None else torch.empty(i, o).uniform_(-limit, limit)
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.zeros(o) if std is not None else torch.empty(o).uniform_(-limit, limit)) if bias else None

    def forward(self, x):
        y = x @ self.weight
        return y + self.bias if self.bias is not None else y


class LayerNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class BatchNorm(nn.Module):
    """batchnorm.ts: statistics over every axis but the last (channels-last), optionally over the
    rows where rowMask is 1; running statistics (momentum 0.1, unbiased variance) as buffers."""

    def __init__(self, c, affine=True, eps=1e-5, momentum=0.1):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c)) if affine else None
        self.bias = nn.Parameter(torch.zeros(c)) if affine else None
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.eps, self.momentum, self.c = eps, momentum, c

    def forward(self, x, training, row_mask=None):
        if row_mask is None:
            # Unmasked statistics: PyTorch's own fused kernel, the idiomatic (fastest) peer.
            y = F.batch_norm(x.reshape(-1, self.c), self.running_mean, self.running_var, self.weight, self.bias,
                             training, self.momentum, self.eps)
            return y.reshape(x.shape)
        if training:
            x2 = x.reshape(-1, self.c)
            m = row_mask.reshape(-1, 1)
            count = m.sum().clamp(min=1)
            mean = (x2 * m).sum(0) / count
            var = (((x2 - mean) ** 2) * m).sum(0) / count
            with torch.no_grad():
                unbiased = var * count / (count - 1).clamp(min=1)
                self.running_mean.mul_(1 - self.momentum).add_(mean.detach() * self.momentum)
                self.running_var.mul_(1 - self.momentum).add_(unbiased * self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        y = (x - mean) * torch.rsqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight + self.bias
        return y


class ConvBn(nn.Module):
    """Conv (no bias) + BatchNorm per channel; NCHW here, NHWC in TF.js: the same arithmetic."""

    def __init__(self, k, cin, cout, stride, pad):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, bias=False)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")
        self.bn = BatchNorm(cout)

    def forward(self, x, training):
        bn = self.bn
        return F.batch_norm(self.conv(x), bn.running_mean, bn.running_var, bn.weight, bn.bias, training, bn.momentum, bn.eps)


def multi_head_attention(q, k, v, heads, key_mask=None, probs_dropout=None):
    """layers.ts multiHeadAttention: probs are returned before the (optional) attention dropout."""
    b, t, d = q.shape
    dh = d // heads
    split = lambda x: x.reshape(b, t, heads, dh).transpose(1, 2)
    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(dh)
    probs = masked_softmax(scores, key_mask.reshape(b, 1, 1, t) if key_mask is not None else None)
    used = probs_dropout(probs) if probs_dropout is not None else probs
    out = (used @ split(v)).transpose(1, 2).reshape(b, t, d)
    return out, probs


# ---------------------------------------------------------------- image encoders

class CnnSmall(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        widths, blocks = cfg["widths"], cfg["blocks"]
        self.stem = ConvBn(4, 1, widths[0], 4, 0)
        self.downs = nn.ModuleList()
        self.stages = nn.ModuleList()
        for si, w in enumerate(widths):
            self.downs.append(ConvBn(2, widths[si - 1], w, 2, 0) if si > 0 else nn.Identity())
            self.stages.append(nn.ModuleList(nn.ModuleList([ConvBn(3, w, w, 1, 1), ConvBn(3, w, w, 1, 1)]) for _ in range(blocks[si])))
        # cnn-small.ts: regions from stage localStage (1-3), averaged 2x2 down to stage 3's grid
        # unless localPooling is false.
        self.local_stage = cfg.get("localStage", 3)
        self.local_pooling = cfg.get("localPooling", True)
        self.local_dim, self.global_dim = widths[self.local_stage - 1], widths[3]
        n = cfg["imageSize"] // 4 // 2 ** ((3 if self.local_pooling else self.local_stage) - 1)
        self.region_count = n * n

    def forward(self, x, training):
        h = F.relu(self.stem(x, training))
        local = None
        for si, (down, blocks) in enumerate(zip(self.downs, self.stages)):
            if si > 0:
                h = F.relu(down(h, training))
            for a, b in blocks:
                h = F.relu(h + b(F.relu(a(h, training)), training))
            if si == self.local_stage - 1:
                local = h
        if self.local_pooling:
            for _ in range(self.local_stage, 3):
                local = F.avg_pool2d(local, 2)
        return local.flatten(2).transpose(1, 2), h.mean((2, 3))


class ResNet(nn.Module):
    ARCHS = {"resnet18": (False, [2, 2, 2, 2]), "resnet50": (True, [3, 4, 6, 3])}

    def __init__(self, cfg):
        super().__init__()
        bottleneck, layers = self.ARCHS[cfg["name"]]
        exp = 4 if bottleneck else 1
        self.conv1 = ConvBn(7, 1, 64, 2, 3)
        self.stages = nn.ModuleList()
        inplanes = 64
        for li, count in enumerate(layers):
            planes = [64, 128, 256, 512][li]
            blocks = nn.ModuleList()
            for bi in range(count):
                s = 2 if li > 0 and bi == 0 else 1
                if bottleneck:
                    convs = [ConvBn(1, inplanes, planes, 1, 0), ConvBn(3, planes, planes, s, 1), ConvBn(1, planes, planes * exp, 1, 0)]
                else:
                    convs = [ConvBn(3, inplanes, planes, s, 1), ConvBn(3, planes, planes, 1, 1)]
                blk = nn.Module()
                blk.convs = nn.ModuleList(convs)
                blk.down = ConvBn(1, inplanes, planes * exp, s, 0) if s != 1 or inplanes != planes * exp else None
                inplanes = planes * exp
                blocks.append(blk)
            self.stages.append(blocks)
        self.local_dim, self.global_dim = 256 * exp, 512 * exp

    def forward(self, x, training):
        h = F.relu(self.conv1(x, training))
        h = F.max_pool2d(F.pad(h, (1, 1, 1, 1)), 3, 2)
        local = None
        for si, blocks in enumerate(self.stages):
            for blk in blocks:
                y = h
                for i, c in enumerate(blk.convs):
                    y = c(y, training)
                    if i < len(blk.convs) - 1:
                        y = F.relu(y)
                ident = blk.down(h, training) if blk.down is not None else h
                h = F.relu(y + ident)
            if si == 2:
                local = h
        return local.flatten(2).transpose(1, 2), h.mean((2, 3))


class ViT(nn.Module):
    DIMS = {"vit-tiny": (192, 3), "vit-small": (384, 6)}

    def __init__(self, cfg):
        super().__init__()
        dim, self.heads = self.DIMS[cfg["name"]]
        patch, depth = cfg.get("patchSize", 16), cfg.get("depth", 12)
        g = cfg["imageSize"] // patch
        self.patch_embed = nn.Conv2d(1, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + g * g, dim) * 0.02)
        self.blocks = nn.ModuleList()
        for _ in range(depth):
            b = nn.Module()
            b.norm1, b.qkv, b.proj = LayerNorm(dim, 1e-6), Dense(dim, 3 * dim, std=0.02), Dense(dim, dim, std=0.02)
            b.norm2, b.fc1, b.fc2 = LayerNorm(dim, 1e-6), Dense(dim, 4 * dim, std=0.02), Dense(4 * dim, dim, std=0.02)
            self.blocks.append(b)
        self.norm = LayerNorm(dim, 1e-6)
        self.local_dim = self.global_dim = dim

    def forward(self, x, training):
        b = x.shape[0]
        patches = self.patch_embed(x).flatten(2).transpose(1, 2)
        h = torch.cat([self.cls_token.expand(b, -1, -1), patches], 1) + self.pos_embed
        for blk in self.blocks:
            q, k, v = blk.qkv(blk.norm1(h)).chunk(3, -1)
            h = h + blk.proj(multi_head_attention(q, k, v, self.heads)[0])
            h = h + blk.fc2(gelu(blk.fc1(blk.norm2(h))))
        h = self.norm(h)
        return h[:, 1:], h[:, 0]


def image_encoder(cfg):
    if cfg["name"] == "cnn-small":
        return CnnSmall(cfg)
    if cfg["name"] in ResNet.ARCHS:
        return ResNet(cfg)
    return ViT(cfg)


# ---------------------------------------------------------------- text encoder (bert.ts)

class Bert(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, inter = cfg["hidden"], cfg["intermediate"]
        self.cfg = cfg
        self.word = nn.Parameter(torch.randn(cfg["vocabSize"], h) * 0.02)
        self.pos = nn.Parameter(torch.randn(cfg["maxLength"], h) * 0.02)
        self.type_emb = nn.Parameter(torch.randn(2, h) * 0.02)
        self.emb_norm = LayerNorm(h, 1e-12)
        self.layers = nn.ModuleList()
        for _ in range(cfg["layers"]):
            l = nn.Module()
            l.q, l.k, l.v, l.o = (Dense(h, h, std=0.02) for _ in range(4))
            l.attn_norm = LayerNorm(h, 1e-12)
            l.inter, l.out = Dense(h, inter, std=0.02), Dense(inter, h, std=0.02)
            l.out_norm = LayerNorm(h, 1e-12)
            self.layers.append(l)

    def forward(self, ids, mask, training):
        b, t = ids.shape
        p = self.cfg["dropout"] if training else 0.0
        drop = (lambda x: F.dropout(x, p, True)) if p > 0 else (lambda x: x)
        h = drop(self.emb_norm(self.word[ids] + self.pos[:t] + self.type_emb[0:1]))
        cls_att = None
        # bert.ts localTokens: the hidden states of layer localLayer (0 = the embeddings) feed the words.
        local_at = self.cfg.get("localLayer", len(self.layers))
        local = h
        for li, l in enumerate(self.layers):
            out, probs = multi_head_attention(l.q(h), l.k(h), l.v(h), self.cfg["heads"], mask, drop if p > 0 else None)
            if li == len(self.layers) - 1:
                cls_att = probs[:, :, 0, :].mean(1)
            a = l.attn_norm(drop(l.o(out)) + h)
            h = l.out_norm(drop(l.out(gelu(l.inter(a)))) + a)
            if li + 1 == local_at:
                local = h
        if cls_att is None:
            cls_att = mask / mask.sum(1, keepdim=True)
        return local, h[:, 0], cls_att


class Head(nn.Module):
    """MGCA projection head: Linear-BN-ReLU-Linear-BN(affine=False)."""

    def __init__(self, i, hidden, o):
        super().__init__()
        self.fc1, self.bn1 = Dense(i, hidden), BatchNorm(hidden)
        self.fc2, self.bn2 = Dense(hidden, o), BatchNorm(o, affine=False)

    def forward(self, x, training, row_mask=None):
        shape = x.shape
        rows = x.reshape(-1, shape[-1])
        h = F.relu(self.bn1(self.fc1(rows), training, row_mask))
        return self.bn2(self.fc2(h), training, row_mask).reshape(*shape[:-1], -1)


class DualEncoder(nn.Module):
    def __init__(self, mcfg):
        super().__init__()
        hidden, d = mcfg.get("headHidden", 512), mcfg["projDim"]
        self.image = image_encoder(mcfg["image"])
        self.text = Bert(mcfg["text"])
        self.img_global = Head(self.image.global_dim, hidden, d)
        self.img_local = Head(self.image.local_dim, hidden, d)
        self.txt_global = Head(mcfg["text"]["hidden"], hidden, d)
        self.txt_local = Head(mcfg["text"]["hidden"], hidden, d)
        # dual-encoder.ts: a learned embedding per grid cell added to the regions (model.regionPositions).
        self.region_pos = None
        if mcfg.get("regionPositions"):
            if not hasattr(self.image, "region_count"):
                raise ValueError("regionPositions: the mirror has region positions for cnn-small only")
            self.region_pos = nn.Parameter(torch.randn(self.image.region_count, d) * 0.1)

    def regions(self, local, training):
        r = self.img_local(local, training)
        return r + self.region_pos if self.region_pos is not None else r

    def forward(self, pixels, ids, mask, assign, word_mask, training):
        local, glob = self.image(pixels, training)
        tokens, cls, cls_att = self.text(ids, mask, training)
        words = assign @ tokens  # pieces summed into words, as one batched matmul (word-pooling.ts)
        return {
            "regions": self.regions(local, training),
            "imageGlobal": self.img_global(glob, training),
            "words": self.txt_local(words, training, word_mask.reshape(-1)),
            "wordMask": word_mask,
            "textGlobal": self.txt_global(cls, training),
            "clsAttention": (assign @ cls_att.unsqueeze(-1)).squeeze(-1),
        }


# ---------------------------------------------------------------- alignment losses (src/core/align)

def diag_ce(logits):
    b = logits.shape[0]
    return -(torch.log_softmax(logits, -1) * torch.eye(b, device=logits.device)).sum() / b


def sym_infonce(logits, w1=1.0, w2=1.0):
    return diag_ce(logits) * w1 + diag_ce(logits.t()) * w2


def global_infonce(img, txt, tau, w1=1.0, w2=1.0):
    return sym_infonce((l2norm(img) @ l2norm(txt).t()) / tau, w1, w2)


def masked_lse(x, mask):
    return torch.logsumexp(x + (1 - mask) * NEG, -1)


def row_cos(a, b):
    return (l2norm(a) * l2norm(b)).sum(-1)


def uniform_over_mask(mask):
    return mask / mask.sum(-1, keepdim=True).clamp(min=1)


def cross_attention(words, regions, word_mask, gamma1):
    bt, n, d = words.shape
    bi, m, _ = regions.shape
    s = regions.reshape(bi * m, d) @ words.reshape(bt * n, d).t()
    over_words = masked_softmax(s.reshape(bi, m, bt, n), word_mask.reshape(1, 1, bt, n))
    a = torch.softmax(over_words.permute(0, 2, 3, 1) * gamma1, -1)  # [Bi, Bt, N, M]
    return a, (a.reshape(bi, bt * n, m) @ regions).reshape(bi, bt, n, d)


def paired_attention(words, regions, word_mask, gamma1):
    b, n = word_mask.shape
    s = regions @ words.transpose(1, 2)  # [B, M, N]
    a = torch.softmax(masked_softmax(s, word_mask.reshape(b, 1, n)).transpose(1, 2) * gamma1, -1)
    return a, a @ regions


def local_sub_batch(x, k):
    """Mirror of localSubBatch: the all-pairs local loss over the first k pairs (k <= 0: all)."""
    b = x["words"].shape[0]
    if not k or k <= 0 or k >= b:
        return x
    return {**x, "words": x["words"][:k], "regions": x["regions"][:k], "wordMask": x["wordMask"][:k]}


def gloria_cross_scores(x, g1, g2):
    bt, n, d = x["words"].shape
    _, ctx = cross_attention(x["words"], x["regions"], x["wordMask"], g1)
    r = row_cos(x["words"].reshape(1, bt, n, d), ctx)
    return masked_lse(r * g2, x["wordMask"].reshape(1, bt, n))


def masked_diag_nll(logits, key_mask):
    n = logits.shape[1]
    logp = torch.log_softmax(logits + (1 - key_mask) * NEG, -1)
    return -(logp * torch.eye(n, device=logits.device).reshape(1, n, n)).sum(-1)


def token_side(q, k, q_mask, k_mask, q_weights, tau):
    b, nq = q_mask.shape
    att = masked_softmax((q @ k.transpose(1, 2)) / tau, k_mask.reshape(b, 1, -1) if k_mask is not None else None)
    ctx = l2norm(att @ k)
    sim = (q @ ctx.transpose(1, 2)) / tau
    row_mask = q_mask.reshape(b, 1, nq)
    ce = masked_diag_nll(sim, row_mask) + masked_diag_nll(sim.transpose(1, 2), row_mask)
    return (ce * q_weights * 0.5).sum() / b


def mgca_token_loss(x, word_weights, tau):
    e, v = l2norm(x["words"]), l2norm(x["regions"])
    b, m, _ = v.shape
    region_mask = torch.ones(b, m, device=v.device)
    return token_side(e, v, x["wordMask"], None, word_weights, tau) + token_side(v, e, region_mask, x["wordMask"], region_mask / m, tau)


def clip_word_weights(cls, mask, low, high):
    """mgca.ts clipWordWeights: per report, clip the real words' [CLS] attention to its quantiles, renormalise."""
    cls, mask = cls.detach(), mask.detach()
    out = torch.zeros_like(cls)
    for r in range(cls.shape[0]):
        idx = mask[r] > 0
        if not idx.any():
            continue
        vals = cls[r][idx]
        lo, hi = torch.quantile(vals, low), torch.quantile(vals, high)
        c = vals.clamp(min=lo.item(), max=hi.item())
        s = c.sum()
        out[r][idx] = c / s if s > 0 else torch.full_like(c, 1 / c.numel())
    return out


def sinkhorn(scores, eps, iters):
    b, k = scores.shape
    z = scores.detach() / eps
    q = torch.exp(z - z.max()).t()
    q = q / q.sum()
    for _ in range(iters):
        q = q * ((1 / k) / q.sum(1, keepdim=True))
        q = q * ((1 / b) / q.sum(0, keepdim=True))
    q = q / q.sum(0, keepdim=True)
    return q.t().detach()


def prototype_loss(img, txt, protos, eps, iters, temp):
    p = l2norm(protos)
    io, to = l2norm(img) @ p.t(), l2norm(txt) @ p.t()
    ic, tc = sinkhorn(io, eps, iters), sinkhorn(to, eps, iters)
    il, tl = torch.log_softmax(io / temp, 1), torch.log_softmax(to / temp, 1)
    return (-(ic * tl).sum(1).mean() - (tc * il).sum(1).mean()) / 2


def xavier(i, o):
    limit = math.sqrt(6 / (i + o))
    return nn.Parameter(torch.empty(i, o).uniform_(-limit, limit))


class Convirt(nn.Module):
    def __init__(self, c, dim):
        super().__init__()
        self.c = c

    def forward(self, x):
        w = self.c["imageToTextWeight"]
        return global_infonce(x["imageGlobal"], x["textGlobal"], self.c["tau"], w, 1 - w)


class Gloria(nn.Module):
    def __init__(self, c, dim):
        super().__init__()
        self.c = c

    def forward(self, x):
        c = self.c
        g = global_infonce(x["imageGlobal"], x["textGlobal"], c["tau"]) * c["globalWeight"]
        z = gloria_cross_scores(local_sub_batch(x, c.get("localBatch", 0)), c["gamma1"], c["gamma2"])
        return g + sym_infonce(z * c["gamma3"]) * c["localWeight"]


class Mgca(nn.Module):
    def __init__(self, c, dim):
        super().__init__()
        self.c = c
        limit = 1 / math.sqrt(dim)
        self.prototypes = nn.Parameter(torch.empty(c["prototypes"], dim).uniform_(-limit, limit))

    def forward(self, x):
        c = self.c
        g = global_infonce(x["imageGlobal"], x["textGlobal"], c["tau"]) * c["globalWeight"]
        w = clip_word_weights(x["clsAttention"], x["wordMask"], c["clipLow"], c["clipHigh"])
        local = mgca_token_loss(x, w, c["localTau"]) * c["localWeight"]
        proto = prototype_loss(x["imageGlobal"], x["textGlobal"], self.prototypes, c["sinkhornEps"], c["sinkhornIters"], c["protoTemp"])
        return g + local + proto * c["protoWeight"]


class Reclf(nn.Module):
    def __init__(self, c, dim):
        super().__init__()
        self.c = c
        d = c["mDim"]
        needs_m = c["score"] == "linear" or c["irm"] in ("softmax", "sigmoid")
        self.wm = xavier(3 * dim if c["matching"] == "concat" else dim, d) if needs_m else None
        self.srm = nn.ModuleList()
        if needs_m and c["srm"]:
            for _ in range(c["srmRounds"]):
                r = nn.Module()
                r.wq, r.wk, r.wg = xavier(d, d), xavier(d, d), xavier(d, d)
                self.srm.append(r)
        self.wa = xavier(d, 1) if c["irm"] in ("softmax", "sigmoid") else None
        self.ba = nn.Parameter(torch.zeros(1)) if c["irm"] == "sigmoid" else None
        self.ws = xavier(d, 1) if c["score"] == "linear" else None
        self.log_scale = nn.Parameter(torch.zeros(())) if c["learnTemperature"] else None

    def scores(self, e, ctx, word_mask):
        """reclf.ts reclfScores: all Bi*Bt pairs as one batch of [N, d] matrices."""
        c = self.c
        bi, bt, n, _ = ctx.shape
        pairs = bi * bt
        mask = word_mask.repeat(bi, 1)
        m = None
        if self.wm is not None:
            if c["matching"] == "diff":
                m = l2norm(((ctx - e) ** 2) @ self.wm)
            else:
                eb = e.expand_as(ctx)
                m = l2norm(torch.cat([eb, ctx, eb * ctx], -1) @ self.wm)
            m = m.reshape(pairs, n, c["mDim"])
            key_mask = mask.reshape(pairs, 1, n)
            for r in self.srm:
                qk = m @ (r.wq @ r.wk.t())
                rel = masked_softmax((qk @ m.transpose(1, 2)) / math.sqrt(c["mDim"]), key_mask)
                m = m + F.relu((rel @ m) @ r.wg)
        if c["irm"] == "lse":
            sigma = (m @ self.ws).reshape(pairs, n) if m is not None and self.ws is not None else row_cos(e, ctx).reshape(pairs, n)
            z = sigma * c["gamma2"]
            beta = torch.softmax(z + (1 - mask) * NEG, -1)
            score = masked_lse(z, mask)
        else:
            if c["irm"] == "uniform":
                beta = uniform_over_mask(mask)
            else:
                logits = (m @ self.wa).reshape(pairs, n)
                if c["irm"] == "softmax":
                    beta = masked_softmax(logits, mask)
                else:
                    g = torch.sigmoid(logits + self.ba) * mask
                    beta = g / g.sum(-1, keepdim=True).clamp(min=1e-8)
            if c["score"] == "linear":
                score = (l2norm((m * beta.reshape(pairs, n, 1)).sum(1)) @ self.ws).reshape(pairs)
            else:
                b4 = beta.reshape(bi, bt, n, 1)
                score = row_cos((e * b4).sum(2), (ctx * b4).sum(2))
        return score.reshape(bi, bt), beta.reshape(bi, bt, n)

    def forward(self, x):
        c = self.c
        g = global_infonce(x["imageGlobal"], x["textGlobal"], c["tau"]) * c["globalWeight"]
        b, n, d = x["words"].shape
        e = x["words"].reshape(1, b, n, d)
        if c["reading"] == "cross":
            xs = local_sub_batch(x, c.get("localBatch", 0))
            bs = xs["words"].shape[0]
            _, ctx = cross_attention(xs["words"], xs["regions"], xs["wordMask"], c["gamma1"])
            score, _ = self.scores(xs["words"].reshape(1, bs, n, d), ctx, xs["wordMask"])
            scale = torch.tensor(1 / c["localTau"], device=score.device)
            if self.log_scale is not None:
                scale = torch.clamp(scale * torch.exp(self.log_scale), max=100)
            local = sym_infonce(score * scale)
        else:
            _, ctx = paired_attention(x["words"], x["regions"], x["wordMask"], c["gamma1"])
            _, importance = self.scores(e, ctx.reshape(1, b, n, d), x["wordMask"])
            local = mgca_token_loss(x, importance.reshape(b, n), c["localTau"])
        return g + local * c["localWeight"]


METHODS = {"convirt": Convirt, "gloria": Gloria, "mgca": Mgca, "reclf": Reclf}


# ---------------------------------------------------------------- the benchmark

class Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.encoder = DualEncoder(cfg["model"])
        method = dict(cfg["method"])
        self.method = METHODS[method.pop("name")](method, cfg["model"]["projDim"])


def build(job):
    cfg = json.loads(json.dumps(job["config"]))
    cfg["model"]["text"]["vocabSize"] = job["vocabSize"]
    return cfg, Model(cfg)


def counts(model):
    return sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers())


def no_decay(name, p):
    # adamw.ts defaultNoDecay: biases, norms and the prototypes are not decayed.
    return p.ndim <= 1 or "norm" in name or "bn" in name or "prototypes" in name


def run(job, device="cpu"):
    torch.manual_seed(job.get("seed", 0))
    cuda = device == "cuda"
    cfg, model = build(job)
    model = model.to(device)
    mc, tc = cfg["model"], cfg["train"]
    B, T, S, N = job["batch"], mc["text"]["maxLength"], mc["image"]["imageSize"], mc["maxWords"]
    # The batch is made on the host (seeded like the CPU run) and lives on the device, as TF.js
    # keeps its variables there; only the step is timed.
    pixels = torch.randn(B, 1, S, S)
    ids = torch.randint(5, job["vocabSize"], (B, T))
    mask = torch.ones(B, T)
    wi = torch.tensor(job["wordIndex"]).reshape(B, T)
    assign = torch.zeros(B, N, T)
    for b in range(B):
        for t in range(T):
            w = int(wi[b, t])
            if 0 <= w < N:
                assign[b, w, t] = 1
    word_mask = (assign.sum(-1) > 0).float()
    pixels, ids, mask, assign, word_mask = (x.to(device) for x in (pixels, ids, mask, assign, word_mask))
    params = list(model.named_parameters())
    opt = torch.optim.AdamW([
        {"params": [p for n, p in params if not no_decay(n, p)], "weight_decay": tc["weightDecay"]},
        {"params": [p for n, p in params if no_decay(n, p)], "weight_decay": 0.0},
    ], lr=tc["lr"], betas=(tc["beta1"], tc["beta2"]), eps=tc["eps"])

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model.method(model.encoder(pixels, ids, mask, assign, word_mask, True))
        loss.backward()
        if tc["clipNorm"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc["clipNorm"])
        opt.step()
        return loss.item()

    def sync():
        if cuda:
            torch.cuda.synchronize()

    loss = float("nan")
    for _ in range(job["warmup"]):
        loss = step()
    if cuda:
        sync()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(job["steps"]):
        sync()
        t0 = time.perf_counter()
        loss = step()
        sync()
        times.append((time.perf_counter() - t0) * 1000.0)
    p, buf = counts(model)
    mib = lambda n: n / 2 ** 20
    return {"params": p, "buffers": buf, "step_ms_median": statistics.median(times) if times else None,
            "steps": len(times), "threads": torch.get_num_threads(), "loss": loss,
            "device": torch.cuda.get_device_name() if cuda else "cpu",
            "peak_allocated_mb": mib(torch.cuda.max_memory_allocated()) if cuda else None,
            "peak_reserved_mb": mib(torch.cuda.max_memory_reserved()) if cuda else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="intra-op CPU threads (default 2)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the step runs (default cpu)")
    ap.add_argument("--tf32", action="store_true", help="cuda: allow TF32 matmuls/convolutions (default: strict float32)")
    ap.add_argument("--job", metavar="FILE", help="read the job JSON from FILE instead of stdin")
    ap.add_argument("--count-only", action="store_true", help="print parameter/buffer counts, run no step")
    a = ap.parse_args()
    if TORCH_IMPORT_ERROR is not None:
        sys.exit(f"PyTorch is not installed for {sys.executable}: {TORCH_IMPORT_ERROR}")
    torch.set_num_threads(a.threads)
    if a.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit(f"--device cuda: torch {torch.__version__} sees no CUDA device "
                     f"(built with CUDA {torch.version.cuda or 'none'})")
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
    if a.job:
        with open(a.job, encoding="utf8") as f:
            job = json.load(f)
    else:
        job = json.load(sys.stdin)
    if a.count_only:
        jobs = job if isinstance(job, list) else [job]
        out = []
        for j in jobs:
            p, buf = counts(build(j)[1])
            out.append({"params": p, "buffers": buf})
        print(json.dumps(out if isinstance(job, list) else out[0]))
        return
    if isinstance(job, list):
        print(json.dumps([run(j, a.device) for j in job]))
        return
    print(json.dumps(run(job, a.device)))


if __name__ == "__main__":
    main()
