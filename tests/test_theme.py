"""The page JSON of a chart: compacted without changing what the chart shows."""

import json
import math
import re

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from decoding_lessons.plotting.theme import SIGNIFICANT_DIGITS, _round_floats, compact_figure, figure_html, style


def _figure() -> go.Figure:
    fig = go.Figure(
        [
            go.Bar(x=["a", "b", "c"], y=[0.1234567890123, 1e-9 / 3, -13.403312683105469], hovertext=["0.123456789"] * 3),
            go.Scatter(x=[1, 2, 3], y=[float("nan"), 2 / 3, 7], mode="lines"),
        ],
        frames=[go.Frame(data=[go.Heatmap(z=[[1 / 3, 2 / 3]])])],
    )
    return style(fig, "title")


def _numbers(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)


def test_numbers_keep_six_significant_digits_and_strings_are_untouched():
    fig = _figure()
    full = json.loads(fig.to_json())
    small = compact_figure(fig)
    before, after = list(_numbers(full["data"])), list(_numbers(small["data"]))
    assert len(before) == len(after)
    for a, b in zip(before, after):
        if math.isnan(a):
            assert math.isnan(b)
        else:
            assert b == pytest.approx(a, rel=5e-6, abs=0)
    assert small["data"][0]["y"][0] == 0.123457
    assert small["data"][0]["hovertext"] == ["0.123456789"] * 3
    assert small["data"][0]["x"] == ["a", "b", "c"]


def test_template_keeps_its_layout_and_the_defaults_of_used_trace_types_only():
    small = compact_figure(_figure())
    template = small["layout"]["template"]
    assert set(template["data"]) == {"bar", "scatter", "heatmap"}
    reference = json.loads(_figure().to_json())["layout"]["template"]
    assert len(reference["data"]) > 20  # Plotly's default template: defaults for 24 trace types
    rounded = _round_floats(reference, SIGNIFICANT_DIGITS)
    assert template["layout"] == rounded["layout"]
    assert all(template["data"][k] == rounded["data"][k] for k in template["data"])


def test_the_page_fragment_is_smaller_and_deterministic():
    fig = _figure()
    plain = pio.to_html(fig, include_plotlyjs=False, full_html=False)
    ours = figure_html(fig)
    assert len(ours) < len(plain) - 3000
    assert "cdn" not in ours.lower()
    # the div id holds the chart's position in the run, then a digest of the figure: the rest is identical
    position = re.compile(r"dl-plot-\d+-")
    assert position.sub("dl-plot-", ours) == position.sub("dl-plot-", figure_html(_figure()))


def test_script_json_keeps_its_value_with_fewer_escapes():
    from conftest import plotly_charts

    text = ["<b>␣the</b><br>p = 0.5", "α·max cos", "a\\u003cb literal backslash-u", "</script><!--", "\u2028", "😀"]
    fig = go.Figure(go.Bar(x=[1, 2, 3, 4, 5, 6], y=[1, 2, 3, 4, 5, 6], hovertext=text, name="<i>x</i>"))
    plain = pio.to_html(fig, include_plotlyjs=False, full_html=False)
    ours = figure_html(fig)
    (_, data, layout), = plotly_charts(ours)
    assert data[0]["hovertext"] == text and data[0]["name"] == "<i>x</i>"
    assert "<b>␣the<\\/b><br>" in ours and "α" in ours  # written as themselves
    assert ours.count("</script>") == 1 and ours.count("<!--") == 0  # the text cannot end the script
    assert "\\u2028" in ours and "\\ud83d" in ours  # JS line separator and surrogate pairs stay escaped
    assert len(ours.encode()) < len(plain.encode())


def test_the_site_renderer_numbers_every_chart_it_emits():
    """Plotly renders through a copy of the registered renderer: the count must survive that, or two
    equal figures on one page would get the same div id."""
    import plotly.io as pio

    from decoding_lessons.plotting.theme import use_site_renderer

    previous = pio.renderers.default
    try:
        renderer = use_site_renderer()
        ids = [re.search(r'id="(dl-plot-[^"]+)"', pio.renderers._build_mime_bundle(_figure().to_dict())["text/html"]).group(1) for _ in range(3)]
        assert len(set(ids)) == 3 and [i.split("-")[2] for i in ids] == ["0", "1", "2"]
        assert renderer.charts == 3
    finally:
        pio.renderers.default = previous
