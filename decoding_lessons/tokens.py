"""Token display: readable, honest labels for tokens.

Byte-level BPE vocabularies (GPT-2, Qwen, SmolLM2) store each token as bytes mapped to printable
characters, which is why a leading space shows up as ``'Ġ'`` and a newline as ``'Ċ'``. This module
maps tokens back to their bytes and then to a label a reader can trust:

* whitespace is made visible: ``' '`` → ``'␣'``, ``'\\n'`` → ``'↵'``, ``'\\t'`` → ``'⇥'``;
* a token that is only part of a UTF-8 character (e.g. the first two bytes of ``'①'``) is shown as
  its bytes, ``\\xe2\\x91``, never as ``'�'``;
* :func:`html_label` escapes the label for charts, so a token such as ``<b>`` shows literally.

Examples:
    >>> label = token_label(tokenizer, tokenizer(" the").input_ids[-1])
    >>> label.display                              # the stored entry: 'Ġthe' (byte-level BPE) or '▁the'
    '␣the'
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


@lru_cache(maxsize=1)
def byte_decoder() -> dict[str, int]:
    """The inverse of GPT-2's ``bytes_to_unicode`` table: printable character → byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(printable, chars)}


@dataclass(frozen=True)
class TokenLabel:
    """How to show one token.

    Attributes:
        token_id: the id.
        raw: the vocabulary entry as stored (``'Ġthe'``).
        data: its bytes (``b' the'``), or ``None`` for a special token.
        display: the readable label (``'␣the'``), whitespace visible, partial UTF-8 as ``\\x..``.
    """

    token_id: int
    raw: str
    data: bytes | None
    display: str

    @property
    def is_partial_utf8(self) -> bool:
        if self.data is None:
            return False
        try:
            self.data.decode("utf-8")
            return False
        except UnicodeDecodeError:
            return True


def make_visible(text: str) -> str:
    """Replace whitespace and control characters by visible symbols or ``\\x..`` escapes."""
    out = []
    for ch in text:
        if ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def bytes_to_display(data: bytes) -> str:
    """Decode ``data`` as UTF-8 where it is valid; show every byte that is not part of a complete
    character as ``\\xNN`` (so a partial multi-byte sequence never becomes ``'�'``)."""
    out = []
    i = 0
    while i < len(data):
        for width in (1, 2, 3, 4):
            chunk = data[i : i + width]
            try:
                out.append(make_visible(chunk.decode("utf-8")))
                i += width
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(f"\\x{data[i]:02x}")
            i += 1
    return "".join(out)


def is_byte_level(tokenizer) -> bool:
    """Whether ``tokenizer`` is a byte-level BPE (GPT-2, Llama 3, Qwen, SmolLM2: ``Ġ`` for a space),
    as opposed to SentencePiece-style (Gemma, T5, Llama 2: ``▁`` for a space, ``<0x..>`` byte
    fallback). Read from the fast tokenizer's decoder; a slow tokenizer is asked how it stores " a"."""
    cached = getattr(tokenizer, "_dl_byte_level", None)
    if cached is not None:
        return cached
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and (backend.decoder is not None or backend.pre_tokenizer is not None):
        answer = "ByteLevel" in repr(backend.decoder) or "ByteLevel" in repr(backend.pre_tokenizer)
    else:
        answer = any(t.startswith("Ġ") for t in tokenizer.tokenize(" a"))
    try:
        tokenizer._dl_byte_level = answer
    except AttributeError:  # pragma: no cover - a tokenizer that refuses new attributes
        pass
    return answer


def token_bytes(tokenizer, token_id: int) -> bytes | None:
    """The bytes a token stands for, or ``None`` for a special token (``<|endoftext|>``)."""
    raw = tokenizer.convert_ids_to_tokens(int(token_id))
    if raw is None:
        return b""
    if int(token_id) in set(tokenizer.all_special_ids):
        return None
    decoder = byte_decoder()
    if raw and is_byte_level(tokenizer) and all(ch in decoder for ch in raw):  # byte-level BPE
        return bytes(decoder[ch] for ch in raw)
    match = _BYTE_TOKEN.fullmatch(raw)  # SentencePiece byte fallback
    if match:
        return bytes([int(match.group(1), 16)])
    return raw.replace("▁", " ").encode("utf-8")


