"""The command line from the outside, one check per defect the CLI audit fixed (each says what used to happen).
Plain Python 3 (standard library only). Exit 77 = skipped (the model folder is missing)."""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def run(args, stdin=""):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=120)


def expect_usage_error(args, needle, stdin=""):
    p = run(args, stdin)
    assert p.returncode == 2, (args, p.returncode, p.stderr[-1000:])
    errors = [line for line in p.stderr.splitlines() if line.startswith("turbolm: error: ")]
    assert len(errors) == 1 and needle in errors[0], (args, p.stderr[-1000:])
    assert p.stdout == "", (args, p.stdout[-500:])


def check_usage_errors(tlm, m):
    """CLI11's refusals (conversion, validation, required, unexpected argument, missing subcommand) exited 104-109
    with a bare message; now 2 with one "turbolm: error:" line, like the commands' own checks. Missing inputs of
    tokenize and chat-template exited 1 where a missing folder of the other commands exited 2."""
    expect_usage_error(tlm + ["generate", "--model", m, "--prompt", "x", "--max-new-tokens", "12abc"],
                       "(see 'turbolm generate --help')")
    expect_usage_error(tlm + ["generate", "--model", m + "/config.json", "--prompt", "x"], "is actually a file")
    expect_usage_error(tlm + ["generate", "--model", m, "--prompt", "x", "--bogus"], "--bogus")
    expect_usage_error(tlm + ["generate", "--prompt", "x"], "--model is required")
    expect_usage_error(tlm + ["bench"], "(see 'turbolm bench --help')")
    expect_usage_error(tlm + ["serve", "api_server", m, "--server-port", "70000"], "70000 not in range 0 to 65535")
    expect_usage_error(tlm + ["generate", "--model", m, "--prompt", ""], "--prompt (a non-empty text)")
    expect_usage_error(tlm + ["serve", "api_server", m, "--tool-call-parser", "mistral"],
                       "mistral not in {qwen,qwen2d5,qwen3,hermes,llama3,internlm,intern-s1}")
    expect_usage_error(tlm + ["serve", "api_server", m, "--reasoning-parser", "o1"],
                       "o1 not in {default,deepseek-r1,qwen-qwq,intern-s1,qwen3}")
    expect_usage_error(tlm + ["tokenize", "--model", "/nonexistent"], "/nonexistent", stdin="x")
    expect_usage_error(tlm + ["chat-template", "--template", "chatml", "--context", "/nonexistent.json"],
                       "/nonexistent.json")
    print("usage errors: exit 2, one line")


def check_flag_ranges(tlm, m):
    """Values that used to be taken: a negative --concurrency ran as "all", --max-request-bytes -1 as no limit, a
    negative --shutdown-grace; bench latency refused --num-threads, the name every other command uses."""
    expect_usage_error(tlm + ["bench", "throughput", "--model", m, "--concurrency", "-3"], "--concurrency")
    expect_usage_error(tlm + ["serve", "api_server", m, "--max-request-bytes", "-1"], "--max-request-bytes")
    expect_usage_error(tlm + ["serve", "api_server", m, "--shutdown-grace", "-1"], "--shutdown-grace")
    p = run(tlm + ["bench", "latency", "--model", m, "--input-len", "4", "--output-len", "2", "--repeat", "1",
                   "--num-threads", "1", "--json"])
    assert p.returncode == 0 and json.loads(p.stdout)["threads"] == 1, (p.returncode, p.stdout, p.stderr[-500:])
    print("flag ranges: refused at parse time; bench latency --num-threads")


def chat_command(tlm, m):
    return tlm + ["chat", m, "--cache-max-entry-count", "8"]


def check_chat_decoding(tlm, m):
    """chat decoded greedily whatever --temperature / --top-k / --seed said unless --do-sample was given, and
    checked the values only per turn: the REPL started and every turn failed."""
    chat = chat_command(tlm, m)
    for flags, needle in ((["--max-new-tokens", "0"], "max_new_tokens must be >= 1"),
                          (["--top-p", "3"], "top_p must be in (0, 1]"),
                          (["--temperature", "0"], "--temperature must be > 0")):
        expect_usage_error(chat + flags, needle, stdin="Once upon a time\n")
    # The seeded reply is reproducible and differs from the greedy one.
    greedy = run(chat + ["--max-new-tokens", "16"], "Once upon a time\n")
    sampled = [run(chat + ["--max-new-tokens", "16", "--temperature", "1.5", "--seed", "3"], "Once upon a time\n")
               for _ in range(2)]
    assert greedy.returncode == 0 and all(p.returncode == 0 for p in sampled), (greedy.stderr, sampled[0].stderr)
    assert sampled[0].stdout == sampled[1].stdout != greedy.stdout, (greedy.stdout, sampled[0].stdout)
    print("chat: decoding flags checked up front; --temperature samples")


