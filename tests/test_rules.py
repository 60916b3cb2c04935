"""Our step-by-step readings of typical-p, ε, η and Top-H keep exactly the tokens transformers' warpers keep."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import EpsilonLogitsWarper, EtaLogitsWarper, TopHLogitsWarper, TypicalLogitsWarper

import decoding_lessons as dl
from decoding_lessons import rules as tr

@pytest.fixture(scope="module")
def cap(lm):
    """One capture for the whole module: each prompt is run through the model once."""
    return dl.LogitCapture(lm)


PROMPTS = ["The sky is", "My name is", "Once upon a time", "2 + 2 = "]


def warper_keep(warper, scores):
    return torch.isfinite(warper(torch.zeros(1, 1, dtype=torch.long), scores.clone().reshape(1, -1))[0])


def random_scores(seed, vocab=500, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(vocab, generator=g) * scale


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("mass", [0.05, 0.2, 0.5, 0.9, 0.99])
def test_typical_rule_matches_warper_on_the_model(cap, prompt, mass):
    step = cap(prompt)
    cfg = dl.DecodingConfig(do_sample=True, top_k=0, typical_p=mass)
    rule = tr.typical_rule(tr.scores_entering(step, cfg, "typical_p"), mass)
    assert torch.equal(rule.keep, torch.isfinite(step.scores(cfg)))
    # the kept set is exactly the tokens whose surprisal lies within [H - cutoff, H + cutoff]
    inside = (rule.surprisal - rule.entropy).abs() <= rule.cutoff
    assert torch.equal(rule.keep, inside)


def test_typical_rule_after_earlier_warpers(cap):
    """Temperature and top-k act first; the rule sees their output (filtered tokens included)."""
    step = cap("The sky is")
    cfg = dl.DecodingConfig(do_sample=True, temperature=1.4, top_k=40, typical_p=0.6)
    entering = tr.scores_entering(step, cfg, "typical_p")
    assert int(torch.isfinite(entering).sum()) == 40
    assert torch.equal(tr.typical_rule(entering, 0.6).keep, torch.isfinite(step.scores(cfg)))


@pytest.mark.parametrize("seed", range(20))
def test_typical_rule_matches_warper_on_random_scores(seed):
    scores = random_scores(seed)
    for mass in (0.1, 0.5, 0.95):
        assert torch.equal(tr.typical_rule(scores, mass).keep, warper_keep(TypicalLogitsWarper(mass), scores))


def test_typical_can_drop_the_most_likely_token():
    # one dominant token and a flat tail: the dominant token is far less surprising than average
    scores = torch.cat([torch.tensor([6.0]), torch.zeros(2000)])
    rule = tr.typical_rule(scores, 0.3)
    assert not rule.keep[0]
    assert torch.equal(rule.keep, warper_keep(TypicalLogitsWarper(0.3), scores))


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("value", [3e-4, 1e-3, 9e-3, 0.2, 0.9])
def test_epsilon_and_eta_rules_match_generate(cap, prompt, value):
    step = cap(prompt)
    for field, rule_fn in (("epsilon_cutoff", tr.epsilon_rule), ("eta_cutoff", tr.eta_rule)):
        cfg = dl.DecodingConfig(do_sample=True, top_k=0, **{field: value})
        rule = rule_fn(tr.scores_entering(step, cfg, field), value)
        assert torch.equal(rule.keep, torch.isfinite(step.scores(cfg))), field
        assert rule.keep.any()


@pytest.mark.parametrize("seed", range(10))
def test_epsilon_and_eta_rules_match_warpers_on_random_scores(seed):
    scores = random_scores(seed, scale=1.0 + seed)
    for value in (1e-4, 3e-3, 0.05, 0.5):
        assert torch.equal(tr.epsilon_rule(scores, value).keep, warper_keep(EpsilonLogitsWarper(value), scores))
        assert torch.equal(tr.eta_rule(scores, value).keep, warper_keep(EtaLogitsWarper(value), scores))


def test_eta_threshold_formula():
    for h in (0.0, 0.5, 3.0, 6.0, 9.0):
        for eta in (3e-4, 2e-3, 0.1):
            assert tr.eta_threshold(h, eta) == pytest.approx(min(eta, math.sqrt(eta) * math.exp(-h)))
    eta = 2e-3
    switch = -0.5 * math.log(eta)  # below: the cutoff is eta itself; above: it decays
    assert tr.eta_threshold(switch - 0.1, eta) == eta
    assert tr.eta_threshold(switch + 0.1, eta) < eta


def test_eta_rule_threshold_uses_the_entropy():
    scores = random_scores(3)
    rule = tr.eta_rule(scores, 2e-3)
    p = scores.softmax(-1)
    h = float(-(p * p.log()).sum())
    assert rule.entropy == pytest.approx(h, rel=1e-5)
    assert rule.threshold == pytest.approx(tr.eta_threshold(h, 2e-3), rel=1e-5)


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("top_h", [0.05, 0.3, 0.5, 0.8, 1.0])
def test_top_h_rule_matches_generate(cap, prompt, top_h):
    step = cap(prompt)
    cfg = dl.DecodingConfig(do_sample=True, top_k=0, top_h=top_h)
    rule = tr.top_h_rule(tr.scores_entering(step, cfg, "top_h"), top_h)
    assert torch.equal(rule.keep, torch.isfinite(step.scores(cfg)))
    assert int(rule.keep.sum()) == rule.n_kept <= tr.TOP_H_CANDIDATES


@pytest.mark.parametrize("seed", range(10))
def test_top_h_rule_matches_warper_on_random_scores(seed):
    scores = random_scores(seed, vocab=300, scale=0.5 + seed / 2)
    for top_h in (0.1, 0.4, 0.7, 1.0):
        assert torch.equal(tr.top_h_rule(scores, top_h).keep, warper_keep(TopHLogitsWarper(top_h), scores))


def test_top_h_rule_numbers():
    scores = random_scores(0, vocab=1000)
    rule = tr.top_h_rule(scores, 0.5)
    assert rule.candidates.numel() == 100 and torch.equal(rule.candidates, scores.topk(100).indices)
    assert float(rule.q.sum()) == pytest.approx(1.0, abs=1e-5)
    assert rule.entropy_candidates == pytest.approx(float(rule.terms.sum()), rel=1e-5)
    assert rule.tau == pytest.approx(0.5 * rule.entropy_candidates, rel=1e-6)
    # kept: a prefix of the candidates whose running entropy sum stays within tau
    assert bool((rule.cumulative[: rule.n_kept] <= rule.tau).all())
    assert float(rule.cumulative[rule.n_kept]) > rule.tau
    assert not rule.keep[scores.topk(101).indices[100]]  # never beyond the top 100


def test_scores_entering_applies_only_earlier_warpers(cap):
    step = cap("The sky is")
    cfg = dl.DecodingConfig(do_sample=True, temperature=0.5, top_k=0, top_p=0.9, eta_cutoff=1e-3)
    assert torch.equal(tr.scores_entering(step, cfg, "temperature"), step.logits)
    assert torch.equal(tr.scores_entering(step, cfg, "top_p"), step.logits / 0.5)
    assert torch.equal(tr.scores_entering(step, cfg, "eta_cutoff"), step.scores(cfg.replace(eta_cutoff=0.0)))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: tr.typical_rule(s, 1.0), "`typical_p` has to be a float in the (0, 1) interval, but is 1.0"),
        (lambda s: tr.epsilon_rule(s, 0.0), "`epsilon_cutoff` has to be a float in the (0, 1) interval, but is 0.0"),
        (lambda s: tr.eta_rule(s, 1.5), "`eta_cutoff` has to be a float in the (0, 1) interval, but is 1.5"),
        (lambda s: tr.top_h_rule(s, 0), "`top_h` has to be a float in the (0, 1] interval, but is 0"),
        (lambda s: tr.typical_rule(s.reshape(1, -1), 0.5), "`scores` has to be a non-empty 1-D tensor"),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError) as err:
        call(torch.zeros(10))
    assert message in str(err.value)


def test_scores_entering_refuses_unknown_warper(cap):
    with pytest.raises(ValueError, match="`warper` has to be one of temperature, .* but is 'top_q'"):
        tr.scores_entering(cap("The sky is"), dl.DecodingConfig(do_sample=True), "top_q")
