"""The package's shape: data flows one way, and computation never imports display."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "decoding_lessons"
# Glue, not computation: the package's front door and the lessons' set-up (which picks the renderer).
GLUE = {"__init__.py", "lesson.py", "__main__.py"}


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the package modules that ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1] if path.name != "__init__.py" else parts
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("decoding_lessons")}


def test_no_computation_module_imports_plotting():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "plotting" or path.name in GLUE:
            continue
        bad = sorted(m for m in imported_modules(path) if m.startswith("decoding_lessons.plotting"))
        if bad:
            offenders[str(rel)] = bad
    assert not offenders, offenders


def test_the_checker_sees_a_plotting_import(tmp_path):
    """The test above would notice: a module importing plotting is reported."""
    fake = PACKAGE / "sampling.py"
    assert "decoding_lessons.plotting.theme" in imported_modules(PACKAGE / "lesson.py")
    assert not any(m.startswith("decoding_lessons.plotting") for m in imported_modules(fake))
