"""Shared fixtures.

* ``lm`` / ``cap``: the embedded model (real weights, no network), loaded once per session.
* ``built_site`` / ``lesson_pages``: the whole site, built once per session with the embedded model,
  every lesson executed (an empty notebook cache of its own), with no network.
* ``make_project``: a small throw-away MkDocs project that uses this repository's real
  ``mkdocs.yml``, hooks, theme overrides, stylesheets and scripts, with notebooks of the test's own
  (a failing cell, a hung cell, a tiny model...). Cheap: only those notebooks execute.
* ``serve`` / ``browser``: a directory served on 127.0.0.1, and Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest
import yaml

import decoding_lessons as dl

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("DECODING_LESSONS_CHROMIUM", "/usr/bin/chromium")
NO_BROWSER_ENV = "DECODING_LESSONS_NO_BROWSER"  # `make test BROWSER=0`


def pytest_collection_modifyitems(config, items):
    """Tests that drive the browser need Chromium. Without it, one line says what to do (instead
    of an error per test); ``DECODING_LESSONS_NO_BROWSER=1`` deselects them on purpose."""
    uses_browser = [item for item in items if "browser" in getattr(item, "fixturenames", ()) or item.path.name == "test_browser.py"]
    if not uses_browser:
        return
    if os.environ.get(NO_BROWSER_ENV) == "1":
        config.hook.pytest_deselected(items=uses_browser)
        items[:] = [item for item in items if item not in uses_browser]
        return
    if not Path(CHROMIUM).exists():
        pytest.exit(
            f"{len(uses_browser)} browser tests need Chromium, and {CHROMIUM} is missing: install it "
            "(apt-get install chromium; `make test` does that where it can), set DECODING_LESSONS_CHROMIUM, "
            f"or run the other tests with {NO_BROWSER_ENV}=1 (make test BROWSER=0)",
            returncode=4,
        )


@pytest.fixture(scope="session")
def lm():
    return dl.load_model("embedded", device="cpu")


@pytest.fixture()
def cap(lm):
    return dl.LogitCapture(lm)


# ------------------------------------------------------------------------------------------------
# Building sites
# ------------------------------------------------------------------------------------------------


# The builds the tests run need no network: the embedded model (or a test's own) loads from a local
# directory, so a download hidden anywhere in a lesson or the hooks fails loudly instead of passing
# on a machine that happens to be online.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def build_env(env_overrides: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update({"DECODING_LESSONS_MODEL": "embedded", "DECODING_LESSONS_DEVICE": "cpu", "NO_MKDOCS_2_WARNING": "1", **OFFLINE})
    env.pop("MIKE_DOCS_VERSION", None)
    env.update(env_overrides or {})
    return env


def build_site(site_dir: Path, env_overrides: dict | None = None, cache_dir: Path | None = None, project: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``mkdocs build --strict`` for ``project`` into ``site_dir`` with the embedded model on the CPU.

    ``cache_dir`` replaces the notebook cache directory (a fresh one forces every notebook to run).
    A build of this repository itself never uses the repository's ``.cache``: without ``cache_dir``
    it gets an empty one of its own, removed afterwards, so every lesson (and its hidden checks)
    executes, however warm the machine's cache is."""
    if cache_dir is None and Path(project).resolve() == ROOT:
        with tempfile.TemporaryDirectory(prefix="decoding-lessons-notebook-cache-") as tmp:
            return build_site(site_dir, env_overrides, Path(tmp) / "cache", project)
    config = project / "mkdocs.yml"
    if cache_dir is not None:
        config = _with_cache_dir(config, cache_dir)
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site_dir)],
        cwd=project, env=build_env(env_overrides), capture_output=True, text=True, timeout=3600,
    )


class _Loader(yaml.SafeLoader):
    """Reads mkdocs.yml, keeping ``!ENV`` and ``!!python/name`` tags as they are."""


class _Tagged:
    def __init__(self, tag, node):
        self.tag, self.node = tag, node


def _construct_tagged(loader, suffix, node):
    return _Tagged(node.tag, node)


_Loader.add_multi_constructor("!", _construct_tagged)
_Loader.add_multi_constructor("tag:yaml.org,2002:python/", _construct_tagged)


class _Dumper(yaml.SafeDumper):
    pass


