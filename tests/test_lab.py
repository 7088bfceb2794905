"""`make lab`, typed as the README shows it, starts JupyterLab with RISE and zh_CN, also as root."""

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_lab_serves_jupyterlab_with_rise(tmp_path):
    # Only the environment differs from a newcomer's shell: a free port and a known token (both
    # read by Jupyter itself), no screen. The command is the README's: `make lab`.
    port, token = free_port(), secrets.token_hex(8)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "LAB_ARGS"}
    }
    env.update(JUPYTER_PORT=str(port), JUPYTER_TOKEN=token, JUPYTER_RUNTIME_DIR=str(tmp_path))
    log = tmp_path / "lab.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            ["make", "lab"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        page, deadline = None, time.monotonic() + 180
        while time.monotonic() < deadline and server.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/lab?token={token}"
                with urllib.request.urlopen(url, timeout=5) as reply:
                    page = reply.read().decode()
                break
            except OSError:
                time.sleep(1)
        output = log.read_text(errors="replace")
        assert page is not None, f"JupyterLab did not answer on port {port}:\n{output[-3000:]}"
        assert "jupyterlab-rise" in page, "the RISE extension is not installed"
        translations = f"http://127.0.0.1:{port}/lab/api/translations/?token={token}"
        with urllib.request.urlopen(translations, timeout=10) as reply:
            languages = json.loads(reply.read())["data"]  # what Settings → Language offers
        assert "zh_CN" in languages, "the Chinese language pack is not installed"
        if os.geteuid() == 0:
            assert "running as root, so JupyterLab gets --allow-root" in output
        assert "no display here, so no browser opens" in output
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert server.poll() is not None
