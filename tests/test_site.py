"""The built site: every lesson page executed, with real charts and no errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEWPLOT = re.compile(r'Plotly\.newPlot\(\s*"([^"]+)",\s*(\[.*?\]),\s*\{', re.S)


def lesson_sources() -> list[Path]:
    return sorted((ROOT / "docs" / "lessons").glob("*.py"))


def test_every_lesson_is_built(lesson_pages):
    built = {p.parent.name for p in lesson_pages}
    assert built == {p.stem for p in lesson_sources()}


def test_every_lesson_has_a_chart_with_data(lesson_pages):
    for page in lesson_pages:
        html = page.read_text()
        charts = NEWPLOT.findall(html)
        assert charts, f"{page}: no Plotly chart"
        for div_id, data in charts:
            traces = json.loads(data)
            assert traces and any(len(t.get("x", t.get("y", t.get("values", [])))) for t in traces), f"{page}: chart {div_id} is empty"


def test_no_error_output_in_pages(lesson_pages):
    for page in lesson_pages:
        html = page.read_text()
        assert "Traceback (most recent call last)" not in html, page
        assert 'jp-OutputArea-output" data-mime-type="application/vnd.jupyter.stderr"' not in html, f"{page}: stderr output"
        assert "<span class=\"ansi-red-fg\">" not in html, f"{page}: an error traceback was rendered"


def test_plotly_js_is_served_once_from_the_site(built_site, lesson_pages):
    assert (built_site / "assets" / "javascripts" / "plotly.min.js").stat().st_size > 1_000_000
    for page in lesson_pages:
        html = page.read_text()
        assert html.count("plotly.min.js") == 1, page
        assert "cdn.plot.ly" not in html and len(html) < 2_000_000, page


def test_every_lesson_states_its_build(lesson_pages):
    for page in lesson_pages:
        html = page.read_text()
        assert 'class="dl-build-info"' in html, page
        for key in ("model", "device", "dtype", "torch", "transformers"):
            assert f"<b>{key}</b>" in html, (page, key)
        assert "SmolLM2" in html, page
