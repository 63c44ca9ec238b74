"""Versioned, reviewable releases: the version follows the clinical content, and every answer
says which version gave it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from rules import release
from tests.archetypes import build
from tests.cds_hooks.golden_cases import CASES

ROOT = Path(__file__).resolve().parents[1]
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def test_the_catalogue_is_the_release_recorded_for_its_version() -> None:
    """A rule, threshold, code set, passage or When/Then that changes changes the fingerprint:
    record a new version (rules/release.py) and its CHANGELOG.md entry."""
    assert SEMVER.match(release.VERSION)
    assert release.fingerprint() == release.FINGERPRINT, (
        f"the rule catalogue changed: `python -m rules.release` gives {release.fingerprint()};"
        " raise VERSION, record FINGERPRINT and add the CHANGELOG.md entry"
    )
    assert release.RULESET_VERSION == f"{release.VERSION}+{release.FINGERPRINT[7:19]}"


def test_the_changelog_records_the_current_version_and_its_fingerprint() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (\S+)", text, re.MULTILINE)
    assert headings[0] == release.VERSION, "the newest entry comes first"
    entry = text.split(f"## {release.VERSION}", 1)[1].split("\n## ", 1)[0]
    assert f"Fingerprint: `{release.FINGERPRINT}`" in entry


def test_the_fingerprint_ignores_formatting_and_comments(tmp_path: Path, monkeypatch: Any) -> None:
    """The same syntax tree gives the same fingerprint (the format check may rewrap lines);
    a changed threshold does not."""
    for path in release.knowledge_modules():
        target = tmp_path / path.relative_to(release.RULES_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(release, "RULES_DIR", tmp_path)
    caps = tmp_path / "oral" / "caps.py"
    original = caps.read_text(encoding="utf-8")

    def fingerprint_of(text: str) -> str:
        caps.write_text(text, encoding="utf-8")
        release.fingerprint.cache_clear()
        return release.fingerprint()

    try:
        base = fingerprint_of(original)
        assert base == release.FINGERPRINT
        reformatted = original.replace(
            "MAX_MG_DAY_UNDER_8 = 40", "MAX_MG_DAY_UNDER_8 = (\n    40  # comment\n)"
        )
        assert reformatted != original and fingerprint_of(reformatted) == base
        padded = original.replace('"""Oral daily maxima', '""" Oral daily maxima', 1)
        assert padded != original and fingerprint_of(padded) == base
        assert (
            fingerprint_of(original.replace("MAX_MG_DAY_UNDER_8 = 40", "MAX_MG_DAY_UNDER_8 = 45"))
            != base
        )
    finally:
        release.fingerprint.cache_clear()


def test_every_answer_carries_the_version(client: TestClient) -> None:
    """The native response, the health check, the catalogue and every CDS Hooks card."""
    from tests.cds_hooks.ehr import call

    version = release.RULESET_VERSION
    body = client.post("/v1/safety-checks", json=build("adult_oral")).json()
    assert body["ruleset_version"] == version
    assert client.get("/healthz").json()["ruleset_version"] == version
    assert client.get("/v1/rules").json()["ruleset_version"] == version
    details = [
        c["detail"]
        for request, _ in CASES.values()
        for c in call(client, request()).json()["cards"]
    ]
    assert len(details) > len(CASES) / 2
    assert all(f"_Baclofen safety checks {version}" in d for d in details)
