"""The playground's contexts and links: what the site's playground page (``docs/playground.md``,
``docs/javascripts/playground.mjs``) computes on, and how a lesson links to it.

The build captures every context of :data:`CONTEXTS` with the model the site is built with (one
forward pass each) and writes, for the browser:

* ``playground/index.json``: the model, its vocabulary size, DRY's sequence breakers matched against
  its vocabulary (:func:`~decoding_lessons.llama_cpp.dry_breaker_table`), and per context its key,
  kind, label, text and file names;
* ``playground/<key>.f32``: the full-vocabulary next-token logits, raw little-endian float32
  (what ``generate(output_logits=True)`` reports), fetched only when a reader picks the context;
* ``playground/<key>.json``: the context's token ids (the repetition penalty and no-repeat-n-gram
  act on them), how many of them were the prompt, and readable labels (:mod:`.tokens`) for the
  tokens that can be shown: the :data:`LABELLED` highest logits and every context token (no
  processor can lift any other token into the top of the distribution: temperature and the
  truncations keep the logits' order, the penalties touch context tokens only).

Besides written prompts of different kinds, the contexts hold positions along one greedy
generation (:data:`STORY`), so that the repetition controls have a history to act on.

A link into the playground is a URL fragment (:func:`playground_fragment`), checked by the
processor table's own rules: ``#ctx=name&temperature=0.7&min_p=0.1&order=llama_cpp``. A sampler
with several settings (llama.cpp's ``xtc``, ``dry`` ...) lists the ones it sets, the others at
their defaults: ``xtc=xtc_probability:0.5,seed:3``.
:func:`parse_fragment` reads one the way the page reads it: a bad value is dropped with a note
that gives Python's message, never an error. The page runs ``generate()``'s sampling chain:
``do_sample=True`` and, unless the fragment says otherwise, transformers' hidden ``top_k=50``.

Examples:
    >>> playground_fragment("name", temperature=1.5, min_p=0.1)
    'ctx=name&temperature=1.5&min_p=0.1'
    >>> state = parse_fragment("ctx=name&top_p=2&order=llama_cpp")
    >>> state.context, state.settings, state.order
    ('name', {}, 'llama_cpp')
    >>> state.notes[0]
    '`top_p` has to be a float in the [0, 1] interval, but is 2: dropped'
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import torch

from .capture import LogitCapture
from .checks import check_int
from .llama_cpp import dry_breaker_table
from .processors import ALL_KNOBS, HF_ORDER, LIBRARY_ROWS, LLAMA_CPP_ORDER, PROCESSORS
from .tokens import token_label

LABELLED = 2000  # labels for this many of a context's highest logits (plus its own tokens)


@dataclass(frozen=True)
class Context:
    """One playground context.

    Attributes:
        key: its name in a link (``ctx=key``).
        kind: ``"factual"``, ``"open-ended"``, ``"code"``, ``"list"``, ``"repetition"`` or ``"story"``.
        label: the name the page's menu shows.
        text: the prompt (for a story position: the story's prompt).
        new_tokens: for a story position, how many generated tokens follow the prompt.
    """

    key: str
    kind: str
    label: str
    text: str
    new_tokens: int = 0


STORY = "The old lighthouse keeper climbed the stairs"
STORY_POSITIONS = (8, 16, 24, 32, 40)

CONTEXTS: tuple[Context, ...] = (
    Context("name", "open-ended", "My name is", "My name is"),
    Context("sky", "open-ended", "The sky is", "The sky is"),
    Context("once", "open-ended", "Once upon a time", "Once upon a time, there was a little"),
    Context("poem", "open-ended", "A poem about the sea", "Write a short poem about the sea.\n\n"),
    Context("france", "factual", "The capital of France", "The capital of France is"),
    Context("math", "factual", "2 + 2 =", "2 + 2 = "),
    Context("boils", "factual", "Water boils at", "Water boils at a temperature of"),
    Context("everest", "factual", "Q: the tallest mountain", "Q: What is the tallest mountain in the world?\nA:"),
    Context("fib", "code", "def fibonacci(n):", "def fibonacci(n):\n    "),
    Context("loop", "code", "for i in range(10):", "for i in range(10):\n    print("),
    Context("html", "code", "HTML: <b> & <i>", "In HTML, <b>bold</b> & <i>italic</i> are written as"),
    Context("days", "list", "Monday, Tuesday, …", "Monday, Tuesday, Wednesday,"),
    Context("shopping", "list", "Shopping list: 1. 2. 3.", "Shopping list:\n1. Milk\n2. Eggs\n3."),
    Context("name_trap", "repetition", "My name is, what? …", "Hi, my name is, what? My name is, who? My name is"),
    Context("cat", "repetition", "The cat sat on the mat. The cat", "The cat sat on the mat. The cat"),
    Context("new_york", "repetition", "… back to New", "I love New York. Every summer I travel back to New"),
) + tuple(
    Context(f"story_{n}", "story", f"A story, after {n} generated tokens", STORY, n) for n in STORY_POSITIONS
)

CONTEXT_KEYS = tuple(c.key for c in CONTEXTS)
LIVE_CONTEXT = "live"  # the reader's own prompt, run by the live model in the page (decoding_lessons.live)
PAGE_CONTEXT_KEYS = CONTEXT_KEYS + (LIVE_CONTEXT,)  # what a link's ctx may name
ORDERS = ("hf", "llama_cpp")  # the named orders; anything else is a list of fields
BROWSER_KNOBS = tuple(row.field for row in ALL_KNOBS if row.browser)
# the samplers with several settings that the page runs (llama.cpp's and the OpenAI API's)
BROWSER_SAMPLERS = tuple(row.field for row in LIBRARY_ROWS if row.kind == "params" and row.browser)
BROWSER_FIELDS = BROWSER_KNOBS + BROWSER_SAMPLERS


# --------------------------------------------------------------------------------------------------
# Links


def _value_text(value) -> str:
    if isinstance(value, bool):
        raise TypeError("a knob's value is a number, not a bool")
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def playground_fragment(context: str = "name", order=None, **settings) -> str:
    """The URL fragment (after ``#``) that opens the playground on ``context`` with ``settings``.

    Args:
        context: a key of :data:`CONTEXTS`.
        order: ``None`` (``generate()``'s), ``"llama_cpp"``, or a list of fields.
        **settings: knobs of the processor table (``temperature=0.7``, ``top_k=0`` switches the hidden
            ``top_k=50`` off), each checked by its row; a sampler with several settings takes a
            dict of the ones it sets (``xtc={"xtc_probability": 0.5}``).

    Raises:
        ValueError: an unknown context, field or order, or a value outside a knob's interval.
    """
    if context not in PAGE_CONTEXT_KEYS:
        raise ValueError(f"`context` has to be one of {', '.join(PAGE_CONTEXT_KEYS)}, but is {context!r}")
    parts = [f"ctx={context}"]
    for name, value in settings.items():
        if name not in BROWSER_FIELDS:
            raise ValueError(f"`{name}` is not a knob the playground has; it has {', '.join(BROWSER_FIELDS)}")
        PROCESSORS[name].check(value)
        if name in BROWSER_SAMPLERS:
            given = [(q.name, value[q.name]) for q in PROCESSORS[name].params if q.name in value]
            parts.append(f"{name}=" + ",".join(f"{k}:{_value_text(v)}" for k, v in given))
        else:
            parts.append(f"{name}={_value_text(value)}")
    if order is not None:
        if isinstance(order, str):
            if order not in ORDERS:
                raise ValueError(f"`order` has to be one of {', '.join(ORDERS)} or a list of fields, but is {order!r}")
            parts.append(f"order={order}")
        else:
            fields = list(order)
            bad = [f for f in fields if f not in BROWSER_FIELDS]
            if bad or len(set(fields)) != len(fields):
                raise ValueError(f"`order` has to name fields of {', '.join(BROWSER_FIELDS)} once each, but is {fields!r}")
            parts.append("order=" + ",".join(fields))
    return "&".join(parts)


@dataclass
class PlaygroundState:
    """A fragment as the page reads it: the context, the settings it keeps, the order and a note
    for each part it dropped."""

    context: str = "name"
    settings: dict = field(default_factory=dict)
    order: str | tuple[str, ...] = "hf"
    notes: list[str] = field(default_factory=list)


_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?")


def _number(text: str):
    """A fragment's number as the page reads it (JavaScript's Number() on a decimal)."""
    low = text.strip().lower()
    if low in ("inf", "+inf", "infinity"):
        return math.inf
    if low in ("-inf", "-infinity"):
        return -math.inf
    if low in ("nan", "+nan", "-nan"):
        return math.nan
    if not _DECIMAL.fullmatch(low):
        return None
    value = float(low)
    # JavaScript has one number type: "5.0" is the integer 5 there, and so here
    return int(value) if value.is_integer() and abs(value) < 1e16 else value


def parse_fragment(fragment: str) -> PlaygroundState:
    """Read a playground fragment; never raises. The page (``playground.mjs``) reads it the same
    way, and a test checks that both agree."""
    state = PlaygroundState()
    fragment = fragment[1:] if fragment.startswith("#") else fragment
    for part in filter(None, fragment.split("&")):
        name, _, raw = part.partition("=")
        name, raw = unquote(name), unquote(raw)
        if name == "ctx":
            if raw in PAGE_CONTEXT_KEYS:
                state.context = raw
            else:
                state.notes.append(f"`ctx` has to be one of {', '.join(PAGE_CONTEXT_KEYS)}, but is {raw!r}: dropped")
        elif name == "order":
            fields = tuple(f for f in raw.split(",") if f)
            if raw in ORDERS:
                state.order = raw
            elif fields and all(f in BROWSER_FIELDS for f in fields) and len(set(fields)) == len(fields):
                state.order = fields
            else:
                state.notes.append(f"`order` has to be hf, llama_cpp or fields of the table once each, but is {raw!r}: dropped")
        elif name in BROWSER_KNOBS:
            value = _number(raw)
            try:
                if value is None:
                    raise ValueError(f"`{name}` has to be a number, but is {raw!r}")
                PROCESSORS[name].check(value)
            except ValueError as error:
                state.notes.append(f"{error}: dropped")
            else:
                state.settings[name] = value
        elif name in BROWSER_SAMPLERS:
            try:
                value = _sampler_value(name, raw)
                PROCESSORS[name].check(value)
            except ValueError as error:
                state.notes.append(f"{error}: dropped")
            else:
                state.settings[name] = value
        else:
            state.notes.append(f"`{name}` is not a knob the playground has: dropped")
    return state


def _sampler_value(name: str, raw: str) -> dict:
    """``name:value,name:value`` (a sampler's settings in a fragment) as a dict; the row checks it."""
    value = {}
    for item in filter(None, raw.split(",")):
        key, colon, text = item.partition(":")
        number = _number(text) if colon else None
        if number is None:
            raise ValueError(f"`{name}`'s setting {item!r} has to be name:number")
        value[key] = number
    return value


# --------------------------------------------------------------------------------------------------
# Capture


def _story_ids(lm) -> torch.Tensor:
    """The story: ``max(STORY_POSITIONS)`` greedy tokens after :data:`STORY`, EOS banned so every
    position exists."""
    from .reference import reference_generate
    from .scoring import DecodingConfig

    n = max(STORY_POSITIONS)
    ids = reference_generate(lm, STORY, DecodingConfig(min_new_tokens=n), max_new_tokens=n)
    return ids[:1].cpu()


def capture_contexts(lm) -> list[tuple[Context, torch.Tensor, torch.Tensor, int]]:
    """``(context, input_ids (1, length), logits (vocab,) float32, prompt length)`` for every
    context, one forward pass each (the story's generation besides); the prompt length counts the
    ids that were written, not generated (all of them but a story position's)."""
    cap = LogitCapture(lm)
    story, story_prompt = None, None
    out = []
    for ctx in CONTEXTS:
        if ctx.new_tokens:
            if story is None:
                story, story_prompt = _story_ids(lm), lm.encode(STORY).shape[1]
            step = cap(story[0, : story_prompt + ctx.new_tokens].tolist())
            prompt_length = story_prompt
        else:
            step = cap(ctx.text)
            prompt_length = step.input_ids.shape[1]
        out.append((ctx, step.input_ids, step.logits, prompt_length))
    return out


def swap_in(tmp: Path, directory: Path) -> None:
    """Put the finished directory ``tmp`` in the place of ``directory`` (which may exist), so that a
    reader of ``directory`` sees the old files or the new ones, never a mix."""
    import shutil

    old = directory.with_name(f".{directory.name}.old.{os.getpid()}")
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def write_playground(lm, directory, labelled: int = LABELLED) -> dict:
    """Write the playground's files (see the module's docstring) into ``directory``; returns the index.

    The files appear whole or not at all: they are written into a temporary directory next to
    ``directory``, which then replaces it.
    """
    import shutil
    import tempfile

    check_int("labelled", labelled, 1)
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    t0 = time.perf_counter()
    try:
        tok = lm.tokenizer
        entries = []
        for ctx, ids, logits, prompt_length in capture_contexts(lm):
            logits = logits.to(torch.float32).contiguous()
            raw = logits.numpy().astype("<f4").tobytes()
            (tmp / f"{ctx.key}.f32").write_bytes(raw)
            ctx_ids = [int(i) for i in ids[0].tolist()]
            top = torch.topk(logits, min(labelled, logits.numel())).indices.tolist()
            shown = sorted(set(top) | {i for i in ctx_ids if i < logits.numel()})
            detail = {
                "key": ctx.key,
                "ids": ctx_ids,
                "prompt_length": prompt_length,
                "prompt_text": tok.decode(ctx_ids[:prompt_length]),
                "generated_text": tok.decode(ctx_ids[prompt_length:]),
                "context_labels": [token_label(tok, i).display for i in ctx_ids],
                "labels": {str(i): token_label(tok, i).display for i in shown},
            }
            meta = json.dumps(detail, ensure_ascii=False, separators=(",", ":"))
            (tmp / f"{ctx.key}.json").write_text(meta, encoding="utf-8")
            entries.append({
                "key": ctx.key, "kind": ctx.kind, "label": ctx.label,
                "text": tok.decode(ctx_ids, skip_special_tokens=False),
                "tokens": len(ctx_ids), "logits_bytes": len(raw), "meta_bytes": len(meta.encode()),
            })
        index = {
            "model": lm.name, "vocab_size": int(logits.numel()), "dtype": str(lm.dtype).replace("torch.", ""),
            "hf_order": list(HF_ORDER), "llama_cpp_order": list(LLAMA_CPP_ORDER),
            # DRY's sequence breakers (llama.cpp's defaults) matched against this model's vocabulary
            "dry_breakers": dry_breaker_table(tok),
            "seconds": round(time.perf_counter() - t0, 2), "contexts": entries,
        }
        (tmp / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1), encoding="utf-8")
        swap_in(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return index


def main(argv=None) -> int:
    """``python -m decoding_lessons.playground DIR``: load the build's model and write the files."""
    import argparse
    import sys

    from .loading import load_model

    parser = argparse.ArgumentParser(prog="python -m decoding_lessons.playground", description=main.__doc__)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    lm = load_model()
    index = write_playground(lm, args.directory)
    total = sum(c["logits_bytes"] + c["meta_bytes"] for c in index["contexts"])
    print(
        f"playground: {len(index['contexts'])} contexts of {index['model']} ({index['vocab_size']} tokens), "
        f"{total / len(index['contexts']) / 1024:.0f} KB per context, in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "BROWSER_FIELDS", "BROWSER_KNOBS", "BROWSER_SAMPLERS", "CONTEXTS", "CONTEXT_KEYS", "Context", "LABELLED", "LIVE_CONTEXT", "PAGE_CONTEXT_KEYS", "PlaygroundState", "STORY", "STORY_POSITIONS",
    "capture_contexts", "parse_fragment", "playground_fragment", "write_playground",
]
