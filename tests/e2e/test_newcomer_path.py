# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The newcomer's path, end to end: a fresh clone, ``make demo``, ``make lab``, the quickstart
run in JupyterLab in a real browser, and its assets listed by ``arco`` at the clone's root.

The browser is the operating system's Chromium (``make test`` installs it with
``scripts/ensure-chromium.sh``), driven by Playwright; Playwright's own browser download is not
used. Lab listens on 127.0.0.1 only, with a random token, and the page may not reach anything
else.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from arco_nb.catalog.vocabulary import MATERIALIZED, asset_word

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = "01_quickstart.ipynb"
WORKSPACE = "tutorial-01"  # the quickstart's first cell runs `%arco use --workspace tutorial-01`
ASSETS = {"orders", "orders_clean", "revenue_by_customer"}
# What the first %%asset cell says: `make demo` already ran the quickstart, so Lab's run finds
# `orders` up to date; a store without it would materialize it.
ORDERS_LINE = re.compile(r"orders(: materialized| is up to date: skipped)\b")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """This process's environment minus what would leak the test run into the clone's commands:
    the outer virtual environment, Arco settings, make's flags, coverage hooks, and the user's
    Jupyter and IPython settings (Lab gets empty ones of its own)."""
    drop_prefixes = ("ARCO_", "JUPYTER", "COV_CORE_", "PYTEST_", "MAKE")
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MFLAGS", "IPYTHONDIR"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(drop_prefixes)}
    outer_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", os.defpath).split(os.pathsep) if p and p != outer_bin
    )
    jupyter = tmp_path / "jupyter"
    for name, sub in {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "settings",
        "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }.items():
        (jupyter / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(jupyter / sub)
    # Lab attaches only the cells in view by default; the test reads every cell's prompt and
    # outputs, so all of them stay in the page.
    tracker = jupyter / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}\n')
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"`{' '.join(cmd)}` in the clone failed ({done.returncode}):\n{done.stdout[-6000:]}"
        )
    return done.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path, chars: int = 6000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


