#!/usr/bin/python3
"""Logits of a Hugging Face folder as transformers would compute them, in numpy.

The oracle for tests/hf_model_test.cc: an independent reading of the folder
(config.json, model.safetensors or its sharded index) and of the modelling code
of LlamaForCausalLM, Qwen2ForCausalLM and Qwen3ForCausalLM: Hugging Face's
tensor names and layout, rotate-half RoPE with Llama 3.1's rope_scaling, Q/K/V
biases (Qwen2), per-head Q/K RMSNorm (Qwen3), grouped-query attention, SwiGLU,
tied embeddings. Computed in float64.

usage: hf_reference.py FOLDER ID [ID ...]
prints one line per position: the logits, space-separated.
usage: hf_reference.py --embed mean|last FOLDER ID [ID ...]
prints the embedding: the final normed hidden states pooled by their mean
or the last position's, L2-normalized.
"""
import json
import math
import os
import struct
import sys

import numpy as np


def read_safetensors(path, out):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        raw = data[begin:end]
        if t["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif t["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2")
        elif t["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: dtype {t['dtype']}")
        out[name] = a.astype(np.float64).reshape(t["shape"])


def load(folder):
    tensors = {}
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            for shard in sorted(set(json.load(f)["weight_map"].values())):
                read_safetensors(os.path.join(folder, shard), tensors)
    else:
        read_safetensors(os.path.join(folder, "model.safetensors"), tensors)
    return tensors


def inv_freqs(c, head_dim):
    inv = 1.0 / (c.get("rope_theta", 10000.0) ** (np.arange(0, head_dim, 2) / head_dim))
    s = c.get("rope_scaling")
    if not s:
        return inv
    if s.get("rope_type", s.get("type")) != "llama3":
        raise SystemExit(f"rope_scaling {s}")
    factor, low, high = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
    old = s["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv
    scaled = np.where(wavelen > old / low, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old / high) & ~(wavelen > old / low)
    return np.where(medium, smoothed, scaled)


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def forward(folder, ids):
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    arch = c["architectures"][0]
    w = load(folder)
    dim, n_heads = c["hidden_size"], c["num_attention_heads"]
    n_kv = c.get("num_key_value_heads", n_heads)
    hd = c.get("head_dim") or dim // n_heads
    eps = c["rms_norm_eps"]
    T = len(ids)
    freqs = np.outer(np.arange(T), inv_freqs(c, hd))  # [T, hd/2]
    cos = np.cos(np.concatenate([freqs, freqs], axis=-1))[:, None, :]
    sin = np.sin(np.concatenate([freqs, freqs], axis=-1))[:, None, :]
    x = w["model.embed_tokens.weight"][ids]  # [T, dim]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def proj(name, heads):
            y = h @ w[p + f"self_attn.{name}_proj.weight"].T
            if p + f"self_attn.{name}_proj.bias" in w:
                y = y + w[p + f"self_attn.{name}_proj.bias"]
            return y.reshape(T, heads, hd)

        q, k, v = proj("q", n_heads), proj("k", n_kv), proj("v", n_kv)
        if arch == "Qwen3ForCausalLM":
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = n_heads // n_kv
        out = np.zeros((T, n_heads, hd))
        for hh in range(n_heads):
            s = q[:, hh, :] @ k[:, hh // group, :].T / math.sqrt(hd) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            out[:, hh, :] = (s / s.sum(axis=-1, keepdims=True)) @ v[:, hh // group, :]
        x = x + out.reshape(T, n_heads * hd) @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    out = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x, x @ out.T


def main():
    if sys.argv[1] == "--embed":
        hidden, _ = forward(sys.argv[3], [int(a) for a in sys.argv[4:]])
        e = hidden.mean(axis=0) if sys.argv[2] == "mean" else hidden[-1]
        e = e / np.linalg.norm(e)
        print(" ".join(f"{v:.9g}" for v in e))
        return
    _, logits = forward(sys.argv[1], [int(a) for a in sys.argv[2:]])
    for row in logits:
        print(" ".join(f"{v:.9g}" for v in row))


if __name__ == "__main__":
    main()
