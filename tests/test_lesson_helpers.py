"""The helpers the lessons share (instead of a copy in each): token labels, kept counts, the
Markdown table, the generate() reference call, and the lesson's state."""

from __future__ import annotations

import pytest
import torch

import decoding_lessons as dl
from decoding_lessons import lesson


def test_markdown_table_escapes_cells_and_aligns_columns():
    table = dl.markdown_table(["token", "p", "note"], [["`a|b`", "0.5", "two\nlines"], [r"x\|y", 0.25, ""]], align="lrc")
    assert table.splitlines() == [
        "| token | p | note |",
        "|---|---:|:---:|",
        r"| `a\|b` | 0.5 | two ↵ lines |",
        r"| x\|y | 0.25 |  |",  # an already escaped pipe stays one escape
    ]


@pytest.mark.parametrize(
    "rows,align,message",
    [
        ([["a"]], None, r"`rows\[0\]` has to hold 2 cells, one per column, but holds 1"),
        ([["a", "b"]], "l", r"`align` has to hold one of l, r, c per column \(2\), but is 'l'"),
        ([["a", "b"]], "lx", r"`align` has to hold one of l, r, c per column \(2\), but is 'lx'"),
    ],
)
def test_markdown_table_refuses_a_misshapen_table(rows, align, message):
    with pytest.raises(ValueError, match=message):
        dl.markdown_table(["a", "b"], rows, align=align)


def test_token_label_code_and_text(lm):
    space_the = lm.encode(" the")[0, -1]
    assert lm.label(space_the) == dl.token_label(lm.tokenizer, int(space_the)).display == "␣the"
    assert lm.code(space_the) == "`␣the`"
    backtick = lm.tokenizer.convert_tokens_to_ids("`")
    assert lm.code(backtick) == "`'`"  # a backtick inside inline code would end it
    ids = lm.encode(" a *bold* word")[0]
    assert lm.text(ids) == dl.markdown_text(lm.tokenizer, ids) == r"a \*bold\* word"


def test_kept_counts_the_tokens_left_to_draw_from(cap):
    step = cap("The sky is")
    assert step.kept(dl.DecodingConfig(do_sample=True)) == 50  # generate()'s hidden top_k=50
    assert step.kept(dl.DecodingConfig(do_sample=True, top_k=0)) == step.logits.numel()
    cfg = dl.DecodingConfig(do_sample=True, top_k=0, top_p=0.5)
    assert step.kept(cfg) == int(torch.isfinite(step.scores(cfg)).sum()) < 50


def test_reference_generate_is_generate_called_as_every_check_calls_it(lm):
    ids = lm.encode("Once upon a time")
    cfg = dl.DecodingConfig(do_sample=True, top_k=0, temperature=1.3)
    torch.manual_seed(7)
    direct = lm.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=12, pad_token_id=lm.tokenizer.pad_token_id,
                               output_scores=True, return_dict_in_generate=True, **cfg.explicit())
    ours = dl.reference_generate(lm, "Once upon a time", cfg, max_new_tokens=12, seed=7, scores=True)
    assert torch.equal(ours.sequences, direct.sequences)
    assert all(torch.equal(a, b) for a, b in zip(ours.scores, direct.scores))
    # ids instead of text, and without scores: the bare tensor, as generate() returns it
    greedy = dl.reference_generate(lm, ids[0].tolist(), max_new_tokens=5)
    assert isinstance(greedy, torch.Tensor) and greedy.shape == (1, ids.shape[1] + 5)
    # a bare transformers model (no tokenizer): ids only, its generation_config's pad id
    bare = dl.reference_generate(lm.model, ids, max_new_tokens=5)
    assert torch.equal(bare, greedy)
    with pytest.raises(TypeError, match="`config` has to be a DecodingConfig or None, but is a dict"):
        dl.reference_generate(lm, "The sky is", {"top_k": 5}, max_new_tokens=1)


def test_the_lesson_state_is_one_object(monkeypatch, lm):
    monkeypatch.delenv(lesson.SITE_BUILD_ENV, raising=False)
    monkeypatch.setattr(lesson, "load_model", lambda: lm)  # the session's model: no second load
    got_lm, cap = dl.lesson_setup(show_info=False)
    current = dl.current_lesson()
    assert current.lm is got_lm is lm and current.cap is cap and current.renderer is None
    cap("The sky is"), cap("The sky is"), cap("2 + 2 =")
    assert current.stats() == {"forward_passes": 2, "distinct_contexts": 2, "charts": 0}


def test_exercise_folds_the_answer_away_and_the_site_renders_it_as_markdown(tmp_path):
    """The Markdown a lesson displays, through mkdocs-jupyter's own converter (nbconvert's
    Markdown renderer, as the site build runs it): the question outside, the answer rendered as
    Markdown inside a collapsed <details>."""
    import re

    import nbformat
    from mkdocs_jupyter.nbconvert2 import nb2html

    text = dl.exercises([("How many tokens does `top_k=5` keep?", "**5**, or more *if tokens tie*."),
                         ("At $T = 2$, does $p$ rise?", "No:\n\n- it falls")])
    assert text.startswith("**1.** How many tokens does `top_k=5` keep?\n\n<details><summary>Answer</summary>\n\n**5**")
    assert text.count("<details><summary>Answer</summary>") == 2 and "**2.** At $T = 2$" in text
    assert dl.exercise("Q?", "  A.\n") == "Q?\n\n<details><summary>Answer</summary>\n\nA.\n\n</details>"

    cell = nbformat.v4.new_code_cell("display(Markdown(text))")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": text})]
    path = tmp_path / "exercises.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    page = nb2html(str(path), execute=False)
    output = page[page.index('data-mime-type="text/markdown"'):page.rindex("</details>")]  # the rendered output
    folded = re.findall(r"<details>(.*?)</details>", output + "</details>", flags=re.S)
    assert len(folded) == 2
    assert "<summary>Answer</summary>" in folded[0] and "<strong>5</strong>, or more <em>if tokens tie</em>." in folded[0]
    assert "<li>it falls</li>" in folded[1]  # block Markdown inside <details> is Markdown too, not raw text
    assert "<strong>1.</strong> How many tokens does <code>top_k=5</code> keep?" in output.split("<details>")[0]
    assert "**" not in output and "top_k=5" not in "".join(folded)  # nothing left unrendered; the question stays outside


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: dl.exercise("", "A"), r"`question` has to be a non-empty string, but is ''"),
        (lambda: dl.exercise("Q?", "  \n"), r"`answer` has to be a non-empty string, but is '  \\n'"),
        (lambda: dl.exercise("Q?", 3), r"`answer` has to be a non-empty string, but is 3"),
        (lambda: dl.exercise("Q?", "A", number=0), r"`number` has to be an integer >= 1, but is 0"),
        (lambda: dl.exercise("Q?", "A", number=True), r"`number` has to be an integer >= 1, but is True"),
        (lambda: dl.exercises([]), r"`items` has to be a non-empty sequence of \(question, answer\) pairs, but is \[\]"),
        (lambda: dl.exercises("QA"), r"`items` has to be a non-empty sequence of \(question, answer\) pairs, but is 'QA'"),
        (lambda: dl.exercises([("Q?", "A"), ("Q?",)]), r"`items\[1\]` has to be a \(question, answer\) pair, but is \('Q\?',\)"),
        (lambda: dl.exercises([("Q?", "A"), (None, "A")]), r"`items\[1\]\[0\]` \(the question\) has to be a non-empty string, but is None"),
    ],
)
def test_exercise_refuses_bad_input_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()
