/* Math, offline. MathJax 3 is served from the site (assets/javascripts/mathjax/, copied by
   hooks/build.py from the PyPI package sphinx-mathjax-offline, the official 3.2.2 files) and loaded
   only on pages that have math. It renders TeX as SVG: no web font is fetched.
   Material's instant navigation swaps pages without a reload and emits on `document$`; every new
   page is typeset there. Lessons write $...$ and $$...$$ in Markdown cells; Markdown pages get
   \(...\) and \[...\] from pymdownx.arithmatex. Charts never go through MathJax (see extrahead). */
(function () {
  "use strict";

  var MATH_SOURCES = ".jp-RenderedMarkdown, .jp-MarkdownOutput, .arithmatex";
  var MATH_DELIMITER = /\$|\\\(|\\\[|\\begin\{/;
  var state = "idle"; // idle -> loading -> ready

  function siteRoot() {
    // Material's inline head script defines __md_scope, the site's root URL
    return typeof __md_scope !== "undefined" ? __md_scope : new URL(".", document.baseURI);
  }

  // The state goes on the page's <article>, which instant navigation replaces with the page, so a
  // test (or a reader's script) never sees the previous page's state: none | pending | typeset | failed.
  function article() {
    return document.querySelector("article.md-content__inner") || document.body;
  }

  function hasMath(root) {
    var nodes = root.querySelectorAll(MATH_SOURCES);
    for (var i = 0; i < nodes.length; i++) {
      if (MATH_DELIMITER.test(nodes[i].textContent)) return true;
    }
    return false;
  }

  function typesetInto(target) {
    // the page, and its table of contents (headings with math)
    var elements = [target].concat(Array.prototype.slice.call(document.querySelectorAll(".md-sidebar--secondary .md-nav")));
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise(elements).then(
      function () { target.setAttribute("data-dl-math", "typeset"); },
      function (error) { target.setAttribute("data-dl-math", "failed"); console.error("MathJax:", error); }
    );
  }

  function loadMathJax() {
    state = "loading";
    window.MathJax = {
      tex: {
        inlineMath: [["$", "$"], ["\\(", "\\)"]],
        displayMath: [["$$", "$$"], ["\\[", "\\]"]],
        processEscapes: true,
        processEnvironments: true,
      },
      options: {
        // never inside charts or code (Markdown cells are inside .jp-InputArea too, so not that)
        ignoreHtmlClass: "tex2jax_ignore|js-plotly-plot|plotly-graph-div|highlight-ipynb",
      },
      svg: { fontCache: "local" }, // each formula self-contained: instant navigation replaces the page
      startup: {
        typeset: false,
        ready: function () {
          MathJax.startup.defaultReady();
          MathJax.startup.promise.then(function () {
            state = "ready";
            var target = article();
            if (target.getAttribute("data-dl-math") === "pending") typesetInto(target);
          });
        },
      },
    };
    var script = document.createElement("script");
    script.src = new URL("assets/javascripts/mathjax/tex-svg-full.js", siteRoot()).href;
    script.async = true;
    document.head.appendChild(script);
  }

  function typeset() {
    var target = article();
    if (!hasMath(target)) {
      target.setAttribute("data-dl-math", "none");
      return;
    }
    target.setAttribute("data-dl-math", "pending");
    if (state === "ready") typesetInto(target);
    else if (state === "idle") loadMathJax(); // typesets the page's article once ready
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(typeset); // the first page, and every page instant navigation brings
  } else {
    document.addEventListener("DOMContentLoaded", typeset);
  }
})();