@contextmanager
def _make_lab(clone: Path, env: dict[str, str], log: Path) -> Iterator[tuple[str, str]]:
    """Run ``make lab`` headless on 127.0.0.1; yield its base URL and token once it answers."""
    port, token = _free_port(), secrets.token_hex(16)
    lab_args = (
        f"--no-browser --ServerApp.open_browser=False --ServerApp.ip=127.0.0.1 "
        f"--ServerApp.port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"
    )
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"LAB_ARGS={lab_args}"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one below
        )
    try:
        # No proxy from the environment may stand between the test and 127.0.0.1.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 600  # `make lab` first installs the lab extra
        while True:
            if proc.poll() is not None:
                pytest.fail(f"make lab exited with {proc.returncode}:\n{_tail(log)}")
            try:
                with opener.open(f"{base}/lab?token={token}", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Lab did not answer on {base} in time:\n{_tail(log)}")
            time.sleep(0.5)
        yield base, token
    finally:
        # SIGTERM lets the server shut its kernels down (they run in sessions of their own).
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
# Run All is over when every code cell has its execution count, or when it stopped at an error
# (the cells below it keep an empty prompt) and nothing runs any more.
RUN_ALL_OVER = """(stderr) => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
    .map((e) => e.textContent.trim());
  if (prompts.length === 0 || prompts.some((t) => t === '[*]:')) return false;
  return prompts.every((t) => /^\\[\\d+\\]:$/.test(t))
    || document.querySelector('.jp-NotebookPanel ' + stderr) !== null;
}"""


def _run_quickstart_in_lab(base: str, token: str, chromium: str) -> dict[str, float]:
    """Open the quickstart in Lab, clear its stored outputs, run all cells, check the outputs."""
    from playwright.sync_api import expect, sync_playwright

    times: dict[str, float] = {}
    start = time.monotonic()
    urls: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-proxy-server"]
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.on("request", lambda request: urls.append(request.url))
            page = context.new_page()
            page.on("websocket", lambda ws: urls.append(ws.url))
            page.goto(f"{base}/lab/tree/{QUICKSTART}?token={token}")

            notebook = page.locator(".jp-NotebookPanel")
            status = page.locator("#jp-main-statusbar")
            expect(notebook.locator(".jp-CodeCell").first).to_be_visible(timeout=120_000)
            expect(status).to_contain_text(re.compile(r"\(ipykernel\) \| Idle"), timeout=120_000)
            times["open"] = time.monotonic() - start

            # The notebook is committed with its outputs: clear them, so every output checked
            # below comes from this run.
            page.locator(".lm-MenuBar-item", has_text="Edit").click()
            page.locator('.lm-Menu-item[data-command="editmenu:clear-all"]').click()
            expect(notebook.locator(".jp-OutputArea-output")).to_have_count(0)

            page.locator(".lm-MenuBar-item", has_text="Run").click()
            page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
            page.wait_for_function(RUN_ALL_OVER, arg=STDERR, timeout=300_000)
            expect(status).to_contain_text(re.compile(r"\(ipykernel\) \| Idle"), timeout=60_000)
            times["run all"] = time.monotonic() - start - times["open"]

            stderr = notebook.locator(STDERR).all_inner_texts()
            assert not stderr, "cells wrote errors:\n" + "\n---\n".join(stderr)

            prompts = notebook.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
            counts = [int(re.sub(r"\D", "", t)) for t in prompts]
            assert counts == list(range(counts[0], counts[0] + len(counts))), (
                f"the cells did not run once each, in order: {prompts}"
            )

            orders = (
                notebook.locator(".jp-CodeCell")
                .filter(has=page.locator(".jp-InputArea-editor", has_text="%%asset orders"))
                .first
            )
            expect(orders.locator(".jp-OutputArea-output").first).to_contain_text(ORDERS_LINE)
        finally:
            browser.close()

    left = sorted(
        {
            u
            for u in urls
            if urlsplit(u).scheme in {"http", "https", "ws", "wss"}
            and urlsplit(u).hostname != "127.0.0.1"
        }
    )
    assert not left, f"the page reached beyond 127.0.0.1: {left}"
    assert any(urlsplit(u).scheme == "ws" for u in urls), "no kernel websocket was seen"
    return times


def test_fresh_clone_demo_then_quickstart_in_lab_lists_the_assets(tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: there is no commit to clone")
    for tool in ("git", "make"):
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip(
            "Chromium is not installed (`make test` installs it: scripts/ensure-chromium.sh)"
        )

    env = _clean_env(tmp_path)
    clone = tmp_path / "arco"
    times: dict[str, float] = {}

    start = time.monotonic()
    _run(["git", "clone", "-q", str(ROOT), str(clone)], tmp_path, env, timeout=120)
    times["clone"] = time.monotonic() - start

    start = time.monotonic()
    _run(["make", "--no-print-directory", "demo"], clone, env, timeout=900)
    times["make demo"] = time.monotonic() - start

    # Without LAB_ARGS, `make lab` would open Lab on a port and token of its own choosing.
    assert "$(LAB_ARGS)" in (clone / "Makefile").read_text(), "`make lab` takes no LAB_ARGS"
    start = time.monotonic()
    with _make_lab(clone, env, tmp_path / "lab.log") as (base, token):
        times["make lab until Lab answers"] = time.monotonic() - start
        start = time.monotonic()
        times.update(_run_quickstart_in_lab(base, token, chromium))
        times["browser"] = time.monotonic() - start

    listed = json.loads(
        _run(
            [str(clone / ".venv" / "bin" / "arco"), "--workspace", WORKSPACE, "assets", "--json"],
            clone,
            env,
            timeout=120,
        )
    )
    status = {
        row["asset"]: asset_word(row["status"], materialized=bool(row["last_materialized"]))
        for row in listed
    }
    assert status.keys() >= ASSETS, f"`arco --workspace {WORKSPACE} assets` lists {status}"
    assert all(status[name] == MATERIALIZED for name in ASSETS), status
    print("newcomer's path timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))