def _represent_tagged(dumper, data):
    node, tag = data.node, data.tag
    if isinstance(node, yaml.SequenceNode):
        return dumper.represent_sequence(tag, [n.value for n in node.value])
    if isinstance(node, yaml.ScalarNode):
        return dumper.represent_scalar(tag, node.value)
    return dumper.represent_mapping(tag, {k.value: v.value for k, v in node.value})


_Dumper.add_representer(_Tagged, _represent_tagged)


def load_config(path: Path = ROOT / "mkdocs.yml") -> dict:
    return yaml.load(path.read_text(), Loader=_Loader)


def dump_config(config: dict, path: Path) -> Path:
    path.write_text(yaml.dump(config, Dumper=_Dumper, sort_keys=False, allow_unicode=True))
    return path


def _with_cache_dir(config_path: Path, cache_dir: Path) -> Path:
    config = load_config(config_path)
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocs-jupyter" in plugin:
            plugin["mkdocs-jupyter"]["cache_dir"] = str(cache_dir)
    out = Path(cache_dir).with_name(Path(cache_dir).name + "-mkdocs.yml")
    out.parent.mkdir(parents=True, exist_ok=True)
    config["docs_dir"] = str(config_path.parent / config.get("docs_dir", "docs"))
    config["theme"]["custom_dir"] = str(config_path.parent / config["theme"]["custom_dir"])
    config["hooks"] = [str(config_path.parent / h) for h in config["hooks"]]
    for plugin in config["plugins"]:  # mkdocstrings' paths are relative to the config file, too
        python = plugin.get("mkdocstrings", {}).get("handlers", {}).get("python", {}) if isinstance(plugin, dict) else {}
        if "paths" in python:
            python["paths"] = [str(config_path.parent / p) for p in python["paths"]]
    return dump_config(config, out)


MINI_INDEX = "# Mini site\n\nA throw-away site built by the tests with this repository's configuration.\n"


def notebook(cells: list[str]) -> str:
    """A jupytext percent notebook from cell texts (a text starting with ``md:`` is Markdown)."""
    header = textwrap.dedent(
        """\
        # ---
        # jupyter:
        #   kernelspec:
        #     display_name: Python 3
        #     language: python
        #     name: python3
        # ---
        """
    )
    out = [header]
    for cell in cells:
        cell = textwrap.dedent(cell).strip("\n")
        if cell.startswith("md:"):
            body = "\n".join(f"# {line}".rstrip() for line in cell[3:].strip("\n").splitlines())
            out.append(f"# %% [markdown]\n{body}\n")
        elif cell.startswith("hide:"):
            out.append(f'# %% tags=["hide"]\n{cell[5:].strip()}\n')
        else:
            out.append(f"# %%\n{cell}\n")
    return "\n".join(out)


def new_project(base: Path, lessons: dict[str, str], name: str = "proj") -> Path:
    """A small MkDocs project in ``base/name`` with this repository's configuration, hooks,
    overrides, stylesheets and scripts (symlinked) and the given lesson notebooks; the nav lists
    them in name order. ``make docs`` and ``make publish`` work in it (see :func:`make_in`)."""
    project = base / name
    docs = project / "docs"
    (docs / "lessons").mkdir(parents=True)
    for link in ("hooks", "overrides"):
        (project / link).symlink_to(ROOT / link)
    for link in ("stylesheets", "javascripts"):
        (docs / link).symlink_to(ROOT / "docs" / link)
    (docs / "index.md").write_text(MINI_INDEX)
    # the glossary's headings (its anchors), which real lessons link to (../glossary.md#logit): a
    # notebook link to a missing page warns, and the build is strict
    headings = [line for line in (ROOT / "docs" / "glossary.md").read_text().splitlines() if line.startswith("#")]
    (docs / "glossary.md").write_text("\n\n".join(headings) + "\n")
    for stem, text in lessons.items():
        (docs / "lessons" / f"{stem}.py").write_text(text)
    config = load_config()
    config["nav"] = [{"Home": "index.md"}, {"Lessons": [f"lessons/{stem}.py" for stem in sorted(lessons)]}]
    config["site_name"] = "Mini site"
    dump_config(config, project / "mkdocs.yml")
    (project / ".gitignore").write_text("site/\n.site-build*/\n.site-old/\n.site-publish/\n.cache/\n")
    return project


@pytest.fixture()
def make_project(tmp_path):
    """``make_project(lessons: dict[stem, notebook text], name="proj") -> Path``: see :func:`new_project`."""
    return lambda lessons, name="proj": new_project(tmp_path, lessons, name)


