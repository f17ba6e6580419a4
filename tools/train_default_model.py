#!/usr/bin/env python3
"""Trains turbolm's embedded default model (models/default): a ~14M-parameter Llama on permissively licensed text.

Pipeline (see models/default/README.md for the whole story):
  1. python3 tools/default_model_data.py --shared ../shared --pydoc <python3.11-doc _sources> --out .train_data/corpus
  2. python3 tools/default_model_tokenizer.py --corpus .train_data/corpus --model-dir models/default --tok-dir .train_data/tok
  3. python3 tools/train_default_model.py --tok-dir .train_data/tok --model-dir models/default --time-budget 75
     (on one GPU; the time budget is the training wall time in seconds, the learning-rate schedule follows it)
  4. python3 tools/default_model_fixtures.py --model models/default --tok-dir .train_data/tok --out tests/data/default_model

Reads the uint16 token streams made by step 2 (train_*.npy, chat.npy, heldout_*.npy), trains LlamaForCausalLM in
bf16 autocast with fp32 master weights, keeps the checkpoint with the best loss on the first half of the held-out
streams ("val") and reports perplexity on the second half ("test") and on all of it. Saves the model in bf16
(model.safetensors), config.json, generation_config.json and train_log.json into --model-dir.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

# weight of each training stream in the mixture (times its size): Wikipedia and web text are upweighted
# against the much larger Python documentation, so that the model writes general English.
MIX = {"train_wikitext": 2.0, "train_c4": 2.0, "train_pydoc": 1.0, "chat": 1.5}
HELDOUT = ["heldout_wikitext", "heldout_c4", "heldout_pydoc"]


def model_config(vocab_size):
    from transformers import LlamaConfig
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=512,
        intermediate_size=768,
        num_hidden_layers=6,
        num_attention_heads=8,
        num_key_value_heads=4,
        head_dim=64,
        hidden_act="silu",
        max_position_embeddings=1024,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        attention_bias=False,
        mlp_bias=False,
        attention_dropout=0.0,
        initializer_range=0.02,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=0,
        use_cache=True,
    )


def add_residual_dropout(model, p):
    """LlamaForCausalLM has no hidden dropout; add it on the embeddings and on each block's attention and MLP
    outputs (before the residual add) with forward hooks. Active only in train mode."""
    def hook(mod, inputs, output):
        if not mod.training:
            return output
        if isinstance(output, tuple):
            return (F.dropout(output[0], p, True),) + tuple(output[1:])
        return F.dropout(output, p, True)
    handles = [model.model.embed_tokens.register_forward_hook(hook)]
    for layer in model.model.layers:
        handles.append(layer.self_attn.register_forward_hook(hook))
        handles.append(layer.mlp.register_forward_hook(hook))
    return handles


@torch.no_grad()
def eval_loss(model, ids, seq, device, batch=16, dtype=torch.bfloat16):
    """Mean next-token loss over non-overlapping windows of seq+1 tokens (nats/token), and the token count."""
    model.eval()
    n = (len(ids) - 1) // seq
    total, count = 0.0, 0
    for b0 in range(0, n, batch):
        rows = [ids[i * seq: i * seq + seq + 1] for i in range(b0, min(n, b0 + batch))]
        x = torch.tensor(np.stack(rows).astype(np.int64), device=device)
        with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype != torch.float32):
            logits = model(input_ids=x[:, :-1]).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1), reduction="sum")
        total += loss.item()
        count += x[:, 1:].numel()
    # the tail that does not fill a window
    rest = ids[n * seq:]
    if len(rest) > 1:
        x = torch.tensor(rest.astype(np.int64), device=device)[None]
        with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype != torch.float32):
            logits = model(input_ids=x[:, :-1]).logits
        total += F.cross_entropy(logits.float()[0], x[0, 1:], reduction="sum").item()
        count += x.size(1) - 1
    model.train()
    return total / max(count, 1), count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tok-dir", default=".train_data/tok")
    ap.add_argument("--model-dir", default="models/default")
    ap.add_argument("--time-budget", type=float, default=75.0, help="training wall time in seconds")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: time budget only)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--eval-every", type=float, default=4.0, help="seconds between held-out evaluations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args()

    from transformers import GenerationConfig, LlamaForCausalLM

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    with open(os.path.join(args.model_dir, "tokenizer.json")) as f:
        tj = json.load(f)
    vocab_size = len(tj["model"]["vocab"])
    vocab_size = max(vocab_size, max(t["id"] for t in tj["added_tokens"]) + 1)

    # ---- data
    streams = {k: np.load(os.path.join(args.tok_dir, k + ".npy")) for k in MIX}
    held = {k: np.load(os.path.join(args.tok_dir, k + ".npy")) for k in HELDOUT}
    val = {k: v[: len(v) // 2] for k, v in held.items()}
    test = {k: v[len(v) // 2:] for k, v in held.items()}
    names = list(MIX)
    sizes = np.array([len(streams[k]) for k in names], dtype=np.float64)
    probs = sizes * np.array([MIX[k] for k in names])
    probs /= probs.sum()
    print("mixture:", {k: f"{len(streams[k])} tok, p={p:.3f}" for k, p in zip(names, probs)}, flush=True)

    def batch():
        src = rng.choice(len(names), size=args.batch, p=probs)
        rows = []
        for s in src:
            a = streams[names[s]]
            o = rng.integers(0, len(a) - args.seq - 1)
            rows.append(a[o: o + args.seq + 1])
        x = torch.from_numpy(np.stack(rows).astype(np.int64)).pin_memory() if device.type == "cuda" else \
            torch.from_numpy(np.stack(rows).astype(np.int64))
        return x.to(device, non_blocking=True)

    # ---- model
    cfg = model_config(vocab_size)
    model = LlamaForCausalLM(cfg).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params} ({n_params * 2 / 1e6:.1f} MB in bf16), vocab {vocab_size}", flush=True)
    add_residual_dropout(model, args.dropout)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=device.type == "cuda")
    fwd = torch.compile(model) if args.compile else model

    def lr_at(step, frac):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))

    log = {"args": vars(args), "parameters": n_params, "vocab_size": vocab_size, "mixture": dict(zip(names, probs.tolist())),
           "evals": [], "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"}
    best = (float("inf"), None, -1)
    t0 = time.time()
    next_eval = args.eval_every
    step, tokens, run_loss = 0, 0, None
    x = batch()
    while True:
        elapsed = time.time() - t0
        frac = elapsed / args.time_budget
        done = frac >= 1.0 or (args.max_steps and step >= args.max_steps)
        if elapsed >= next_eval or done:
            vl = {k: eval_loss(model, v, args.seq, device)[0] for k, v in val.items()}
            vmean = float(np.mean(list(vl.values())))
            rec = {"step": step, "time_s": round(elapsed, 1), "tokens": tokens, "train_loss": run_loss,
                   "val_loss": vl, "val_mean": vmean}
            log["evals"].append(rec)
            print(json.dumps(rec), flush=True)
            if vmean < best[0]:
                best = (vmean, {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}, step)
            next_eval = elapsed + args.eval_every
        if done:
            break
        lr = lr_at(step, frac)
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            logits = fwd(input_ids=x[:, :-1]).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1))
        xn = batch()  # overlap the next batch's copy with this step
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        x = xn
        step += 1
        tokens += args.batch * args.seq
        if step % 50 == 0:
            l = loss.item()
            run_loss = l if run_loss is None else 0.9 * run_loss + 0.1 * l
        if step % 500 == 0:
            print(f"step {step} t={time.time() - t0:.0f}s loss={run_loss:.3f} lr={lr:.2e} tok={tokens}", flush=True)
    train_time = time.time() - t0
    log.update(steps=step, tokens_seen=tokens, train_time_s=round(train_time, 1), best_step=best[2],
               final_train_loss=run_loss)
    print(f"trained {step} steps, {tokens} tokens in {train_time:.0f}s; best val at step {best[2]}", flush=True)

    # ---- save the best checkpoint in bf16
    model.load_state_dict(best[1])
    model.eval()
    model = model.to(torch.bfloat16)
    model.config.use_cache = True
    model.save_pretrained(args.model_dir, safe_serialization=True)
    gen = GenerationConfig(bos_token_id=0, eos_token_id=[2, 0], pad_token_id=0, do_sample=False,
                           max_new_tokens=128)
    gen.save_pretrained(args.model_dir)

    # ---- perplexity of the saved (bf16) weights, computed in fp32
    m32 = LlamaForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32).to(device).eval()
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    stats = json.load(open(os.path.join(args.tok_dir, "stats.json")))
    ppl = {}
    for part, sets in (("test", test), ("val", val), ("all", held)):
        for k, v in sets.items():
            l, n = eval_loss(m32, v, args.seq, device, dtype=torch.float32)
            ppl[f"{part}/{k}"] = {"loss": round(l, 4), "ppl": round(math.exp(l), 2), "tokens": n}
        tl = sum(ppl[f"{part}/{k}"]["loss"] * ppl[f"{part}/{k}"]["tokens"] for k in sets)
        tn = sum(ppl[f"{part}/{k}"]["tokens"] for k in sets)
        ppl[f"{part}/mean"] = {"loss": round(tl / tn, 4), "ppl": round(math.exp(tl / tn), 2), "tokens": tn}
    for k in HELDOUT:  # bits per byte on the whole held-out text (tokenizer-independent)
        ppl[f"all/{k}"]["bits_per_byte"] = round(ppl[f"all/{k}"]["loss"] * ppl[f"all/{k}"]["tokens"] /
                                                 math.log(2) / stats[k]["bytes"], 4)
    log["heldout"] = ppl
    print(json.dumps(ppl, indent=1), flush=True)
    with open(os.path.join(args.model_dir, "train_log.json"), "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
