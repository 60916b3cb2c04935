"""DoLa (:func:`decoding_lessons.dola_decoding`) against transformers 4.55.4's own outputs, and its parts.

transformers 5 no longer runs ``dola_layers``; the fixture ``tests/reference/dola_4_55_4.json`` was
recorded with transformers 4.55.4's ``generate(dola_layers=...)`` on the embedded model by
``tests/reference/make_dola_455.py`` (greedy and sampled, "low", "high" and explicit layer lists,
with and without the repetition penalty). Every case must agree token for token, and every step's
processed scores must keep the same number of tokens with the same top score.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import decoding_lessons as dl
from decoding_lessons.search.dola import dola_candidate_layers, js_divergences, relative_top_contrast

REFERENCE = Path(__file__).resolve().parent / "reference" / "dola_4_55_4.json"
REF = json.loads(REFERENCE.read_text())
SCRIPT = "tests/reference/make_dola_455.py"


@pytest.fixture(scope="module")
def ref_lm(lm):
    """The embedded model, after checking that the fixture was recorded on these very weights."""
    from test_search_reference import sha256

    model_dir = Path(lm.model.name_or_path)
    recorded = REF["model"]
    if model_dir.name != recorded["dir_name"] or sha256(model_dir / "model.safetensors") != recorded["safetensors_sha256"]:
        pytest.fail(f"{REFERENCE.name} was recorded on other weights than {model_dir}: regenerate it with {SCRIPT}")
    assert REF["transformers_version"] == "4.55.4"
    assert lm.model.config.num_hidden_layers == recorded["num_hidden_layers"]
    return lm


def config_of(case) -> dl.DecodingConfig:
    return dl.DecodingConfig(**case["generate_kwargs"])


def test_the_fixture_covers_what_it_must():
    cases = REF["cases"]
    assert {c["dola_layers"] for c in cases if isinstance(c["dola_layers"], str)} == {"low", "high"}
    assert any(isinstance(c["dola_layers"], list) and len(c["dola_layers"]) == 1 for c in cases)  # no JS choice
    assert any(c["generate_kwargs"]["do_sample"] for c in cases)
    assert any(c["ended_early"] for c in cases)  # an EOS before the limit
    # the contrast changes something: somewhere the final layer's argmax was not taken (checked below
    # on our side too), and the relative-top filter kept a single token at some step
    assert any(1 in c["kept"] for c in cases)


@pytest.fixture(scope="module")
def runs(ref_lm):
    """Each recorded case run once (the equality test and the contrast test share the runs)."""
    done: dict = {}

    def run(case):
        if case["name"] not in done:
            done[case["name"]] = dl.dola_decoding(
                ref_lm, REF["prompts"][case["prompt"]]["ids"], dola_layers=case["dola_layers"], config=config_of(case),
                max_new_tokens=case["max_new_tokens"], seed=case["seed"],
            )
        return done[case["name"]]

    return run


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: c["name"])
def test_dola_equals_4_55(runs, case):
    result = runs(case)
    assert result.sequences.tolist() == case["sequences"]
    # the processed scores of every step, as generate(output_scores=True) reported them
    assert [int(torch.isfinite(s.scores).sum()) for s in result.steps] == case["kept"]
    # the top score to float32 rounding across CPUs: the fixture was recorded on another machine,
    # and torch's CPU matmul kernels (AVX2, AVX-512; Intel, AMD) add in different orders (measured:
    # up to 7.4e-6 of the score on an AMD EPYC, the contrast of two log-softmaxes
    # amplifying the last bits); the tokens and the kept counts above are equal exactly
    got = [float(s.scores.max()) for s in result.steps]
    assert got == pytest.approx(case["top_scores"], rel=3e-5, abs=1e-5), max(abs(a - b) for a, b in zip(got, case["top_scores"]))
    assert result.forward_passes == len(result.steps)


def test_the_contrast_overrules_the_final_layer(runs):
    """On the greedy cases, DoLa picks another token than the final layer's argmax at some step
    (otherwise it would be greedy decoding and the fixture would not test the contrast)."""
    flips = sum(s.flipped for case in REF["cases"] if not case["generate_kwargs"]["do_sample"] for s in runs(case).steps)
    assert flips >= 3


def test_the_chosen_layer_has_the_largest_divergence(ref_lm):
    result = dl.dola_decoding(ref_lm, "The capital of France is", "low", max_new_tokens=6, keep_layers=True)
    for step in result.steps:
        assert step.candidate_layers == dola_candidate_layers("low", ref_lm.model.config.num_hidden_layers, True)
        best = max(range(len(step.js_divergences)), key=lambda i: (step.js_divergences[i], -i))
        assert step.premature_layer == step.candidate_layers[best]
        assert set(step.layer_logprobs) == set(step.candidate_layers)
        assert torch.equal(step.layer_logprobs[step.premature_layer], step.premature_logprobs)
        # the contrast is the difference of the two log-distributions on the kept tokens, -inf elsewhere
        kept = step.kept
        assert torch.allclose(step.contrast[kept], step.final_logprobs[kept] - step.premature_logprobs[kept], atol=1e-5)
        assert torch.isneginf(step.contrast[~kept]).all()
        # the relative-top set: final-layer log p >= log p_max + log 0.1
        assert torch.equal(kept, step.final_logprobs >= step.final_logprobs.max() + math.log(0.1))


def test_candidate_layers_follow_4_55():
    assert dola_candidate_layers("low", 30, True) == [2, 4, 6, 8, 10, 12, 14]
    assert dola_candidate_layers("high", 30, True) == list(range(15, 30, 2))
    assert dola_candidate_layers("low", 30, False) == list(range(0, 15, 2))  # untied: the embeddings count
    assert dola_candidate_layers("low", 2, True) == [1]
    assert dola_candidate_layers("low", 1, True) == [0]
    assert dola_candidate_layers("low", 4, True) == [2]  # start == N // 2
    assert dola_candidate_layers("low", 48, True) == list(range(2, 20, 2))
    assert dola_candidate_layers("high", 48, True) == list(range(28, 48, 2))
    assert dola_candidate_layers([0, 5], 30, True) == [0, 5]


@pytest.mark.parametrize("bad", [[30], [-1], [], "middle", [2.0], [True], None, 3])
def test_dola_layers_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match=r"`dola_layers` has to be .*\[0, 29\].*but is"):
        dola_candidate_layers(bad, 30, True)


def test_dola_decoding_refuses_bad_input_before_running(ref_lm):
    with pytest.raises(ValueError, match=r"`dola_layers`.*\[0, 29\]"):
        dl.dola_decoding(ref_lm, "Hi", dola_layers=[30])
    with pytest.raises(ValueError, match="`max_new_tokens`"):
        dl.dola_decoding(ref_lm, "Hi", max_new_tokens=0)
    with pytest.raises(ValueError, match="`seed`"):
        dl.dola_decoding(ref_lm, "Hi", seed=1.5)


def test_js_divergences_by_hand():
    """JS with vocabulary-averaged KLs: for two 2-token distributions, by the formula."""
    m = torch.tensor([[0.9, 0.1]])
    q = torch.tensor([[0.5, 0.5]])
    a = 0.5 * (m + q)
    kl = lambda x, y: (x * (x / y).log()).mean()  # noqa: E731  (mean over the vocabulary, as transformers)
    expected = 0.5 * (kl(a, m) + kl(a, q))  # F.kl_div(log x, a) = sum a·(log a − log x): KL(a ‖ x)
    got = js_divergences(m.log(), q.log()[None])
    assert got.shape == (1,)
    assert math.isclose(float(got[0]), float(expected), rel_tol=1e-6)
    assert abs(float(js_divergences(m.log(), m.log()[None])[0])) < 1e-7  # zero, up to float32 rounding


def test_relative_top_contrast_by_hand():
    final = torch.log(torch.tensor([[0.5, 0.3, 0.16, 0.04]]))
    base = torch.log(torch.tensor([[0.7, 0.1, 0.1, 0.1]]))
    contrast, kept = relative_top_contrast(final, base)
    assert kept.tolist() == [[True, True, True, False]]  # 0.04 < 0.1 × 0.5 <= 0.16
    assert torch.allclose(contrast[0, :3], F.log_softmax(final, -1)[0, :3] - F.log_softmax(base, -1)[0, :3])
    assert torch.isneginf(contrast[0, 3])
    assert int(contrast.argmax()) == 1  # log(0.3/0.1) beats log(0.5/0.7) and log(0.16/0.1)


def test_the_charts_draw_what_the_run_recorded(ref_lm):
    result = dl.dola_decoding(ref_lm, "The capital of France is", "high", max_new_tokens=4)
    fig = dl.dola_chart(result, ref_lm, k=6)
    steps = fig.layout.sliders[0].steps
    assert len(steps) == len(result.steps) and len(fig.data) == 4 * len(result.steps)
    for i, (slider_step, s) in enumerate(zip(steps, result.steps)):
        visible = slider_step.args[0]["visible"]
        assert [j for j, v in enumerate(visible) if v] == list(range(4 * i, 4 * i + 4))
        low, high = slider_step.args[1]["xaxis2.range"]
        kept = s.contrast[s.kept]
        assert low <= float(kept.min()) and float(kept.max()) <= high  # every kept token's bar fits its step's axis
        ticks = slider_step.args[1]["yaxis.ticktext"]
        assert sum(t.startswith("✓") for t in ticks) == 1  # DoLa's choice, marked once
        final_bars = fig.data[4 * i]
        assert abs(max(final_bars.x) - float(s.final_logprobs.exp().max())) < 1e-6
    heat = dl.dola_layers_chart(result, ref_lm)
    assert len(heat.data[0].z) == len(result.steps[0].candidate_layers) and len(heat.data[0].z[0]) == len(result.steps)
    assert list(heat.data[1].y) == [str(s.premature_layer) for s in result.steps]
    single = dl.dola_decoding(ref_lm, "The capital of France is", [20], max_new_tokens=2)
    with pytest.raises(ValueError, match="at least 2 candidate layers"):
        dl.dola_layers_chart(single, ref_lm)
    with pytest.raises(ValueError, match="`k`"):
        dl.dola_chart(result, ref_lm, k=0)
