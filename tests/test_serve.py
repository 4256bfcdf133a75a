"""`pmd serve` runs the app under gunicorn, and refuses to start in production without a real secret."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import TEST_SECRET


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PMD_INSTANCE_PATH": str(tmp_path), **extra}


def test_production_without_a_secret_refuses_in_one_clear_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{_free_port()}"],
                          env=_env(tmp_path, PMD_ENV="production", PMD_SECRET_KEY=""), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "PMD_SECRET_KEY" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "secret_key").exists()


def test_gunicorn_serves_the_app(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                            env=_env(tmp_path, PMD_ENV="production", PMD_SECRET_KEY=TEST_SECRET,
                                     PMD_APP_BASE_URL=f"http://127.0.0.1:{port}"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, answer = time.monotonic() + 30, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/registration.json", timeout=2)
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200
        assert answer.json()["redirect_uris"] == [f"http://127.0.0.1:{port}/callback"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert "gunicorn" in out.lower() or "Booting worker" in out
