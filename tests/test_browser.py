"""The site as a reader meets it: served on 127.0.0.1 and opened in Debian's Chromium.

For every lesson page: every chart is drawn (an SVG with as many traces as the figure has), there
is no console error or page error, no request leaves 127.0.0.1 (each one is blocked and recorded),
every slider chart changes when its slider moves, math is typeset, and the charts stay legible in
the dark palette. Instant navigation from lesson to lesson still draws every chart. A screenshot
of each lesson goes to ``test-artifacts/``.

A small site of our own (math, a slider, two pages) checks the same machinery independently of
what the lessons happen to contain.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import build_and_serve, lesson_stems, new_project, notebook, plotly_charts

LESSONS = lesson_stems()
NAV_TIMEOUT_MS = 60_000
RENDER_TIMEOUT_MS = 60_000


# ------------------------------------------------------------------------------------------------
# A browser that records every request leaving the site
# ------------------------------------------------------------------------------------------------


class Reader:
    """One browser context (one cache: plotly.js is fetched once) with its problems recorded."""

    def __init__(self, browser, base_url: str):
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
        self.context.set_default_timeout(RENDER_TIMEOUT_MS)
        self.context.set_default_navigation_timeout(NAV_TIMEOUT_MS)
        self.external: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("requestfailed", self._failed)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.external.append(url)
            route.abort("blockedbyclient")

    def _failed(self, request):
        if request.url.startswith(self.base_url):
            self.errors.append(f"request failed: {request.url} ({request.failure})")

    def take_problems(self) -> tuple[list[str], list[str]]:
        problems = (list(self.errors), list(self.external))
        self.errors.clear()
        self.external.clear()
        return problems

    def close(self):
        self.context.close()


# ------------------------------------------------------------------------------------------------
# What a page shows
# ------------------------------------------------------------------------------------------------

# The drawn traces of a Plotly graph div: one group per trace, whatever its type.
COUNT_TRACES = """
gd => {
  const groups = gd.querySelectorAll(
    '.cartesianlayer g.trace, .cartesianlayer g.hm, .polarlayer g.trace, .ternarylayer g.trace, .pielayer g.trace,' +
    '.funnelarealayer g.trace, .treemaplayer g.trace, .sunburstlayer g.trace, .iciclelayer g.trace, .indicatorlayer g.trace,' +
    '.sankey, .table');
  return {
    svgs: gd.querySelectorAll('svg.main-svg').length,
    traces: groups.length,
    data: (gd.data || []).length,
    visible: (gd._fullData || []).filter(t => t.visible === true).length,
  };
}
"""

CHARTS_DRAWN = """
expected => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  return divs.length === expected && divs.every(d => d.classList.contains('js-plotly-plot') && d._fullLayout && d.querySelector('svg.main-svg'));
}
"""


def expected_traces(traces: list) -> int:
    return sum(1 for t in traces if t.get("visible", True) is True)


def check_charts_drawn(page, html: str, where: str) -> list:
    charts = plotly_charts(html)
    page.wait_for_function(CHARTS_DRAWN, arg=len(charts))
    for div_id, traces, _layout in charts:
        counts = page.locator(f"#{div_id}").evaluate(COUNT_TRACES)
        assert counts["svgs"] >= 1, (where, div_id, counts)
        assert counts["data"] == len(traces), (where, div_id, counts)
        assert counts["traces"] == expected_traces(traces), f"{where}: chart {div_id} drew {counts['traces']} traces, the figure has {expected_traces(traces)}"
    return charts


def chart_state(page, div_id: str) -> str:
    """What the chart shows: its plot area's SVG and its title and annotations."""
    return page.locator(f"#{div_id}").evaluate(
        "gd => [...gd.querySelectorAll('.cartesianlayer, .infolayer .annotation, .gtitle, .pielayer')].map(e => e.outerHTML).join('')"
    )


