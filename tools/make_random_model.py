#!/usr/bin/env python3
"""Writes a random-weight Hugging Face model folder (config.json + sharded bf16 safetensors) of a real shape,
so benchmarks run real model sizes without downloads. Needs only Python 3 and numpy.

Usage:
  python3 tools/make_random_model.py --preset qwen3-0.6b --out /tmp/qwen3-0.6b
  python3 tools/make_random_model.py --config my_config.json --out DIR [--dtype bf16|f16|f32] [--seed 0]
Presets: qwen3-0.6b, qwen3-8b, llama-3.2-1b, qwen2.5-0.5b.
Weights are N(0, 0.02) (norms 1.0), enough for timing; the outputs are meaningless. Shards are written in parallel
(one process each, as many as cores and memory allow: a 2 GB shard needs ~8 GB while it is generated), each from its
own seed (--seed, shard index), so the files do not depend on how many run at once.
"""
import argparse
import concurrent.futures
import json
import os
import struct

import numpy as np

PRESETS = {
    "qwen3-0.6b": dict(architectures=["Qwen3ForCausalLM"], model_type="qwen3", hidden_size=1024,
                       intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8,
                       head_dim=128, vocab_size=151936, tie_word_embeddings=False, rope_theta=1000000.0,
                       max_position_embeddings=40960, rms_norm_eps=1e-6, bos_token_id=151643, eos_token_id=151645),
    "qwen3-8b": dict(architectures=["Qwen3ForCausalLM"], model_type="qwen3", hidden_size=4096,
                     intermediate_size=12288, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                     head_dim=128, vocab_size=151936, tie_word_embeddings=False, rope_theta=1000000.0,
                     max_position_embeddings=40960, rms_norm_eps=1e-6, bos_token_id=151643, eos_token_id=151645),
    "llama-3.2-1b": dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=2048,
                         intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
                         head_dim=64, vocab_size=128256, tie_word_embeddings=True, rope_theta=500000.0,
                         rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                           original_max_position_embeddings=8192),
                         max_position_embeddings=131072, rms_norm_eps=1e-5, bos_token_id=128000, eos_token_id=128001),
    "qwen2.5-0.5b": dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", hidden_size=896,
                         intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                         vocab_size=151936, tie_word_embeddings=True, rope_theta=1000000.0,
                         max_position_embeddings=32768, rms_norm_eps=1e-6, bos_token_id=151643, eos_token_id=151645),
}

SHARD_BYTES = 2 * 1024**3


def tensor_shapes(c):
    """(name, shape) of every weight the model needs, in the Llama naming used by these families."""
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    d = c.get("head_dim") or h // c["num_attention_heads"]
    hq, hkv = c["num_attention_heads"], c["num_key_value_heads"]
    out = [("model.embed_tokens.weight", (v, h))]
    qwen2 = c["model_type"] == "qwen2"
    qwen3 = c["model_type"] == "qwen3"
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        out += [(p + "input_layernorm.weight", (h,)), (p + "post_attention_layernorm.weight", (h,)),
                (p + "self_attn.q_proj.weight", (hq * d, h)), (p + "self_attn.k_proj.weight", (hkv * d, h)),
                (p + "self_attn.v_proj.weight", (hkv * d, h)), (p + "self_attn.o_proj.weight", (h, hq * d)),
                (p + "mlp.gate_proj.weight", (i, h)), (p + "mlp.up_proj.weight", (i, h)),
                (p + "mlp.down_proj.weight", (h, i))]
        if qwen2:
            out += [(p + "self_attn.q_proj.bias", (hq * d,)), (p + "self_attn.k_proj.bias", (hkv * d,)),
                    (p + "self_attn.v_proj.bias", (hkv * d,))]
        if qwen3:
            out += [(p + "self_attn.q_norm.weight", (d,)), (p + "self_attn.k_norm.weight", (d,))]
    out.append(("model.norm.weight", (h,)))
    if not c.get("tie_word_embeddings"):
        out.append(("lm_head.weight", (v, h)))
    return out


def random_bytes(rng, name, shape, dtype):
    n = int(np.prod(shape))
    if name.endswith("norm.weight"):
        x = np.ones(n, dtype=np.float32)
    else:
        x = (rng.standard_normal(n, dtype=np.float32) * 0.02).astype(np.float32)
    if dtype == "F32":
        return x.tobytes()
    if dtype == "F16":
        return x.astype(np.float16).tobytes()
    bits = x.view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16).tobytes()  # bf16, round to nearest even


def write_shard(path, entries):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, dtype, data in entries:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for entry in entries:
            f.write(entry[3])


def make_shard(path, shard, st_dtype, seed):
    """Writes one shard from its own generator; returns its tensor bytes."""
    rng = np.random.default_rng(seed)
    entries = [(n, s, st_dtype, random_bytes(rng, n, s, st_dtype)) for n, s in shard]
    write_shard(path, entries)
    return sum(len(e[3]) for e in entries)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--config", help="a config.json to take the shape from")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "f16", "f32"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if bool(args.preset) == bool(args.config):
        ap.error("give exactly one of --preset or --config")
    config = dict(PRESETS[args.preset]) if args.preset else json.load(open(args.config))
    st_dtype = {"bf16": "BF16", "f16": "F16", "f32": "F32"}[args.dtype]
    config["torch_dtype"] = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}[args.dtype]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shapes = tensor_shapes(config)
    shards, current, size = [], [], 0
    for name, shape in shapes:
        nbytes = int(np.prod(shape)) * (4 if st_dtype == "F32" else 2)
        if current and size + nbytes > SHARD_BYTES:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += nbytes
    shards.append(current)
    names = [f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors" if len(shards) > 1 else "model.safetensors"
             for k in range(len(shards))]
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    workers = max(1, min(len(shards), os.cpu_count() or 1, int(memory_gb // 8)))
    weight_map, total = {}, 0
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        jobs = [pool.submit(make_shard, os.path.join(args.out, names[k]), shard, st_dtype, (args.seed, k))
                for k, shard in enumerate(shards)]
        for k, job in enumerate(jobs):
            nbytes = job.result()
            for n, _ in shards[k]:
                weight_map[n] = names[k]
            total += nbytes
            print(f"wrote {names[k]} ({nbytes / 1e9:.2f} GB)", flush=True)
    if len(shards) > 1:
        with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    print(f"{args.out}: {len(shapes)} tensors, {total / 1e9:.2f} GB {args.dtype}")


if __name__ == "__main__":
    main()
