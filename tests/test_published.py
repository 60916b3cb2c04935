"""The published configuration, reproduced on the CPU: the whole site built in bfloat16 (the release
build runs Qwen2.5-1.5B in bf16 on CUDA), with the model loaded from a local directory, the path a
Hub model takes (`make check-published` runs this file alone).

bf16 logits have 8 significant bits, so tokens tie where float32 would separate them: every lesson's
hidden checks must hold there too, and the pages must say which dtype built them."""

from __future__ import annotations

import re

import pytest

from conftest import build_site, plotly_charts
from decoding_lessons.loading import ensure_embedded_model


@pytest.fixture(scope="module")
def bf16_site(tmp_path_factory):
    model_dir = str(ensure_embedded_model())
    site = tmp_path_factory.mktemp("site-bf16")
    result = build_site(site, {"DECODING_LESSONS_MODEL": model_dir, "DECODING_LESSONS_DTYPE": "bfloat16"})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-6000:]
    return site, model_dir, result


def test_every_lesson_builds_in_bfloat16(bf16_site):
    site, model_dir, result = bf16_site
    pages = sorted((site / "lessons").glob("*/index.html"))
    assert len(pages) >= 15
    for page in pages:
        html = page.read_text()
        info = re.search(r'<div class="dl-build-info">(.*?)</div>', html, re.S)
        assert info, page
        assert "<b>dtype</b>: <code>bfloat16</code>" in info.group(1), page
        assert model_dir in info.group(1), page
        assert plotly_charts(html), page
        assert "application/vnd.jupyter.stderr" not in html and "Traceback (most recent call last)" not in html, page
