"""The rule charts draw the kept sets transformers' warpers keep, and their sliders switch between them."""

from __future__ import annotations

import math

import pytest
import torch

import decoding_lessons as dl
from decoding_lessons.plotting import rules as pt
from decoding_lessons.plotting import sliders
from decoding_lessons.plotting.theme import COLORS

BASE = dl.DecodingConfig(do_sample=True, top_k=0)


@pytest.fixture(scope="module")
def cap(lm):
    return dl.LogitCapture(lm)


def bar_kept(fig, tok_ids_getter=None):
    colors = fig.data[0].marker.color
    return [c == COLORS["kept"] for c in colors]


@pytest.mark.parametrize("prompt", ["The sky is", "My name is"])
@pytest.mark.parametrize("mass", [0.2, 0.5, 0.9])
def test_typicality_chart_marks_the_warpers_kept_set(cap, prompt, mass):
    step = cap(prompt)
    cfg = BASE.replace(typical_p=mass)
    fig = pt.typicality_chart(step, cfg, k=40)
    warper_kept = torch.isfinite(step.scores(cfg))  # transformers' TypicalLogitsWarper, via generate()'s chain
    ids = step.logits.topk(40).indices.tolist()  # the chart shows the 40 most likely tokens
    assert bar_kept(fig) == [bool(warper_kept[i]) for i in ids]
    # bars are surprisals; kept bars end inside the shaded band, cut bars outside
    band = next(s for s in fig.layout.shapes if s.type == "rect")
    for y, kept in zip(fig.data[0].y, bar_kept(fig)):
        assert (band.y0 - 1e-6 <= y <= band.y1 + 1e-6) == kept
    n = int(warper_kept.sum())
    assert f"{n:,} token{'' if n == 1 else 's'} kept" in fig.layout.title.text


def test_typicality_chart_with_earlier_warpers(cap):
    step = cap("The sky is")
    cfg = dl.DecodingConfig(do_sample=True, temperature=1.5, top_k=20, typical_p=0.5)
    fig = pt.typicality_chart(step, cfg, k=30)
    assert len(fig.data[0].y) == 20  # only the 20 tokens top-k let through can be shown
    kept = torch.isfinite(step.scores(cfg))
    ids = step.logits.topk(20).indices.tolist()
    assert bar_kept(fig) == [bool(kept[i]) for i in ids]


@pytest.mark.parametrize("prompt", ["My name is", "Once upon a time"])
@pytest.mark.parametrize("field, value", [("epsilon_cutoff", 1e-3), ("eta_cutoff", 2e-3), ("eta_cutoff", 3e-4)])
def test_threshold_chart_draws_the_cut(cap, prompt, field, value):
    step = cap(prompt)
    cfg = BASE.replace(**{field: value})
    fig = pt.threshold_chart(step, cfg)
    curve, kept_trace = fig.data
    n_kept = int(torch.isfinite(step.scores(cfg)).sum())
    # the kept trace ends exactly at rank n_kept; the whole curve lies above the cut up to there, below after
    assert max(kept_trace.x) == n_kept and list(kept_trace.x) == sorted(kept_trace.x)
    threshold = fig.layout.shapes[-1].y0
    assert min(kept_trace.y) >= threshold
    assert all(y < threshold for x, y in zip(curve.x, curve.y) if x > n_kept)
    assert all(y >= threshold for x, y in zip(curve.x, curve.y) if x <= n_kept)
    p = torch.softmax(step.logits, -1)
    h = float(-(p * p.log()).nansum())
    expected = value if field == "epsilon_cutoff" else min(value, math.sqrt(value) * math.exp(-h))
    assert threshold == pytest.approx(expected, rel=1e-4)
    assert f"{n_kept:,} of" in fig.layout.title.text


def test_eta_chart_names_the_active_term(cap):
    confident, uncertain = cap("Once upon a time"), cap("My name is")
    cfg = BASE.replace(eta_cutoff=2e-3)
    assert "cut: η = 0.002" in pt.threshold_chart(confident, cfg).layout.annotations[-1].text
    assert "cut: √η" in pt.threshold_chart(uncertain, cfg).layout.annotations[-1].text


@pytest.mark.parametrize("top_h", [0.2, 0.5, 0.9])
def test_top_h_chart(cap, top_h):
    step = cap("The sky is")
    cfg = BASE.replace(top_h=top_h)
    fig = pt.top_h_chart(step, cfg, k=100)
    kept = torch.isfinite(step.scores(cfg))
    ids = step.logits.topk(100).indices.tolist()
    assert bar_kept(fig) == [bool(kept[i]) for i in ids]
    tau = fig.layout.shapes[0].y0
    running = list(fig.data[1].y)
    assert all((r <= tau) == k for r, k in zip(running[1:], bar_kept(fig)[1:]))


