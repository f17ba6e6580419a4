#!/usr/bin/env python3
"""Makes tests/data/tokenizer/*.json: reference ids and decodes from Hugging Face tokenizers/transformers.

Usage (from the repo root, with the venv that has tokenizers, transformers, sentencepiece):
    /work/venv/bin/python tools/tokenizer_make_fixtures.py --shared ../shared --out tests/data/tokenizer

Texts from ../shared/text are referenced by (file, first line, line count), never copied; the test reads them
through TURBOLM_SHARED_DIR. Whole files are checked by token count + FNV-1a hash of the ids.
"""
import argparse
import json
import os

import sentencepiece as spm
from tokenizers import Tokenizer
from transformers import GPT2TokenizerFast

OWN_TEXTS = [
    "Hello world",
    " Hello world",
    "Hello  world  ",
    "",
    " ",
    "    \n\n\t\t  \r\n x",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n",
    "int main() { std::vector<int> v{1,2,3}; for (auto& x : v) x *= 2; return 0; }  // C++20",
    "我们的目标是让每个人都能使用大语言模型。日本語のテキストも。한국어 텍스트도 있습니다.",
    "Emoji: 😀🙏🏽👨‍👩‍👧‍👦 🇫🇷 ✨✨✨ and symbols ∑∫√∞ ≠ ≤ ≥",
    "numbers 1234567890 3.14159 1e-10 0x7fff 1,000,000 ١٢٣ ５６７",
    "control\x00chars\x01\x02\x1b[31mred\x1b[0m\x7f\u200b\u200d\ufeff end",
    "a" * 3000,
    "Pneumonoultramicroscopicsilicovolcanoconiosis" * 20,
    "                                                                                 ",
    "\n" * 50 + "x" + "\t" * 30,
    "it's we're they've I'm you'll he'd IT'S WE'RE",
    "Ünïcödé àccénts: café naïve façade résumé Ångström ﬁ ﬂ Ⅻ ①",
    "<s>Hello</s> <s> x </s>\n<unk> <|endoftext|>",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n",
    "<think>\nreasoning\n</think>\n\nanswer <tool_call>{\"name\": \"f\"}</tool_call>",
    "URL: https://example.com/path?query=1&x=%20y#frag email: a.b@c.de",
    "Mixed 中文English混合text123数字",
    "\u00a0non-breaking\u2009thin\u3000ideographic space\u2028line sep",
    "ﾊﾝｶｸ half-width katakana and ｆｕｌｌ full-width",
    "Ελληνικά Русский текст עברית العربية हिन्दी ไทย",
    "trailing spaces   \n   leading spaces",
    "!!!???...,,,;;;:::---___***",
    # U+180E (Mongolian vowel separator) is not whitespace since Unicode 6.3 (PCRE2 10.42's \s still took it).
    " \u180e1 a\u180eb \u180e \u180e\u180e x",
]

# (shared file, first line, number of lines): wikitext, PTB and C4 excerpts.
SHARED_EXCERPTS = [
    ("text/wikitext-2-raw_wiki.test.raw", 0, 40),
    ("text/wikitext-2-raw_wiki.test.raw", 1000, 60),
    ("text/ptb.valid.txt", 0, 50),
    ("text/c4_en_train00000_first1000.jsonl", 0, 5),
]
WHOLE_FILES = ["text/wikitext-2-raw_wiki.test.raw", "text/ptb.test.txt"]


