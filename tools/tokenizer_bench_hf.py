#!/usr/bin/env python3
"""HF tokenizers single-thread encode throughput: tokenizer_bench_hf.py TOKENIZER_JSON TEXT_FILE [repeats]."""
import os
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer  # noqa: E402

path, text_file = sys.argv[1], sys.argv[2]
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
t0 = time.perf_counter()
tok = Tokenizer.from_file(path)
load = time.perf_counter() - t0
text = open(text_file, encoding="utf-8", newline="").read()
nbytes = len(text.encode("utf-8"))
best, n = 1e30, 0
for _ in range(repeats):
    start = time.perf_counter()
    n = len(tok.encode(text, add_special_tokens=False).ids)
    best = min(best, time.perf_counter() - start)
print(f"hf-tokenizers load_s={load:.3f} bytes={nbytes} tokens={n} best_s={best:.4f} MB/s={nbytes / best / 1e6:.2f} tokens/s={n / best:.0f}")
