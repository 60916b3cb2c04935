"""Token display: whitespace visible, partial UTF-8 as bytes, HTML escaped."""

from __future__ import annotations

import html
import re

import decoding_lessons as dl
from decoding_lessons.tokens import bytes_to_display, html_label, hover_text, token_bytes


def ids_of(lm, text):
    return lm.tokenizer(text).input_ids


def test_space_and_newline_are_visible(lm):
    labels = [dl.token_label(lm.tokenizer, i) for i in ids_of(lm, "a b\n\tc")]
    joined = "".join(label.display for label in labels)
    assert "␣" in joined and "↵" in joined and "⇥" in joined
    assert all(" " not in label.display and "\n" not in label.display for label in labels)
    raw = [label.raw for label in labels]
    assert any(r.startswith("Ġ") for r in raw)  # byte-level BPE stores the space as 'Ġ'


def test_partial_utf8_is_shown_as_bytes_never_replacement_char(lm):
    tok = lm.tokenizer
    text = "① ② ③ 日本語 🙂 naïve"
    ids = ids_of(lm, text)
    labels = [dl.token_label(tok, i) for i in ids]
    partial = [label for label in labels if label.is_partial_utf8]
    assert partial, "the sample must contain at least one token that splits a UTF-8 character"
    for label in labels:
        assert "�" not in label.display
    for label in partial:
        assert "\\x" in label.display
        assert "�" in tok.decode([label.token_id])  # what naive decoding would show
    # the bytes of all tokens together are exactly the text
    assert b"".join(token_bytes(tok, i) for i in ids).decode("utf-8") == text
    assert dl.decode_visible(tok, ids) == text.replace(" ", "␣")


def test_bytes_to_display_mixes_valid_text_and_stray_bytes():
    assert bytes_to_display("é".encode() + b"\xe2\x91") == "é\\xe2\\x91"
    assert bytes_to_display(b"\x00a") == "\\x00a"


MARKUP = re.compile(r"</?b>|<br>|<span style='opacity:\.6'>|</span>")  # the tags the labels and hovers write themselves


def unescaped_brackets(html_text: str) -> str:
    """What is left of ``<`` and ``>`` once the labels' own markup is removed (should be nothing)."""
    return "".join(ch for ch in MARKUP.sub("", html_text) if ch in "<>")


def test_html_is_escaped(lm):
    tok = lm.tokenizer
    for text in ["<b>", "<script>", "&amp;", " a<b"]:
        for i in ids_of(lm, text):
            label = dl.token_label(tok, i)
            escaped = html_label(tok, i)
            assert "<" not in escaped and ">" not in escaped
            assert html.unescape(escaped) == label.display
            assert unescaped_brackets(hover_text(tok, i)) == ""
            assert unescaped_brackets(html_label(tok, i, with_raw=True)) == ""


def byte_level_tokenizer_with_a_script_token():
    """A byte-level tokenizer (as GPT-2's) in which "<script>" and " <script>" are single tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(vocab={"[UNK]": 0, "<script>": 1, "Ġ<script>": 2}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")


def test_a_script_token_is_escaped_in_label_and_hover():
    tok = byte_level_tokenizer_with_a_script_token()
    (script,) = tok("<script>").input_ids
    (spaced,) = tok(" <script>").input_ids
    assert tok.decode([script]) == "<script>" and tok.decode([spaced]) == " <script>"
    assert dl.token_label(tok, script).display == "<script>"  # shown as the text it is
    assert html_label(tok, script) == "&lt;script&gt;"
    assert html_label(tok, spaced) == "␣&lt;script&gt;"
    assert html_label(tok, spaced, with_raw=True) == "␣&lt;script&gt; <span style='opacity:.6'>Ġ&lt;script&gt;</span>"
    for i in (script, spaced):
        hover = hover_text(tok, i)
        assert "<script>" not in hover and unescaped_brackets(hover) == ""
        assert hover.count("&lt;script&gt;") == 2  # the label and the raw entry
        assert hover.startswith(f"<b>{html_label(tok, i)}</b><br>")


def test_the_embedded_tokenizers_bracketed_token_is_escaped(lm):
    """SmolLM2's vocabulary has a single, non-special token "<jupyter_script>"."""
    tok = lm.tokenizer
    (i,) = tok("<jupyter_script>").input_ids
    assert i not in tok.all_special_ids and tok.decode([i]) == "<jupyter_script>"
    assert html_label(tok, i) == "&lt;jupyter_script&gt;"
    hover = hover_text(tok, i)
    assert "<jupyter_script>" not in hover and unescaped_brackets(hover) == "" and hover.count("&lt;jupyter_script&gt;") == 2


