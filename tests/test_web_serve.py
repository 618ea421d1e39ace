"""`blurkit serve` as a process: the page answers, the watch folder runs beside it, and SIGTERM
(systemd's stop) ends both cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from conftest import ROOT

from tests.webkit import free_port


def test_serve_answers_and_stops_cleanly_on_sigterm(data_dir, models_dir):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "blurkit", "--data-dir", str(data_dir), "--lang", "en", "serve",
         "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, "BLURKIT_LANG": "en"})
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as r:
                    status, body = r.status, r.read().decode()
            except OSError:
                time.sleep(0.3)
        assert status == 200, "the page did not answer"
        assert "Driftläge" in body                        # Swedish unless switched
        assert "Watching" not in body
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "The staff page: http://127.0.0.1:" in out
    assert "The watcher stopped." in out
