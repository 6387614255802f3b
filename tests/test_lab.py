"""`make lab` starts JupyterLab serving the course: start it headless on loopback, read 00, stop."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_lab_serves_notebook_00(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
            f"--IdentityProvider.token={token} --ServerApp.port_retries=0")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")[-2000:]
            try:
                get(f"{base}/api/status", token)
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s"
                time.sleep(0.5)
        # the repository root is served (README, data/ and notebooks/ visible), 00 opens
        root = {item["name"] for item in get(f"{base}/api/contents", token)["content"]}
        assert {"README.md", "data", "notebooks", "course_utils"} <= root
        model = get(f"{base}/api/contents/notebooks/00-start-here.ipynb?content=1", token)
        assert model["type"] == "notebook"
        assert model["content"]["cells"][0]["source"].startswith("# 00 · ")
        lab_page = urllib.request.urlopen(f"{base}/lab?token={token}", timeout=5).read()
        assert b"JupyterLab" in lab_page
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Stop make and the JupyterLab it started (the whole process group), politely first."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
