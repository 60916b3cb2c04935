"""MkDocs hooks: what turns "it builds" into a site that is correct, self-contained and light.

This file is the one hook ``mkdocs.yml`` lists: the MkDocs events, as short wiring over a
:class:`BuildState` made fresh by ``on_config``. The work is done in its sibling modules (MkDocs
1.6 puts the hook's folder on ``sys.path`` while it loads the hook, so they import by name):

* ``build_cache_key`` -- **the cache key.** mkdocs-jupyter keys its cache on the notebook bytes and
  its own config only, so a rebuild after switching the model, editing ``decoding_lessons`` or
  upgrading a package would serve stale pages. We point its ``cache_dir`` at a sub-directory named
  by a fingerprint of everything else an executed page depends on: the resolved model choice (and,
  for a local model directory, its small files' contents and its weights' sizes and times), the
  kernels' torch thread count, the source of the module and of these hooks, the versions of the
  packages that produce the numbers or the HTML, and the environment variables that change the
  output. The four most recently used fingerprints are kept, older ones pruned.
* ``build_executor`` -- **executing the lessons.**

  - *Timeout.* nbclient reads ``NotebookClient.timeout`` from ``jupyter_nbconvert_config.json``
    on ``JUPYTER_CONFIG_PATH`` (mkdocs-jupyter overrides the ``ExecutePreprocessor`` section
    itself), so a hung cell fails the build after ``DECODING_LESSONS_CELL_TIMEOUT`` seconds
    (default 600).
  - *The model, once.* Before any lesson executes, one process prepares the model (on an empty
    cache, dequantizing the embedded GGUF; for a Hub model, downloading it), its output in the
    build log: never a progress bar in a page. The kernels get ``DECODING_LESSONS_SITE_BUILD=1``,
    which makes ``lesson_setup()`` use the site renderer (elsewhere Plotly keeps its own).
  - *Side by side.* The lessons the cache lacks execute in parallel
    (``DECODING_LESSONS_BUILD_JOBS``), each in a ``build_worker.py`` process that writes
    mkdocs-jupyter's cache entry; its render then finds them.
  - *Threads.* Every kernel, a worker's or mkdocs-jupyter's own, gets the same torch thread count
    (``OMP_NUM_THREADS``/``MKL_NUM_THREADS``): ``DECODING_LESSONS_THREADS``, else the cores
    shared out among the jobs setting (not the pending lessons), since another thread count adds
    floats in another order and changes the charts' numbers.
* ``build_pages`` -- **page post-processing.**

  - *A failing cell* fails the build with the notebook and the cell named (``allow_errors: false``
    makes nbclient raise; we add the page's source path and the cell's number and first line).
  - *Light pages.* mkdocs-jupyter inlines ~575 KB of notebook CSS, a clipboard script, a MathJax
    stub pointing nowhere and a mermaid loader from a CDN into *every* notebook page. We cut that
    header out of each page: the CSS goes once into ``assets/stylesheets/notebook.css`` (linked
    from notebook pages by ``overrides/main.html``), the clipboard script into
    ``assets/javascripts/notebook.js``; the MathJax and mermaid loaders are dropped. A notebook
    with a mermaid diagram fails the build (mermaid would come from a CDN).
  - *Links in notebooks.* MkDocs rewrites links between Markdown pages but not links inside
    notebooks. We rewrite a notebook link to another documentation file (``02_sampling.py``,
    ``../index.md#anchor``) into that page's URL, and warn about one whose target does not exist.
  - *Cell ids* are numbered (jupytext's are random) and the *TOC* is rebuilt from the headings.
  - *API reference.* mkdocstrings renders Sphinx-style roles (``:class:`LogitCapture```) as text
    with a code span; we turn them into links to the object's entry on the page.
* ``build_downloads`` -- **downloads.** Next to each lesson's ``.py`` (copied by
  ``include_source``), an ``.ipynb`` made with jupytext, made to stand alone: an install cell
  before the first code cell, and links to the other lessons pointing at the published site.
  ``overrides/main.html`` links both, and "Open in Colab" (the ``.ipynb`` as ``mike`` publishes it
  on the pages branch).
* ``build_assets`` -- **offline.** plotly.js is copied from the installed plotly package and
  MathJax 3 from the ``sphinx-mathjax-offline`` package (the official 3.2.2 files) into
  ``assets/javascripts/``; ``docs/javascripts/site.js`` loads MathJax only on pages with math.
  Every page is scanned after rendering: a script, stylesheet, image or frame from another host is
  a warning, which ``strict: true`` turns into a failed build. Also the notebook CSS and script
  served once, the processor table (``assets/processors.json``), and for a site with the playground
  page its contexts (``assets/playground/``: ``python -m decoding_lessons.playground``, cached)
  and its live model with the runtime that runs it (``assets/live/``: ``python -m
  decoding_lessons.live``, cached under the model cache).
* ``build_mkdocs_jupyter`` -- **mkdocs-jupyter's private API** (``_compute_cache_key``,
  ``_get_cache_path``, ``_get_nb_toc_tokens``, the cache format, the page header, the config keys
  its render uses): the only module that imports ``mkdocs_jupyter``. It checks that the installed
  version is the one it was written for, and fails the build with one message on any other.
* Here -- **versions.** Material's version selector (``extra.version.provider: mike``) reads
  ``versions.json`` from the deployment; a plain ``mkdocs build`` (not run by ``mike deploy``,
  which sets ``MIKE_DOCS_VERSION``) drops it, so a local site makes no request that must fail.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from build_assets import (
    MATHJAX_DIR,
    NOTEBOOK_JS,
    copy_mathjax,
    check_trace_types,
    copy_plotly,
    mathjax_source,
    warn_external_resources,
    write_notebook_css,
    write_notebook_js,
    write_live,
    write_playground,
    write_processor_table,
)
from build_cache_key import use_fingerprint
from build_downloads import downloads, write_ipynb
from build_executor import execute_ahead, kernel_threads, mark_site_build, set_cell_timeout, set_kernel_threads
from build_mkdocs_jupyter import is_notebook
from build_pages import (
    link_sphinx_roles,
    name_failing_cell,
    number_cells,
    refuse_mermaid,
    rewrite_notebook_links,
    split_notebook_header,
    toc_from_headings,
)


PLAYGROUND_PAGE = "playground.md"  # its contexts are captured only for a site that has the page


@dataclass
class BuildState:
    """What one build's events share."""

    device: str = "cpu"  # where the lessons run (the model choice's device)
    cache_dir: Path | None = None  # mkdocs-jupyter's cache directory for this fingerprint, if caching
    css_blocks: dict[str, str] = field(default_factory=dict)  # the notebook CSS cut out of the pages, by hash
    css_pages: set[str] = field(default_factory=set)  # the pages it was cut out of
    files: object = None  # the build's Files (for the downloads' links)
    playground: bool = False  # the site has the playground page (docs/playground.md)

    def keep_css(self, blocks: list[str], src_uri: str) -> None:
        for block in blocks:
            self.css_blocks.setdefault(hashlib.sha256(block.encode()).hexdigest(), block)
        self.css_pages.add(src_uri)


