#!/usr/bin/env python3
"""Writes the reference fixtures of turbolm's default model (tests/data/default_model/) with transformers.

The model is loaded from its folder (bf16 weights) and run in float32 (TF32 off on a GPU), so any engine that
computes in fp32 should match the greedy ids exactly and the logits to ~1e-4.

  greedy.json   for each prompt: the prompt text, its ids (tokenizer, add_special_tokens=False, or the chat
                template for chat prompts), and the 32 greedy ids and text that follow (EOS does not stop it)
  logits.json   the next-token logits after the first prompt: all of them (rounded to 1e-5) and the top 20
  tokenizer.json  a few strings and their ids (so the C++ tokenizer can be checked without Python)

Usage: python3 tools/default_model_fixtures.py --model models/default --out tests/data/default_model [--device cpu]
"""
import argparse
import json
import os

import torch

PROMPTS = [
    "The history of the city",
    "Python is a programming language that",
    "In 1998, the band released their second album,",
    "The function returns a list of",
    "Once upon a time, there was a little girl who",
]
CHAT_PROMPTS = [
    [{"role": "user", "content": "Tell me about the Roman Empire."}],
    [{"role": "user", "content": "Who are you?"}],
]
TOKENIZER_STRINGS = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "  leading spaces, trailing   ",
    "Numbers: 12345 and 3.14159; don't, won't, I'm, we'll.",
    "def f(x):\n    return x ** 2\n\n\nprint(f(3))",
    "Unicode: café, naïve, 東京, 😀 — “quotes”",
    "<|im_start|>user\nHi<|im_end|>\n",
]
NEW_TOKENS = 32


def dump_cases(meta, cases):
    """JSON with one case a line (readable diffs)."""
    body = ",\n  ".join(json.dumps(c, ensure_ascii=False) for c in cases)
    return '{"meta": ' + json.dumps(meta) + ',\n "cases": [\n  ' + body + "\n ]\n}\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--out", default="tests/data/default_model")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    from transformers import AutoModelForCausalLM, AutoTokenizer
    import transformers

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    dev = torch.device(args.device)
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).to(dev).eval()
    os.makedirs(args.out, exist_ok=True)
    meta = {"transformers": transformers.__version__, "torch": torch.__version__, "device": str(dev),
            "compute_dtype": "float32", "weights_dtype": "bfloat16", "max_new_tokens": NEW_TOKENS,
            "decoding": "greedy (argmax), no stopping at EOS, no penalties"}

    def greedy(ids):
        x = torch.tensor([ids], device=dev)
        with torch.no_grad():
            out = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=NEW_TOKENS, do_sample=False,
                                 eos_token_id=None, pad_token_id=0, min_new_tokens=NEW_TOKENS)
        return out[0, len(ids):].tolist()

    cases = []
    for p in PROMPTS:
        ids = tok(p, add_special_tokens=False)["input_ids"]
        out = greedy(ids)
        cases.append({"kind": "text", "prompt": p, "prompt_ids": ids, "output_ids": out,
                      "output_text": tok.decode(out)})
    for msgs in CHAT_PROMPTS:
        text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        out = greedy(ids)
        cases.append({"kind": "chat", "messages": msgs, "prompt": text, "prompt_ids": ids, "output_ids": out,
                      "output_text": tok.decode(out)})
    with open(os.path.join(args.out, "greedy.json"), "w") as f:
        f.write(dump_cases(meta, cases))

    ids = cases[0]["prompt_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids], device=dev)).logits[0, -1].float().cpu()
    top = torch.topk(logits, 20)
    with open(os.path.join(args.out, "logits.json"), "w") as f:
        json.dump({"meta": meta, "prompt": PROMPTS[0], "prompt_ids": ids,
                   "top20_ids": top.indices.tolist(), "top20_logits": [round(v, 5) for v in top.values.tolist()],
                   "logits": [round(v, 5) for v in logits.tolist()]}, f)
        f.write("\n")

    rows = [{"text": s, "ids": tok(s, add_special_tokens=False)["input_ids"]} for s in TOKENIZER_STRINGS]
    for r in rows:
        assert tok.decode(r["ids"]) == r["text"], r
    with open(os.path.join(args.out, "tokenizer.json"), "w") as f:
        f.write(dump_cases({"transformers": transformers.__version__,
                            "call": "tokenizer(text, add_special_tokens=False)"}, rows))
    for c in cases:
        print(repr(c["prompt"][-60:]), "->", repr(c["output_text"]))


if __name__ == "__main__":
    main()
