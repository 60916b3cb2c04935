"""The generation modes transformers moved out of ``generate()``'s core, said once.

transformers 4.56 and 4.57 moved four modes to Hub repositories (``custom_generate``): since then,
``generate()`` with their arguments raises unless it is given ``trust_remote_code=True``, and then it
downloads and runs the repository's code. The package implements each one itself, following the
last in-core implementation, and its tests compare them with transformers 4.55.4's own outputs.

The releases come from the PyPI wheels: ``generation/utils.py`` of 4.55.4 has all four
(``_contrastive_search``, ``_dola_decoding``, ``_group_beam_search``, ``_constrained_beam_search``),
4.56.2 only the last two, 4.57.6 none. The repositories are transformers' own mapping
(``GENERATION_MODES_MAPPING``), which a test checks against the installed transformers.

Examples:
    >>> RETIRED["contrastive_search"].last_in_core
    '4.55'
    >>> RETIRED["constrained_beam_search"].repo
    'transformers-community/constrained-beam-search'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetiredMode:
    """One mode that left ``generate()``'s core.

    Attributes:
        function: the package's implementation (``dl.<function>``).
        mode: transformers' ``GenerationMode`` member.
        call: the ``generate()`` arguments that selected it.
        last_in_core: the last minor release that ran it in core.
        repo: the Hub repository it moved to.
    """

    function: str
    mode: str
    call: str
    last_in_core: str
    repo: str

    @property
    def removed_in(self) -> str:
        major, minor = self.last_in_core.split(".")
        return f"{major}.{int(minor) + 1}"

    def note(self) -> str:
        """The status as a Markdown paragraph, for a lesson's "In transformers" line."""
        return (
            f"`generate({self.call})` ran it in core up to transformers {self.last_in_core}; {self.removed_in} moved "
            f"it to the Hub repository `{self.repo}` (on huggingface.co). Since then the same call "
            "raises a `ValueError` unless you add `trust_remote_code=True`, and with it `generate()` downloads that "
            f"repository's code and runs it on your machine (`custom_generate=\"{self.repo}\"` names it explicitly): "
            "it needs network access, and it is code from the Hub, not from transformers' release. "
            f"`decoding_lessons.{self.function}` follows the last in-core implementation, and the package's tests "
            "compare it with transformers 4.55.4's own outputs."
        )


RETIRED: dict[str, RetiredMode] = {
    m.function: m
    for m in (
        RetiredMode("contrastive_search", "CONTRASTIVE_SEARCH", "penalty_alpha=α, top_k=k", "4.55",
                    "transformers-community/contrastive-search"),
        RetiredMode("dola_decoding", "DOLA_GENERATION", 'dola_layers="low" | "high" | [layers]', "4.55",
                    "transformers-community/dola"),
        RetiredMode("diverse_beam_search", "GROUP_BEAM_SEARCH", "num_beams=N, num_beam_groups=G, diversity_penalty=λ", "4.56",
                    "transformers-community/group-beam-search"),
        RetiredMode("constrained_beam_search", "CONSTRAINED_BEAM_SEARCH", "num_beams=N, force_words_ids=[...]", "4.56",
                    "transformers-community/constrained-beam-search"),
    )
}


def retired_note(function: str) -> str:
    """:meth:`RetiredMode.note` of ``dl.<function>``.

    Raises:
        ValueError: ``function`` is not one of the retired modes.
    """
    if function not in RETIRED:
        raise ValueError(f"`function` has to be one of {sorted(RETIRED)}, but is {function!r}")
    return RETIRED[function].note()


__all__ = ["RETIRED", "RetiredMode", "retired_note"]
