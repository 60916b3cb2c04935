"""decoding_lessons: see how a language model picks its next token.

The data flows one way, and each module is one step::

    loading ─▶ capture ─▶ scoring (the processor table, generate()'s order) ─▶ rules / orders
            ─▶ sampling, search (whole generations) ─▶ measures ─▶ plotting

In that order:

* :mod:`.checks` — the argument checks every public function uses (one message style).
* :mod:`.loading` — ``load_model()``: the embedded SmolLM2-135M, a Hub id, or a local directory.
* :mod:`.tokens` — readable token labels (visible whitespace, partial UTF-8 as bytes, HTML-safe).
* :mod:`.capture` — ``LogitCapture``: one forward pass per distinct context.
* :mod:`.processors` — the processor table: one row per processor (field, class, off value,
  interval, place in ``generate()``'s and llama.cpp's order, the library it is from), which
  everything below derives from; ``GENERATE_ORDER`` (``generate()``'s rows) and ``CONTROL_ORDER``
  (the controls that constrain the output); llama.cpp's ``top_n_sigma`` is a row too.
* :mod:`.scoring` — ``DecodingConfig`` and ``logits_processors()`` in ``generate()``'s order.
* :mod:`.constraints` — ``choice_grammar()``: a small grammar for ``prefix_allowed_tokens_fn``;
  ``shift()``: what a control removes or moves on one distribution.
* :mod:`.rules` — the truncation rules spelled out (top-k's ties, typical-p, ε, η, Top-H).
* :mod:`.penalties` — the repetition penalty and no-repeat-n-gram spelled out.
* :mod:`.llama_cpp` — llama.cpp's samplers as ``LogitsProcessor`` s, exact to llama.cpp 0.3.36's
  ``llama-sampler.cpp``: top-nσ, XTC, DRY, mirostat 1 and 2, dynamic temperature, its penalties,
  its top-k/top-p/min-p/typical, the final ``dist`` draw, the default chain ``llama_cpp_chain()``
  with ``LLAMA_CPP_DEFAULTS``, the OpenAI penalties, and ``std::mt19937`` for the seeded ones.
* :mod:`.orders` — the same processors in another order (llama.cpp's).
* :mod:`.decoder` — the decode loop's step: the model stepped row by row with its KV cache.
* :mod:`.sampling` — draws from one step, whole generations step by step.
* :mod:`.search` — beam, diverse beam and contrastive search, and DoLa, recorded step by step.
  ``beam_sample()`` is beam sampling (``generate(do_sample=True, num_beams=N)``), drawn like them;
  ``constrained_beam_search()`` puts given words in the output (4.55's ``force_words_ids``).
* :mod:`.speculative` — speculative decoding (an early-exit draft model, prompt lookup), recorded
  round by round, token for token ``generate(assistant_model=...)``; figures in
  :mod:`.plotting.speculative`.
* :mod:`.watermark` — Kirchenbauer et al.'s watermark (``watermarking_config``, a ``Watermark``):
  ``green_list()``, ``green_mass()``, ``watermark_generation()`` step by step, ``detect()`` and
  ``detection_study()`` with transformers' ``WatermarkDetector``; figures in :mod:`.plotting.watermark`
  (``green_step_chart``, ``green_trace_chart``, ``z_histogram``, ``tradeoff_chart``).
* :mod:`.playground` — the site's playground: its contexts (``write_playground()``) and links
  (``playground_fragment()``, ``parse_fragment()``, read as the page reads them).
* :mod:`.retired` — the modes transformers moved out of ``generate()``'s core (``RETIRED``: the
  last release that ran each, its Hub repository), and ``retired_note()``, said once for the lessons.
* :mod:`.measures` — the TV bound of draws, repetitions, distinct-n, a sequence's log-probability.
* :mod:`.comparison` — ``compare_strategies()``: strategies over many prompts × samples (one
  ``generate()`` call each), quality (log p per token, untempered) against diversity (distinct-n); the
  figure is ``quality_diversity_chart`` (:mod:`.plotting.strategies`); ``scores_chart`` (:mod:`.plotting.scores`)
  draws raw logits beside a configuration's scores.
* :mod:`.reference` — ``reference_generate()``: transformers' ``generate()``, the oracle every
  check compares with.
* :mod:`.plotting` — Plotly figures (token bars, sliders, the rules' lines, searches,
  ``distributions_chart`` for several score vectors of one step, ``line_chart``) and the site
  renderer.
* :mod:`.plotting.ranks` — ``rank_chart()``: a kept set by rank, for ``k`` too large to label every
  token on the axis (lesson 11's 60 tokens).
* :mod:`.lesson` — ``lesson_setup()``, the table helper and the exercises (``exercise()``,
  ``exercises()``: predict-then-reveal questions) for the lesson notebooks.

Every lesson imports the package one way, ``import decoding_lessons as dl``, and uses ``dl.<name>``.
"""