@pytest.mark.parametrize(
    "parameter, values",
    [("typical_p", [0.2, 0.5, 0.95]), ("epsilon_cutoff", [3e-4, 3e-3]), ("eta_cutoff", [3e-4, 2e-3, 0.02]), ("top_h", [0.3, 0.9])],
)
def test_rule_slider_positions_equal_single_charts(cap, parameter, values):
    step = cap("The sky is")
    before = cap.forward_passes
    fig = pt.rule_slider(step, parameter, values, k=25)
    assert cap.forward_passes == before  # no forward pass for any position
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == [f"{v:g}" for v in values]
    for value, s in zip(values, steps):
        single = pt._CHARTS[parameter](step, BASE.replace(**{parameter: value}), 25)
        restyle, relayout, traces = s.args
        # applying the position's update to the figure gives the single chart for that value
        for key, per_trace in restyle.items():
            for j, v in zip(traces, per_trace):
                assert sliders._get(single.data[j].to_plotly_json(), key) == v, (key, j)
        for key in sliders._TRACE_KEYS:  # what is not restyled is the same in every position
            for j in set(range(len(single.data))) - set(traces) if key not in restyle else ():
                assert sliders._get(single.data[j].to_plotly_json(), key) == sliders._get(fig.data[j].to_plotly_json(), key)
        assert relayout["title.text"] == single.layout.title.text
    # the figure starts at the middle position
    middle = values[len(values) // 2]
    assert fig.layout.title.text == pt._CHARTS[parameter](step, BASE.replace(**{parameter: middle}), 25).layout.title.text


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: pt.typicality_chart(s, BASE), "`config.typical_p` has to be set to an active value for this chart, but is None"),
        (lambda s: pt.typicality_chart(s, BASE.replace(typical_p=0.5), k=0), "`k` has to be an integer >= 1, but is 0"),
        (lambda s: pt.threshold_chart(s, BASE.replace(epsilon_cutoff=1e-3), field="top_p"), "`field` has to be 'epsilon_cutoff' or 'eta_cutoff', but is 'top_p'"),
        (lambda s: pt.top_h_chart(s, BASE), "`config.top_h` has to be set to an active value for this chart, but is None"),
        (lambda s: pt.rule_slider(s, "top_p", [0.5]), "`parameter` has to be one of typical_p, epsilon_cutoff, eta_cutoff, top_h, but is 'top_p'"),
        (lambda s: pt.rule_slider(s, "top_h", []), "`values` has to be a non-empty sequence of values for `top_h`, but is []"),
        (lambda s: pt.rule_slider(s, "top_h", [1.5]), "`top_h` has to be a float in the (0, 1] interval, but is 1.5"),
    ],
)
def test_bad_input_is_refused(cap, call, message):
    with pytest.raises(ValueError) as err:
        call(cap("The sky is"))
    assert message in str(err.value)


def _label_centres(fig) -> list[float]:
    """Each line label's centre in pixels, on the scale the chart assumes for its plot area."""
    ymax = fig.layout.yaxis.range[1]
    return sorted(a.y / ymax * pt._PLOT_PX + (a.yshift or 0) for a in fig.layout.annotations)


@pytest.mark.parametrize("prompt", ["The sky is", "My name is"])
@pytest.mark.parametrize("mass", [0.05, 0.2, 0.5, 0.9, 0.99])
def test_typicality_chart_line_labels_do_not_touch(cap, prompt, mass):
    fig = pt.typicality_chart(cap(prompt), BASE.replace(typical_p=mass), k=40)
    texts = [a.text for a in fig.layout.annotations]
    assert any(t.startswith("H = ") for t in texts) and any(t.startswith("H + ") for t in texts)
    centres = _label_centres(fig)  # yshift is rounded to 0.1 px
    assert all(b - a >= pt.LABEL_GAP_PX - 0.1 for a, b in zip(centres, centres[1:])), (texts, centres)
    # each label stays next to its own line: shifted no further than the gap
    assert all(abs(a.yshift or 0) <= pt.LABEL_GAP_PX for a in fig.layout.annotations)


def test_spread_labels_moves_close_labels_apart_and_leaves_distant_ones():
    close = pt._spread_labels([dict(y=1.0), dict(y=1.01), dict(y=0.99)], ymax=10)
    centres = sorted(l["y"] / 10 * pt._PLOT_PX + l["yshift"] for l in close)
    assert centres[1] - centres[0] >= pt.LABEL_GAP_PX - 0.1 and centres[2] - centres[1] >= pt.LABEL_GAP_PX - 0.1
    # the order by height is kept: the highest line's label is still the highest
    assert max(close, key=lambda l: l["y"] / 10 * pt._PLOT_PX + l["yshift"])["y"] == 1.01
    far = pt._spread_labels([dict(y=1.0), dict(y=5.0)], ymax=10)
    assert [l["yshift"] for l in far] == [0, 0]


def test_typicality_chart_counts_one_kept_token_in_the_singular(cap):
    step = cap("The sky is")
    cfg = BASE.replace(typical_p=1e-6)  # keeps only the single most typical token
    assert int(torch.isfinite(step.scores(cfg)).sum()) == 1
    title = pt.typicality_chart(step, cfg, k=40).layout.title.text
    assert "1 token kept, probability rank " in title
    assert "1 tokens" not in title and "ranks" not in title
