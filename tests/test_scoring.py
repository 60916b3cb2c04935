"""The scores we compute equal the scores generate() reports: same processors, order and defaults."""

from __future__ import annotations

import pytest
import torch
from transformers import GenerationConfig

import decoding_lessons as dl
from decoding_lessons.scoring import GENERATE_DEFAULTS

CONFIGS = [
    dl.DecodingConfig(),
    dl.DecodingConfig(do_sample=True),  # the hidden top_k=50
    dl.DecodingConfig(do_sample=True, top_k=0),
    dl.DecodingConfig(do_sample=True, temperature=0.3, top_k=0),
    dl.DecodingConfig(do_sample=True, temperature=1.7, top_k=10),
    dl.DecodingConfig(do_sample=True, top_p=0.8, top_k=0),
    dl.DecodingConfig(do_sample=True, min_p=0.1, top_k=0),
    dl.DecodingConfig(do_sample=True, min_p=0.05, temperature=1.5),
    dl.DecodingConfig(do_sample=True, typical_p=0.6, top_k=0),
    dl.DecodingConfig(do_sample=True, epsilon_cutoff=3e-3, top_k=0),
    dl.DecodingConfig(do_sample=True, eta_cutoff=2e-3, top_k=0),
    dl.DecodingConfig(do_sample=True, top_h=0.4, top_k=0),
    dl.DecodingConfig(repetition_penalty=1.8),
    dl.DecodingConfig(repetition_penalty=0.6, do_sample=True, top_p=0.9),
    dl.DecodingConfig(no_repeat_ngram_size=2),
    dl.DecodingConfig(
        do_sample=True, temperature=0.8, top_k=40, top_p=0.95, min_p=0.02, typical_p=0.9,
        epsilon_cutoff=1e-4, eta_cutoff=1e-3, top_h=0.9, repetition_penalty=1.3, no_repeat_ngram_size=3,
    ),
    dl.DecodingConfig(watermarking_config={"bias": 2.0}),  # after every other processor, greedy or sampled
    dl.DecodingConfig(do_sample=True, top_p=0.9, watermarking_config={"seeding_scheme": "selfhash", "context_width": 2}),
]
PROMPTS = ["2 + 2 = ", "The sky is", "New York is in New York. New York"]


def generate_step(lm, prompt, cfg):
    out = dl.reference_generate(lm, prompt, cfg, max_new_tokens=1, scores=True, logits=True)
    return out.logits[0][0], out.scores[0][0]


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.describe())
def test_scores_equal_generate(lm, cap, prompt, cfg):
    logits, scores = generate_step(lm, prompt, cfg)
    step = cap(prompt)
    assert torch.equal(step.logits, logits)
    assert torch.equal(step.scores(cfg), scores)


def test_hidden_top_k_50_when_sampling(cap):
    step = cap("The sky is")
    assert int(torch.isfinite(step.scores(dl.DecodingConfig(do_sample=True))).sum()) == 50
    assert int(torch.isfinite(step.scores(dl.DecodingConfig(do_sample=True, top_k=0))).sum()) == step.logits.numel()


def test_defaults_match_installed_transformers():
    defaults = GenerationConfig._get_default_generation_params()
    for key, value in GENERATE_DEFAULTS.items():
        assert defaults.get(key) == value, key


def test_greedy_config_leaves_logits_unchanged(cap):
    step = cap("2 + 2 = ")
    assert torch.equal(step.scores(dl.DecodingConfig(temperature=0.5)), step.logits)  # no sampling: no warpers


def test_repetition_penalty_formula(cap):
    """transformers' rule: logit / p when positive, logit * p when negative, for tokens in the context."""
    step = cap("New York is in New York. New York")
    penalty = 1.5
    scores = step.scores(dl.DecodingConfig(repetition_penalty=penalty))
    seen = set(step.input_ids[0].tolist())
    for token in range(step.logits.numel()):
        logit = float(step.logits[token])
        if token in seen:
            expected = logit / penalty if logit > 0 else logit * penalty
        else:
            expected = logit
        assert abs(float(scores[token]) - expected) < 1e-5


def test_entropy_matches_definition(cap):
    step = cap("The sky is")
    p = torch.softmax(step.logits, -1)
    assert abs(step.entropy() - float(-(p * p.log()).sum())) < 1e-4
    assert step.entropy(dl.DecodingConfig(do_sample=True, top_k=1)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0}, "`temperature` has to be a float in the (0, inf) interval, but is 0"),
        ({"temperature": -1.0}, "`temperature` has to be a float in the (0, inf) interval, but is -1.0"),
        ({"top_k": -1}, "`top_k` has to be an integer >= 0, but is -1"),
        ({"top_k": 2.5}, "`top_k` has to be an integer >= 0, but is 2.5"),
        ({"top_p": 1.2}, "`top_p` has to be a float in the [0, 1] interval, but is 1.2"),
        ({"min_p": 1.3}, "`min_p` has to be a float in the [0, 1] interval, but is 1.3"),
        ({"typical_p": 0.0}, "`typical_p` has to be a float in the (0, 1] interval, but is 0.0"),
        ({"epsilon_cutoff": 1.0}, "`epsilon_cutoff` has to be a float in the [0, 1) interval, but is 1.0"),
        ({"eta_cutoff": -0.1}, "`eta_cutoff` has to be a float in the [0, 1) interval, but is -0.1"),
        ({"top_h": 1.5}, "`top_h` has to be a float in the (0, 1] interval, but is 1.5"),
        ({"repetition_penalty": 0.0}, "`repetition_penalty` has to be a float in the (0, inf) interval, but is 0.0"),
        ({"no_repeat_ngram_size": -2}, "`no_repeat_ngram_size` has to be an integer >= 0, but is -2"),
        ({"do_sample": "yes"}, "`do_sample` has to be True or False, but is 'yes'"),
        ({"top_p": float("nan")}, "`top_p` has to be a float in the [0, 1] interval, but is nan"),
        ({"watermarking_config": {"greenlist_ratio": 1.0}},
         "`watermarking_config.greenlist_ratio` has to be a float in the (0, 1) interval, but is 1.0"),
    ],
)
def test_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(ValueError) as err:
        dl.DecodingConfig(**kwargs)
    assert str(err.value).startswith(message)


def test_temperature_zero_explains_greedy():
    with pytest.raises(ValueError, match="do_sample=False"):
        dl.DecodingConfig(do_sample=True, temperature=0)