state = BuildState()


def on_config(config):
    global state
    set_cell_timeout()
    mark_site_build()

    # a cache key that covers model, threads, module, hooks and packages; every kernel gets the
    # thread count the key holds
    plugin = config.plugins.get("mkdocs-jupyter")
    device, cache_dir = "cpu", None
    if plugin is not None and plugin.config.get("cache"):
        cache_dir, device, threads = use_fingerprint(plugin.config)
    else:
        threads = kernel_threads(device)
    set_kernel_threads(threads)

    # the version selector only where mike deploys the site next to a versions.json
    if not os.environ.get("MIKE_DOCS_VERSION"):
        config.extra.pop("version", None)

    # offline assets: fail early when MathJax is missing; load the notebook script on every page
    # (instant navigation does not run scripts added to <head>)
    mathjax_source()
    if NOTEBOOK_JS not in [str(s) for s in config.extra_javascript]:
        config.extra_javascript.append(NOTEBOOK_JS)

    state = BuildState(device=device, cache_dir=cache_dir)
    return config


def on_files(files, config):
    state.playground = files.get_file_from_path(PLAYGROUND_PAGE) is not None
    plugin = config.plugins.get("mkdocs-jupyter")
    if plugin is not None and plugin.config.get("execute") and plugin.config.get("cache"):
        execute_ahead(files, plugin, state.device)
    return files


def on_pre_page(page, config, files):
    if is_notebook(page):
        page.dl_downloads = downloads(config, page)
        state.files = files
        name_failing_cell(page)
    return page


def on_page_content(html, page, config, files):
    if is_notebook(page):
        where = f"docs/{page.file.src_uri}"
        css, html = split_notebook_header(html, where)
        refuse_mermaid(html, where)
        state.keep_css(css, page.file.src_uri)
        html = rewrite_notebook_links(html, page, files)
        html = number_cells(html)
        page.toc = toc_from_headings(html, page.toc)
    if ":::" not in html and page.file.src_uri == "api.md":
        html = link_sphinx_roles(html)
    return html


def on_post_page(output, page, config):
    warn_external_resources(output, f"docs/{page.file.src_uri}")
    check_trace_types(output, f"docs/{page.file.src_uri}")
    if is_notebook(page):
        write_ipynb(page, config, state.files)
    return output


def on_post_build(config):
    site = Path(config["site_dir"])
    write_processor_table(site, state.cache_dir)
    if state.playground:
        write_playground(site, state.cache_dir)
        write_live(site)
    copy_plotly(site)
    copy_mathjax(site / MATHJAX_DIR)
    write_notebook_js(site)
    write_notebook_css(site, list(state.css_blocks.values()), len(state.css_pages))
