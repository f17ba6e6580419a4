#!/usr/bin/env python3
"""Trains the byte-level BPE tokenizer of turbolm's default model and tokenizes its corpus.

Input : the corpus folder written by tools/default_model_data.py (train.jsonl, heldout.jsonl, chat.jsonl).
Output: MODEL_DIR/tokenizer.json, MODEL_DIR/tokenizer_config.json (with the ChatML chat template),
        TOK_DIR/{train.npy, chat.npy, heldout.npy, heldout_src.json}: uint16 token streams; every document
        is followed by <|endoftext|>.

The tokenizer is deliberately standard (what Qwen2 / GPT-2 style loaders expect): no normalizer,
pre-tokenizer = Split(Qwen2 regex, isolated) + ByteLevel(add_prefix_space=false, use_regex=false),
BPE model without unk/dropout/byte_fallback, ByteLevel decoder, no post-processor (nothing is added
around the text: no BOS). Special tokens: 0 <|endoftext|>, 1 <|im_start|>, 2 <|im_end|>.

Usage: python3 tools/default_model_tokenizer.py --corpus .train_data/corpus --model-dir models/default \
           --tok-dir .train_data/tok [--vocab-size 4096]
"""
import argparse
import json
import os

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# Qwen2.5's template, simplified (no tools): a default system turn when none is given.
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)


def render_chat(messages):
    """Python twin of CHAT_TEMPLATE (no generation prompt)."""
    out = ""
    if messages[0]["role"] == "system":
        out += "<|im_start|>system\n" + messages[0]["content"] + "<|im_end|>\n"
        rest = messages[1:]
    else:
        out += "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        rest = messages
    for m in rest:
        out += "<|im_start|>" + m["role"] + "\n" + m["content"] + "<|im_end|>\n"
    return out


def build_tokenizer(texts, vocab_size):
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=".train_data/corpus")
    ap.add_argument("--model-dir", default="models/default")
    ap.add_argument("--tok-dir", default=".train_data/tok")
    ap.add_argument("--vocab-size", type=int, default=4096)
    args = ap.parse_args()

    def read(name):
        with open(os.path.join(args.corpus, name), encoding="utf-8") as f:
            return [json.loads(l) for l in f]

    train, held, chats = read("train.jsonl"), read("heldout.jsonl"), read("chat.jsonl")
    chat_texts = [render_chat(c["messages"]) for c in chats]
    tok = build_tokenizer([r["text"] for r in train] + chat_texts, args.vocab_size)
    assert [tok.token_to_id(s) for s in SPECIAL] == [0, 1, 2]

    os.makedirs(args.model_dir, exist_ok=True)
    tok.save(os.path.join(args.model_dir, "tokenizer.json"))
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 1024,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": False,
        "errors": "replace",
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "added_tokens_decoder": {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                                          "single_word": False, "special": True} for i, s in enumerate(SPECIAL)},
        "chat_template": CHAT_TEMPLATE,
    }
    with open(os.path.join(args.model_dir, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(args.model_dir, "special_tokens_map.json"), "w") as f:
        json.dump({"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                   "additional_special_tokens": ["<|im_start|>", "<|im_end|>"]}, f, indent=2)
        f.write("\n")

    eot = tok.token_to_id("<|endoftext|>")
    os.makedirs(args.tok_dir, exist_ok=True)

    def stream(texts):
        ids = []
        for enc in tok.encode_batch(texts, add_special_tokens=False):
            ids.extend(enc.ids)
            ids.append(eot)
        return np.asarray(ids, dtype=np.uint16)

    stats = {}
    by_src = {}
    for r in train:
        by_src.setdefault(r["src"], []).append(r["text"])
    for src, texts in by_src.items():
        a = stream(texts)
        np.save(os.path.join(args.tok_dir, f"train_{src}.npy"), a)
        stats[f"train_{src}"] = {"tokens": int(a.size), "chars": sum(map(len, texts))}
    a = stream(chat_texts)
    np.save(os.path.join(args.tok_dir, "chat.npy"), a)
    stats["chat"] = {"tokens": int(a.size), "chars": sum(map(len, chat_texts))}
    held_by = {}
    for r in held:
        held_by.setdefault(r["src"], []).append(r["text"])
    for src, texts in held_by.items():
        a = stream(texts)
        np.save(os.path.join(args.tok_dir, f"heldout_{src}.npy"), a)
        stats[f"heldout_{src}"] = {"tokens": int(a.size), "chars": sum(map(len, texts)),
                                   "bytes": sum(len(t.encode()) for t in texts)}
    with open(os.path.join(args.tok_dir, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
