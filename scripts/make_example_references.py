"""Regenerate the references bundled under examples/ (run from the repository root).

Each reference is the render of the example *as the designer meant it*: the example source with
the substitutions below applied. Examples without substitutions match their reference, the others
show real diagnostics on the first `verm check examples/`.
"""

from __future__ import annotations

from pathlib import Path

from verm.check import Checker
from verm.pins import pin_render
from verm.source import Source

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# source → (reference, [(text in source, text in the designer's version)])
DESIGNS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "charts/revenue.py": ("design/revenue.png", [
        ('bars[2].set_facecolor("#DD8452")\n', ""),
        ('"Revenue 2025"', '"Revenue 2024"'),
    ]),
    "charts/trend.py": ("charts/trend.ref.png", []),
    "icons/badge.svg": ("icons/badge.ref.png", [('fill="#EBCB8B"', 'fill="#A3BE8C"')]),
    "icons/dot.svg": ("icons/dot.ref.png", []),
    "pages/card.html": ("design/card.png", [
        ("€12 / month", "€10 / month"),
        ("background: #1a7f37;", "background: #0969da;"),
    ]),
    "tables/prices.md": ("tables/prices.ref.png", [("|              12 |", "|              10 |")]),
}


def main() -> None:
    with Checker() as checker:
        for rel, (ref, edits) in DESIGNS.items():
            path = EXAMPLES / rel
            text = path.read_text(encoding="utf-8")
            for old, new in edits:
                assert old in text, f"{rel}: {old!r} not found"
                text = text.replace(old, new)
            # Render the designer's version from the same folder so relative files resolve.
            variant = path.with_name(f".design-{path.name}")
            variant.write_text(text, encoding="utf-8")
            try:
                render = checker.render(Source.load(variant))
            finally:
                variant.unlink()
            assert render.ok, f"{rel}: {render.failure}"
            render.source = path
            pin_render(render, EXAMPLES / ref, force=True)
            print(f"{rel} → {ref}")


if __name__ == "__main__":
    main()
