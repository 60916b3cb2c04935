"""Two clean builds on the same machine must give identical chart data: `make check-determinism`.

Builds the site twice, each time with its own empty notebook cache, so every lesson executes twice
from scratch, and compares page by page: every Plotly chart (data and layout), then the rest of the
notebook HTML. Too slow for the test suite on a 2-core CI machine (it executes every lesson twice);
``tests/test_build.py`` checks the same property on a small lesson in every run.

    python tests/check_determinism.py [--lessons 01_logits_scores_tokens 03_temperature] [--keep DIR]

``--lessons`` builds only those lessons (in a throw-away project with the real configuration).
The model is the build's (``DECODING_LESSONS_MODEL``, default ``embedded`` here). Exit status 1 if
any chart differs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import ROOT, build_site, new_project, plotly_charts  # noqa: E402

BODY = re.compile(r'<div class="jupyter-wrapper">.*?<!-- jupyter-wrapper -->', re.S)


def build(project: Path, out: Path, label: str) -> Path:
    started = time.monotonic()
    env = {k: os.environ[k] for k in ("DECODING_LESSONS_MODEL", "DECODING_LESSONS_DEVICE") if os.environ.get(k)}
    result = build_site(out / "site", env, cache_dir=out / "cache", project=project)
    if result.returncode != 0:
        sys.exit(f"build {label} failed:\n{result.stderr[-4000:]}")
    print(f"build {label}: {time.monotonic() - started:.0f} s", flush=True)
    return out / "site"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", help="lesson stems to build (default: all)")
    parser.add_argument("--keep", type=Path, help="keep both builds in this directory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="determinism-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    project = ROOT
    if args.lessons:
        lessons = {stem: (ROOT / "docs" / "lessons" / f"{stem}.py").read_text() for stem in args.lessons}
        project = new_project(work, lessons, name="project")
    try:
        first = build(project, work / "a", "A")
        second = build(project, work / "b", "B")
        pages = sorted(p.relative_to(first) for p in first.glob("lessons/*/index.html"))
        differing = 0
        print(f"{'lesson':40} {'charts':>6}  charts identical  page identical")
        for page in pages:
            a, b = (first / page).read_text(), (second / page).read_text()
            charts_a, charts_b = plotly_charts(a), plotly_charts(b)
            same_charts = charts_a == charts_b
            body_a, body_b = BODY.search(a), BODY.search(b)
            same_page = (body_a and body_b and body_a.group(0) == body_b.group(0)) or a == b
            differing += not same_charts
            print(f"{page.parent.name:40} {len(charts_a):>6}  {'yes' if same_charts else 'NO':>16}  {'yes' if same_page else 'no':>14}")
        total = sum(len(plotly_charts((first / p).read_text())) for p in pages)
        print(f"{len(pages)} lessons, {total} charts: {'all identical' if not differing else f'{differing} lesson(s) differ'}")
        return 1 if differing else 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
