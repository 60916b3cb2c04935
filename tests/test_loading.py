"""Model choice, the embedded model's cache, and clear errors."""

from __future__ import annotations

import time

import pytest
import torch

import decoding_lessons as dl
from decoding_lessons import loading


def test_auto_without_cuda_is_embedded_in_float32(monkeypatch):
    monkeypatch.delenv(loading.MODEL_ENV, raising=False)
    monkeypatch.delenv(loading.DEVICE_ENV, raising=False)
    monkeypatch.setattr(loading, "_cuda_available", lambda: False)
    choice = dl.resolve_choice()
    assert (choice.name, choice.device, choice.dtype) == ("embedded", "cpu", torch.float32)


def test_auto_with_cuda_is_the_published_model_in_bf16(monkeypatch):
    monkeypatch.delenv(loading.MODEL_ENV, raising=False)
    monkeypatch.delenv(loading.DEVICE_ENV, raising=False)
    monkeypatch.setattr(loading, "_cuda_available", lambda: True)
    choice = dl.resolve_choice()
    assert (choice.name, choice.device, choice.dtype) == ("Qwen/Qwen2.5-1.5B", "cuda", torch.bfloat16)


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv(loading.MODEL_ENV, "some/model")
    monkeypatch.setenv(loading.DEVICE_ENV, "cpu")
    choice = dl.resolve_choice()
    assert (choice.name, choice.device) == ("some/model", "cpu")
    assert dl.resolve_choice("embedded").name == "embedded"  # an argument beats the environment


def test_cuda_requested_without_cuda_is_refused(monkeypatch):
    monkeypatch.setattr(loading, "_cuda_available", lambda: False)
    with pytest.raises(ValueError, match="`device` is 'cuda'"):
        dl.resolve_choice("embedded", "cuda")


def test_bad_dtype_is_refused():
    with pytest.raises(ValueError, match="`dtype` must be one of"):
        dl.resolve_choice("embedded", "cpu", "int3")


def test_unreachable_hub_model_gives_a_clear_error(monkeypatch):
    import huggingface_hub.constants

    # huggingface_hub reads HF_HUB_OFFLINE when it is imported (it already is): set both, or every
    # request is retried against the unreachable Hub (46 s)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(dl.ModelLoadError) as err:
        dl.load_model("decoding-lessons/no-such-model", device="cpu")
    message = str(err.value)
    assert "decoding-lessons/no-such-model" in message
    assert "Hub" in message and "MODEL=embedded" in message


def test_local_directory_without_a_model_gives_a_clear_error(tmp_path):
    with pytest.raises(dl.ModelLoadError, match="holds no loadable model"):
        dl.load_model(str(tmp_path), device="cpu")


def test_embedded_model_is_cached_by_gguf_hash(lm):
    directory = loading.embedded_cache_dir()
    assert directory.name.startswith("smollm2-135m-")
    assert (directory / "model.safetensors").is_file()
    assert lm.vocab_size == 49152
    assert lm.tokenizer.eos_token_id == 2
    assert not any(p.name.startswith(directory.name + ".") for p in directory.parent.iterdir())  # no half-built copies


def test_embedded_model_reloads_with_identical_logits(lm):
    start = time.perf_counter()
    again = dl.load_model("embedded", device="cpu")
    assert again is not lm
    ids = lm.encode("The sky is")
    with torch.inference_mode():
        assert torch.equal(lm.model(ids).logits, again.model(ids).logits)
    assert again.load_seconds <= time.perf_counter() - start


def test_build_info_names_model_device_dtype_and_versions(lm):
    info = lm.build_info()
    assert set(info) == {"model", "device", "dtype", "torch", "transformers"}
    assert info["device"] == "cpu" and info["dtype"] == "float32" and "SmolLM2" in info["model"]
