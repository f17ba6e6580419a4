#!/usr/bin/env python3
"""Bounded loopback load test of `turbolm serve api_server`: 256 concurrent streaming AsyncOpenAI clients, a
fixed number of requests each. Passes when every request completes without error, every KV block returns to the
pool, and the server's resident memory stays bounded (a second identical round must not grow it materially).

Usage: server_load.py --turbolm BUILD/bin/turbolm --model MODEL_DIR [--clients 256] [--rounds 2] [--markdown]
"""
import argparse
import asyncio
import os
import statistics
import sys
import time

import openai

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_process import ServerProcess, skip_without_model  # noqa: E402


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


async def one_round(base_url, model, clients, requests_per_client, max_tokens):
    client = openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="none", max_retries=0, timeout=300)
    records, errors = [], []

    async def worker(i):
        for j in range(requests_per_client):
            start = time.perf_counter()
            first, tokens = None, 0
            try:
                stream = await client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": f"Story {i}-{j}: a cat and a dog"}],
                    max_tokens=max_tokens, temperature=0.7, stream=True,
                    stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content and first is None:
                        first = time.perf_counter()
                    if chunk.usage:
                        tokens = chunk.usage.completion_tokens
                end = time.perf_counter()
                if tokens != max_tokens:
                    errors.append(f"client {i}: {tokens} tokens, expected {max_tokens}")
                records.append((first - start if first else float("nan"), end - start, tokens))
            except Exception as e:  # noqa: BLE001 -- every failure counts as an error of the run
                errors.append(f"client {i}: {type(e).__name__}: {e}")

    start = time.perf_counter()
    await asyncio.gather(*[worker(i) for i in range(clients)])
    elapsed = time.perf_counter() - start
    await client.close()
    return records, errors, elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--turbolm", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--clients", type=int, default=256)
    parser.add_argument("--requests-per-client", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--markdown", action="store_true", help="print a bench/results table row")
    args = parser.parse_args()
    skip_without_model(args.model)
    model = os.path.basename(args.model.rstrip("/"))
    with ServerProcess(args.turbolm, args.model, "--session-len", "512", "--cache-max-entry-count", "1024",
                       "--max-batch-size", "256") as server:
        rss = [server.rss_mib()]
        print(f"server RSS idle: {rss[0]:.0f} MiB", flush=True)
        failed = False
        for r in range(args.rounds):
            records, errors, elapsed = asyncio.run(
                one_round(server.base_url, model, args.clients, args.requests_per_client, args.max_tokens))
            rss.append(server.rss_mib())
            n = len(records)
            ttft = [t for t, _, _ in records]
            e2e = [e for _, e, _ in records]
            tokens = sum(k for _, _, k in records)
            print(f"round {r + 1}: {n} requests from {args.clients} concurrent clients in {elapsed:.2f} s: "
                  f"{n / elapsed:.1f} req/s, {tokens / elapsed:.0f} output tok/s, "
                  f"TTFT mean {statistics.fmean(ttft) * 1e3:.0f} ms p50 {pct(ttft, 50) * 1e3:.0f} "
                  f"p99 {pct(ttft, 99) * 1e3:.0f}, latency p50 {pct(e2e, 50) * 1e3:.0f} ms "
                  f"p99 {pct(e2e, 99) * 1e3:.0f}, errors {len(errors)}, server RSS {rss[-1]:.0f} MiB", flush=True)
            if args.markdown:
                print(f"| {r + 1} | {args.clients} | {n} | {elapsed:.2f} | {n / elapsed:.1f} | {tokens / elapsed:.0f} | "
                      f"{statistics.fmean(ttft) * 1e3:.0f} / {pct(ttft, 50) * 1e3:.0f} / {pct(ttft, 99) * 1e3:.0f} | "
                      f"{pct(e2e, 50) * 1e3:.0f} / {pct(e2e, 99) * 1e3:.0f} | {len(errors)} | {rss[-1]:.0f} |")
            for e in errors[:10]:
                print("  error:", e)
            failed = failed or bool(errors) or n != args.clients * args.requests_per_client
        m = server.metrics()
        if m["turbolm:kv_cache_blocks_used"] != 0 or m["turbolm:http_requests_in_progress"] != 0:
            print("FAIL: KV blocks or requests left in flight:", m["turbolm:kv_cache_blocks_used"])
            failed = True
        # Bounded memory: the second round reuses what the first allocated; allow allocator noise only.
        if args.rounds > 1 and rss[-1] - rss[1] > 64:
            print(f"FAIL: server RSS grew from {rss[1]:.0f} to {rss[-1]:.0f} MiB between identical rounds")
            failed = True
        code = server.stop()
        if code != 0:
            print("FAIL: server exit code", code)
            failed = True
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
