"""Every checkov finding that is not fixed is skipped next to the resource, with a reason."""

import re

from infra_hcl import INFRA

SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def skip_problems(text: str, where: str) -> list[str]:
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        if "checkov:skip" not in line:
            continue
        m = SKIP.search(line)
        if not m:
            problems.append(f"{where}:{number}: malformed skip")
        elif len((m.group(2) or "").split()) < 5:
            problems.append(f"{where}:{number}: {m.group(1)} skipped without a real reason")
    return problems


def test_every_skip_has_a_reason():
    problems = []
    for path in sorted(INFRA.rglob("*.tf")):
        problems += skip_problems(path.read_text(), str(path.relative_to(INFRA)))
    assert problems == []


def test_skip_check_catches_a_bare_or_token_reason():
    text = '  #checkov:skip=CKV_AWS_18\n  #checkov:skip=CKV_AWS_144:not needed\n  #checkov:skip=CKV_AWS_1:a reason of enough words here\n'
    assert skip_problems(text, "x.tf") == [
        "x.tf:1: CKV_AWS_18 skipped without a real reason",
        "x.tf:2: CKV_AWS_144 skipped without a real reason",
    ]
