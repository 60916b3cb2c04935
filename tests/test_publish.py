"""Versioned publishing: ``make publish VERSION=x.y`` deploys with mike into the gh-pages branch.

Two versions are deployed into a temporary git repository (no remote, no push), and we check
``versions.json``, the ``latest`` alias as a redirect, the default-version redirect at the root, and
that both versions' lesson pages are there and differ exactly where the lesson changed. A failing
build publishes nothing, and publishing never touches ``site/``. Last, a browser follows the
redirects and sees Material's version selector.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import make_in, new_project, notebook, plotly_charts, start_server

CHANGING = "md:# A lesson in two versions\n\nThis text is the {which} version of the lesson."
STABLE = notebook(
    [
        "md:# A lesson that does not change",
        "import plotly.graph_objects as go\nimport decoding_lessons as dl\ndl.use_site_renderer()\n"
        "go.Figure(go.Bar(x=['a', 'b'], y=[1, 2])).show()",
    ]
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def show(repo: Path, path: str) -> str:
    return git(repo, "show", f"gh-pages:{path}")


def lesson(which: str) -> str:
    return notebook([CHANGING.format(which=which), f"print('{which} output')"])


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A repository with versions 0.1 and 0.2 published (0.2 as ``latest``), and a failed 0.3."""
    base = tmp_path_factory.mktemp("publish")
    repo = new_project(base, {"01_changing": lesson("first"), "02_stable": STABLE}, name="repo")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test Publisher")
    git(repo, "config", "user.email", "publisher@example.invalid")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "lessons, first version")
    (repo / "site").mkdir()
    (repo / "site" / "index.html").write_text("the previous local build")

    results = {"0.1": make_in(repo, "publish", "VERSION=0.1")}
    (repo / "docs" / "lessons" / "01_changing.py").write_text(lesson("second"))
    git(repo, "commit", "-q", "-am", "lessons, second version")
    results["0.2"] = make_in(repo, "publish", "VERSION=0.2", "ALIAS=latest")
    pages_before_failure = git(repo, "rev-parse", "gh-pages").strip()

    (repo / "docs" / "lessons" / "01_changing.py").write_text(notebook(["md:# Broken", "raise RuntimeError('broken lesson')"]))
    git(repo, "commit", "-q", "-am", "a broken lesson")
    results["0.3"] = make_in(repo, "publish", "VERSION=0.3")
    return repo, results, pages_before_failure


def test_both_deploys_succeed_and_commit_locally(published):
    repo, results, _ = published
    for version in ("0.1", "0.2"):
        result = results[version]
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "committed to the local branch gh-pages; push with PUSH=1" in result.stdout
    log = git(repo, "log", "--format=%s", "gh-pages")
    assert "Deployed" in log and "to 0.1" in log and "to 0.2" in log
    assert not git(repo, "remote").strip()  # nothing to push to, and nothing was pushed


def test_versions_json_lists_both_versions_with_the_alias_on_the_newest(published):
    repo, _, _ = published
    versions = json.loads(show(repo, "versions.json"))
    assert versions == [
        {"version": "0.2", "title": "0.2", "aliases": ["latest"]},
        {"version": "0.1", "title": "0.1", "aliases": []},
    ]


def test_the_alias_is_a_redirect_not_a_symlink_and_the_root_goes_to_latest(published):
    repo, _, _ = published
    tree = git(repo, "ls-tree", "-r", "gh-pages")
    assert " 120000 " not in f" {tree}" and "\n120000 " not in tree, "a symlink in gh-pages (GitHub Pages rejects them)"
    redirect = show(repo, "latest/lessons/01_changing/index.html")
    assert "Redirecting" in redirect and "../../../0.2/lessons/01_changing/" in redirect
    assert "This text is the" not in redirect
    assert 'href="latest/"' in show(repo, "index.html") or "latest/" in show(repo, "index.html")
    assert ".nojekyll" in tree


def test_both_versions_pages_are_present_and_differ_where_the_lesson_changed(published):
    repo, _, _ = published
    old = show(repo, "0.1/lessons/01_changing/index.html")
    new = show(repo, "0.2/lessons/01_changing/index.html")
    assert "This text is the first version" in old and "first output" in old
    assert "This text is the second version" in new and "second output" in new
    assert "second version" not in old and "first version" not in new
    # the unchanged lesson shows the same chart in both versions
    stable_old = plotly_charts(show(repo, "0.1/lessons/02_stable/index.html"))
    stable_new = plotly_charts(show(repo, "0.2/lessons/02_stable/index.html"))
    assert stable_old == stable_new and stable_old
    # each version's downloads and shared assets are there
    for version in ("0.1", "0.2"):
        for path in ("lessons/01_changing/01_changing.ipynb", "lessons/01_changing/01_changing.py",
                     "assets/javascripts/plotly.min.js", "assets/javascripts/mathjax/tex-svg-full.js", "assets/stylesheets/notebook.css"):
            assert git(repo, "cat-file", "-t", f"gh-pages:{version}/{path}").strip() == "blob", (version, path)
    # the deployed pages carry Material's version selector configuration (a plain build does not)
    config = re.search(r'<script id="__config" type="application/json">(.*?)</script>', new, re.S).group(1)
    assert json.loads(config)["version"]["provider"] == "mike"


def test_a_failing_build_publishes_nothing_and_site_is_never_touched(published):
    repo, results, pages_before_failure = published
    failed = results["0.3"]
    assert failed.returncode != 0
    assert "docs/lessons/01_changing.py failed at cell 2" in failed.stderr + failed.stdout
    assert git(repo, "rev-parse", "gh-pages").strip() == pages_before_failure
    assert "0.3" not in show(repo, "versions.json")
    assert (repo / "site" / "index.html").read_text() == "the previous local build"
    assert not (repo / ".site-publish").exists()


def test_the_deployed_versions_in_a_browser(published, browser, tmp_path):
    repo, _, _ = published
    checkout = tmp_path / "pages"
    git(repo, "worktree", "add", "-q", str(checkout), "gh-pages")
    server, url = start_server(checkout)
    context = browser.new_context()
    external = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else (external.append(route.request.url), route.abort()))
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url, wait_until="load")  # root -> latest/ -> 0.2/
        page.wait_for_url(re.compile(r"/0\.2/$"))
        page.goto(f"{url}latest/lessons/01_changing/", wait_until="load")
        page.wait_for_url(re.compile(r"/0\.2/lessons/01_changing/$"))
        assert "second version" in page.content()
        page.wait_for_selector(".md-version__current")
        current = page.locator(".md-version__current").text_content().strip()
        assert current.startswith("0.2") and current.endswith("latest"), current  # version, then its alias
        listed = [a.text_content().strip() for a in page.locator(".md-version__list .md-version__link").all()]
        assert [entry[:3] for entry in listed] == ["0.2", "0.1"], listed
        page.goto(f"{url}0.1/lessons/01_changing/", wait_until="load")
        assert "first version" in page.content()
        page.wait_for_selector(".md-version__current")
        assert page.locator(".md-version__current").text_content().strip() == "0.1"
        # the selector switches versions
        page.locator(".md-version").hover()  # the list unfolds on hover
        page.locator(".md-version__list .md-version__link").first.click()
        page.wait_for_url(re.compile(r"/0\.2/"))
    finally:
        context.close()
        server.shutdown()
        git(repo, "worktree", "remove", "--force", str(checkout))
    assert not external, external
    assert not errors, errors
