#!/usr/bin/env python3
"""The PyTorch side of scripts/cuda-check (docs/cuda.md), with torch as its only dependency.

  make-model DIR [--shape 1B]   a Llama-shaped model of random weights (std 0.02, norms 1) as
                                model.safetensors + config.json, the format cci-run reads
  decode DIR --device cuda      greedy decoding in PyTorch eager mode, the same computation as
                                cci's libtorch engine (RMSNorm, rotate-half RoPE, GQA, SwiGLU,
                                a KV cache): prefill and decode tokens/s and the greedy ids, JSON
"""
import argparse
import json
import math
import struct
import sys
import time

import torch

SHAPES = {  # TinyLlama-1.1B's shape (cci-bench's 1B) and llama2.c's stories110M
    "1B": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
               num_key_value_heads=4, vocab_size=32000, max_position_embeddings=2048),
    "110M": dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
                 num_key_value_heads=12, vocab_size=32000, max_position_embeddings=1024),
}


def tensor_names(c):
    d, h, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    hd = d // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * hd
    out = [("model.embed_tokens.weight", [c["vocab_size"], d]), ("model.norm.weight", [d]), ("lm_head.weight", [c["vocab_size"], d])]
    for i in range(L):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", [d]), (p + "self_attn.q_proj.weight", [d, d]), (p + "self_attn.k_proj.weight", [kv, d]),
                (p + "self_attn.v_proj.weight", [kv, d]), (p + "self_attn.o_proj.weight", [d, d]),
                (p + "post_attention_layernorm.weight", [d]), (p + "mlp.gate_proj.weight", [h, d]),
                (p + "mlp.up_proj.weight", [h, d]), (p + "mlp.down_proj.weight", [d, h])]
    return out