def token_label(tokenizer, token_id: int) -> TokenLabel:
    """A :class:`TokenLabel` for ``token_id``."""
    token_id = int(token_id)
    raw = tokenizer.convert_ids_to_tokens(token_id)
    raw = "" if raw is None else raw
    data = token_bytes(tokenizer, token_id)
    display = raw if data is None else (bytes_to_display(data) if data else "∅")
    return TokenLabel(token_id=token_id, raw=raw, data=data, display=display)


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` for Plotly text. Quotes stay as they are: Plotly's text is
    not an attribute, and plotly.js does not decode ``&quot;`` (a ``"`` token would show as
    ``&quot;``)."""
    return html.escape(text, quote=False)


def short_text(text: str, width: int = 40) -> str:
    """A prompt shortened for a chart title: its last ``width`` characters (``…`` before them),
    line breaks as ``↵``, escaped for Plotly with :func:`escape`.

    Examples:
        >>> short_text("a <b> prompt that goes on", width=12)
        '…that goes on'
        >>> short_text("1 < 2" + chr(10) + "ok")
        '1 &lt; 2↵ok'
    """
    text = text if len(text) <= width else "…" + text[-width:]
    return escape(text.replace("\n", "↵"))


def clip_label(label: str, width: int) -> str:
    """An (escaped) chart label cut to its first ``width`` visible characters, ``…`` last.

    Examples:
        >>> clip_label("&lt;b&gt;old", 3)
        '&lt;b…'
        >>> clip_label("␣blue", 8)
        '␣blue'
    """
    raw = html.unescape(label)
    return label if len(raw) <= width else escape(raw[: width - 1]) + "…"


def html_label(tokenizer, token_id: int, with_raw: bool = False) -> str:
    """The label, HTML-escaped for a Plotly chart (``<b>`` shows as ``<b>``, not bold)."""
    label = token_label(tokenizer, token_id)
    text = escape(label.display)
    if with_raw and label.raw != label.display:
        text += f" <span style='opacity:.6'>{escape(label.raw)}</span>"
    return text


def hover_text(tokenizer, token_id: int) -> str:
    """HTML hover text: the label, the raw vocabulary entry, the id and the bytes."""
    label = token_label(tokenizer, token_id)
    parts = [f"<b>{escape(label.display)}</b>", f"raw: {escape(repr(label.raw))}", f"id: {label.token_id}"]
    if label.data is not None:
        parts.append(f"bytes: {label.data.hex(' ')}")
    if label.is_partial_utf8:
        parts.append("part of a multi-byte UTF-8 character")
    return "<br>".join(parts)


def decode_visible(tokenizer, ids) -> str:
    """Decode a whole sequence (bytes joined first, so multi-byte characters come out whole)."""
    data = b"".join(token_bytes(tokenizer, i) or tokenizer.convert_ids_to_tokens(int(i)).encode() for i in ids)
    return bytes_to_display(data)


_MARKDOWN_SPECIAL = "\\`*_[]{}()#+-!|~"


def markdown_text(tokenizer, ids) -> str:
    """A generated sequence as prose for a Markdown table cell: real spaces (so a long output wraps
    at words, where :func:`decode_visible`'s ``␣`` would make one unbreakable word), a line break
    shown as ``↵``, special tokens kept, and Markdown's and HTML's special characters escaped.

    Examples:
        >>> markdown_text(tok, tok.encode(" a *bold* word"))
        'a \\\\*bold\\\\* word'
    """
    text = tokenizer.decode([int(i) for i in ids], skip_special_tokens=False, clean_up_tokenization_spaces=False)
    text = text.replace("\r\n", "\n").replace("\n", " ↵ ").replace("\t", " ")
    text = html.escape(text, quote=False)
    text = "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text)
    return " ".join(text.split()) or "∅"
