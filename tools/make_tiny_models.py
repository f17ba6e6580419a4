#!/usr/bin/env python3
"""Builds tiny random models of every supported family and records transformers' outputs as fixtures.

For each family it writes tests/data/models/<name>/ (an HF folder: config.json + model.safetensors, f32)
and tests/data/models/<name>/reference.json holding:
  prompt_ids      - a fixed 24-token prompt
  logits_last     - transformers' f32 logits of every prompt position (flattened [24, vocab])
  greedy_ids      - 32 greedy tokens continuing the prompt (transformers generate, f32, KV cache on)

InternLM2/3 are not in transformers; their reference is LlamaForCausalLM on weights converted by our own
reading of the remote code (InternLM2: un-interleave the packed `wqkv`; rename w1/w2/w3, attention_norm, ...).

Usage (CPU is enough):  /work/venv/bin/python tools/make_tiny_models.py --out tests/data/models
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

VOCAB = 384
PROMPT_LEN = 24
NEW_TOKENS = 32

COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6,
              bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)


def families():
    # name, transformers config class, model class, extra config, architecture written to config.json
    return [
        ("llama3", LlamaConfig, LlamaForCausalLM,
         dict(rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=8.0, low_freq_factor=1.0,
                                   high_freq_factor=4.0, original_max_position_embeddings=32)),
         "LlamaForCausalLM"),
        ("llama_linear_tied", LlamaConfig, LlamaForCausalLM,
         dict(rope_parameters=dict(rope_type="linear", rope_theta=10000.0, factor=2.0), tie_word_embeddings=True,
              head_dim=32, num_attention_heads=4),
         "LlamaForCausalLM"),
        ("mistral", MistralConfig, MistralForCausalLM, dict(rope_parameters=dict(rope_type="default",
                                                                                 rope_theta=1e6),
                                                            sliding_window=None), "MistralForCausalLM"),
        ("qwen2_yarn", Qwen2Config, Qwen2ForCausalLM,
         dict(rope_parameters=dict(rope_type="yarn", rope_theta=1e6, factor=4.0,
                                   original_max_position_embeddings=64)), "Qwen2ForCausalLM"),
        ("qwen3", Qwen3Config, Qwen3ForCausalLM,
         dict(head_dim=32, rope_parameters=dict(rope_type="default", rope_theta=1e6)), "Qwen3ForCausalLM"),
        ("internlm2_dynamic", LlamaConfig, LlamaForCausalLM,
         dict(rope_parameters=dict(rope_type="dynamic", rope_theta=1e6, factor=2.0), max_position_embeddings=40),
         "InternLM2ForCausalLM"),
        ("internlm3", LlamaConfig, LlamaForCausalLM,
         dict(rope_parameters=dict(rope_type="default", rope_theta=5e7), head_dim=16), "InternLM3ForCausalLM"),
    ]


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:  # small, so a tied lm_head does not just echo the input token
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=g))


def internlm2_state(cfg, sd):
    """LlamaForCausalLM weights -> InternLM2ForCausalLM names with the packed, interleaved wqkv."""
    hkv, groups, d = cfg.num_key_value_heads, cfg.num_attention_heads // cfg.num_key_value_heads, cfg.head_dim
    out = {"model.tok_embeddings.weight": sd["model.embed_tokens.weight"], "model.norm.weight": sd["model.norm.weight"],
           "output.weight": sd["lm_head.weight"]}
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        q = sd[p + "self_attn.q_proj.weight"].view(hkv, groups, d, -1)
        k = sd[p + "self_attn.k_proj.weight"].view(hkv, 1, d, -1)
        v = sd[p + "self_attn.v_proj.weight"].view(hkv, 1, d, -1)
        # Per kv head h: its `groups` query heads, then its key head, then its value head ("(h gs d)").
        out[p + "attention.wqkv.weight"] = torch.cat([q, k, v], dim=1).reshape(-1, cfg.hidden_size)
        out[p + "attention.wo.weight"] = sd[p + "self_attn.o_proj.weight"]
        out[p + "attention_norm.weight"] = sd[p + "input_layernorm.weight"]
        out[p + "ffn_norm.weight"] = sd[p + "post_attention_layernorm.weight"]
        out[p + "feed_forward.w1.weight"] = sd[p + "mlp.gate_proj.weight"]
        out[p + "feed_forward.w3.weight"] = sd[p + "mlp.up_proj.weight"]
        out[p + "feed_forward.w2.weight"] = sd[p + "mlp.down_proj.weight"]
    return out


def hf_config_json(model, arch, cfg):
    j = json.loads(model.config.to_json_string())
    j["architectures"] = [arch]
    if arch == "InternLM2ForCausalLM":
        rp = j.pop("rope_parameters")
        j.update(model_type="internlm2", bias=False, rope_theta=rp["rope_theta"],
                 rope_scaling={"type": "dynamic", "factor": rp["factor"]})
        for k in ("attention_bias", "mlp_bias", "head_dim"):
            j.pop(k, None)
    elif arch == "InternLM3ForCausalLM":
        rp = j.pop("rope_parameters")
        j.update(model_type="internlm3", bias=False, qkv_bias=False, rope_theta=rp["rope_theta"], rope_scaling=None)
        j.pop("attention_bias", None)
    return j


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/models")
    args = ap.parse_args()
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    prompt = torch.randint(3, VOCAB, (1, PROMPT_LEN), generator=g)
    for seed, (name, cfg_cls, model_cls, extra, arch) in enumerate(families()):
        kw = dict(COMMON)
        kw.update(extra)
        if model_cls is Qwen2ForCausalLM:
            pass  # Qwen2 always has q/k/v bias
        cfg = cfg_cls(**kw)
        cfg._attn_implementation = "eager"
        model = model_cls(cfg).float().eval()
        randomize(model, 100 + seed)
        with torch.no_grad():
            logits = model(prompt).logits[0]  # [PROMPT_LEN, vocab]
            gen = model.generate(prompt, max_new_tokens=NEW_TOKENS, do_sample=False, min_new_tokens=NEW_TOKENS,
                                 pad_token_id=0)
        greedy = gen[0, PROMPT_LEN:].tolist()
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        sd = {k: v.contiguous() for k, v in model.state_dict().items()}
        if cfg.tie_word_embeddings:
            sd.pop("lm_head.weight", None)
        if arch == "InternLM2ForCausalLM":
            sd = internlm2_state(model.config, sd)
        save_file(sd, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(hf_config_json(model, arch, cfg), f, indent=2, sort_keys=True)
        ref = dict(family=name, architecture=arch, prompt_ids=prompt[0].tolist(), vocab_size=VOCAB,
                   logits=[round(float(x), 5) for x in logits.flatten()], greedy_ids=greedy)
        with open(os.path.join(folder, "reference.json"), "w") as f:
            json.dump(ref, f)
        print(f"{name}: {arch}, greedy {greedy[:8]}...")


if __name__ == "__main__":
    main()
