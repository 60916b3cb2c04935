"""The order of the processors: the same processors in ``generate()``'s order or in another one.

``generate()`` puts temperature first and the truncations after it; llama.cpp's default chain puts
temperature last. :func:`apply_in_order` builds each processor exactly as ``generate()`` does and
applies them in the order you give; :data:`HF_ORDER` and :data:`LLAMA_CPP_ORDER` are columns of the
processor table (:mod:`decoding_lessons.processors`).
"""

from __future__ import annotations

from typing import Sequence

import torch

from .capture import NextToken
from .checks import check_int
from .processors import (
    CONTROL_ORDER, FINAL_ORDER, HF_ORDER, LIBRARY_ROWS, LLAMA_CPP_ORDER, PENALTY_ORDER, PROCESSORS, WARPER_ORDER, BuildContext,
)
from .scoring import DecodingConfig, build_processor

# generate()'s order and llama.cpp's default chain: columns of the processor table (processors.py).


def _active_fields(config: DecodingConfig, generation_config) -> tuple[dict, list[str]]:
    resolved = config.resolved(generation_config)
    controls = [n for n in CONTROL_ORDER + FINAL_ORDER if PROCESSORS[n].active(resolved[n])]
    if controls:  # the knobs only: a control keeps its place before them (step.scores applies it)
        raise ValueError(f"`config` has to set only the knobs ({', '.join(PENALTY_ORDER + WARPER_ORDER)}) to be reordered, but sets {controls}")
    names = PENALTY_ORDER + (WARPER_ORDER if resolved["do_sample"] else ())
    return resolved, [n for n in names if build_processor(n, resolved) is not None]


def _check_order(order) -> list[str]:
    known = HF_ORDER  # generate()'s knobs and the other libraries' samplers (top_n_sigma, xtc, ...)
    if isinstance(order, str):
        raise ValueError(f"`order` has to be a sequence of field names ({', '.join(known)}), but is the string {order!r}")
    order = list(order)
    unknown = [n for n in order if n not in known]
    if unknown:
        raise ValueError(f"`order` has to hold only the fields {', '.join(known)}, but holds {unknown!r}")
    dupes = sorted({n for n in order if order.count(n) > 1})
    if dupes:
        raise ValueError(f"`order` has to name each field at most once, but repeats {dupes!r}")
    return order


def _library_knobs(knobs: dict) -> dict:
    rows = {row.field: row for row in LIBRARY_ROWS}
    unknown = sorted(k for k in knobs if k not in rows)
    if unknown:
        raise ValueError(
            f"`apply_in_order` takes by keyword only the other libraries' samplers ({', '.join(rows)}); "
            f"generate()'s own go in `config`; but was given {unknown}"
        )
    return {name: rows[name].check(value) for name, value in knobs.items() if value is not None}


def _link_in_order(procs) -> None:
    """llama.cpp's samplers that run one after another hand on llama.cpp's candidate array (its order
    and size), as in :func:`~decoding_lessons.llama_cpp_chain`; one between them that changes the
    scores starts a fresh array."""
    from .llama_cpp import _Link, _Sampler

    link, position = _Link(), 0
    for proc in procs:
        if isinstance(proc, _Sampler):
            proc._link, proc._position = link, position
            position += 1


def apply_in_order(
    step: NextToken, config: DecodingConfig | None, order: Sequence[str], *, prompt_length: int | None = None, **knobs
) -> torch.Tensor:
    """The scores after applying ``config``'s active processors in the order ``order``.

    Each processor is built exactly as ``generate()`` builds it
    (:func:`~decoding_lessons.scoring.build_processor`); only the order changes. With
    :data:`HF_ORDER` the result equals ``step.scores(config)``. With :data:`LLAMA_CPP_ORDER`
    temperature comes last: top-k/top-p/min-p then cut the *untempered* distribution, so a high
    temperature can no longer let more tokens in, it only flattens the survivors.

    The samplers of other libraries that transformers lacks (rows of the processor table whose
    ``library`` is not ``"transformers"``) are given by keyword: ``top_n_sigma=1.0`` (a number), or
    a dict of a sampler's settings, the unset ones at llama.cpp's defaults (``xtc={"xtc_probability":
    1.0, "seed": 3}``, ``penalties=``, ``dry=``, ``temp_ext=``, ``mirostat=``, ``openai_penalties=``).
    They run wherever ``order`` puts them (in :data:`HF_ORDER`, where
    ``generate(logits_processor=[...])`` runs a custom processor: after the penalties, before
    temperature), built as the row says (our exact port, :mod:`decoding_lessons.llama_cpp`).

    Args:
        step: a captured next-token distribution (no forward pass is made).
        config: the configuration; as in ``generate()``, the sampling warpers act only with
            ``do_sample=True``.
        order: field names of :class:`DecodingConfig`, e.g. :data:`HF_ORDER` or
            :data:`LLAMA_CPP_ORDER`. Every active field of ``config`` must appear in it; inactive
            names are skipped.
        prompt_length: how many of the context's first tokens were the prompt (the OpenAI penalties
            count the tokens after it); default: all of them.

    Returns:
        float32 scores, ``(vocab,)``; filtered tokens hold ``-inf``.

    Examples:
        >>> cfg = DecodingConfig(do_sample=True, temperature=1.5, top_k=0, min_p=0.1)
        >>> hf = apply_in_order(step, cfg, HF_ORDER)
        >>> cpp = apply_in_order(step, cfg, LLAMA_CPP_ORDER)
        >>> int(torch.isfinite(hf).sum()) >= int(torch.isfinite(cpp).sum())
        True
        >>> sigma = apply_in_order(step, DecodingConfig(do_sample=True, top_k=0), LLAMA_CPP_ORDER, top_n_sigma=1.0)
        >>> int(torch.isfinite(sigma).sum()) < sigma.numel()
        True
    """
    order = _check_order(order)
    config = config or DecodingConfig()
    library = _library_knobs(knobs)
    resolved, active = _active_fields(config, step.lm.model.generation_config)
    built = {n: build_processor(n, resolved) for n in active}
    if prompt_length is not None:
        check_int("prompt_length", prompt_length, 0, step.input_ids.shape[-1])
    context = BuildContext(prompt_length=step.input_ids.shape[-1] if prompt_length is None else prompt_length,
                           tokenizer=step.lm.tokenizer)
    for name, value in library.items():
        proc = PROCESSORS[name].build(value, context=context)
        if proc is not None:
            resolved[name] = value
            built[name] = proc
            active.append(name)
    missing = [n for n in active if n not in order]
    if missing:
        raise ValueError(
            f"`order` has to name every active field of the configuration ({', '.join(active)}), but lacks {missing!r}"
        )
    _link_in_order([built[n] for n in order if n in active])
    scores = step.logits.detach().to(torch.float32).clone().reshape(1, -1)
    ids = step.input_ids
    for name in order:
        if name in active:
            scores = built[name](ids, scores)
    return scores[0]


__all__ = ["HF_ORDER", "LLAMA_CPP_ORDER", "apply_in_order"]