def check_unreadable_stdin(tlm, m):
    """stdin that cannot be read (a folder, a closed descriptor) read as empty input: tokenize printed the ids of
    "" and chat ended as after an empty script, both with exit 0."""
    folder = os.open(os.path.dirname(os.path.abspath(__file__)), os.O_RDONLY)
    for command in (tlm + ["tokenize", "--model", m], chat_command(tlm, m)):
        for stdin, reason, setup in ((folder, "Is a directory", None),
                                     (None, "Bad file descriptor", lambda: os.close(0))):
            p = subprocess.run(command, stdin=stdin, preexec_fn=setup, capture_output=True, text=True, timeout=120)
            assert p.returncode == 2 and "cannot read stdin: " + reason in p.stderr, (command, p.returncode,
                                                                                     p.stderr[-500:])
    os.close(folder)
    print("tokenize, chat: unreadable stdin is an error")


def check_help_examples(tlm):
    """No command's --help showed an example."""
    for command in (["generate"], ["chat"], ["serve", "api_server"], ["chat-template"], ["eval", "ppl"],
                    ["tokenize"], ["bench", "latency"], ["bench", "throughput"], ["bench", "serve"]):
        p = run(tlm + command + ["--help"])
        assert p.returncode == 0 and p.stderr == "", (command, p.returncode, p.stderr)
        assert "Example" in p.stdout and "turbolm " + " ".join(command) in p.stdout, (command, p.stdout[-500:])
    print("help: every command has an example")


def check_decimal_integers(tlm, m):
    """Integer flags were read with base 0 (CLI11): --max-new-tokens 010 generated 8 tokens, 08 was refused."""
    for text, count in (("010", 10), ("08", 8)):
        p = run(tlm + ["generate", "--model", m, "--prompt", "Once", "--max-new-tokens", text, "--ignore-eos",
                       "--json"])
        assert p.returncode == 0 and len(json.loads(p.stdout)["ids"]) == count, (text, p.stdout, p.stderr[-500:])
    print("integer flags: decimal")


def check_flag_values(tlm, m):
    """An option followed by another flag took the flag as its value: `generate --prompt --json` generated from
    the text "--json" and printed no JSON."""
    expect_usage_error(tlm + ["generate", "--model", m, "--prompt", "--json", "--max-new-tokens", "3"],
                       "--prompt needs a value, but the next argument is the flag --json")
    p = run(tlm + ["generate", "--model", m, "--prompt=--json", "--max-new-tokens", "3"])
    assert p.returncode == 0 and p.stdout.strip(), (p.returncode, p.stderr[-500:])
    print("flag values: a flag is not taken as a value")


def check_log_level_after_the_command(tlm, m):
    """--log-level (docs/environment.md: it overrides TURBOLM_LOG_LEVEL for every binary) was refused after the
    command (`turbolm generate ... --log-level error`: exit 109, "not expected"); only `turbolm --log-level error
    generate ...` worked."""
    p = run([tlm[0], "generate", "--model", m, "--prompt", "Once", "--max-new-tokens", "2", "--log-level", "error"])
    assert p.returncode == 0 and p.stdout.strip() and p.stderr == "", (p.returncode, p.stderr[-500:])
    expect_usage_error([tlm[0], "generate", "--model", m, "--prompt", "x", "--log-level", "loud"],
                       "unknown log level 'loud'")
    print("--log-level after the command")


def check_ignored_flags(tlm, m):
    """Flags that the other flags make meaningless were silently ignored: generate --chat with --prompt-ids,
    tokenize --skip-special without --decode and --add-special with it, chat-template --name with --template."""
    expect_usage_error(tlm + ["generate", "--model", m, "--prompt-ids", "1,2", "--chat"],
                       "excludes")  # CLI11 names both, in either order
    expect_usage_error(tlm + ["tokenize", "--model", m, "--skip-special"], "--skip-special requires --decode",
                       stdin="hi")
    expect_usage_error(tlm + ["tokenize", "--model", m, "--decode", "--add-special"],
                       "excludes", stdin="1 2")
    expect_usage_error(tlm + ["chat-template", "--template", "chatml", "--name", "tool_use", "--context", __file__],
                       "--name requires --model")
    print("flags that would be ignored are refused")


def check_empty_dataset_prompts(tlm, m):
    """bench throughput ran a dataset line {"prompt": ""} from BOS alone (the engine refuses empty prompts)."""
    with tempfile.TemporaryDirectory() as tmp:
        for line, needle in (('{"prompt": ""}', '"prompt" is empty'), ('{"prompt_ids": []}', '"prompt_ids" is empty')):
            path = os.path.join(tmp, "data.jsonl")
            with open(path, "w") as f:
                f.write('{"prompt": "Once"}\n' + line + "\n")
            expect_usage_error(tlm + ["bench", "throughput", "--model", m, "--dataset", path], path + ":2: " + needle)
    print("bench throughput: empty dataset prompts are refused")


