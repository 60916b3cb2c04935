"""Slider frames are the captured scores, value by value; the figure carries exactly those frames."""

from __future__ import annotations

import pytest
import torch

import decoding_lessons as dl
from decoding_lessons.plotting.sliders import SliderFrame, slider_chart, slider_frames

GRIDS = [
    ("temperature", [0.1, 0.5, 1, 1.5, 2.0], None),
    ("top_k", [1, 2, 5, 10, 50, 0], None),
    ("top_p", [0.05, 0.3, 0.6, 0.9, 1.0], None),
    ("min_p", [0.0, 0.01, 0.05, 0.2, 0.5], None),
    ("top_p", [0.5, 0.9], dl.DecodingConfig(do_sample=True, temperature=0.7)),  # hidden top_k=50 kept in base
    ("repetition_penalty", [1.0, 1.5, 3.0], dl.DecodingConfig(do_sample=True, top_k=0)),
]


@pytest.mark.parametrize("parameter,values,base", GRIDS, ids=lambda v: str(v))
def test_frames_equal_the_captured_scores(cap, parameter, values, base):
    step = cap("The sky is")
    frames = slider_frames(step, parameter, values, base=base, k=12)
    assert [f.value for f in frames] == values
    ids = step.logits.topk(12).indices
    for value, frame in zip(values, frames):
        config = (base or dl.DecodingConfig(do_sample=True, top_k=0)).replace(**{parameter: value})
        assert frame.config == config
        scores = step.scores(config)
        probs = torch.softmax(scores, dim=-1)
        assert list(frame.token_ids) == ids.tolist()  # the k highest logits, the same in every frame
        assert list(frame.probs) == probs[ids].tolist()  # exactly softmax(scores) at the shown ids
        assert list(frame.kept) == torch.isfinite(scores[ids]).tolist()
        assert frame.kept_count == int(torch.isfinite(scores).sum())
        shown_kept_mass = sum(p for p, keep in zip(frame.probs, frame.kept) if keep)
        assert frame.rest_mass == pytest.approx(1 - shown_kept_mass, abs=1e-5)
        assert frame.entropy == pytest.approx(float(dl.entropy(scores)), abs=1e-6)


def test_frames_follow_the_parameter(cap):
    step = cap("2 + 2 = ")
    frames = slider_frames(step, "top_k", [1, 3, 7])
    assert [f.kept_count for f in frames] == [1, 3, 7]
    assert f"{frames[0].entropy:.2f}" == "0.00"  # one token left: 0, not "-0.00"
    assert [sum(f.kept) for f in frames] == [1, 3, 7]
    frames = slider_frames(step, "temperature", [0.25, 1, 2])  # integers are fine: stored as floats
    assert frames[0].entropy < frames[1].entropy < frames[2].entropy


def _apply_step(fig, i):
    """What plotly.js does when slider step ``i`` is selected ("update": restyle + relayout)."""
    data_update, layout_update, traces = fig.layout.sliders[0].steps[i].args
    state = {t: {} for t in traces}
    for key, values in data_update.items():
        for t, v in zip(traces, values):
            state[t][key] = v
    return state, layout_update


@pytest.mark.parametrize("parameter,values", [("temperature", [0.2, 0.7, 1.0, 1.8]), ("top_p", [0.1, 0.5, 0.9, 1.0])])
def test_figure_steps_equal_frames(cap, parameter, values):
    step = cap("The sky is")
    before = cap.forward_passes
    frames = slider_frames(step, parameter, values, k=15)
    fig = slider_chart(step, parameter, values, k=15)
    assert cap.forward_passes == before  # sliders reuse the captured logits
    slider = fig.layout.sliders[0]
    assert len(slider.steps) == len(values)
    assert slider.active == len(values) // 2
    for i, frame in enumerate(frames):
        assert slider.steps[i].method == "update"
        state, layout = _apply_step(fig, i)
        assert list(state[0]["y"]) == list(frame.probs)
        assert list(state[1]["y"]) == [frame.rest_mass]
        assert f"{frame.kept_count:,} of {step.logits.numel():,} tokens kept" in layout["title.text"]
        filtered = [c == dl.plotting.COLORS["filtered"] for c in state[0]["marker.color"]]
        assert filtered == [not keep for keep in frame.kept]
    # the figure as first shown is the active step's frame
    active = frames[slider.active]
    assert list(fig.data[0].y) == list(active.probs)
    assert list(fig.data[1].y) == [active.rest_mass]
    assert f"{active.kept_count:,} of" in fig.layout.title.text
    # the rest bar names how many tokens it holds, and the tokens are labelled readably
    assert f"{step.logits.numel() - 15:,}" in fig.layout.xaxis.ticktext[-1]
    assert len(fig.layout.xaxis.ticktext) == 16


def test_slider_chart_validates_input(cap):
    step = cap("The sky is")
    with pytest.raises(ValueError, match="`parameter` has to be a DecodingConfig field .* but is 'topk'"):
        slider_chart(step, "topk", [1, 2])
    with pytest.raises(ValueError, match="`values` has to be a non-empty sequence .* but is empty"):
        slider_chart(step, "top_k", [])
    with pytest.raises(ValueError, match="`values` has to be a non-empty sequence"):
        slider_frames(step, "top_k", 5)
    with pytest.raises(ValueError, match="`k` has to be an integer >= 1, but is 0"):
        slider_frames(step, "top_k", [1], k=0)
    with pytest.raises(ValueError, match="`active` has to be an integer in \\[0, 1\\], but is 2"):
        slider_chart(step, "top_k", [1, 2], active=2)
    with pytest.raises(ValueError, match="`temperature` has to be a float in the \\(0, inf\\) interval, but is 0"):
        slider_frames(step, "temperature", [0, 1.0])
    assert cap.forward_passes == 1


def test_frame_is_a_plain_record(cap):
    frame = slider_frames(cap("The sky is"), "top_k", [3], k=4)[0]
    assert isinstance(frame, SliderFrame)
    assert len(frame.token_ids) == len(frame.probs) == len(frame.kept) == 4
    assert sum(frame.probs) + frame.rest_mass == pytest.approx(1.0, abs=1e-5)


def test_sweep_chart_lines_are_the_frames(cap):
    steps = {"sky": cap("The sky is"), "France": cap("The capital of France is")}
    grid = [0.1, 0.5, 1.0, 2.0]
    fig = dl.sweep_chart(steps, "temperature", grid)
    for trace, step in zip(fig.data, steps.values()):
        assert list(trace.x) == grid
        assert list(trace.y) == [f.entropy for f in slider_frames(step, "temperature", grid)]
        assert list(trace.y) == sorted(trace.y)  # entropy rises with temperature
    kept = dl.sweep_chart(steps, "top_p", [0.5, 0.9], metric="kept")
    assert list(kept.data[0].y) == [int(torch.isfinite(steps["sky"].scores(dl.DecodingConfig(do_sample=True, top_k=0, top_p=v))).sum()) for v in (0.5, 0.9)]
    top = dl.sweep_chart(steps, "temperature", [1.0], metric="top_prob")
    assert top.data[1].y[0] == pytest.approx(float(steps["France"].probs(dl.DecodingConfig(do_sample=True, top_k=0)).max()))
    assert cap.forward_passes == 2
    with pytest.raises(ValueError, match="`metric` has to be one of 'entropy', 'kept', 'top_prob', but is 'H'"):
        dl.sweep_chart(steps, "temperature", grid, metric="H")
    with pytest.raises(ValueError, match="`steps` has to be a non-empty dict"):
        dl.sweep_chart({}, "temperature", grid)
