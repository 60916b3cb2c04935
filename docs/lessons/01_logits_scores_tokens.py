# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Logits, scores and tokens
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** a causal LM gives one logit per vocabulary entry for the next token; the decoding
#   strategy's processors turn logits into scores, and the next token is chosen from the scores.
# - **When:** before any other lesson: every later page reads these numbers.
# - **In transformers:** `generate(..., output_logits=True, output_scores=True, return_dict_in_generate=True)`.
# - **Typical value:** `max_new_tokens=1` to look at a single step.
#
# </div>
#
# A causal language model does one thing: given a sequence of tokens, it outputs one number per
# vocabulary entry, the **logits** of the next token. Every decoding strategy — [greedy](../glossary.md#greedy), [sampling](../glossary.md#sampling),
# top-k, top-p, beam search — is a rule for turning those numbers into a choice.
#
# This lesson loads the model this page was built with, lets it generate, and then looks at the
# numbers behind a single step.
#
# The words these lessons use are defined in the [glossary](../glossary.md), which also links the
# knobs cheat-sheet: every knob's name and default in each library.

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
tokenizer, model = lm.tokenizer, lm.model

# %% [markdown]
# ## Open-ended generation
#
# We give the model the prompt `"2 + 2 = "` and let `generate()` pick the most likely token 40
# times in a row (greedy decoding, `generate()`'s default).

# %%
prompt = "2 + 2 = "
inputs = tokenizer(prompt, return_tensors="pt").to(lm.device)
output = model.generate(**inputs, max_new_tokens=40, do_sample=False, pad_token_id=tokenizer.pad_token_id)
print(tokenizer.decode(output[0], skip_special_tokens=True))

# %% tags=["hide-input"]
new_ids = output[0, inputs.input_ids.shape[1]:].tolist()
special_out = sorted({tokenizer.convert_ids_to_tokens(i) for i in new_ids if i in set(tokenizer.all_special_ids)})
if lm.choice.name == dl.loading.EMBEDDED:
    about = (
        "This page's model is the embedded **SmolLM2-135M-Instruct**: a small (135 M parameters) instruct model, "
        "its weights quantized to 4 bits (Q4_1). An instruct model is trained to answer inside a chat template, "
        "but these lessons give it **raw prompts, without the template**, so it behaves as a plain next-token "
        "predictor: it continues the text with whatever it finds most plausible, and does not answer and stop. "
    )
else:
    about = (
        f"This page's model is **{lm.name}**. These lessons give every model **raw prompts, without any chat "
        "template**, so even a model tuned to chat behaves as a plain next-token predictor: it continues the text "
        "with whatever it finds most plausible, and does not answer and stop. "
    )
about += "Greedy decoding often ends up repeating itself (lesson 2 measures it). "
if special_out:
    about += (
        f"Its 40 new tokens include the special token{'s' if len(special_out) > 1 else ''} "
        + ", ".join(f"`{t}`" for t in special_out)
        + ", which `skip_special_tokens=True` leaves out of the printed text; a model tuned to chat emits such "
        "end-of-turn marks where it learned that an answer ends. "
    )
about += ("To run this lesson on another causal LM, set the environment variable `DECODING_LESSONS_MODEL` to a Hub id "
          "or a local directory before it starts (`make docs MODEL=...` rebuilds the whole site that way).")
display(Markdown(about))

# %% [markdown]
# ## Logits and scores
#
# `generate()` can return, for every generated step, the raw **logits** and the **scores**: the
# logits after the *[logits processors](../glossary.md#logits-processor)* of the chosen decoding strategy ([temperature](../glossary.md#temperature), top-k, …) have
# been applied. The next token is the argmax of the scores (greedy) or is drawn from
# `softmax(scores)` (sampling).

# %%
out = model.generate(
    **inputs,
    max_new_tokens=1,
    output_scores=True,
    output_logits=True,
    return_dict_in_generate=True,
    pad_token_id=tokenizer.pad_token_id,
)
print("sequences:", tuple(out.sequences.shape), "  (prompt tokens + 1 new token)")
print("logits:   ", len(out.logits), "step(s) of", tuple(out.logits[0].shape))
print("scores:   ", len(out.scores), "step(s) of", tuple(out.scores[0].shape))
print("first ten logits:", out.logits[0][0, :10])