def read_lines(shared, name, first, count):
    with open(os.path.join(shared, name), encoding="utf-8", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    return "".join(lines[first:first + count])


def fnv1a(ids):
    h = 0xCBF29CE484222325
    for i in ids:
        for b in (i & 0xFFFFFFFF).to_bytes(4, "little"):
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(h, "016x")


class Fast:
    """HF tokenizers (tokenizer.json) or a transformers fast tokenizer."""

    def __init__(self, tok, raw=True):
        self.tok, self.raw = tok, raw

    def encode(self, text, special):
        if self.raw:
            return self.tok.encode(text, add_special_tokens=special).ids
        return self.tok.encode(text, add_special_tokens=special)

    def decode(self, ids, skip):
        return self.tok.decode(ids, skip_special_tokens=skip)


class SlowSentencePiece:
    """What a slow sentencepiece-backed transformers tokenizer (InternLM2Tokenizer) does: split the text on its
    control tokens, sentencepiece-encode each chunk, BOS first."""

    def __init__(self, path):
        self.sp = spm.SentencePieceProcessor(model_file=path)
        self.specials = [self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size())
                         if self.sp.is_control(i) or self.sp.is_unknown(i)]

    def encode(self, text, special):
        ids, rest = [], text
        while rest:
            hits = [(rest.find(s), -len(s), s) for s in self.specials if rest.find(s) >= 0]
            if not hits:
                ids += self.sp.encode(rest)
                break
            pos, _, s = min(hits)
            if pos:
                ids += self.sp.encode(rest[:pos])
            ids.append(self.sp.piece_to_id(s))
            rest = rest[pos + len(s):]
        return ([self.sp.bos_id()] if special else []) + ids

    def decode(self, ids, skip):
        keep = [i for i in ids if not (self.sp.is_control(i) or self.sp.is_unknown(i))]  # special ids are skipped
        return self.sp.decode(keep) if skip else None


def make(shared, out):
    tk = lambda rel: Fast(Tokenizer.from_file(os.path.join(shared, rel)))
    refs = {
        "qwen3": ("tokenizers/qwen3", tk("tokenizers/qwen3/tokenizer.json")),
        "mistral": ("tokenizers/mistral", tk("tokenizers/mistral/tokenizer.json")),
        "stories260k": ("models/stories260K-hf", tk("models/stories260K-hf/tokenizer.json")),
        "gpt2": ("tokenizers/gpt2", Fast(GPT2TokenizerFast.from_pretrained(os.path.join(shared, "tokenizers/gpt2")), raw=False)),
        # transformers 5 rebuilds Llama-2's tokenizer.model differently from the transformers 4 LlamaTokenizerFast
        # (legacy) that made llama.cpp's vectors; sentencepiece itself agrees with those vectors (docs/tokenizers.md).
        "llama2": ("tokenizers/llama2", SlowSentencePiece(os.path.join(shared, "tokenizers/llama2/tokenizer.model"))),
        "internlm2": ("tokenizers/internlm2", SlowSentencePiece(os.path.join(shared, "tokenizers/internlm2/tokenizer.model"))),
    }
    for name, (folder, ref) in refs.items():
        cases = []
        sources = [{"text": t} for t in OWN_TEXTS] + [
            {"shared": f, "first_line": a, "lines": n} for f, a, n in SHARED_EXCERPTS]
        for src in sources:
            text = src["text"] if "text" in src else read_lines(shared, src["shared"], src["first_line"], src["lines"])
            case = dict(src)
            case["ids"] = ref.encode(text, False)
            case["ids_special"] = ref.encode(text, True)
            for key, ids, skip in (("decoded", case["ids_special"], False), ("decoded_skip", case["ids_special"], True)):
                text_out = ref.decode(ids, skip)
                if text_out is not None:
                    case[key] = text_out
            cases.append(case)
        whole = []
        for f in WHOLE_FILES:
            with open(os.path.join(shared, f), encoding="utf-8", newline="") as fh:
                ids = ref.encode(fh.read(), False)
            whole.append({"shared": f, "count": len(ids), "fnv1a": fnv1a(ids)})
        path = os.path.join(out, f"{name}.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"folder": folder, "cases": cases, "whole_files": whole}, fh, ensure_ascii=True)
        print(f"{path}: {len(cases)} cases")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--shared", default="../shared")
    p.add_argument("--out", default="tests/data/tokenizer")
    a = p.parse_args()
    make(a.shared, a.out)
