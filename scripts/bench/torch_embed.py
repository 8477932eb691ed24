#!/usr/bin/python3
"""PyTorch peer of `reclf bench embed` (src/bench/bench-embed.ts): torch_train.py's
DualEncoder (cnn-small + BERT + MGCA heads) loaded with the ONNX model's own weights (its
initializers, written by the engine as safetensors: OIHW convs, BatchNorms folded to
scale/shift, TF-layout [in, out] dense weights), checked against ONNX Runtime's outputs on the
same batch, then timed in inference mode: image encoder (image_embedding + region_features) and
text encoder (text_embedding + word_features), batch by batch.

Input (stdin, JSON): {"dir": folder with weights.safetensors, inputs.safetensors and
ort_outputs.safetensors, "config": {projDim, headHidden, image, text}, "maxWords": N,
"repeats": R, "warmup": W, "threads": K, "tolerance": tol}.
Output (stdout, JSON): {"version", "threads", "parity": {output: max |diff|}, "ok",
"image": [ms per batch], "text": [ms per batch]} (no timings when parity fails, with "error").
Run with Debian's /usr/bin/python3 (python3-torch)."""
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_train as tt  # noqa: E402  (the mirrored modules live next to this script)


def read_safetensors(path):
    with open(path, "rb") as f:
        b = f.read()
    n = int.from_bytes(b[:8], "little")
    header = json.loads(b[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {e['dtype']}, expected F32")
        s, t = e["data_offsets"]
        arr = np.frombuffer(b, dtype="<f4", count=(t - s) // 4, offset=8 + n + s).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


class Weights:
    """The initializers by name; every one must be consumed, so nothing is silently left out."""

    def __init__(self, tensors):
        self.t, self.used = tensors, set()

    def take(self, name, shape=None):
        if name not in self.t:
            raise KeyError(f"the ONNX model has no initializer '{name}'")
        self.used.add(name)
        v = self.t[name]
        if shape is not None and tuple(v.shape) != tuple(shape):
            raise ValueError(f"{name}: shape {tuple(v.shape)}, the mirror expects {tuple(shape)}")
        return v

    def unused(self):
        return sorted(set(self.t) - self.used)


@torch.no_grad()
def set_bn(bn, w, name):
    """A BatchNorm folded to y = x * scale + shift at export: weight = scale, bias = shift, identity statistics."""
    bn.weight = nn.Parameter(w.take(f"{name}.folded_scale").reshape(-1).clone())
    bn.bias = nn.Parameter(w.take(f"{name}.folded_shift").reshape(-1).clone())
    bn.running_mean.zero_()
    bn.running_var.fill_(1.0 - bn.eps)


@torch.no_grad()
def set_convbn(cb, w, conv, bn):
    cb.conv.weight.copy_(w.take(f"{conv}.weight_oihw", cb.conv.weight.shape))
    set_bn(cb.bn, w, bn)


@torch.no_grad()
def set_dense(d, w, name):
    d.weight.copy_(w.take(f"{name}.weight", d.weight.shape))
    if d.bias is not None:
        d.bias.copy_(w.take(f"{name}.bias", d.bias.shape))


@torch.no_grad()
def set_ln(ln, w, name):
    ln.weight.copy_(w.take(f"{name}.weight", ln.weight.shape))
    ln.bias.copy_(w.take(f"{name}.bias", ln.bias.shape))


def set_head(head, w, name):
    set_dense(head.fc1, w, f"{name}.head.0")
    set_bn(head.bn1, w, f"{name}.head.1")
    set_dense(head.fc2, w, f"{name}.head.3")
    set_bn(head.bn2, w, f"{name}.head.4")


@torch.no_grad()
def load(model, w):
    p = "img_encoder.model"
    img = model.image
    set_convbn(img.stem, w, f"{p}.stem.0", f"{p}.stem.1")
    for si, blocks in enumerate(img.stages):
        if si > 0:
            set_convbn(img.downs[si], w, f"{p}.stages.{si}.downsample.0", f"{p}.stages.{si}.downsample.1")
        for bi, (a, b) in enumerate(blocks):
            n = f"{p}.stages.{si}.blocks.{bi}"
            set_convbn(a, w, f"{n}.conv1", f"{n}.bn1")
            set_convbn(b, w, f"{n}.conv2", f"{n}.bn2")
    t = "text_encoder.model"
    bert = model.text
    bert.word.copy_(w.take(f"{t}.embeddings.word_embeddings.weight", bert.word.shape))
    bert.pos.copy_(w.take(f"{t}.embeddings.position_embeddings.weight", bert.pos.shape))
    bert.type_emb.copy_(w.take(f"{t}.embeddings.token_type_embeddings.weight", bert.type_emb.shape))
    set_ln(bert.emb_norm, w, f"{t}.embeddings.LayerNorm")
    for i, l in enumerate(bert.layers):
        n = f"{t}.encoder.layer.{i}"
        set_dense(l.q, w, f"{n}.attention.self.query")
        set_dense(l.k, w, f"{n}.attention.self.key")
        set_dense(l.v, w, f"{n}.attention.self.value")
        set_dense(l.o, w, f"{n}.attention.output.dense")
        set_ln(l.attn_norm, w, f"{n}.attention.output.LayerNorm")
        set_dense(l.inter, w, f"{n}.intermediate.dense")
        set_dense(l.out, w, f"{n}.output.dense")
        set_ln(l.out_norm, w, f"{n}.output.LayerNorm")
    set_head(model.img_local, w, "img_encoder.local_embed")
    set_head(model.img_global, w, "img_encoder.global_embed")
    set_head(model.txt_local, w, "text_encoder.local_embed")
    set_head(model.txt_global, w, "text_encoder.global_embed")
    if model.region_pos is not None:
        model.region_pos.copy_(w.take("img_encoder.local_position", model.region_pos.shape))
    left = w.unused()
    if left:
        raise ValueError(f"initializers the mirror does not use: {', '.join(left[:5])}{' ...' if len(left) > 5 else ''}")


def encode_image(model, pixels):
    local, glob = model.image(pixels, False)
    return {"image_embedding": tt.l2norm(model.img_global(glob, False)), "region_features": model.regions(local, False)}


def encode_text(model, ids, mask, word_ids, n):
    tokens, cls, _ = model.text(ids, mask, False)
    # Pieces summed into words exactly like the ONNX graph's Equal(word_ids, slot) matrix.
    assign = (word_ids.unsqueeze(1) == torch.arange(n).view(1, n, 1)).float()
    return {"text_embedding": tt.l2norm(model.txt_global(cls, False)), "word_features": model.txt_local(assign @ tokens, False)}


def time_it(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def main():
    job = json.load(sys.stdin)
    torch.set_num_threads(job["threads"])
    d = job["dir"]
    model = tt.DualEncoder(job["config"]).eval()
    load(model, Weights(read_safetensors(os.path.join(d, "weights.safetensors"))))
    inp = read_safetensors(os.path.join(d, "inputs.safetensors"))
    refs = read_safetensors(os.path.join(d, "ort_outputs.safetensors"))
    pixels = inp["pixel_values"]
    ids = inp["input_ids"].long()
    mask = inp["attention_mask"]
    word_ids = inp["word_ids"].long()
    n = job["maxWords"]
    out = {"version": torch.__version__, "threads": torch.get_num_threads()}
    with torch.inference_mode():
        got = {**encode_image(model, pixels), **encode_text(model, ids, mask, word_ids, n)}
        parity = {}
        for name, ref in refs.items():
            if tuple(got[name].shape) != tuple(ref.shape):
                parity[name] = float("inf")
            else:
                parity[name] = float((got[name] - ref).abs().max())
        out["parity"] = parity
        out["ok"] = all(v <= job["tolerance"] for v in parity.values()) and set(parity) == set(got)
        if not out["ok"]:
            out["error"] = f"PyTorch mirror differs from ONNX Runtime by more than {job['tolerance']}: {parity}; not timed"
        else:
            out["image"] = time_it(lambda: encode_image(model, pixels), job["warmup"], job["repeats"])
            out["text"] = time_it(lambda: encode_text(model, ids, mask, word_ids, n), job["warmup"], job["repeats"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