def check_sliders_move(page, charts: list, where: str) -> int:
    """Drag each slider chart's slider to another step and see the chart change."""
    moved = 0
    for div_id, _traces, layout in charts:
        for index, slider in enumerate(layout.get("sliders") or []):
            steps = slider.get("steps") or []
            if len(steps) < 2:
                continue
            chart = page.locator(f"#{div_id}")
            chart.scroll_into_view_if_needed()
            active = chart.evaluate(f"gd => gd._fullLayout.sliders[{index}].active")
            before = chart_state(page, div_id)
            rail = chart.locator("g.slider-container").nth(index).locator("rect.slider-rail-touch-rect")
            box = rail.bounding_box()
            assert box, (where, div_id, "no slider rail")
            target = 0.97 if active < len(steps) / 2 else 0.03
            rail.click(position={"x": box["width"] * target, "y": box["height"] / 2}, force=True)
            page.wait_for_function(
                f"([id, a]) => document.getElementById(id)._fullLayout.sliders[{index}].active !== a", arg=[div_id, active]
            )
            page.wait_for_timeout(150)  # the update's redraw
            after = chart_state(page, div_id)
            assert after != before, f"{where}: chart {div_id} did not change when its slider moved"
            moved += 1
    return moved


MATH_SOURCES = ".jp-RenderedMarkdown, .jp-MarkdownOutput, .arithmatex"


def check_math(page, where: str) -> int:
    """Wait for MathJax where the page has math: every formula typeset, none failed, no display
    delimiters left as text. Returns the number of formulas."""
    article = "document.querySelector('article.md-content__inner')"
    # the state is read in the same evaluation that waits for it, and only on an article that is not
    # the previous page's (instant navigation swaps the article after the URL has changed)
    state = page.wait_for_function(
        f"""() => {{ const a = {article};
                    const s = a && !a.dataset.dlLeft && a.getAttribute('data-dl-math');
                    return ['typeset', 'none', 'failed'].includes(s) ? s : null; }}"""
    ).json_value()
    if state == "none":
        return 0
    assert state == "typeset", f"{where}: MathJax failed"
    result = page.evaluate(
        """sel => ({
          rendered: document.querySelectorAll('mjx-container svg').length,
          errors: document.querySelectorAll('mjx-container [data-mml-node="merror"], mjx-merror').length,
          raw: [...document.querySelectorAll(sel)].filter(e => /\\$\\$|\\\\\\(|\\\\\\[/.test(
                 [...e.querySelectorAll('*')].concat([e]).flatMap(n => [...n.childNodes]).filter(n => n.nodeType === 3
                   && !n.parentElement.closest('code, pre, mjx-container')).map(n => n.textContent).join(''))).length,
        })""",
        MATH_SOURCES,
    )
    assert result["rendered"] > 0, (where, result)
    assert result["errors"] == 0, f"{where}: MathJax could not typeset {result['errors']} formula(s)"
    assert result["raw"] == 0, f"{where}: {result['raw']} Markdown cell(s) still show $$, \\( or \\[ as text"
    return result["rendered"]


def leave(page) -> None:
    """Mark the page's article as left before following a link, so that checks after an instant
    navigation wait for the next page's article instead of reading the old one."""
    page.evaluate("document.querySelector('article.md-content__inner').dataset.dlLeft = '1'")


def _luminance(rgb: list[float]) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[float], b: list[float]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


PARSE_COLOR = """
(() => {
  const canvas = document.createElement('canvas').getContext('2d');
  window.__dlRGB = c => { canvas.fillStyle = '#000'; canvas.fillStyle = c; const v = canvas.fillStyle;
    if (v.startsWith('#')) return [1,3,5].map(i => parseInt(v.slice(i, i + 2), 16)).concat([1]);
    const m = v.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
})()
"""

CHART_TEXT_COLORS = """
gd => {
  const sel = '.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .gtitle, .legendtext, .slider-label, .annotation-text';
  return [...gd.querySelectorAll(sel)].filter(e => e.textContent.trim()).slice(0, 40)
    .map(e => ({text: e.textContent.slice(0, 30), fill: window.__dlRGB(getComputedStyle(e).fill)}));
}
"""


def page_background(page) -> list[float]:
    page.evaluate(PARSE_COLOR)
    return page.evaluate(
        "() => { for (const e of [document.querySelector('.md-main'), document.body]) {"
        " const c = window.__dlRGB(getComputedStyle(e).backgroundColor); if (c[3] > 0) return c; } return [255,255,255,1]; }"
    )


def check_legible(page, charts: list, where: str, scheme: str) -> None:
    background = page_background(page)
    for div_id, _traces, _layout in charts:
        for item in page.locator(f"#{div_id}").evaluate(CHART_TEXT_COLORS):
            ratio = contrast(item["fill"], background)
            assert ratio >= 4.5, f"{where} ({scheme}): chart {div_id} text {item['text']!r} has contrast {ratio:.1f} against the page"


