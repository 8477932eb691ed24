#!/usr/bin/python3
"""PyTorch peer of src/bench/bench-ops.ts: the same workloads, timed the same way
(warm-up, then the median of several calls), printed as JSON rows {name, ms, flop}.
Run with Debian's /usr/bin/python3 (python3-torch + libopenblas0-pthread)."""
import argparse
import json
import statistics
import time

import torch


def median_ms(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def matmuls(s, warmup, reps):
    m, k, n = s["matmul"]["m"], s["matmul"]["k"], s["matmul"]["n"]
    rows = []
    for suffix, ta, tb in (("", False, False), (" tA", True, False), (" tB", False, True)):
        a = torch.randn(k, m) if ta else torch.randn(m, k)
        b = torch.randn(n, k) if tb else torch.randn(k, n)
        fn = lambda a=a, b=b, ta=ta, tb=tb: (a.t() if ta else a) @ (b.t() if tb else b)
        rows.append({"name": f"matmul {m}x{k}x{n}{suffix}", "ms": median_ms(fn, warmup, reps), "flop": 2 * m * k * n})
    q = s["bmm"]
    a3 = torch.randn(q["batch"], q["m"], q["k"])
    b3 = torch.randn(q["batch"], q["k"], q["n"])
    rows.append({"name": f"bmm {q['batch']}x{q['m']}x{q['k']}x{q['n']}", "ms": median_ms(lambda: torch.bmm(a3, b3), warmup, reps),
                 "flop": 2 * q["batch"] * q["m"] * q["k"] * q["n"]})
    return rows


def conv(s, warmup, reps):
    c = s["conv"]
    x = torch.randn(c["batch"], c["cin"], c["h"], c["w"])
    w = torch.randn(c["cout"], c["cin"], c["k"], c["k"]) * 0.1
    pad = (c["k"] - 1) // 2
    oh = -(-c["h"] // c["stride"])
    ow = -(-c["w"] // c["stride"])
    flop = 2 * c["batch"] * oh * ow * c["k"] * c["k"] * c["cin"] * c["cout"]
    tag = f"conv {c['batch']}x{c['h']}x{c['w']}x{c['cin']}->{c['cout']} k{c['k']}s{c['stride']}"
    dy = torch.randn(c["batch"], c["cout"], oh, ow)
    fwd = lambda: torch.nn.functional.conv2d(x, w, stride=c["stride"], padding=pad)
    dx = lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, stride=c["stride"], padding=pad)
    dw = lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=c["stride"], padding=pad)
    return [{"name": f"{tag} fwd", "ms": median_ms(fwd, warmup, reps), "flop": flop},
            {"name": f"{tag} dx", "ms": median_ms(dx, warmup, reps), "flop": flop},
            {"name": f"{tag} dw", "ms": median_ms(dw, warmup, reps), "flop": flop}]


def gelu(x):
    return 0.5 * x * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (x + 0.044715 * x ** 3)))


def transformer(s, warmup, reps):
    t = s["transformer"]
    B, T, D, H, L, F = t["batch"], t["seq"], t["dim"], t["heads"], t["layers"], t["ffn"]
    dh = D // H
    params = []

    def p(*shape, std=None, fill=None):
        v = torch.full(shape, fill) if fill is not None else torch.randn(*shape) * std
        v.requires_grad_(True)
        params.append(v)
        return v

    layers = []
    for _ in range(L):
        layers.append({n: (p(D, D, std=0.02), p(D, fill=0.0)) for n in ("q", "k", "v", "o")}
                      | {"ff1": (p(D, F, std=0.02), p(F, fill=0.0)), "ff2": (p(F, D, std=0.02), p(D, fill=0.0)),
                         "ln1": (p(D, fill=1.0), p(D, fill=0.0)), "ln2": (p(D, fill=1.0), p(D, fill=0.0))})
    x = torch.randn(B, T, D)
    mask = torch.tensor([[1.0 if j < T - (b % 8) else 0.0 for j in range(T)] for b in range(B)])
    neg = ((1 - mask) * -1e9).view(B, 1, 1, T)

    def step():
        h = x.reshape(B * T, D)
        for lw in layers:
            lin = lambda z, n: z @ lw[n][0] + lw[n][1]
            heads = lambda z: z.view(B, T, H, dh).transpose(1, 2)
            q, k, v = heads(lin(h, "q")), heads(lin(h, "k")), heads(lin(h, "v"))
            probs = torch.softmax(q @ k.transpose(-1, -2) / dh ** 0.5 + neg, dim=-1)
            ctx = (probs @ v).transpose(1, 2).reshape(B * T, D)
            h = torch.nn.functional.layer_norm(h + lin(ctx, "o"), (D,), lw["ln1"][0], lw["ln1"][1], 1e-12)
            ff = lin(gelu(lin(h, "ff1")), "ff2")
            h = torch.nn.functional.layer_norm(h + ff, (D,), lw["ln2"][0], lw["ln2"][1], 1e-12)
        loss = 0.5 * (h ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        return grads

    n = B * T
    flop = 3 * L * (2 * n * D * D * 4 + 2 * n * D * F * 2 + 2 * 2 * B * T * T * D)
    return [{"name": f"transformer step L{L} B{B} T{T} D{D} H{H}", "ms": median_ms(step, 1, max(3, reps)), "flop": flop}]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sizes", required=True, help="JSON BenchSizes, as in bench-ops.ts")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    s = json.loads(a.sizes)
    with torch.no_grad():
        rows = matmuls(s, a.warmup, a.reps) + conv(s, a.warmup, a.reps)
    rows += transformer(s, a.warmup, a.reps)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
