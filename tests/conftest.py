"""Shared fixtures: the embedded model (real weights, no network) loaded once per session."""

from __future__ import annotations

import pytest

import decoding_lessons as dl


@pytest.fixture(scope="session")
def lm():
    return dl.load_model("embedded", device="cpu")


@pytest.fixture()
def cap(lm):
    return dl.LogitCapture(lm)


import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_site(site_dir: Path, env_overrides: dict | None = None, cache_dir: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``mkdocs build --strict`` into ``site_dir`` with the embedded model on the CPU."""
    env = dict(os.environ)
    env.update({"DECODING_LESSONS_MODEL": "embedded", "DECODING_LESSONS_DEVICE": "cpu", "NO_MKDOCS_2_WARNING": "1"})
    env.update(env_overrides or {})
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The whole site, built once per test session (the notebook cache makes rebuilds cheap)."""
    site = tmp_path_factory.mktemp("site")
    result = build_site(site)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return site


@pytest.fixture(scope="session")
def lesson_pages(built_site) -> list[Path]:
    pages = sorted((built_site / "lessons").glob("*/index.html"))
    assert pages, "no lesson pages were built"
    return pages