# %% [markdown]
# Both have shape `(batch, vocabulary)`: one number for **every** token of the vocabulary. With
# greedy decoding no processor is active, so scores and logits are identical:

# %%
print("scores == logits:", torch.equal(out.scores[0], out.logits[0]))

# %% [markdown]
# ### The vocabulary
#
# The width of the logits is the size of the model's output layer. It can be larger than the
# tokenizer's vocabulary: some models pad the output layer to a multiple of 64 or 128 for speed, and
# the padding entries never get a meaningful logit.

# %%
display(
    Markdown(
        f"The logits have **{lm.vocab_size:,}** entries and the tokenizer knows **{len(tokenizer):,}** tokens"
        + (
            " — the same number."
            if lm.vocab_size == len(tokenizer)
            else f" — {lm.vocab_size - len(tokenizer):,} output rows are padding."
        )
    )
)

# %% [markdown]
# ### Capturing once, looking many times
#
# Calling `generate()` for every chart would re-run the model each time. `decoding_lessons`
# captures the logits of a context once (`LogitCapture`) and applies any decoding configuration
# to them with transformers' own processors, in `generate()`'s order. The result is bit-identical
# to what `generate()` reports:

# %%
step = cap(prompt)
print("captured logits == generate()'s logits:", torch.equal(step.logits, out.logits[0][0].cpu()))
print("captured scores == generate()'s scores:", torch.equal(step.scores(), out.scores[0][0].cpu()))
assert torch.equal(step.logits, out.logits[0][0].cpu())

# %% [markdown]
# ## Reading the top tokens
#
# `topk` gives the highest logits and their token ids. Converting ids back to tokens shows the
# vocabulary entries as they are stored, which can look odd:

# %%
values, ids = step.logits.topk(10)
print("logits:", [round(v, 2) for v in values.tolist()])
print("ids:   ", ids.tolist())
print("tokens:", tokenizer.convert_ids_to_tokens(ids.tolist()))

# %% [markdown]
# Tokenizers store their tokens in one of two main ways:
#
# - a **byte-level BPE** (GPT-2, Llama 3, Qwen, SmolLM2) makes every token a sequence of *bytes*,
#   each stored as a printable character: a space becomes `Ġ`, a newline `Ċ`. Some tokens are not
#   even whole characters: `①` takes three bytes in UTF-8, and a token may hold only the first two.
#   Decoding such a token on its own gives the replacement character `�`;
# - a **SentencePiece** vocabulary (Gemma, T5, Llama 2) writes a space as `▁` and keeps characters
#   whole where it can; a character it lacks is spelled as byte tokens `<0x..>`.
#
# `decoding_lessons.tokens` maps each token back to its bytes and shows them honestly: whitespace
# becomes visible (`␣`, `↵`, `⇥`) and an incomplete UTF-8 sequence is shown as its bytes
# (`\xe2\x91`). Here is a text with a few such characters, token by token:

# %%
kind = "a byte-level BPE" if dl.tokens.is_byte_level(tokenizer) else "SentencePiece-style (not byte-level)"
display(Markdown(f"This model's tokenizer is **{kind}**, with {len(tokenizer):,} entries."))
sample = "Hello world!\n\tNaïve café ① 日本"
rows = []
for token_id in tokenizer(sample).input_ids:
    stored = dl.token_label(tokenizer, token_id).raw
    alone = tokenizer.decode([token_id]).replace("\n", "\\n").replace("\t", "\\t")
    rows.append([token_id, f"`{stored}`", f"`{alone}`", lm.code(token_id)])
display(Markdown(dl.markdown_table(["id", "stored token", "`decode()` alone", "readable label"], rows, align="rlll")))
partial = [i for i in tokenizer(sample).input_ids if dl.token_label(tokenizer, i).is_partial_utf8]
display(
    Markdown(
        f"{len(partial)} of these {len(tokenizer(sample).input_ids)} tokens {'is' if len(partial) == 1 else 'are'} only part of a UTF-8 character."
        if partial
        else "This tokenizer happens to keep every character of this sample whole."
    )
)

# %% [markdown]
# ## The distribution as a chart
#
# The chart shows the 15 highest-logit tokens after `"The sky is"`: the raw logit on the left axis,
# as dots, and the probability `softmax(scores)` on the right, as bars. Logits get dots because
# they have no zero: adding the same number to every logit changes no probability, so the length of
# a bar from the bottom of the axis would mean nothing. Hover a dot or a bar for the token's stored
# form, id and exact numbers.

