"""decoding_lessons: see how a language model picks its next token.

The data flows one way, and each module is one step::

    loading ─▶ capture ─▶ strategies (generate()'s processors) ─▶ scores ─▶ probabilities ─▶ plotting

* :mod:`.loading` — ``load_model()``: the embedded SmolLM2-135M, a Hub id, or a local directory.
* :mod:`.capture` — ``LogitCapture``: one forward pass per distinct context.
* :mod:`.strategies` — ``DecodingConfig`` and ``logits_processors()`` in ``generate()``'s order.
* :mod:`.tokens` — readable token labels (visible whitespace, partial UTF-8 as bytes, HTML-safe).
* :mod:`.sampling` — draws from one step, whole generations step by step, processor orders.
* :mod:`.search` — beam, diverse beam and contrastive search, recorded step by step.
* :mod:`.plotting` — Plotly figures (token bars, sliders, top-p/min-p cut-offs) and the site renderer.
* :mod:`.site` — ``lesson_setup()`` for the lesson notebooks.
"""

from .capture import LogitCapture, NextToken
from .loading import LanguageModel, ModelLoadError, as_language_model, install_embedded_model, load_model, resolve_choice
from .plotting import (
    SliderFrame,
    beam_tree,
    contrastive_chart,
    contrastive_map,
    cumulative_chart,
    cutoff_slider,
    histogram_chart,
    measures_chart,
    min_p_chart,
    order_chart,
    slider_chart,
    slider_frames,
    sweep_chart,
    token_chart,
    trace_chart,
    use_site_renderer,
)
from .sampling import (
    HF_ORDER,
    LLAMA_CPP_ORDER,
    GenerationTrace,
    Repetition,
    SampleResult,
    TraceStep,
    apply_in_order,
    draw,
    generate_with_trace,
    longest_repetition,
    tv_bound,
)
from .search import beam_search, contrastive_search, distinct_ngrams, diverse_beam_search, sequence_logprob
from .site import lesson_setup, seed_everything
from .strategies import DecodingConfig, apply_processors, entropy, logits_processors, probabilities
from .tokens import decode_visible, markdown_text, token_label

__version__ = "0.1.0"

__all__ = [
    "HF_ORDER",
    "LLAMA_CPP_ORDER",
    "DecodingConfig",
    "GenerationTrace",
    "Repetition",
    "SampleResult",
    "SliderFrame",
    "TraceStep",
    "apply_in_order",
    "cumulative_chart",
    "cutoff_slider",
    "draw",
    "generate_with_trace",
    "histogram_chart",
    "longest_repetition",
    "min_p_chart",
    "order_chart",
    "slider_chart",
    "slider_frames",
    "sweep_chart",
    "trace_chart",
    "tv_bound",
    "LanguageModel",
    "LogitCapture",
    "ModelLoadError",
    "NextToken",
    "apply_processors",
    "as_language_model",
    "install_embedded_model",
    "beam_search",
    "beam_tree",
    "contrastive_chart",
    "contrastive_map",
    "contrastive_search",
    "decode_visible",
    "markdown_text",
    "distinct_ngrams",
    "diverse_beam_search",
    "entropy",
    "lesson_setup",
    "load_model",
    "logits_processors",
    "measures_chart",
    "probabilities",
    "resolve_choice",
    "seed_everything",
    "sequence_logprob",
    "token_chart",
    "token_label",
    "use_site_renderer",
]