def make_in(project: Path, *targets: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run this repository's Makefile in ``project`` (which ``make_project`` made), with this
    repository's virtualenv. Its setup step is never run there (``-o``: the stamp counts as up to
    date): it would `pip install -e .` the throw-away project into the shared virtualenv."""
    venv = ROOT / ".venv"
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), f"VENV={venv}", "-o", str(venv / ".installed"), *targets],
        cwd=project, env=build_env({"MODEL": "embedded", "DEVICE": "cpu", **(env or {})}),
        capture_output=True, text=True, timeout=timeout,
    )


_NEWPLOT = re.compile(r'Plotly\.newPlot\(\s*"([^"]+)",\s*')


def plotly_charts(html: str) -> list[tuple[str, list, dict]]:
    """``(div id, data, layout)`` of every ``Plotly.newPlot`` call in a built page."""
    decoder = json.JSONDecoder()
    charts = []
    for match in _NEWPLOT.finditer(html):
        data, end = decoder.raw_decode(html, match.end())
        layout, _ = decoder.raw_decode(html, html.index("{", end))
        charts.append((match.group(1), data, layout))
    return charts


# ------------------------------------------------------------------------------------------------
# The real site
# ------------------------------------------------------------------------------------------------


PREBUILT_ENV = "DECODING_LESSONS_TEST_SITE"


def lesson_stems() -> list[str]:
    """The lessons the site under test has: docs/lessons/*.py (or those of $DECODING_LESSONS_TEST_SITE)."""
    if os.environ.get(PREBUILT_ENV):
        return sorted(p.parent.name for p in Path(os.environ[PREBUILT_ENV]).glob("lessons/*/index.html"))
    return sorted(p.stem for p in (ROOT / "docs" / "lessons").glob("*.py"))


def build_and_serve(site: Path, project: Path = ROOT, env_overrides: dict | None = None):
    """Serve ``site`` on 127.0.0.1 first, then build ``project`` into it with ``site_url`` set to that
    address: Material's instant navigation only follows links to the URLs of its sitemap.xml.
    Returns ``(server, url, build result)``."""
    site.mkdir(parents=True, exist_ok=True)
    server, url = start_server(site)
    result = build_site(site, {"DECODING_LESSONS_SITE_URL": url, **(env_overrides or {})}, project=project)
    return server, url, result


@pytest.fixture(scope="session")
def served_site(tmp_path_factory):
    """``(directory, url)``: the whole site, built once per test session with the embedded model and
    served on 127.0.0.1 for the whole session. Every lesson executes (``build_site`` gives the
    build an empty notebook cache of its own: one reused from ``.cache`` would skip the lessons'
    hidden checks), with the network off (:data:`OFFLINE`).

    ``DECODING_LESSONS_TEST_SITE=<dir>`` tests a site built beforehand instead (for working on the
    tests; CI always builds): built with the embedded model and
    ``DECODING_LESSONS_SITE_URL=http://127.0.0.1:<port>/``, it is served on that port."""
    if os.environ.get(PREBUILT_ENV):
        site = Path(os.environ[PREBUILT_ENV])
        port = re.search(r"<loc>http://127\.0\.0\.1:(\d+)/", (site / "sitemap.xml").read_text())
        handler = functools.partial(_QuietHandler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port.group(1)) if port else 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
    else:
        site = tmp_path_factory.mktemp("site")
        server, url, result = build_and_serve(site)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    yield site, url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def built_site(served_site) -> Path:
    return served_site[0]


@pytest.fixture(scope="session")
def site_url(served_site) -> str:
    return served_site[1]


@pytest.fixture(scope="session")
def lesson_pages(built_site) -> list[Path]:
    pages = sorted((built_site / "lessons").glob("*/index.html"))
    assert pages, "no lesson pages were built"
    return pages


# ------------------------------------------------------------------------------------------------
# Serving and browsing
# ------------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def start_server(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) from a daemon thread; return the server and its URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (``playwright install`` is never used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lm_bf16():
    """The embedded model in bfloat16, loaded from its directory as a Hub model would be: the
    numerics of the published build (bf16 on CUDA) reproduced on the CPU."""
    from decoding_lessons.loading import ensure_embedded_model

    return dl.load_model(str(ensure_embedded_model()), device="cpu", dtype="bfloat16")
