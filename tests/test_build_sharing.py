"""Issue 15, "the build is part of the first impression": the README's first command (a dev build
of the shipper) compiles what the test command compiles, so a newcomer pays for the shipper's
dependencies once. Cargo resolves dependency features per command; `workspace-hack/` gives the
shipper's dependencies the workspace test build's features, and this test catches the day a new
dependency or feature sets them apart again (each such crate is then compiled twice)."""

import base64
import gzip
import json
import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_first_command() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    return shlex.split(commands[0])


def _features(*args: str) -> dict[str, set[str]]:
    """Each package → its features, as `cargo tree` resolves them for one command's selection."""
    out = subprocess.run(
        ["cargo", "tree", "--locked", "--prefix", "none", "-f", "{p}|{f}", *args],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    features: dict[str, set[str]] = {}
    for line in out.splitlines():
        package, _, names = line.removesuffix(" (*)").partition("|")
        features.setdefault(package.strip(), set()).update(n for n in names.split(",") if n)
    return features


def test_issue_15_the_shipper_and_the_workspace_tests_build_shared_crates_with_the_same_features():
    shipper = _features("-p", "shipper", "-e", "normal")
    workspace = _features("--workspace", "-e", "normal,dev")
    apart = {
        package: sorted(workspace[package] - features)
        for package, features in shipper.items()
        if package in workspace and workspace[package] != features
    }
    assert not apart, (
        "these crates would be compiled twice (once by `cargo run -p shipper`, once by the tests); "
        f"add the features to workspace-hack/Cargo.toml: {json.dumps(apart, indent=1)}"
    )


def test_issue_15_the_readmes_first_command_reuses_the_test_build_and_prints_bulk_actions():
    command = _readme_first_command()
    assert command[:4] == ["cargo", "run", "-p", "shipper"], command
    # The tests' own build (a no-op when scripts/test has just run it).
    subprocess.run(["cargo", "nextest", "run", "--workspace", "--no-run"], cwd=ROOT, check=True,
                   capture_output=True, timeout=3600)
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert run.returncode == 0, run.stderr
    compiled = re.findall(r"^\s*Compiling (\S+)", run.stderr, re.MULTILINE)
    assert not compiled, f"the first command compiled what the tests had not: {compiled}"
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    actions, documents = lines[0::2], lines[1::2]
    payload = json.loads((ROOT / command[-1]).read_text())
    fixture = json.loads(gzip.decompress(base64.b64decode(payload["awslogs"]["data"])))
    assert len(actions) == len(fixture["logEvents"]) == len(documents)
    assert [a["create"]["_id"] for a in actions] == [e["id"] for e in fixture["logEvents"]]
    assert all(d["message"] for d in documents)