def check_ctrl_c_while_chat_loads(tlm, m):
    """Ctrl-C while chat loaded the model was swallowed: the load went on, the chat started, and the pending
    signal stopped the first reply ("[stopped]"). strace holds the open of the weights for 3 s so that the signal
    lands during the load; skipped without strace (or where it cannot trace)."""
    strace = shutil.which("strace")
    weights = os.path.join(m, "model.safetensors")
    if strace is None or not os.path.exists(weights):
        print("Ctrl-C while chat loads: skipped (needs strace and model.safetensors)")
        return
    p = subprocess.Popen([strace, "-qq", "-o", "/dev/null", "-P", weights, "-e", "trace=openat", "-e",
                          "inject=openat:delay_enter=3000000"] + chat_command(tlm, m),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # turbolm started and waits in the held open
    children = f"/proc/{p.pid}/task/{p.pid}/children"
    tracee = open(children).read().split() if os.path.exists(children) else []
    if not tracee:
        p.kill()
        p.communicate()
        print("Ctrl-C while chat loads: skipped (strace did not start turbolm)")
        return
    os.kill(int(tracee[0]), signal.SIGINT)
    out, err = p.communicate("Once upon a time\n", timeout=60)
    assert p.returncode != 0 and "[stopped]" not in out, (p.returncode, out, err[-500:])
    print("Ctrl-C while chat loads: the command ends")


def check_chat_commands_with_crlf(tlm, m):
    """"/exit\r" (a file written on Windows) and "/exit " were sent to the model as messages."""
    for script in ("Once upon a time\r\n/exit\r\nThe dog\r\n", "Once upon a time\n/exit \nThe dog\n"):
        p = run(chat_command(tlm, m) + ["--max-new-tokens", "8"], script)
        assert p.returncode == 0 and p.stdout.count("\n") == 1, (script, p.stdout, p.stderr[-500:])
    print("chat: commands with CRLF or spaces")


def check_bench_lengths(tlm, m):
    """bench latency ran --input-len 2000 on a model of 512 positions while bench throughput refused it; a
    throughput run of prompt + output past session_len ran to the end before refusing its cut-short outputs."""
    expect_usage_error(tlm + ["bench", "latency", "--model", m, "--input-len", "2000"],
                       "= 2128 tokens do not fit in the model's 512 positions (max_position_embeddings)")
    for lengths in (["--input-len", "2000"], ["--input-len", "400", "--output-len", "200"]):
        expect_usage_error(tlm + ["bench", "throughput", "--model", m, "--num-prompts", "2"] + lengths,
                           "tokens do not fit in session_len 512 (raise --session-len)")
    print("bench latency, throughput: lengths past the session refused up front")


def check_bench_latency_bandwidth(tlm, m):
    """bench latency printed "216% of the measured read bandwidth" for a model that fits in the CPU caches."""
    p = run(tlm + ["bench", "latency", "--model", m, "--input-len", "8", "--output-len", "64", "--repeat", "1"])
    assert p.returncode == 0, (p.returncode, p.stderr[-500:])
    line = [l for l in p.stdout.splitlines() if l.startswith("decode bandwidth")][0]
    share = re.search(r"= (\d+)% of the measured", line)
    assert (share and int(share.group(1)) <= 100) or "the weights fit in the CPU caches" in line, line
    print("bench latency: no share above 100% of the measured bandwidth")


def check_chat_invalid_utf8(tlm, m):
    """A chat line that is not UTF-8 showed nlohmann's "[json.exception.type_error.316] ..." as the error."""
    p = subprocess.run(chat_command(tlm, m) + ["--max-new-tokens", "8"], input=b"caf\xe9\nOnce upon a time\n",
                       capture_output=True, timeout=120)
    err = p.stderr.decode(errors="replace")
    assert "turbolm: error: the user message is not valid UTF-8" in err and "json.exception" not in err, err[-500:]
    assert "this turn was dropped" in err, err[-500:]
    # The conversation went on: the next line got its reply; the failed turn makes the status 2.
    assert p.returncode == 2 and p.stdout.count(b"\n") == 1 and p.stdout.strip(), (p.returncode, p.stdout)
    print("chat: input that is not UTF-8 drops the turn with a clear message")


def check_model_without_tokenizer(tlm, m):
    """A model folder without a tokenizer: tokenize exited 1 where generate and chat exited 2, and generate said
    "send token ids" (the HTTP server's wording) where the flag is --prompt-ids."""
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("config.json", "generation_config.json", "model.safetensors"):
            os.symlink(os.path.join(os.path.abspath(m), name), os.path.join(tmp, name))
        expect_usage_error(tlm + ["tokenize", "--model", tmp], "has no tokenizer.json", stdin="x")
        expect_usage_error(tlm + ["generate", "--model", tmp, "--prompt", "Once"],
                           "has no tokenizer (tokenizer.json, tokenizer.model or vocab.json + merges.txt): --prompt "
                           "needs one; give token ids with --prompt-ids")
        expect_usage_error(chat_command(tlm, tmp), "has no tokenizer", stdin="Once\n")
        p = run(tlm + ["generate", "--model", tmp, "--prompt-ids", "1,2", "--max-new-tokens", "2", "--ignore-eos"])
        assert p.returncode == 0 and len(p.stdout.split(",")) == 2, (p.returncode, p.stdout, p.stderr[-500:])
    print("no tokenizer: exit 2 from every command; generate names --prompt-ids")


def check_length_limit_warning(tlm, m):
    """generate --cache-max-entry-count 1 --max-new-tokens 100 returned 61 tokens with finish_reason "length" and
    exit 0, with no word that the KV pool (one block of 64 tokens), not --max-new-tokens, ended it."""
    generate = tlm + ["generate", "--model", m, "--prompt", "Once upon a time", "--max-new-tokens", "100",
                      "--ignore-eos", "--json"]
    for flags, needle in ((["--cache-max-entry-count", "1"], "the KV cache pool of 64 tokens (raise "
                                                             "--cache-max-entry-count)"),
                          (["--session-len", "32"], "session_len 32 (raise --session-len)")):
        p = run(generate + flags)
        out = json.loads(p.stdout)
        assert p.returncode == 0 and out["finish_reason"] == "length" and len(out["ids"]) < 100, (p.stdout, p.stderr)
        assert f"generation stopped after {len(out['ids'])} of 100 new tokens" in p.stderr and needle in p.stderr, \
            (flags, p.stderr[-500:])
    p = run(generate)
    assert p.returncode == 0 and len(json.loads(p.stdout)["ids"]) == 100 and "stopped" not in p.stderr, p.stderr
    # The chat turn renders to 45 tokens (chatml); greedy, the reply runs past the 51 left.
    p = run(chat_command(tlm, m) + ["--max-new-tokens", "200", "--session-len", "96"], "Once upon a time\n")
    assert p.returncode == 0 and "session_len 96 (raise --session-len)" in p.stderr, (p.returncode, p.stderr[-500:])
    print("generate, chat: a reply the session or the KV pool cut short says so")


def check_empty_api_key(tlm, m):
    """serve api_server --api-keys "" started a server that answered 401 to every request."""
    for keys in ([""], ["K", ""]):
        expect_usage_error(tlm + ["serve", "api_server", m, "--server-port", "0", "--api-keys"] + keys,
                           "--api-keys: must not be empty")
    print("serve: an empty API key is refused")


def check_prefix_caching_help(tlm):
    """--help showed "--enable-prefix-caching,--disable-prefix-caching{false}" although caching is on by default."""
    for command in (["generate"], ["chat"], ["serve", "api_server"], ["bench", "throughput"]):
        p = run(tlm + command + ["--help"])
        assert p.returncode == 0 and "{false}" not in p.stdout and "(default: on;" in p.stdout, p.stdout[-2000:]
    print("help: prefix caching is on by default")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--turbolm", required=True)
    ap.add_argument("--model", required=True)
    a = ap.parse_args()
    if not os.path.isdir(a.model):
        print(f"SKIP: {a.model} is missing", file=sys.stderr)
        sys.exit(77)
    tlm = [a.turbolm, "--log-level", "warning"]
    check_usage_errors(tlm, a.model)
    check_flag_ranges(tlm, a.model)
    check_chat_decoding(tlm, a.model)
    check_unreadable_stdin(tlm, a.model)
    check_help_examples(tlm)
    check_decimal_integers(tlm, a.model)
    check_flag_values(tlm, a.model)
    check_log_level_after_the_command(tlm, a.model)
    check_ignored_flags(tlm, a.model)
    check_empty_dataset_prompts(tlm, a.model)
    check_ctrl_c_while_chat_loads(tlm, a.model)
    check_chat_commands_with_crlf(tlm, a.model)
    check_bench_lengths(tlm, a.model)
    check_bench_latency_bandwidth(tlm, a.model)
    check_chat_invalid_utf8(tlm, a.model)
    check_model_without_tokenizer(tlm, a.model)
    check_length_limit_warning(tlm, a.model)
    check_empty_api_key(tlm, a.model)
    check_prefix_caching_help(tlm)


if __name__ == "__main__":
    main()