# %%
sky = cap("The sky is")
dl.token_chart(sky, k=15).show()

# %%
top_id, top_logit, top_p = sky.top(1)[0]
display(
    Markdown(
        f"The most likely continuation is **{lm.code(top_id)}** with probability "
        f"**{top_p:.1%}**: even the favourite token leaves {1 - top_p:.0%} of the probability to the rest of "
        f"the {lm.vocab_size:,}-token vocabulary."
    )
)

# %% [markdown]
# ## The same step, with sampling settings
#
# Now the same captured logits under `do_sample=True, temperature=0.7, top_p=0.9`. Temperature
# sharpens the distribution, and top-p keeps only the smallest set of tokens whose probability
# reaches 90 %. The filtered tokens are open grey dots, marked ✕ on the probability axis: their score is `-inf`, so
# `softmax(scores)` gives them exactly zero. The kept tokens' probabilities are renormalised.
#
# Note what we did *not* ask for: `generate()` also applies `top_k=50` whenever it samples, unless
# you pass `top_k=0`. Our configuration applies it too, because it reproduces `generate()` exactly.

# %%
sampling = dl.DecodingConfig(do_sample=True, temperature=0.7, top_p=0.9)
dl.token_chart(sky, sampling, k=15).show()

# %%
kept = sky.kept(sampling)
display(
    Markdown(
        f"Under these settings **{kept}** token{'s' if kept != 1 else ''} of {lm.vocab_size:,} can be sampled. "
        f"Every chart on this page came from **{cap.forward_passes}** forward passes "
        f"({cap.distinct_contexts} distinct contexts)."
    )
)

# %% tags=["hide-input"]
# Hidden checks (input hidden, still executed): the captured scores equal generate()'s for the sampling configuration too.
check = dl.reference_generate(lm, "The sky is", sampling, max_new_tokens=1, scores=True)
assert torch.equal(check.scores[0][0].cpu(), sky.scores(sampling))
assert cap.forward_passes == cap.distinct_contexts

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same captured logits as
# the charts above.

# %% tags=["hide-input"]
(id1, logit1, p1), (id2, logit2, p2) = sky.top(2)
gap = logit1 - logit2
shifted = torch.softmax(sky.logits + 10.0, dim=-1)
no_hidden_k = sky.kept(sampling.replace(top_k=0))
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"After “The sky is” the two highest logits, {lm.code(id1)} and {lm.code(id2)}, differ by "
                    f"{gap:.2f}. How many times likelier is {lm.code(id1)}?",
                    f"**{p1 / p2:.2f} times** ({p1:.1%} against {p2:.1%}): softmax turns a logit difference $\\Delta$ into a "
                    f"probability ratio $e^{{\\Delta}}$, and $e^{{{gap:.2f}}} = {float(torch.tensor(gap).exp()):.2f}$. Only differences "
                    "of logits matter, not their size.",
                ),
                (
                    f"Add 10 to every logit of that step. What is the probability of {lm.code(id1)} now?",
                    f"**Still {p1:.1%}.** Softmax divides every $e^{{z_i + 10}}$ by the sum of them all, so the common factor "
                    "$e^{10}$ cancels. That is why the charts draw logits as dots: a bar's length from some zero would mean nothing.",
                ),
                (
                    f"`do_sample=True, temperature=0.7, top_p=0.9` keeps {kept} token{'s' if kept != 1 else ''} here. "
                    "How many does it keep with `top_k=0` added?",
                    f"**{no_hidden_k:,}.** "
                    + (
                        "The same on this step: top-p's 90% was reached well inside the 50 tokens the hidden `top_k=50` keeps."
                        if no_hidden_k == kept
                        else f"More than {kept}. The hidden `top_k=50` runs first and renormalises over 50 tokens, so top-p's 90% "
                        "of *that* is reached sooner; with `top_k=0`, top-p measures 90% of the whole vocabulary."
                    ),
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
assert abs(p1 / p2 - float(torch.tensor(gap).exp())) < 1e-3 * (p1 / p2)
assert torch.allclose(shifted, sky.probs(), atol=1e-6) and abs(float(shifted[id1]) - p1) < 1e-5
assert no_hidden_k >= kept  # top-k first can only make top-p's nucleus smaller
assert cap.forward_passes == cap.distinct_contexts
