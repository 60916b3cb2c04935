"""What `make test` does on a bare machine: find or install Chromium, or say in one line what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

SCRIPT = ROOT / "tests" / "ensure_chromium.sh"


def bare_path(tmp_path: Path) -> str:
    """A PATH with the shell tools the script uses, but no chromium, apt-get or sudo."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id", "env"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return str(bin_dir)


def test_without_chromium_or_apt_get_one_line_says_what_to_do(tmp_path):
    env = {"PATH": bare_path(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run([shutil.which("bash"), str(SCRIPT)], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "apt-get install chromium" in lines[0] and "CHROMIUM=" in lines[0] and "make test BROWSER=0" in lines[0]


def test_a_named_chromium_is_used_as_it_is(tmp_path):
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    env = {"PATH": bare_path(tmp_path), "DECODING_LESSONS_CHROMIUM": str(fake)}
    result = subprocess.run([shutil.which("bash"), str(SCRIPT)], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == str(fake)


def run_pytest(args, env_overrides):
    env = {**os.environ, **env_overrides}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_pytest_without_chromium_stops_with_one_line_not_an_error_per_test():
    result = run_pytest(["tests/test_browser.py", "--collect-only"], {"DECODING_LESSONS_CHROMIUM": "/nonexistent/chromium"})
    assert result.returncode == 4, result.stdout[-2000:]
    out = result.stdout + result.stderr
    assert "browser tests need Chromium, and /nonexistent/chromium is missing" in out
    assert "DECODING_LESSONS_NO_BROWSER=1" in out and "error" not in out.lower().replace("errors", "")


def test_browser_zero_deselects_the_browser_tests():
    result = run_pytest(["tests/test_browser.py", "tests/test_publish.py", "--collect-only"],
                        {"DECODING_LESSONS_CHROMIUM": "/nonexistent/chromium", "DECODING_LESSONS_NO_BROWSER": "1"})
    assert result.returncode in (0, 5), result.stdout[-2000:]
    assert "deselected" in result.stdout
    assert "test_lesson_page_in_the_browser" not in result.stdout
    assert "test_versions_json_lists_both_versions" in result.stdout  # the publish tests without a browser stay
    assert "test_the_deployed_versions_in_a_browser" not in result.stdout
