"""`pmd demo` serves the sandbox on its own origin, says what to open, and stops cleanly on Ctrl-C."""
from __future__ import annotations

import os
import shutil
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


def _start_demo(instance: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PMD_INSTANCE_PATH": str(instance), "PMD_SECRET_KEY": TEST_SECRET}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 60) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    proc.kill()
    raise AssertionError("demo never said " + repr(marker) + ":\n" + "".join(seen))


def test_demo_serves_sandbox_on_chosen_port_and_stops_on_ctrl_c(seeded_instance: Path, tmp_path: Path) -> None:
    shutil.copy(seeded_instance / "sandbox.sqlite", tmp_path / "sandbox.sqlite")
    app_port, sandbox_port = _free_port(), _free_port()
    proc = _start_demo(tmp_path, "--app-port", str(app_port), "--sandbox-port", str(sandbox_port))
    try:
        banner = _read_until(proc, "Ctrl-C")
        assert f"http://localhost:{sandbox_port}/" in banner
        page = requests.get(f"http://127.0.0.1:{sandbox_port}/", timeout=10)
        assert page.status_code == 200
        meta = requests.get(f"http://127.0.0.1:{sandbox_port}/fhir/metadata", timeout=10)
        assert meta.json()["resourceType"] == "CapabilityStatement"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "Stopped." in out


def test_demo_says_which_port_is_taken(seeded_instance: Path, tmp_path: Path) -> None:
    shutil.copy(seeded_instance / "sandbox.sqlite", tmp_path / "sandbox.sqlite")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _start_demo(tmp_path, "--sandbox-port", str(port), "--app-port", str(_free_port()))
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "--sandbox-port" in out and "Traceback" not in out