def test_quotes_are_not_escaped_for_plotly(lm):
    """plotly.js decodes &amp; &lt; &gt; and numeric entities, but not &quot;: a quote stays a quote."""
    tok = lm.tokenizer
    for text in ['"', ' "', "'", "&"]:
        for i in ids_of(lm, text):
            label = dl.token_label(tok, i)
            assert "&quot;" not in html_label(tok, i) and "&quot;" not in hover_text(tok, i)
            if '"' in label.display:
                assert '"' in html_label(tok, i)
            if "&" in label.display:
                assert "&amp;" in html_label(tok, i)


def test_special_tokens_keep_their_name(lm):
    eos = lm.tokenizer.eos_token_id
    label = dl.token_label(lm.tokenizer, eos)
    assert label.data is None and label.display == lm.tokenizer.eos_token


def test_markdown_text_wraps_at_words_and_renders_as_the_text(lm):
    import html as html_lib
    import re

    import markdown

    tok = lm.tokenizer
    source = " a *bold* | pipe, <b>tag</b> & `code` [link](x) 2-1\nnext line"
    cell = dl.markdown_text(tok, tok.encode(source) + [tok.eos_token_id])
    assert "␣" not in cell and " ↵ " in cell and cell.startswith("a ")
    # rendered in a table, the cell shows the text itself: no emphasis, link, code or extra column
    html = markdown.markdown(f"| out |\n|---|\n| {cell} |", extensions=["tables"])
    assert html.count("<td>") == 1 and "<em>" not in html and "<a " not in html and "<code>" not in html and "<b>" not in html
    shown = re.sub(r"<[^>]+>", "", html.split("<td>")[1].split("</td>")[0])
    assert html_lib.unescape(shown) == source.strip().replace("\n", " ↵ ") + tok.eos_token


def sentencepiece_style_tokenizer():
    """A tiny SentencePiece-style tokenizer (▁ for a space, byte fallback), as Gemma's or T5's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<0xE2>": 1, "▁Na": 2, "ï": 3, "ve": 4, "▁café": 5, "é": 6}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>", byte_fallback=True))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")


def test_a_sentencepiece_token_of_latin_1_letters_is_not_read_as_bytes(lm):
    """'ï' is a whole character in a SentencePiece vocabulary; read as byte-level BPE it would be the
    single byte 0xEF, half a character (the bug a Gemma build showed)."""
    from decoding_lessons.tokens import is_byte_level, token_bytes

    sp = sentencepiece_style_tokenizer()
    assert not is_byte_level(sp) and is_byte_level(lm.tokenizer)
    assert token_bytes(sp, 3) == "ï".encode() and not dl.token_label(sp, 3).is_partial_utf8
    assert token_bytes(sp, 5) == " café".encode() and dl.token_label(sp, 5).display == "␣café"
    assert token_bytes(sp, 1) == b"\xe2" and dl.token_label(sp, 1).is_partial_utf8  # byte fallback
    # the byte-level tokenizer still maps its characters back to bytes
    ids = lm.tokenizer("①").input_ids
    assert b"".join(token_bytes(lm.tokenizer, i) for i in ids) == "①".encode()
