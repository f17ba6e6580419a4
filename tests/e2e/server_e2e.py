#!/usr/bin/env python3
"""E2E tests of `turbolm serve api_server` on loopback with the official openai SDK (sync and async) and plain
HTTP: models, chat and completions (plain and streamed), usage, stop strings, logprobs, LMDeploy endpoints,
auth, every error class, abort on disconnect (KV blocks return to the pool), /abort_request, graceful shutdown.

Usage: server_e2e.py --turbolm BUILD/bin/turbolm --model MODEL_DIR
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import openai

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_process import ServerProcess, skip_without_model  # noqa: E402

ARGS = None
KEY = "e2e-key"
# Small and fast: the tests exercise the server, not the model. 2048 tokens fit a long-running request.
ENGINE_FLAGS = ["--session-len", "2048", "--cache-max-entry-count", "512", "--max-batch-size", "64",
                # LMDeploy command-line flags accepted as they are (no-ops here).
                "--backend", "turbomind", "--enable-metrics", "--eager-mode"]
PROMPT = "Tell me a story about a cat."


class ServerE2E(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess(ARGS.turbolm, ARGS.model, *ENGINE_FLAGS, "--max-request-bytes", "1048576",
                                   api_key=KEY)
        cls.client = openai.OpenAI(base_url=cls.server.base_url + "/v1", api_key=KEY, max_retries=0, timeout=120)
        cls.model = cls.client.models.list().data[0].id

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, f"server exit code {code}\n" + "".join(cls.server.stderr_lines[-30:])

    def chat(self, **kw):
        args = dict(model=self.model, messages=[{"role": "user", "content": PROMPT}], temperature=0, max_tokens=48)
        args.update(kw)
        return self.client.chat.completions.create(**args)

    def wait_kv_free(self, timeout=10):
        deadline = time.time() + timeout
        m = {}
        while time.time() < deadline:
            m = self.server.metrics()
            if m["turbolm:kv_cache_blocks_used"] == 0 and m["turbolm:num_requests_running"] == 0:
                return m
            time.sleep(0.02)
        self.fail(f"KV blocks never returned to the pool: {m.get('turbolm:kv_cache_blocks_used')}")

    # -- OpenAI endpoints -------------------------------------------------------------------------------------

    def test_models(self):
        models = self.client.models.list().data
        self.assertEqual(len(models), 1)
        self.assertEqual(models[0].id, os.path.basename(ARGS.model.rstrip("/")))
        self.assertEqual(models[0].object, "model")
        # The SDK percent-encodes the id ("/" too); the server answers with the same object as the list.
        self.assertEqual(self.client.models.retrieve(models[0].id), models[0])
        with self.assertRaises(openai.NotFoundError):
            self.client.models.retrieve("no-such-model")

    def test_chat_and_stream_agree(self):
        full = self.chat()
        text = full.choices[0].message.content
        self.assertTrue(text)
        self.assertEqual(full.choices[0].message.role, "assistant")
        self.assertIn(full.choices[0].finish_reason, ("stop", "length"))
        chunks = list(self.chat(stream=True, stream_options={"include_usage": True}))
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        self.assertEqual(streamed, text)
        self.assertEqual([c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason],
                         [full.choices[0].finish_reason])
        usage = chunks[-1].usage
        self.assertEqual(chunks[-1].choices, [])
        self.assertEqual(usage.completion_tokens, full.usage.completion_tokens)
        self.assertEqual(usage.prompt_tokens, full.usage.prompt_tokens)

    def test_usage_numbers(self):
        r = self.chat(max_tokens=8, extra_body={"ignore_eos": True})
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, 8)
        status, enc = self.server.request("POST", "/v1/encode", {"input": PROMPT, "do_preprocess": True})
        self.assertEqual(status, 200, enc)
        self.assertEqual(r.usage.prompt_tokens, enc["length"])
        self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + 8)

    def test_max_completion_tokens_and_n(self):
        r = self.chat(max_completion_tokens=5, n=2, extra_body={"ignore_eos": True})
        self.assertEqual(len(r.choices), 2)
        self.assertEqual(r.choices[0].message.content, r.choices[1].message.content)  # greedy
        self.assertEqual(r.usage.completion_tokens, 10)

    def test_stop_string(self):
        text = self.chat(max_tokens=64).choices[0].message.content
        words = text.split()
        self.assertGreater(len(words), 3, text)
        stop = " " + words[2]
        expected = text[: text.index(stop)]
        r = self.chat(max_tokens=64, stop=[stop])
        self.assertEqual(r.choices[0].message.content, expected)
        self.assertEqual(r.choices[0].finish_reason, "stop")

    def test_logprobs(self):
        r = self.chat(max_tokens=6, logprobs=True, top_logprobs=3, extra_body={"ignore_eos": True})
        content = r.choices[0].logprobs.content
        self.assertEqual(len(content), 6)
        for entry in content:
            self.assertLessEqual(entry.logprob, 0.0)
            self.assertEqual(len(entry.top_logprobs), 3)
            # Greedy: the sampled token is the most likely one.
            self.assertAlmostEqual(entry.top_logprobs[0].logprob, entry.logprob, places=4)
            self.assertEqual(entry.top_logprobs[0].token, entry.token)
            self.assertEqual(bytes(entry.bytes), entry.token.encode())
        # The tokens read as they do in the text (spaces kept): joined, they are the reply.
        self.assertEqual("".join(e.token for e in content), r.choices[0].message.content)
        # Completions: tokens join to the text, which continues the prompt (" upon", not "upon"), and text_offset
        # points at each token; echo adds the prompt in front without gluing words.
        c = self.client.completions.create(model=self.model, prompt="Once", max_tokens=6, temperature=0, logprobs=2,
                                           extra_body={"ignore_eos": True}).choices[0]
        self.assertTrue(c.text.startswith(" "), c.text)
        self.assertEqual("".join(c.logprobs.tokens), c.text)
        self.assertEqual(c.logprobs.text_offset, [len("".join(c.logprobs.tokens[:i])) for i in range(6)])
        echo = self.client.completions.create(model=self.model, prompt="Once", max_tokens=6, temperature=0, echo=True,
                                              extra_body={"ignore_eos": True}).choices[0]
        self.assertEqual(echo.text, "Once" + c.text)

    def test_sampling_with_seed_is_reproducible(self):
        a = self.chat(temperature=1.0, seed=123, max_tokens=24).choices[0].message.content
        b = self.chat(temperature=1.0, seed=123, max_tokens=24).choices[0].message.content
        self.assertEqual(a, b)

    def test_completions(self):
        r = self.client.completions.create(model=self.model, prompt="Once upon a time", max_tokens=16,
                                           temperature=0, extra_body={"ignore_eos": True})
        self.assertEqual(r.object, "text_completion")
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, 16)
        stream = self.client.completions.create(model=self.model, prompt="Once upon a time", max_tokens=16,
                                                temperature=0, stream=True, extra_body={"ignore_eos": True})
        self.assertEqual("".join(c.choices[0].text for c in stream if c.choices), r.choices[0].text)
        echo = self.client.completions.create(model=self.model, prompt="Once upon a time", max_tokens=4,
                                              temperature=0, echo=True)
        self.assertTrue(echo.choices[0].text.startswith("Once upon a time"))
        batch = self.client.completions.create(model=self.model, prompt=["One day", "The dog"], max_tokens=4,
                                               temperature=0)
        self.assertEqual([c.index for c in batch.choices], [0, 1])
        status, enc = self.server.request("POST", "/v1/encode", {"input": "Once upon a time"})
        ids = self.client.completions.create(model=self.model, prompt=enc["input_ids"], max_tokens=16,
                                             temperature=0, extra_body={"ignore_eos": True})
        self.assertEqual(ids.choices[0].text, r.choices[0].text)
        lp = self.client.completions.create(model=self.model, prompt="Once", max_tokens=3, temperature=0,
                                            logprobs=2, extra_body={"ignore_eos": True})
        self.assertEqual(len(lp.choices[0].logprobs.tokens), 3)

    def test_plain_http_and_lmdeploy_endpoints(self):
        status, body = self.server.request("POST", "/v1/chat/completions", {
            "model": self.model, "messages": PROMPT, "temperature": 0, "max_tokens": 8})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["object"], "chat.completion")
        status, enc = self.server.request("POST", "/v1/encode", {"input": ["hello", "a cat"], "add_bos": False})
        self.assertEqual(status, 200, enc)
        self.assertEqual(len(enc["input_ids"]), 2)
        status, gen = self.server.request("POST", "/generate", {
            "input_ids": enc["input_ids"][1], "max_tokens": 5, "temperature": 0, "ignore_eos": True,
            "return_logprob": True})
        self.assertEqual(status, 200, gen)
        self.assertEqual(len(gen["output_ids"]), 5)
        self.assertEqual(gen["meta_info"]["completion_tokens"], 5)
        self.assertEqual(gen["meta_info"]["finish_reason"]["type"], "length")
        self.assertEqual(len(gen["meta_info"]["output_token_logprobs"]), 5)
        # /get_ppl: the mean -log p of every token but the first, as `turbolm eval ppl` computes it in one window.
        story = "Once upon a time, there was a little girl named Lily. She liked to play in the park."
        status, ppl = self.server.request("POST", "/get_ppl", {"input": story})
        self.assertEqual(status, 200, ppl)
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write(story)
            f.flush()
            out = subprocess.run([ARGS.turbolm, "eval", "ppl", "--model", ARGS.model, "--text", f.name, "--json"],
                                 capture_output=True, text=True, check=True, timeout=120).stdout
        reference = json.loads(out)
        self.assertEqual(reference["windows"], 1)
        self.assertAlmostEqual(ppl["ppl"], reference["nll"], places=4)
        # echo + logprobs (lm-eval-harness's loglikelihood): the prompt's tokens lead, the first null; their sum is
        # the same scoring /get_ppl averages.
        status, story_ids = self.server.request("POST", "/v1/encode", {"input": story})
        echoed = self.client.completions.create(
            model=self.model, prompt=story, echo=True, logprobs=1, max_tokens=1, temperature=0)
        lps = echoed.choices[0].logprobs
        n = story_ids["length"]
        self.assertEqual(len(lps.tokens), n + 1)
        self.assertIsNone(lps.token_logprobs[0])
        self.assertAlmostEqual(-sum(lps.token_logprobs[1:n]) / (n - 1), ppl["ppl"], places=4)
        self.assertEqual(len(lps.top_logprobs[1]), 1)
        status, ids_ppl = self.server.request("POST", "/get_ppl", {"input": enc["input_ids"][1]})
        self.assertEqual(status, 200, ids_ppl)
        self.assertGreater(ids_ppl["ppl"], 0)
        status, short = self.server.request("POST", "/get_ppl", {"input": [1]})
        self.assertEqual(status, 400, short)
        status, text = self.server.request("GET", "/metrics")
        self.assertIn("turbolm:time_to_first_token_seconds_bucket", text)
        self.assertIn("turbolm:prefix_cache_hit_rate", text)

    def test_async_client_concurrent_streams(self):
        expected = self.chat(max_tokens=32).choices[0].message.content

        async def run():
            client = openai.AsyncOpenAI(base_url=self.server.base_url + "/v1", api_key=KEY, max_retries=0)

            async def one():
                stream = await client.chat.completions.create(
                    model=self.model, messages=[{"role": "user", "content": PROMPT}], temperature=0, max_tokens=32,
                    stream=True)
                return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

            results = await asyncio.gather(*[one() for _ in range(32)])
            await client.close()
            return results

        for text in asyncio.run(run()):
            self.assertEqual(text, expected)

    # -- auth and errors --------------------------------------------------------------------------------------

    def test_auth(self):
        bad = openai.OpenAI(base_url=self.server.base_url + "/v1", api_key="wrong", max_retries=0)
        with self.assertRaises(openai.AuthenticationError):
            bad.models.list()
        status, body = self.server.request("GET", "/v1/models", headers={"Authorization": ""})
        self.assertEqual(status, 401)
        self.assertEqual(set(body["error"]), {"message", "type", "param", "code"})
        status, _ = self.server.request("GET", "/health", headers={"Authorization": ""})
        self.assertEqual(status, 200)

    def assert_error(self, status, body, expected_status):
        self.assertEqual(status, expected_status, body)
        self.assertEqual(set(body["error"]), {"message", "type", "param", "code"}, body)

    def test_error_classes(self):
        self.assert_error(*self.server.request("POST", "/v1/chat/completions", raw=b"{oops"), 400)
        with self.assertRaises(openai.BadRequestError) as e:
            self.chat(temperature="hot")
        self.assertEqual(e.exception.body["param"], "temperature")
        with self.assertRaises(openai.BadRequestError):
            self.chat(extra_body={"no_such_field": 1})
        with self.assertRaises(openai.BadRequestError):
            self.chat(messages=[])
        with self.assertRaises(openai.BadRequestError) as e:
            self.client.completions.create(model=self.model, prompt="x", suffix="y")
        self.assertIn("suffix", str(e.exception))
        with self.assertRaises(openai.BadRequestError):  # longer than session_len: the engine's check, still 400
            self.client.completions.create(model=self.model, prompt="cat " * 3000)
        with self.assertRaises(openai.NotFoundError):
            self.chat(model="gpt-4o")
        self.assert_error(*self.server.request("GET", "/v1/no/such/path"), 404)
        self.assert_error(*self.server.request("GET", "/v1/chat/completions"), 405)
        self.assert_error(*self.server.request("POST", "/v1/chat/completions", raw=b" " * (2 << 20)), 413)
        self.assertEqual(self.client.models.list().data[0].id, self.model)  # still serving

    # -- cancellation -----------------------------------------------------------------------------------------

    def long_request_body(self, stream, **extra):
        body = {"model": self.model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 1900,
                "ignore_eos": True, "stream": stream}
        body.update(extra)
        return json.dumps(body).encode()

    def raw_post(self, body):
        s = socket.create_connection(("127.0.0.1", self.server.port))
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + KEY.encode() + b"\r\nContent-Length: " + str(len(body)).encode()
                  + b"\r\n\r\n" + body)
        return s

    def test_disconnect_mid_stream_frees_kv(self):
        before = self.server.metrics().get('turbolm:request_success_total{finished_reason="abort"}', 0)
        s = self.raw_post(self.long_request_body(stream=True))
        received = b""
        while received.count(b"data:") < 3:
            received += s.recv(4096)
        self.assertGreater(self.server.metrics()["turbolm:kv_cache_blocks_used"], 0)
        s.close()
        m = self.wait_kv_free()
        self.assertEqual(m['turbolm:request_success_total{finished_reason="abort"}'], before + 1)

    def test_disconnect_while_waiting_for_whole_response_frees_kv(self):
        s = self.raw_post(self.long_request_body(stream=False))
        deadline = time.time() + 10
        while self.server.metrics()["turbolm:kv_cache_blocks_used"] == 0 and time.time() < deadline:
            time.sleep(0.005)
        s.close()
        self.wait_kv_free()

    def test_abort_request(self):
        result = {}

        def run():
            result["r"] = self.chat(max_tokens=1900, extra_body={"ignore_eos": True, "session_id": 4242})

        t = threading.Thread(target=run)
        t.start()
        deadline = time.time() + 10
        aborted = 0
        while not aborted and time.time() < deadline and t.is_alive():
            _, body = self.server.request("POST", "/abort_request", {"session_id": 4242})
            aborted = body["aborted"]
        t.join()
        self.assertEqual(aborted, 1)
        self.assertEqual(result["r"].choices[0].finish_reason, "abort")
        self.wait_kv_free()


class ConcurrencyLimitE2E(unittest.TestCase):
    def test_429_when_limit_exceeded(self):
        # The underscore spelling (LMDeploy accepts both) on purpose: main.cc normalises it.
        with ServerProcess(ARGS.turbolm, ARGS.model, *ENGINE_FLAGS, "--max_concurrent_requests", "2") as server:
            async def run():
                client = openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0)

                async def one():
                    try:
                        stream = await client.chat.completions.create(
                            model=os.path.basename(ARGS.model.rstrip("/")), messages=PROMPT, temperature=0,
                            max_tokens=400, stream=True, extra_body={"ignore_eos": True})
                        async for _ in stream:
                            pass
                        return "ok"
                    except openai.RateLimitError:
                        return "429"

                results = await asyncio.gather(*[one() for _ in range(16)])
                await client.close()
                return results

            results = asyncio.run(run())
            self.assertIn("429", results)
            self.assertIn("ok", results)
            self.assertEqual(set(results), {"ok", "429"})


class OutputParsersE2E(unittest.TestCase):
    """--tool-call-parser and --reasoning-parser through the binary and the SDK: a reply without tags (stories260K
    writes none) keeps its text as content, tool_calls and reasoning_content stay empty, whole and streamed agree."""

    def test_replies_without_tags_pass_through(self):
        for tool_parser in ("qwen3", "internlm"):  # internlm: the text keeps special tokens where tools are offered
            with self.subTest(tool_parser=tool_parser):
                self.check_pass_through(tool_parser)

    def check_pass_through(self, tool_parser):
        with ServerProcess(ARGS.turbolm, ARGS.model, *ENGINE_FLAGS, "--tool-call-parser", tool_parser,
                           "--reasoning-parser", "qwen3") as server:
            client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)
            tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                                       "parameters": {"type": "object",
                                                                      "properties": {"city": {"type": "string"}}}}}]
            args = dict(model=os.path.basename(ARGS.model.rstrip("/")),
                        messages=[{"role": "user", "content": PROMPT}], temperature=0, max_tokens=32, tools=tools)
            full = client.chat.completions.create(**args)
            message = full.choices[0].message
            self.assertTrue(message.content)
            self.assertFalse(message.tool_calls)
            self.assertIsNone(message.model_extra.get("reasoning_content"))
            self.assertIn(full.choices[0].finish_reason, ("stop", "length"))
            chunks = list(client.chat.completions.create(stream=True, **args))
            streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            self.assertEqual(streamed, message.content)
            self.assertFalse(any(c.choices[0].delta.tool_calls for c in chunks if c.choices))


class ShutdownE2E(unittest.TestCase):
    def test_sigterm_finishes_in_flight_and_exits_0(self):
        server = ServerProcess(ARGS.turbolm, ARGS.model, *ENGINE_FLAGS, "--shutdown-grace", "20")
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0)
        stream = client.chat.completions.create(model=os.path.basename(ARGS.model.rstrip("/")), messages=PROMPT,
                                                temperature=0, max_tokens=300, stream=True,
                                                extra_body={"ignore_eos": True})
        first = next(iter(stream))
        server.proc.send_signal(signal.SIGTERM)
        chunks = [first] + list(stream)
        self.assertEqual(chunks[-1].choices[0].finish_reason, "length")
        self.assertEqual(server.stop(), 0)  # a second signal during shutdown is harmless; stop() waits

    def test_sigint_aborts_after_grace_and_exits_0(self):
        server = ServerProcess(ARGS.turbolm, ARGS.model, *ENGINE_FLAGS, "--shutdown-grace", "0.2")
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0)
        stream = client.chat.completions.create(model=os.path.basename(ARGS.model.rstrip("/")), messages=PROMPT,
                                                max_tokens=1900, stream=True, extra_body={"ignore_eos": True})
        first = next(iter(stream))
        start = time.time()
        server.proc.send_signal(signal.SIGINT)
        reasons = [c.choices[0].finish_reason for c in [first] + list(stream) if c.choices]
        self.assertIn(reasons[-1], ("abort", "length"))
        self.assertEqual(server.stop(), 0)  # a second signal during shutdown is harmless; stop() waits
        self.assertLess(time.time() - start, 15)

    def test_signals_repeated_until_exit_are_harmless(self):
        # Regression: a signal arriving after the server's own handler was removed (during teardown) used to kill
        # the process with the signal's status. Keep signalling from the first one until the process is gone.
        for sig in (signal.SIGTERM, signal.SIGINT):
            server = ServerProcess(ARGS.turbolm, ARGS.model, *ENGINE_FLAGS)
            sent = 0
            while server.proc.poll() is None:
                try:
                    server.proc.send_signal(sig)
                    sent += 1
                except ProcessLookupError:
                    break
                time.sleep(0.0005)
            self.assertEqual(server.stop(), 0, f"{sig.name} x{sent}\n" + "".join(server.stderr_lines[-10:]))


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--turbolm", required=True)
    parser.add_argument("--model", required=True)
    ARGS, rest = parser.parse_known_args()
    skip_without_model(ARGS.model)
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()