from .capture import LogitCapture, NextToken
from .constraints import ChoiceGrammar, Shift, choice_grammar, shift
from .lesson import Lesson, current_lesson, exercise, exercises, lesson_setup, markdown_table, seed_everything
from .loading import LanguageModel, ModelLoadError, as_language_model, install_embedded_model, load_model, resolve_choice
from .measures import Repetition, distinct_ngrams, longest_repetition, sequence_logprob, tv_bound
from .orders import HF_ORDER, LLAMA_CPP_ORDER, apply_in_order
from .penalties import banned_ngram_tokens, repetition_penalty, repetition_table
from .llama_cpp import (
    DRY_SEQUENCE_BREAKERS,
    DRYLogitsProcessor,
    DistLogitsProcessor,
    LLAMA_CPP_DEFAULTS,
    LLAMA_CPP_VERSION,
    LLAMA_DEFAULT_SEED,
    LlamaCppMinPLogitsProcessor,
    LlamaCppPenaltiesLogitsProcessor,
    LlamaCppTopKLogitsProcessor,
    LlamaCppTopPLogitsProcessor,
    LlamaCppTypicalLogitsProcessor,
    MT19937,
    MirostatLogitsProcessor,
    MirostatV2LogitsProcessor,
    dry_breaker_table,
    llama_cpp_chain,
    llama_cpp_token_pieces,
    OpenAIPenaltiesLogitsProcessor,
    TempExtLogitsProcessor,
    TopNSigmaLogitsProcessor,
    XTCLogitsProcessor,
    uniform_double,
    uniform_float,
)
from .plotting.constraints import mass_chart, shift_chart
from .plotting.ranks import rank_chart
from .plotting.dola import dola_chart, dola_layers_chart
from .plotting import (
    SliderFrame,
    beam_tree,
    contrastive_chart,
    contrastive_map,
    cumulative_chart,
    cutoff_slider,
    distributions_chart,
    histogram_chart,
    line_chart,
    measures_chart,
    min_p_chart,
    order_chart,
    rule_slider,
    slider_chart,
    slider_frames,
    sweep_chart,
    threshold_chart,
    token_chart,
    top_h_chart,
    trace_chart,
    typicality_chart,
    use_site_renderer,
)
from .processors import CONTROL_ORDER, GENERATE_ORDER
from .reference import reference_generate
from .rules import TOP_H_CANDIDATES, epsilon_rule, eta_rule, eta_threshold, scores_entering, top_h_rule, top_k_rule, typical_rule
from .sampling import GenerationTrace, SampleResult, TraceStep, draw, generate_with_trace
from .scoring import DecodingConfig, apply_processors, entropy, logits_processors, probabilities
from .search import beam_sample, beam_search, contrastive_search, diverse_beam_search
from .retired import RETIRED, RetiredMode, retired_note
from .playground import parse_fragment, playground_fragment, write_playground
from .search.constrained import ConstraintState, DisjunctiveConstraint, PhrasalConstraint, constrained_beam_search
from .search.dola import DolaResult, DolaStep, dola_candidate_layers, dola_decoding
from .speculative import (
    SpeculativeRound,
    SpeculativeRun,
    acceptance_probability,
    early_exit_draft,
    emission_probs,
    expected_tokens_per_pass,
    prompt_lookup_generate,
    reference_speculative,
    speculative_draws,
    speculative_generate,
)
from .plotting.speculative import gamma_chart, rounds_chart
from .tokens import decode_visible, markdown_text, token_label
from .processors import FINAL_ORDER, Watermark
from .watermark import (
    DetectionRun,
    DetectionStudy,
    GreenMass,
    WatermarkRun,
    WatermarkStep,
    as_watermark,
    detect,
    detection_study,
    green_list,
    green_mass,
    watermark_detector,
    watermark_generation,
    watermark_processor,
)
from .plotting.watermark import green_step_chart, green_trace_chart, tradeoff_chart, z_histogram
from .comparison import StrategyComparison, StrategySamples, StrategySummary, compare_strategies, continuation_logprobs
from .plotting.strategies import quality_diversity_chart
from .plotting.scores import scores_chart