def set_scheme(page, scheme: str) -> None:
    """Click Material's palette toggle until the page shows ``scheme`` (default or slate)."""
    for _ in range(3):
        if page.evaluate("document.body.getAttribute('data-md-color-scheme')") == scheme:
            return
        page.locator("form[data-md-component=palette] label.md-header__button:visible").first.click()
        page.wait_for_timeout(100)
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == scheme


TABLES_OVERFLOWING = """() => {
  const content = document.querySelector('.md-content__inner').getBoundingClientRect();
  return [...document.querySelectorAll('.md-content table')]
    .filter(t => t.getBoundingClientRect().right > content.right + 1)
    .map(t => `${Math.round(t.getBoundingClientRect().width)} px wide in ${Math.round(content.width)} px: ` +
              t.innerText.split('\\n')[0].slice(0, 80));
}"""


def check_tables_fit(page, where: str) -> None:
    """A table wider than the text column hides its last columns behind a scroll bar (at 1280 px)."""
    overflowing = page.evaluate(TABLES_OVERFLOWING)
    assert not overflowing, f"{where}: tables wider than the page: {overflowing}"


def lesson_url(base_url: str, stem: str) -> str:
    return f"{base_url}lessons/{stem}/"


# ------------------------------------------------------------------------------------------------
# The lessons
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader(browser, site_url):
    reader = Reader(browser, site_url)
    yield reader
    reader.close()


@pytest.fixture(scope="module")
def seen() -> dict:
    """What the per-lesson tests found, for the site-wide checks after them."""
    return {"sliders": 0, "math": 0}


@pytest.mark.parametrize("stem", LESSONS)
def test_lesson_page_in_the_browser(stem, reader, built_site, artifacts, seen):
    page = reader.page
    html = (built_site / "lessons" / stem / "index.html").read_text()
    page.goto(lesson_url(reader.base_url, stem), wait_until="load")
    set_scheme(page, "default")

    charts = check_charts_drawn(page, html, stem)
    assert charts, f"{stem}: no chart"
    check_tables_fit(page, stem)
    seen["math"] += check_math(page, stem)
    check_legible(page, charts, stem, "light")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / f"{stem}.png"), full_page=True)

    seen["sliders"] += check_sliders_move(page, charts, stem)

    set_scheme(page, "slate")
    check_legible(page, charts, stem, "dark")
    page.locator(f"#{charts[0][0]}").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"{stem}-dark.png"))
    set_scheme(page, "default")

    errors, external = reader.take_problems()
    assert not external, f"{stem}: requests to other hosts were tried: {external}"
    assert not errors, f"{stem}: {errors}"


def test_the_lessons_have_slider_charts_and_math(seen):
    """Runs after the per-lesson tests: they found, moved and typeset something."""
    if len(LESSONS) < 2:
        pytest.fail("the site has fewer than two lessons")
    assert seen["sliders"] > 0, "no lesson has a slider chart that moved"
    assert seen["math"] > 0, "no lesson has typeset math"


def test_instant_navigation_between_lessons_draws_every_chart(reader, built_site):
    page = reader.page
    page.goto(reader.base_url, wait_until="networkidle")  # Material reads sitemap.xml to know its pages
    page.evaluate("window.__dlNoReload = true")
    # "next" from the home page to the first lesson, then through all lessons
    for stem in LESSONS:
        leave(page)
        page.locator("a.md-footer__link--next").click()
        page.wait_for_url(re.compile(rf"lessons/{re.escape(stem)}/$"))
        html = (built_site / "lessons" / stem / "index.html").read_text()
        page.wait_for_function(f"() => document.querySelector('.md-content h1') && document.title.length && location.pathname.endsWith('/{stem}/')")
        check_charts_drawn(page, html, f"{stem} (instant navigation)")
        check_math(page, f"{stem} (instant navigation)")
        assert page.evaluate("window.__dlNoReload === true"), f"{stem}: the page was reloaded, not navigated instantly"
    errors, external = reader.take_problems()
    assert not external, external
    assert not errors, errors


# ------------------------------------------------------------------------------------------------
# The machinery, on a small site of our own
# ------------------------------------------------------------------------------------------------

