"""The command line from the outside, one check per defect the CLI audit fixed (each says what used to happen).
Plain Python 3 (standard library only). Exit 77 = skipped (the model folder is missing)."""
import argparse
import os
import subprocess
import sys


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
    expect_usage_error(tlm + ["serve", "api_server", m, "--server-port", "70000"], "70000")
    expect_usage_error(tlm + ["tokenize", "--model", "/nonexistent"], "/nonexistent", stdin="x")
    expect_usage_error(tlm + ["chat-template", "--template", "chatml", "--context", "/nonexistent.json"],
                       "/nonexistent.json")
    print("usage errors: exit 2, one line")


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


if __name__ == "__main__":
    main()
