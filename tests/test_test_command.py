"""The README's test command on a fresh machine (issue 13, "A test command that passes on a fresh
machine"): missing tools are named before anything is built, the Python tools live in a virtual
environment, and the emulators scripts/test starts never outlive it, however it ends."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EMULATOR_URLS = ("NOIDA_URL", "OSMEM_URL", "MOTO_URL")


def _bin_dir(tmp_path: Path, links: list[str], stubs: dict[str, str]) -> Path:
    """A PATH directory holding only the named real commands and some shell-script stubs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in links:
        real = sys.executable if name == "python3" else shutil.which(name)
        assert real, f"{name} is not installed on this machine"
        (bin_dir / name).symlink_to(real)
    for name, body in stubs.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + body + "\n")
        path.chmod(0o755)
    return bin_dir


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in EMULATOR_URLS + ("VIRTUAL_ENV", "SKIP_TERRAFORM")}
    env.update(extra)
    return env


def test_missing_tools_are_named_before_anything_is_built(tmp_path):
    marker = tmp_path / "cargo-ran"
    # cargo and cargo-nextest are there (the stub answers `cargo nextest --version`); Terraform and
    # docker-compose are not. Nothing may be built before the missing ones are reported.
    bin_dir = _bin_dir(
        tmp_path,
        ["bash", "dirname", "python3", "sha256sum", "cut", "cat", "mktemp", "rm", "seq", "sleep"],
        {"cargo": f'[ "$1 $2" = "nextest --version" ] && exit 0\ntouch {marker}\nexit 0'},
    )
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "test")],
        env=_clean_env(PATH=str(bin_dir), VOCAB_VENV=str(tmp_path / "venv")),
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode != 0
    assert not marker.exists(), "scripts/test started building before reporting the missing tools"
    assert "docker-compose: " in out.stderr and "apt-get install --no-install-recommends docker-compose" in out.stderr
    assert "terraform: Terraform 1.11 or later" in out.stderr
    assert "SKIP_TERRAFORM=1" in out.stderr
    assert not (tmp_path / "venv").exists(), "nothing is installed while a tool is missing"


def test_python_tools_go_into_a_virtual_environment_updated_when_requirements_change(tmp_path):
    # A stock Debian python3 refuses `pip install` outside a virtual environment (PEP 668).
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to download in this test\n")
    bin_dir = _bin_dir(tmp_path, [], {"docker-compose": "exit 0"})
    venv = tmp_path / "venv"
    env = _clean_env(
        PATH=f"{bin_dir}:{os.environ['PATH']}", VOCAB_VENV=str(venv), VOCAB_REQUIREMENTS=str(requirements),
        SKIP_TERRAFORM="1",
    )
    script = f'source {ROOT / "scripts" / "dev-env.sh"} && echo "$VIRTUAL_ENV" && command -v python3'

    def run():
        return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300)

    first = run()
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == [str(venv), str(venv / "bin" / "python3")]
    assert "creating the virtual environment" in first.stderr and "installing" in first.stderr
    again = run()
    assert again.returncode == 0 and "installing" not in again.stderr, "unchanged requirements are not reinstalled"
    requirements.write_text("# changed\n")
    changed = run()
    assert changed.returncode == 0 and "installing" in changed.stderr


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has already exited


def _start_emulators(script_tail: str) -> tuple[subprocess.Popen, list[int]]:
    if not shutil.which("moto_server"):
        pytest.skip("the emulators are not installed (scripts/test installs them into .venv)")
    script = f'set -e; source {ROOT / "scripts" / "emulators.sh"}; echo "PIDS ${{_emu_pids[*]}}"; {script_tail}'
    proc = subprocess.Popen(["bash", "-c", script], env=_clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    assert line.startswith("PIDS "), line
    pids = [int(p) for p in line.split()[1:]]
    assert pids and all(_alive(p) for p in pids)
    return proc, pids


def _wait_gone(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.1)
    for p in alive:  # don't leave them behind when the test fails
        os.kill(p, signal.SIGKILL)
    return alive


def test_emulators_stop_when_a_later_step_fails():
    proc, pids = _start_emulators("sleep 2; false")
    assert proc.wait(timeout=30) != 0
    assert _wait_gone(pids) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=lambda s: signal.Signals(s).name)
def test_emulators_stop_when_the_test_run_is_killed(sig):
    # A CI runner's timeout, Ctrl-C, a closed terminal; SIGKILL runs no trap at all.
    proc, pids = _start_emulators("while :; do sleep 1; done")
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert _wait_gone(pids) == [], f"emulators outlived a {signal.Signals(sig).name}"