MATH = notebook(
    [
        "md:# Math\n\nThe softmax turns logits $z_i$ into probabilities\n\n"
        "$$p_i = \\frac{e^{z_i / T}}{\\sum_j e^{z_j / T}}$$\n\nwith a temperature $T > 0$.",
        "from IPython.display import Markdown, display\ndisplay(Markdown('Computed: $e^{0} = 1$.'))",
        "import plotly.graph_objects as go\nimport decoding_lessons as dl\ndl.use_site_renderer()\n"
        "go.Figure(go.Bar(x=['a', 'b'], y=[1, 2]), layout=dict(title='$x$ stays text in charts')).show()",
    ]
)
SLIDER = notebook(
    [
        "md:# A slider\n\nMove it.",
        "import plotly.graph_objects as go\nimport decoding_lessons as dl\ndl.use_site_renderer()\n"
        "values = [0.5, 1.0, 2.0]\n"
        "fig = go.Figure([go.Bar(x=['a', 'b', 'c'], y=[1, 2, 3], name='p'), go.Scatter(x=['a', 'b', 'c'], y=[3, 2, 1], name='q')])\n"
        "steps = [dict(method='update', label=str(v), args=[{'y': [[v, 2 * v, 3 * v], [3, 2, v]]}, {'title.text': f'T = {v}'}]) for v in values]\n"
        "fig.update_layout(title='T = 0.5', sliders=[dict(active=0, steps=steps)])\n"
        "dl.plotting.theme.style(fig, title='T = 0.5')\nfig.show()",
    ]
)


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    base = tmp_path_factory.mktemp("machinery")
    project = new_project(base, {"01_math": MATH, "02_slider": SLIDER})
    server, url, result = build_and_serve(base / "site", project)
    assert result.returncode == 0, result.stderr[-3000:]
    yield base / "site", url
    server.shutdown()


@pytest.fixture(scope="module")
def mini_site(mini) -> Path:
    return mini[0]


@pytest.fixture(scope="module")
def mini_reader(browser, mini):
    reader = Reader(browser, mini[1])
    yield reader
    reader.close()


def test_math_is_typeset_offline(mini_reader, mini_site, artifacts):
    page = mini_reader.page
    page.goto(lesson_url(mini_reader.base_url, "01_math"), wait_until="load")
    assert check_math(page, "01_math") >= 3  # inline, display, and in a computed Markdown output
    html = (mini_site / "lessons/01_math/index.html").read_text()
    (div_id, _, _), = check_charts_drawn(page, html, "01_math")
    # chart text is not handed to MathJax: the title keeps its dollar signs
    assert "$x$ stays text" in page.locator(f"#{div_id} .gtitle").first.text_content()
    page.screenshot(path=str(artifacts / "machinery-math.png"), full_page=True)
    errors, external = mini_reader.take_problems()
    assert not external and not errors, (external, errors)


def test_a_slider_moves_the_chart_and_dark_mode_keeps_it_legible(mini_reader, mini_site):
    page = mini_reader.page
    page.goto(lesson_url(mini_reader.base_url, "02_slider"), wait_until="load")
    html = (mini_site / "lessons/02_slider/index.html").read_text()
    charts = check_charts_drawn(page, html, "02_slider")
    assert check_sliders_move(page, charts, "02_slider") == 1
    assert "T = 2.0" in page.locator(".gtitle").first.text_content()
    check_legible(page, charts, "02_slider", "light")
    set_scheme(page, "slate")
    check_legible(page, charts, "02_slider", "dark")
    set_scheme(page, "default")
    errors, external = mini_reader.take_problems()
    assert not external and not errors, (external, errors)


def test_instant_navigation_runs_charts_and_math(mini_reader, mini_site):
    page = mini_reader.page
    page.goto(mini_reader.base_url, wait_until="networkidle")  # Material reads sitemap.xml to know its pages
    page.evaluate("window.__dlNoReload = true")
    leave(page)
    page.locator("a.md-footer__link--next").click()
    page.wait_for_url(re.compile(r"01_math/$"))
    assert check_math(page, "01_math (instant)") >= 3
    leave(page)
    page.locator("a.md-footer__link--next").click()
    page.wait_for_url(re.compile(r"02_slider/$"))
    check_charts_drawn(page, (mini_site / "lessons/02_slider/index.html").read_text(), "02_slider (instant)")
    leave(page)
    page.locator("a.md-footer__link--prev").click()
    page.wait_for_url(re.compile(r"01_math/$"))
    check_charts_drawn(page, (mini_site / "lessons/01_math/index.html").read_text(), "01_math (instant)")
    assert check_math(page, "01_math (instant)") >= 3
    assert page.evaluate("window.__dlNoReload === true")
    errors, external = mini_reader.take_problems()
    assert not external and not errors, (external, errors)
