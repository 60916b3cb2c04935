"""The build hooks' modules, without a model or a build: how they are split and wired, the check of
mkdocs-jupyter's version, the worker's protocol, and the page post-processing functions."""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError

from conftest import notebook

HOOKS = Path(__file__).resolve().parent.parent / "hooks"
MODULES = sorted(HOOKS.glob("*.py"))


@pytest.fixture()
def hooks(monkeypatch):
    """``hooks("build_pages")``: a hook module, imported by name with ``hooks/`` on ``sys.path``."""
    monkeypatch.syspath_prepend(str(HOOKS))
    return importlib.import_module


def load_fresh(name: str, module_name: str | None = None):
    """A fresh copy of ``hooks/{name}.py``, loaded as MkDocs 1.6 loads a hook: ``hooks/`` is on
    ``sys.path`` only while the module runs."""
    spec = importlib.util.spec_from_file_location(module_name or f"{name}_fresh", HOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    saved = sys.path.copy()
    sys.path.insert(0, str(HOOKS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
        sys.modules.pop(spec.name, None)
    return module


def imported_roots(path: Path) -> list[tuple[str, int, bool]]:
    """``(top-level package, line, at module level)`` of every import in a file, including
    ``importlib.import_module("x")`` and ``__import__("x")``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__"):
                names = [node.args[0].value]
        found += [(name.split(".")[0], node.lineno, id(node) in top) for name in names]
    return found


# ------------------------------------------------------------------------------------------------
# The split
# ------------------------------------------------------------------------------------------------


def test_only_the_private_api_module_imports_mkdocs_jupyter():
    assert "mkdocs_jupyter" in [root for root, _, _ in imported_roots(HOOKS / "build_mkdocs_jupyter.py")]
    offenders = [
        f"{path.name}:{line}" for path in MODULES if path.name != "build_mkdocs_jupyter.py"
        for root, line, _ in imported_roots(path) if root == "mkdocs_jupyter"
    ]
    assert not offenders, f"import mkdocs_jupyter only in hooks/build_mkdocs_jupyter.py: {offenders}"


def test_sibling_modules_are_imported_at_module_level():
    # MkDocs puts hooks/ on sys.path only while it loads hooks/build.py: an import of a sibling
    # inside a function would fail when the function runs
    siblings = {path.stem for path in MODULES}
    late = [
        f"{path.name}:{line} imports {root}" for path in MODULES
        for root, line, at_top in imported_roots(path) if root in siblings and not at_top
    ]
    assert not late, late


def test_the_hook_modules_shadow_no_installed_package():
    others = [p for p in sys.path if p and Path(p).resolve() != HOOKS]
    for path in MODULES:
        if path.name != "build.py":  # MkDocs loads the hook from its path, never by name
            assert importlib.machinery.PathFinder.find_spec(path.stem, others) is None, path.stem


def test_the_hook_loads_as_mkdocs_loads_it_and_wires_every_event():
    build = load_fresh("build", "hooks/build.py")
    for event in ("on_config", "on_files", "on_pre_page", "on_page_content", "on_post_page", "on_post_build"):
        assert callable(getattr(build, event)), event
    state = build.BuildState()
    assert (state.device, state.cache_dir, state.css_blocks, state.css_pages, state.files) == ("cpu", None, {}, set(), None)
    state.keep_css(["a { }", "b { }"], "lessons/01.py")
    state.keep_css(["a { }"], "lessons/02.py")  # the same block from another page: kept once
    assert list(state.css_blocks.values()) == ["a { }", "b { }"] and state.css_pages == {"lessons/01.py", "lessons/02.py"}


# ------------------------------------------------------------------------------------------------
# mkdocs-jupyter's version
# ------------------------------------------------------------------------------------------------


def test_the_private_api_module_accepts_the_installed_mkdocs_jupyter(hooks):
    api = hooks("build_mkdocs_jupyter")
    assert importlib.metadata.version("mkdocs-jupyter") in api.WRITTEN_FOR
    api.check_version()


@pytest.mark.parametrize("version", ["0.27.0", "0.25.1", None])
def test_another_mkdocs_jupyter_fails_the_build_with_one_message(hooks, monkeypatch, version):
    api = hooks("build_mkdocs_jupyter")
    monkeypatch.setattr(api, "installed_version", lambda: version)
    with pytest.raises(PluginError) as error:
        api.check_version()
    message = str(error.value)
    assert f"mkdocs-jupyter {version or '(not installed)'} is installed" in message
    assert f"written for mkdocs-jupyter {api.WRITTEN_FOR[0]}" in message
    assert "hooks/build_mkdocs_jupyter.py" in message


def test_importing_the_private_api_module_checks_the_version(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.9.9" if name == "mkdocs-jupyter" else "1")
    with pytest.raises(PluginError, match=r"mkdocs-jupyter 9\.9\.9 is installed, but hooks/build_mkdocs_jupyter\.py was written for"):
        load_fresh("build_mkdocs_jupyter")


# ------------------------------------------------------------------------------------------------
# The worker
# ------------------------------------------------------------------------------------------------


def test_the_worker_is_an_importable_module_with_main(hooks):
    worker = hooks("build_worker")
    assert callable(worker.main)
    assert hooks("build_executor").WORKER == HOOKS / "build_worker.py"


def worker_options() -> str:
    """The plugin's defaults for the options the executor hands a worker (``allow_errors: false``, as in mkdocs.yml)."""
    from mkdocs_jupyter.plugin import Plugin

    api = importlib.import_module("build_mkdocs_jupyter")
    defaults = {name: option.default for name, option in Plugin.config_scheme}
    return json.dumps({**{k: defaults[k] for k in api.PRE_EXECUTE_OPTIONS}, "allow_errors": False})


def test_the_worker_writes_the_cache_entry_or_reports_the_failing_cell(hooks, tmp_path):
    hooks("build_mkdocs_jupyter")
    options = worker_options()
    fine, failing = tmp_path / "fine.py", tmp_path / "failing.py"
    fine.write_text(notebook(["md:# Fine\n\n## A section", "print(6 * 7)"]))
    failing.write_text(notebook(["md:# Failing", "value = 1 / 0"]))

    def work(src: Path):
        target, report = tmp_path / f"{src.stem}.json", tmp_path / f"{src.stem}.error"
        # run as the executor runs it: a script, from another directory
        result = subprocess.run([sys.executable, str(HOOKS / "build_worker.py"), str(src), str(target), options, str(report)],
                                cwd=tmp_path, capture_output=True, text=True, timeout=300)
        return result, target, report

    result, target, report = work(fine)
    assert result.returncode == 0, result.stderr[-3000:]
    entry = json.loads(target.read_text())
    assert set(entry) == {"content", "toc_tokens", "title"} and "42" in entry["content"]
    assert entry["title"] == "Fine" and entry["toc_tokens"][0]["name"] == "Fine"
    assert not report.exists() and not list(tmp_path.glob(".*.tmp"))

    result, target, report = work(failing)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "ZeroDivisionError" in report.read_text() and not target.exists()


# ------------------------------------------------------------------------------------------------
# Page post-processing
# ------------------------------------------------------------------------------------------------


def test_cells_are_numbered_in_page_order(hooks):
    pages = hooks("build_pages")
    html = '<div id="cell-id=8bd9e9f9">a</div><div id="cell-3">b</div><div id="cell-id=0a1b">c</div>'
    assert pages.number_cells(html) == '<div id="nb-cell-1">a</div><div id="cell-3">b</div><div id="nb-cell-2">c</div>'


HEADER = """<style type="text/css">.highlight-ipynb { color: red; }</style>
<clipboard-copy for="x"></clipboard-copy>
<script>class ClipboardCopyElement extends HTMLElement {}</script>
<script src=""></script>
<script type="text/x-mathjax-config">MathJax.Hub.Config({});</script>
<script type="module">import mermaid from "https://cdn.jsdelivr.net/npm/mermaid/dist/mermaid.esm.min.mjs";</script>
<!-- a comment -->
<style>.jp-Cell { margin: 0; }</style>
"""
BODY = '<div class="jupyter-wrapper"><div class="jp-Cell">cell</div></div>'


def test_the_notebook_header_is_cut_off_and_its_css_returned(hooks, caplog):
    pages = hooks("build_pages")
    css, rest = pages.split_notebook_header(HEADER + BODY, "docs/lessons/x.py")
    assert css == [".highlight-ipynb { color: red; }", ".jp-Cell { margin: 0; }"]
    assert rest == '<clipboard-copy for="x"></clipboard-copy>' + BODY  # what is not a script, style or comment stays
    assert "unexpected script" not in caplog.text

    odd = '<script>console.log("not the template\'s")</script>\n'
    css, rest = pages.split_notebook_header(HEADER + odd + BODY, "docs/lessons/x.py")
    assert rest == odd.strip() + '\n<clipboard-copy for="x"></clipboard-copy>' + BODY
    assert "docs/lessons/x.py: unexpected script in mkdocs-jupyter's page header" in caplog.text

    assert pages.split_notebook_header("<p>not a notebook</p>", "docs/x.md") == ([], "<p>not a notebook</p>")


def test_the_toc_is_built_from_the_rendered_headings(hooks):
    pages = hooks("build_pages")
    html = (
        '<h1 id="a-lesson">A lesson<a class="anchor-link" href="#a-lesson">¶</a></h1>'
        '<h2 id="the-hidden-top_k50-again">The hidden <code>top_k=50</code> again</h2>'
        '<h3 id="x-y">x &lt; y &amp; z</h3>'
        '<h2 class="other" id="next">Next</h2>'
    )
    toc = pages.toc_from_headings(html, "fallback")
    (root,) = list(toc)
    assert (root.id, root.title, root.level) == ("a-lesson", "A lesson", 1)
    assert [(c.id, c.title) for c in root.children] == [("the-hidden-top_k50-again", "The hidden top_k=50 again"), ("next", "Next")]
    (sub,) = root.children[0].children
    assert (sub.id, sub.title, sub.url) == ("x-y", "x &lt; y &amp; z", "#x-y")
    assert pages.toc_from_headings("<p>no headings</p>", "fallback") == "fallback"


def test_sphinx_roles_become_links_to_the_entries_on_the_page(hooks):
    pages = hooks("build_pages")
    html = (
        '<h2 id="decoding_lessons.LogitCapture">LogitCapture</h2><h3 id="decoding_lessons.lesson.lesson_setup">x</h3>'
        "<p>:class:<code>LogitCapture</code>, :py:func:<code>~.lesson_setup()</code> and :meth:<code>missing</code></p>"
    )
    out = pages.link_sphinx_roles(html)
    assert '<a class="autorefs autorefs-internal" href="#decoding_lessons.LogitCapture"><code>LogitCapture</code></a>' in out
    assert '<a class="autorefs autorefs-internal" href="#decoding_lessons.lesson.lesson_setup"><code>lesson_setup()</code></a>' in out
    assert " and <code>missing</code></p>" in out and ":class:" not in out


def test_resources_from_other_hosts_are_found_and_links_are_not(hooks):
    assets = hooks("build_assets")
    html = """
    <script src="https://cdn.example.com/a.js"></script><script src="assets/local.js"></script>
    <link rel="stylesheet" href="//fonts.example.com/f.css"><link rel="canonical" href="https://example.com/page/">
    <img alt="" src="http://img.example.com/i.png"><a href="https://example.com/read-me">a link</a>
    <style>@import url("https://css.example.com/c.css"); .x { background: url(https://bg.example.com/b.png); }</style>
    <script type="module">import "https://esm.example.com/m.js"; const y = import("https://dyn.example.com/d.js");</script>
    """
    assert assets.external_resources(html) == sorted([
        "https://cdn.example.com/a.js", "//fonts.example.com/f.css", "http://img.example.com/i.png",
        "https://css.example.com/c.css", "https://bg.example.com/b.png", "https://esm.example.com/m.js",
        "https://dyn.example.com/d.js",
    ])
    assert assets.external_resources('<script src="/local.js"></script><a href="https://example.com">x</a>') == []


# ------------------------------------------------------------------------------------------------
# plotly.js: the partial bundle


def test_the_plotly_bundle_matches_the_installed_plotly_and_lists_its_traces(hooks):
    import plotly

    assets = hooks("build_assets")
    ours = assets.bundle_version(assets.PLOTLY_BUNDLE)
    assert ours[0] == tuple(int(x) for x in plotly.offline.get_plotlyjs_version().split("."))[0]
    head = assets.PLOTLY_BUNDLE.read_text(encoding="utf-8")[:300]
    assert "plotly.js (cartesian - minified)" in head
    # the trace modules the bundle registers are the ones the hook allows
    import re

    registered = set(re.findall(r'name:"(\w+)",basePlotModule', assets.PLOTLY_BUNDLE.read_text(encoding="utf-8")))
    assert registered == assets.PLOTLY_TRACES


def test_a_page_with_a_trace_type_the_bundle_lacks_fails_the_build(hooks):
    assets = hooks("build_assets")
    ok = '<script>Plotly.newPlot("a", [{"type": "bar", "x": [1]}, {"y": [2]}], {"title": "t"})</script>'
    assets.check_trace_types(ok, "docs/lessons/ok.py")  # a trace without a type is a scatter
    bad = ok + '<script>Plotly.newPlot( "b", [{"type": "scatter3d", "x": [1]}], {})</script>'
    with pytest.raises(PluginError, match=r"docs/lessons/bad\.py draws the plotly trace type\(s\) scatter3d, which the site's plotly\.js bundle"):
        assets.check_trace_types(bad, "docs/lessons/bad.py")