def make_model(args):
    import os
    c = dict(SHAPES[args.shape], model_type="llama", rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
             torch_dtype="float32", bos_token_id=1, eos_token_id=2)
    os.makedirs(args.dir, exist_ok=True)
    names = tensor_names(c)
    header, offset = {}, 0
    for name, shape in names:
        n = math.prod(shape) * 4
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    g = torch.Generator().manual_seed(args.seed)
    with open(os.path.join(args.dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape in names:
            t = torch.ones(shape) if name.endswith("norm.weight") else torch.randn(shape, generator=g) * 0.02
            f.write(t.contiguous().numpy().tobytes())
    with open(os.path.join(args.dir, "config.json"), "w") as f:
        json.dump(c, f, indent=1)


def load(dir_, device):
    with open(f"{dir_}/config.json") as f:
        c = json.load(f)
    raw = open(f"{dir_}/model.safetensors", "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    w = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            sys.exit(f"{name}: only F32 checkpoints (got {meta['dtype']})")
        a, b = meta["data_offsets"]
        w[name] = torch.frombuffer(bytearray(raw[base + a:base + b]), dtype=torch.float32).view(meta["shape"]).to(device)
    return c, w


class Llama:
    def __init__(self, c, w, device, ctx):
        self.c, self.w = c, w
        self.L = c["num_hidden_layers"]
        self.h = c["num_attention_heads"]
        self.kvh = c["num_key_value_heads"]
        self.hd = c["hidden_size"] // self.h
        self.eps = c.get("rms_norm_eps", 1e-5)
        inv = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, self.hd // 2, dtype=torch.float64) * 2 / self.hd))
        ang = torch.outer(torch.arange(ctx, dtype=torch.float64), inv)
        self.cos, self.sin = ang.cos().float().to(device), ang.sin().float().to(device)
        self.k = torch.zeros(self.L, self.kvh, ctx, self.hd, device=device)
        self.v = torch.zeros_like(self.k)
        self.lm_head = w.get("lm_head.weight", w["model.embed_tokens.weight"])

    def norm(self, x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * g

    def rope(self, x, pos):
        T, half = x.shape[0], self.hd // 2
        cos, sin = self.cos[pos:pos + T].unsqueeze(1), self.sin[pos:pos + T].unsqueeze(1)
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)

    @torch.no_grad()
    def forward(self, ids, pos):
        w, T = self.w, len(ids)
        x = w["model.embed_tokens.weight"][torch.tensor(ids, device=self.cos.device)]
        g = self.h // self.kvh
        for l in range(self.L):
            p = f"model.layers.{l}."
            hn = self.norm(x, w[p + "input_layernorm.weight"])
            q = self.rope((hn @ w[p + "self_attn.q_proj.weight"].t()).view(T, self.h, self.hd), pos)
            k = self.rope((hn @ w[p + "self_attn.k_proj.weight"].t()).view(T, self.kvh, self.hd), pos)
            v = (hn @ w[p + "self_attn.v_proj.weight"].t()).view(T, self.kvh, self.hd)
            self.k[l, :, pos:pos + T] = k.transpose(0, 1)
            self.v[l, :, pos:pos + T] = v.transpose(0, 1)
            S = pos + T
            keys, vals = self.k[l, :, :S], self.v[l, :, :S]
            qg = q.view(T, self.kvh, g, self.hd).permute(1, 2, 0, 3).reshape(self.kvh, g * T, self.hd)
            s = torch.bmm(qg, keys.transpose(1, 2)) / math.sqrt(self.hd)
            if T > 1:
                mask = (torch.arange(S, device=s.device)[None, :] > torch.arange(pos, S, device=s.device)[:, None]).repeat(g, 1)
                s = s.masked_fill(mask, float("-inf"))
            o = torch.bmm(torch.softmax(s, -1), vals).view(self.kvh, g, T, self.hd).permute(2, 0, 1, 3).reshape(T, self.h * self.hd)
            x = x + o @ w[p + "self_attn.o_proj.weight"].t()
            hn = self.norm(x, w[p + "post_attention_layernorm.weight"])
            x = x + (torch.nn.functional.silu(hn @ w[p + "mlp.gate_proj.weight"].t()) * (hn @ w[p + "mlp.up_proj.weight"].t())) @ w[p + "mlp.down_proj.weight"].t()
        x = self.norm(x[-1:], w["model.norm.weight"])
        return (x @ self.lm_head.t())[0]


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def decode(args):
    c, w = load(args.dir, args.device)
    ctx = args.prompt + args.decode + 1
    vocab = c["vocab_size"]
    prompt = [(i * 7919 + 1) % vocab for i in range(args.prompt)]  # cci-bench infer's prompt
    best_prefill = best_decode = float("inf")
    ids = []
    for _ in range(args.repeats):
        m = Llama(c, w, args.device, ctx)
        sync(args.device)
        t0 = time.perf_counter()
        logits = m.forward(prompt, 0)
        nxt = int(torch.argmax(logits))
        t1 = time.perf_counter()
        ids = [nxt]
        for i in range(args.decode - 1):
            logits = m.forward([nxt], args.prompt + i)
            nxt = int(torch.argmax(logits))  # the host copy waits for the device, as cci's does
            ids.append(nxt)
        t2 = time.perf_counter()
        best_prefill = min(best_prefill, t1 - t0)
        best_decode = min(best_decode, (t2 - t1) / (args.decode - 1))
    print(json.dumps({"framework": f"pytorch {torch.__version__} eager", "device": args.device,
                      "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None,
                      "prompt_tokens": args.prompt, "decode_tokens": args.decode,
                      "prefill_tokens_s": args.prompt / best_prefill, "decode_tokens_s": 1.0 / best_decode,
                      "greedy_ids": ids}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mm = sub.add_parser("make-model")
    mm.add_argument("dir")
    mm.add_argument("--shape", default="1B", choices=sorted(SHAPES))
    mm.add_argument("--seed", type=int, default=7)
    de = sub.add_parser("decode")
    de.add_argument("dir")
    de.add_argument("--device", default="cuda")
    de.add_argument("--prompt", type=int, default=128)
    de.add_argument("--decode", type=int, default=64)
    de.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    make_model(args) if args.cmd == "make-model" else decode(args)


if __name__ == "__main__":
    main()
