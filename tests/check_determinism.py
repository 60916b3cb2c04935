"""Two clean builds on the same machine must give identical lesson pages: `make check-determinism`.

Builds the site twice, each time with its own empty notebook cache, so every lesson executes twice
from scratch, and compares page by page: every Plotly chart (data and layout), and the whole
notebook body (the ``jupyter-wrapper`` part: prose, tables, printed and sampled text, charts).
Too slow for the test suite on a 2-core CI machine (it executes every lesson twice);
``tests/test_build.py`` checks the same property on a small lesson in every run.

    python tests/check_determinism.py [--lessons 01_logits_scores_tokens 03_temperature] [--keep DIR]

``--lessons`` builds only those lessons (in a throw-away project with the real configuration).
The model is the build's (``DECODING_LESSONS_MODEL``, default ``embedded`` here). Exit status 1 if
any page's notebook body differs (a chart, or anything else in it: the differing pages are listed,
each with its first differing line), or if a page has no notebook body and differs at all.
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


def notebook_body(html: str) -> str | None:
    match = BODY.search(html)
    return match.group(0) if match else None


def first_difference(a: str, b: str, width: int = 160) -> str:
    """Where ``a`` and ``b`` part: the first differing line of each, clipped to ``width`` characters."""
    lines_a, lines_b = a.splitlines(), b.splitlines()
    for number, (x, y) in enumerate(zip(lines_a, lines_b), 1):
        if x != y:
            start = max(0, next(i for i, (p, q) in enumerate(zip(x + "\0", y + "\1")) if p != q) - width // 4)
            return f"line {number}:\n    A: {x[start : start + width]}\n    B: {y[start : start + width]}"
    return f"A has {len(lines_a)} lines, B has {len(lines_b)}"


def compare_page(a: str, b: str) -> dict:
    """How two builds of one page compare: its charts, and its notebook body (the whole page where
    either build has none). ``differs`` is what counts in the exit status."""
    charts_a, charts_b = plotly_charts(a), plotly_charts(b)
    body_a, body_b = notebook_body(a), notebook_body(b)
    has_body = body_a is not None and body_b is not None
    same = body_a == body_b if has_body else a == b
    other_a, other_b = (body_a, body_b) if has_body else (a, b)
    return {
        "charts": len(charts_a),
        "same_charts": charts_a == charts_b,
        "has_body": has_body,
        "differs": not same,
        "where": None if same else first_difference(other_a, other_b),
    }


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
        missing = sorted(p.relative_to(second) for p in second.glob("lessons/*/index.html") if p.relative_to(second) not in pages)
        differing: list[tuple[str, str]] = []
        total = 0
        print(f"{'lesson':40} {'charts':>6}  charts identical  notebook identical")
        for page in pages:
            other = second / page
            if not other.is_file():
                differing.append((page.parent.name, "missing from build B"))
                print(f"{page.parent.name:40} {'':>6}  {'':>16}  {'MISSING in B':>17}")
                continue
            result = compare_page((first / page).read_text(), other.read_text())
            total += result["charts"]
            if result["differs"]:
                what = "charts" if not result["same_charts"] else "not the charts: prose, tables or printed text"
                differing.append((page.parent.name, f"{what}{'' if result['has_body'] else ' (no notebook body: whole page compared)'}; {result['where']}"))
            print(
                f"{page.parent.name:40} {result['charts']:>6}  {'yes' if result['same_charts'] else 'NO':>16}  "
                f"{'NO' if result['differs'] else 'yes':>17}"
            )
        differing += [(page.parent.name, "missing from build A") for page in missing]
        print(f"{len(pages)} lessons, {total} charts: {'all identical' if not differing else f'{len(differing)} lesson(s) differ'}")
        for name, why in differing:
            print(f"  {name}: {why}")
        return 1 if differing else 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