__version__ = "0.1.0"

__all__ = [
    "rank_chart",
    "StrategyComparison",
    "StrategySamples",
    "StrategySummary",
    "compare_strategies",
    "continuation_logprobs",
    "quality_diversity_chart",
    "scores_chart",
    "DRY_SEQUENCE_BREAKERS",
    "DRYLogitsProcessor",
    "DistLogitsProcessor",
    "LLAMA_CPP_DEFAULTS",
    "LLAMA_CPP_VERSION",
    "LLAMA_DEFAULT_SEED",
    "LlamaCppMinPLogitsProcessor",
    "LlamaCppPenaltiesLogitsProcessor",
    "LlamaCppTopKLogitsProcessor",
    "LlamaCppTopPLogitsProcessor",
    "LlamaCppTypicalLogitsProcessor",
    "MT19937",
    "MirostatLogitsProcessor",
    "MirostatV2LogitsProcessor",
    "dry_breaker_table",
    "llama_cpp_chain",
    "llama_cpp_token_pieces",
    "OpenAIPenaltiesLogitsProcessor",
    "TempExtLogitsProcessor",
    "TopNSigmaLogitsProcessor",
    "XTCLogitsProcessor",
    "uniform_double",
    "uniform_float",
    "FINAL_ORDER",
    "Watermark",
    "DetectionRun",
    "DetectionStudy",
    "GreenMass",
    "WatermarkRun",
    "WatermarkStep",
    "as_watermark",
    "detect",
    "detection_study",
    "green_list",
    "green_mass",
    "watermark_detector",
    "watermark_generation",
    "watermark_processor",
    "green_step_chart",
    "green_trace_chart",
    "tradeoff_chart",
    "z_histogram",
    "SpeculativeRound",
    "SpeculativeRun",
    "acceptance_probability",
    "early_exit_draft",
    "emission_probs",
    "expected_tokens_per_pass",
    "gamma_chart",
    "prompt_lookup_generate",
    "reference_speculative",
    "rounds_chart",
    "speculative_draws",
    "speculative_generate",
    "CONTROL_ORDER",
    "GENERATE_ORDER",
    "RETIRED",
    "RetiredMode",
    "retired_note",
    "parse_fragment",
    "playground_fragment",
    "write_playground",
    "ConstraintState",
    "DisjunctiveConstraint",
    "PhrasalConstraint",
    "constrained_beam_search",
    "DolaResult",
    "DolaStep",
    "dola_candidate_layers",
    "dola_chart",
    "dola_decoding",
    "dola_layers_chart",
    "ChoiceGrammar",
    "Shift",
    "choice_grammar",
    "mass_chart",
    "shift",
    "shift_chart",
    "HF_ORDER",
    "LLAMA_CPP_ORDER",
    "TOP_H_CANDIDATES",
    "DecodingConfig",
    "GenerationTrace",
    "LanguageModel",
    "Lesson",
    "LogitCapture",
    "ModelLoadError",
    "NextToken",
    "Repetition",
    "SampleResult",
    "SliderFrame",
    "TraceStep",
    "apply_in_order",
    "apply_processors",
    "as_language_model",
    "banned_ngram_tokens",
    "beam_sample",
    "beam_search",
    "beam_tree",
    "contrastive_chart",
    "contrastive_map",
    "contrastive_search",
    "cumulative_chart",
    "current_lesson",
    "cutoff_slider",
    "decode_visible",
    "distinct_ngrams",
    "diverse_beam_search",
    "draw",
    "entropy",
    "exercise",
    "exercises",
    "epsilon_rule",
    "eta_rule",
    "eta_threshold",
    "generate_with_trace",
    "histogram_chart",
    "install_embedded_model",
    "lesson_setup",
    "load_model",
    "logits_processors",
    "longest_repetition",
    "markdown_table",
    "markdown_text",
    "measures_chart",
    "min_p_chart",
    "order_chart",
    "distributions_chart",
    "line_chart",
    "probabilities",
    "reference_generate",
    "repetition_penalty",
    "repetition_table",
    "resolve_choice",
    "rule_slider",
    "scores_entering",
    "seed_everything",
    "sequence_logprob",
    "slider_chart",
    "slider_frames",
    "sweep_chart",
    "threshold_chart",
    "token_chart",
    "token_label",
    "top_h_chart",
    "top_h_rule",
    "top_k_rule",
    "trace_chart",
    "tv_bound",
    "typical_rule",
    "typicality_chart",
    "use_site_renderer",
]
