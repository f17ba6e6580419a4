"""The embedded default model (models/default) through every front end of the built binary, against
transformers' outputs (tests/data/default_model): `generate` (ids and text), `chat-template`, `tokenize`,
`chat` (stdin-driven REPL) and `serve api_server` (/v1/completions with token ids, /v1/chat/completions).
Plain Python 3 (standard library only)."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_process import ServerProcess  # noqa: E402


def run(args, stdin=None):
    p = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"{args} exited {p.returncode}:\n{p.stderr[-2000:]}"
    return p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--turbolm", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    model = os.path.join(a.source, "models", "default")
    data = os.path.join(a.source, "tests", "data", "default_model")
    greedy = json.load(open(os.path.join(data, "greedy.json")))["cases"]
    common = [a.turbolm, "--log-level", "warning"]

    for case in greedy:
        # generate --prompt-ids: the fidelity path.
        out = json.loads(run(common + ["generate", "--model", model, "--prompt-ids",
                                       ",".join(map(str, case["prompt_ids"])), "--max-new-tokens", "32",
                                       "--ignore-eos", "--json", "--cache-max-entry-count", "32"]))
        assert out["ids"] == case["output_ids"], (case["prompt"], out["ids"], case["output_ids"])
        if case["kind"] == "chat":
            # chat-template renders the same prompt text transformers rendered.
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump({"messages": case["messages"], "add_generation_prompt": True}, f)
            rendered = run(common + ["chat-template", "--model", model, "--context", f.name])
            os.unlink(f.name)
            assert rendered == case["prompt"], (rendered, case["prompt"])  # byte-exact, nothing appended
        else:
            ids = json.loads(run(common + ["tokenize", "--model", model, "--json"], stdin=case["prompt"]))["ids"]
            assert ids == case["prompt_ids"], (ids, case["prompt_ids"])
    print(f"generate / chat-template / tokenize: {len(greedy)} cases match transformers")
    # Ids outside the vocabulary are refused, also past 32 bits (4294967298 used to wrap to id 2).
    for bad in ("4294967298", "[4294967298]", "-1", "[18446744073709551615]"):
        p = subprocess.run(common + ["tokenize", "--model", model, "--decode"], input=bad, capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 2 and "outside the vocabulary" in p.stderr, (bad, p.returncode, p.stderr)

    # generate --prompt prints text; chat answers a line from stdin.
    text = run(common + ["generate", "--model", model, "--prompt", greedy[0]["prompt"], "--max-new-tokens", "8"])
    assert text.strip(), "empty generate output"
    reply = run(common + ["chat", model, "--max-new-tokens", "16", "--cache-max-entry-count", "32"],
                stdin="Who are you?\n/exit\n")
    assert reply.strip(), "empty chat output"
    # A turn too long for --session-len is reported and dropped; the conversation goes on (here after /reset),
    # and piped input then exits non-zero.
    p = subprocess.run(common + ["chat", model, "--max-new-tokens", "8", "--cache-max-entry-count", "32",
                                 "--session-len", "128"], input="Hi\n" + "word " * 300 + "\n/reset\nHi\n",
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, (p.returncode, p.stderr[-1000:])
    assert "this turn was dropped" in p.stderr and "1 turn(s) failed" in p.stderr, p.stderr[-1000:]
    # stdout holds only the two replies; notices go to stderr.
    assert "(history cleared)" in p.stderr and p.stdout.count("\n") == 2, (p.stdout, p.stderr[-500:])

    # An unknown command is named, with the commands of its group.
    for words, named in ((["foo"], "'turbolm foo'"), (["bench", "foo"], "'turbolm bench foo'")):
        p = subprocess.run([a.turbolm] + words, capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and "unknown command " + named in p.stderr, (words, p.returncode, p.stderr)

    # bench latency --json is JSON whatever the model path holds (quotes and backslashes used to break it).
    with tempfile.TemporaryDirectory() as tmp:
        odd = os.path.join(tmp, 'q"m\\x')
        os.symlink(os.path.abspath(model), odd)
        out = json.loads(run(common + ["bench", "latency", "--model", odd, "--input-len", "4", "--output-len", "2",
                                       "--repeat", "1", "--json"]))
        assert out["model"] == odd and out["decode_tok_s"] > 0, out

    # bench throughput: a bad dataset line is named by file and line; outputs cut short by the KV pool fail the
    # run instead of giving figures for fewer tokens.
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write('{"prompt": "Once"}\n{bad\n')
    p = subprocess.run(common + ["bench", "throughput", "--model", model, "--dataset", f.name],
                       capture_output=True, text=True, timeout=120)
    os.unlink(f.name)
    assert p.returncode == 2 and f"{f.name}:2:" in p.stderr, (p.returncode, p.stderr[-500:])
    p = subprocess.run(common + ["bench", "throughput", "--model", model, "--num-prompts", "2", "--input-len", "30",
                                 "--output-len", "40", "--cache-max-entry-count", "2", "--cache-block-seq-len", "16"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "ended before their output length" in p.stderr, (p.returncode, p.stderr[-500:])

    # The server: token ids in, the fixture's greedy ids out; and a chat completion.
    with ServerProcess(a.turbolm, model, "--cache-max-entry-count", "64") as server:
        case = greedy[0]
        status, body = server.request("POST", "/v1/completions", {
            "model": "default", "prompt": case["prompt_ids"], "max_tokens": 32, "temperature": 0,
            "ignore_eos": True})
        assert status == 200, body
        assert body["choices"][0]["text"] == case["output_text"], (body["choices"][0]["text"], case["output_text"])
        status, chat = server.request("POST", "/v1/chat/completions", {
            "model": "default", "messages": [{"role": "user", "content": "Who are you?"}], "max_tokens": 16,
            "temperature": 0})
        assert status == 200 and chat["choices"][0]["message"]["content"], chat
    print("serve api_server: completions match transformers; chat completion answered")


if __name__ == "__main__":
    main()
