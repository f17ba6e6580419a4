"""Starts `turbolm serve api_server` on a free loopback port for the e2e tests and stops it again."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request


class ServerProcess:
    def __init__(self, turbolm, model, *extra_args, api_key=None, startup_timeout=120):
        args = [turbolm, "serve", "api_server", model, "--server-name", "127.0.0.1", "--server-port", "0"]
        if api_key:
            args += ["--api-keys", api_key]
        args += list(extra_args)
        self.api_key = api_key
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr_lines = []
        self._drainer = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drainer.start()
        self.port = self._wait_for_port(startup_timeout)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._wait_healthy(startup_timeout)

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def _wait_for_port(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if "serving" in line and "http://" in line:
                return int(line.rsplit(":", 1)[1])
        self.proc.kill()
        raise RuntimeError("server did not start:\n" + "".join(self.stderr_lines[-40:]))

    def _wait_healthy(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base_url + "/health", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server never became healthy")

    def request(self, method, path, body=None, headers=None, raw=None):
        """Plain HTTP: returns (status, parsed JSON or text)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        h.update(headers or {})
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def metrics(self):
        status, text = self.request("GET", "/metrics")
        assert status == 200, text
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._drainer.join(timeout=5)  # the pipe ends with the process; then the file can be closed
        if not self._drainer.is_alive():
            self.proc.stderr.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def skip_without_model(model):
    if not os.path.isdir(model):
        print(f"SKIP: model folder {model} not found", file=sys.stderr)
        sys.exit(77)
