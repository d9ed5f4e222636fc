"""Chart mutations: AST edits of a matplotlib script, each with the label it causes.

The script is parsed, never run here; an edit replaces the exact source span of one node
(a literal, a method name, a statement) so the rest of the file — comments, formatting, the
user's own helpers — stays as written and the label's line is the node's line. Only edits
whose effect is known from the call alone are made (a colour keyword, a list element, a
title string, ``bar`` → ``barh``), so the label is exact.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

from verm_training.synth.mutation import (
    Mutation,
    color_name,
    label,
    ordinal,
    other_color,
    other_number,
    other_text,
    splice,
)

SERIES = {"plot": "line", "bar": "bars", "barh": "bars", "scatter": "points", "step": "line",
          "fill_between": "area", "errorbar": "line", "stem": "stems", "hist": "histogram"}
COLOR_KW = ("color", "c", "facecolor", "edgecolor", "fc", "ec", "markerfacecolor", "mfc")
TEXTS = {"set_title": "title", "title": "title", "suptitle": "suptitle",
         "set_xlabel": "x-axis label", "xlabel": "x-axis label",
         "set_ylabel": "y-axis label", "ylabel": "y-axis label"}
LIMITS = {"set_xlim": "x", "set_ylim": "y", "xlim": "x", "ylim": "y"}
LOCS = ("upper left", "upper right", "lower left", "lower right", "center", "upper center",
        "lower center", "center left", "center right")
LINESTYLES = ("--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "x", "*")
SCATTER_KW = {"color", "c", "label", "alpha", "marker", "zorder"}


@dataclass
class _Script:
    """The script's text with ast positions turned into character offsets."""

    text: str
    tree: ast.Module
    starts: list[int]
    lines: list[str]

    @classmethod
    def parse(cls, text: str) -> _Script | None:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return None
        lines = text.split("\n")
        starts, pos = [], 0
        for line in lines:
            starts.append(pos)
            pos += len(line) + 1
        return cls(text, tree, starts, lines)

    def offset(self, lineno: int, col: int) -> int:
        """Character offset of an ast (1-based line, UTF-8 byte column) position."""
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode()[:col].decode(errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                self.offset(node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def replace(self, node: ast.AST, new: str) -> str:
        start, end = self.span(node)
        return splice(self.text, start, end, new)


def _method(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _owner(call: ast.Call) -> str | None:
    """The name a method is called on (``ax`` in ``ax.bar``), when it is a plain name."""
    if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
        return call.func.value.id
    return None


def _kw(call: ast.Call, *names: str) -> ast.keyword | None:
    for kw in call.keywords:
        if kw.arg in names:
            return kw
    return None


def _str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _num(node: ast.AST | None) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return (isinstance(node, ast.Constant) and isinstance(node.value, int | float)
            and not isinstance(node.value, bool))


def _quoted(script: _Script, node: ast.Constant, value: str) -> str:
    """``value`` as a string literal in the quotes ``node`` was written with."""
    old = script.segment(node)
    quote = next((q for q in ('"""', "'''", '"', "'") if old.lstrip("rRuUbB").startswith(q)),
                 '"')
    return f"{quote}{value}{quote}"


def _lists(tree: ast.Module) -> dict[str, ast.List | ast.Tuple]:
    """Module-level ``name = [literals]`` assignments (the series a script plots)."""
    found: dict[str, ast.List | ast.Tuple] = {}
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.List | ast.Tuple) and stmt.value.elts):
            found[stmt.targets[0].id] = stmt.value
    return found


def _calls(tree: ast.Module) -> list[ast.Call]:
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    return sorted(calls, key=lambda c: (c.lineno, c.col_offset))


def _where(noun: str, call: ast.Call) -> str:
    series = _str(getattr(_kw(call, "label"), "value", None))
    return f"{noun} '{series}'" if series else noun


class _Mutator:
    """Collects a script's mutations; one method per family."""

    def __init__(self, script: _Script, rng: random.Random) -> None:
        self.s = script
        self.rng = rng
        self.lists = _lists(script.tree)
        self.calls = _calls(script.tree)
        self.has_legend = any(_method(c) in ("legend", "figlegend") for c in self.calls)
        self.out: list[Mutation] = []

    def add(self, family: str, name: str, text: str, category: str, severity: int,
            location: str, description: str, line: int) -> None:
        if text != self.s.text:
            self.out.append(Mutation(family, name, text, (
                label(category, severity, location, description, line),)))

    def run(self) -> list[Mutation]:
        for call in self.calls:
            method = _method(call)
            if method in SERIES:
                self.recolor(call, method)
                self.data(call, method)
                self.chart_type(call, method)
                self.line_style(call, method)
                self.legend_label(call)
            elif method in TEXTS:
                self.title_text(call, TEXTS[method])
            elif method in ("legend", "figlegend"):
                self.legend(call)
            elif method == "grid":
                self.grid(call)
            elif method in LIMITS:
                self.limits(call, LIMITS[method])
            elif method in ("set_xscale", "set_yscale"):
                self.scale(call, method[4])
            if _kw(call, "figsize") is not None:
                self.figsize(call)
            if method == "subplots":
                self.layout(call)
        self.add_scale()
        return self.out

    # -- style ---------------------------------------------------------------------------------

    def recolor(self, call: ast.Call, method: str) -> None:
        where = _where(SERIES[method], call)
        kw = _kw(call, *COLOR_KW)
        old = _str(kw.value) if kw is not None else None
        new, word = other_color(old, self.rng)
        if kw is not None and isinstance(kw.value, ast.Constant) and old is not None:
            text = self.s.replace(kw.value, _quoted(self.s, kw.value, new))
            line = kw.value.lineno - 1
            was = f" instead of {color_name(old)} ({old})"
        elif kw is None and method in ("plot", "bar", "barh", "scatter", "step"):
            text, line = self._add_keyword(call, f'color="{new}"')
            was = " instead of the default colour"
        else:
            return
        self.add("recolor", f"recolor {where}", text, "style_error", 1, where,
                 f"the colour of the {where} is {word} ({new}){was}", line)

    def line_style(self, call: ast.Call, method: str) -> None:
        if method != "plot":
            return
        where = _where("line", call)
        kw = _kw(call, "linestyle", "ls")
        old = _str(kw.value) if kw is not None else None
        if kw is not None and isinstance(kw.value, ast.Constant) and old is not None:
            new = self.rng.choice([s for s in LINESTYLES if s != old])
            text = self.s.replace(kw.value, _quoted(self.s, kw.value, new))
            line = kw.value.lineno - 1
        elif kw is None:
            new = self.rng.choice(LINESTYLES)
            text, line = self._add_keyword(call, f'linestyle="{new}"')
        else:
            return
        self.add("line-style", f"line style of {where}", text, "style_error", 1, where,
                 f"the {where} has line style '{new}' instead of '{old or '-'}'", line)
        marker = _kw(call, "marker")
        if marker is not None and _str(marker.value) is not None:
            new = self.rng.choice([m for m in MARKERS if m != _str(marker.value)])
            text = self.s.replace(marker.value, _quoted(self.s, marker.value, new))
            line = marker.value.lineno - 1
            said = f"'{new}' markers instead of '{_str(marker.value)}'"
        elif marker is None and len(call.args) <= 2:
            new = self.rng.choice(MARKERS)
            text, line = self._add_keyword(call, f'marker="{new}"')
            said = f"'{new}' markers where the reference has none"
        else:
            return
        self.add("marker", f"markers of {where}", text, "style_error", 1, f"{where} markers",
                 f"the {where} has {said}", line)

    def grid(self, call: ast.Call) -> None:
        stmt = self._statement(call)
        if stmt is None:
            return
        self.add("grid", "grid removed", self.s.replace(stmt, "pass"), "style_error", 1,
                 "grid lines", "the grid lines are missing", call.lineno - 1)

    # -- data ----------------------------------------------------------------------------------

    def data(self, call: ast.Call, method: str) -> None:
        """One value of a plotted series changed (a list literal, inline or by name)."""
        if method in ("hist", "fill_between") or not call.args:
            return
        values = call.args[-1] if method != "scatter" else call.args[min(1, len(call.args) - 1)]
        if len(call.args) >= 2 and method in ("bar", "barh", "plot", "step"):
            values = call.args[1]
        elts = self._literal_list(values)
        if elts is None or not all(_num(e) for e in elts):
            return
        i = self.rng.randrange(len(elts))
        node = elts[i]
        old = self.s.segment(node)
        new = other_number(old, self.rng)
        if new is None:
            return
        cats = self._literal_list(call.args[0]) if len(call.args) >= 2 else None
        noun = SERIES[method]
        if cats is not None and i < len(cats) and _str(cats[i]) is not None:
            where = f"{noun.rstrip('s')} '{_str(cats[i])}'"
        else:
            where = f"{ordinal(i)} point of the {_where(noun, call)}"
        self.add("data", f"value {i + 1} of {_where(noun, call)}", self.s.replace(node, new),
                 "data_error", 3, where, f"the {where} shows {new} instead of {old}",
                 node.lineno - 1)
        if cats is not None and i < len(cats) and _str(cats[i]) is not None:
            self.category_text(call, method, cats[i])

    def category_text(self, call: ast.Call, method: str, node: ast.AST) -> None:
        old = _str(node)
        changed = other_text(old or "", self.rng)
        if changed is None or not isinstance(node, ast.Constant):
            return
        new, severity = changed
        axis = "y" if method == "barh" else "x"
        where = f"{axis}-axis tick label '{old}'"
        text = self.s.replace(node, _quoted(self.s, node, new))
        self.add("tick-text", f"tick label '{old}'", text, "text_error", severity, where,
                 f"the {where} reads '{new}'", node.lineno - 1)

    def limits(self, call: ast.Call, axis: str) -> None:
        nums = [a for a in call.args if _num(a)]
        if not nums:
            return
        node = nums[-1]
        old = self.s.segment(node)
        new = other_number(old, self.rng)
        if new is None:
            return
        self.add("limits", f"{axis}-axis limits", self.s.replace(node, new), "structure_error", 2,
                 f"{axis}-axis range", f"the {axis}-axis range ends at {new} instead of {old}",
                 node.lineno - 1)

    def scale(self, call: ast.Call, axis: str) -> None:
        node = call.args[0] if call.args else None
        old = _str(node)
        if old is None or not isinstance(node, ast.Constant):
            return
        new = "linear" if old != "linear" else "log"
        self.add("scale", f"{axis}-axis scale", self.s.replace(node, _quoted(self.s, node, new)),
                 "structure_error", 2, f"{axis}-axis scale",
                 f"the {axis} axis uses a {new} scale instead of {old}", node.lineno - 1)

    def add_scale(self) -> None:
        """A log y scale, set on the line of the last plotting statement (``; ax.set_yscale``),
        for scripts that plot positive data and set no scale."""
        if any(_method(c) in ("set_yscale", "yscale", "loglog", "semilogy") for c in self.calls):
            return
        last = None
        for call in self.calls:
            if _method(call) in ("plot", "bar", "scatter", "step") and self._statement(call):
                last = call
        if last is None:
            return
        owner = _owner(last)
        if owner is None or owner in ("plt", "np"):
            return
        stmt = self._statement(last)
        assert stmt is not None
        _, end = self.s.span(stmt)
        text = splice(self.s.text, end, end, f'; {owner}.set_yscale("log")')
        self.add("scale", "y-axis scale", text, "structure_error", 2, "y-axis scale",
                 "the y axis uses a log scale instead of a linear one", stmt.end_lineno - 1)

    # -- text ----------------------------------------------------------------------------------

    def title_text(self, call: ast.Call, where: str) -> None:
        node = call.args[0] if call.args else None
        old = _str(node)
        changed = other_text(old or "", self.rng)
        if changed is None or not isinstance(node, ast.Constant) or "$" in (old or ""):
            return
        new, severity = changed
        self.add("text", f"{where} text", self.s.replace(node, _quoted(self.s, node, new)),
                 "text_error", severity, where, f"the {where} reads '{new}' instead of '{old}'",
                 node.lineno - 1)

    def legend_label(self, call: ast.Call) -> None:
        kw = _kw(call, "label")
        old = _str(kw.value) if kw is not None else None
        changed = other_text(old or "", self.rng)
        if not self.has_legend or changed is None or kw is None or old is None:
            return
        assert isinstance(kw.value, ast.Constant)
        new, severity = changed
        where = f"legend entry '{old}'"
        self.add("legend-text", f"legend label '{old}'",
                 self.s.replace(kw.value, _quoted(self.s, kw.value, new)), "text_error",
                 severity, where, f"the {where} reads '{new}'", kw.value.lineno - 1)

    # -- structure -----------------------------------------------------------------------------

    def legend(self, call: ast.Call) -> None:
        stmt = self._statement(call)
        if stmt is not None:
            self.add("legend", "legend removed", self.s.replace(stmt, "pass"), "structure_error",
                     2, "legend", "the legend is missing", call.lineno - 1)
        kw = _kw(call, "loc")
        old = _str(kw.value) if kw is not None else None
        if kw is not None and isinstance(kw.value, ast.Constant) and old is not None:
            new = self.rng.choice([loc for loc in LOCS if loc != old])
            text = self.s.replace(kw.value, _quoted(self.s, kw.value, new))
            line = kw.value.lineno - 1
        elif kw is None and not call.args:
            new = self.rng.choice(LOCS)
            text, line = self._add_keyword(call, f'loc="{new}"')
        else:
            return
        self.add("legend-position", "legend position", text, "style_error", 1, "legend",
                 f"the legend is placed at the {new} instead of where the reference has it",
                 line)

    def chart_type(self, call: ast.Call, method: str) -> None:
        assert isinstance(call.func, ast.Attribute | ast.Name)
        keys = {kw.arg for kw in call.keywords}
        if method in ("bar", "barh") and not keys & {"width", "height", "bottom", "left"}:
            new = "barh" if method == "bar" else "bar"
            said = ("horizontal bars instead of vertical bars" if new == "barh"
                    else "vertical bars instead of horizontal bars")
        elif method == "plot" and len(call.args) == 2 and keys <= SCATTER_KW:
            new, said = "scatter", "separate points instead of a line"
        elif method == "scatter" and len(call.args) == 2 and keys <= SCATTER_KW - {"c"}:
            new, said = "plot", "a line instead of separate points"
        else:
            return
        func = call.func
        _, end = self.s.span(func)
        start = end - len(method)
        text = splice(self.s.text, start, end, new)
        where = _where(SERIES[method], call)
        self.add("chart-type", f"{method} → {new}", text, "structure_error", 3, where,
                 f"the chart type differs: the {where} is drawn as {said}",
                 func.end_lineno - 1)  # type: ignore[operator]

    def figsize(self, call: ast.Call) -> None:
        kw = _kw(call, "figsize")
        assert kw is not None
        if not (isinstance(kw.value, ast.Tuple) and len(kw.value.elts) == 2
                and all(_num(e) for e in kw.value.elts)):
            return
        i = self.rng.randrange(2)
        node = kw.value.elts[i]
        old = self.s.segment(node)
        new = other_number(old, self.rng)
        if new is None or float(new) <= 0 or float(new) > 20:
            return
        side = ("width", "height")[i]
        self.add("figure-size", f"figure {side}", self.s.replace(node, new), "structure_error",
                 2, "figure", f"the figure's {side} differs (figsize {side} {new} instead of "
                 f"{old}), which changes its aspect", node.lineno - 1)

    def layout(self, call: ast.Call) -> None:
        if len(call.args) < 2 or not all(isinstance(a, ast.Constant) and isinstance(a.value, int)
                                         for a in call.args[:2]):
            return
        rows, cols = (a.value for a in call.args[:2])  # type: ignore[attr-defined]
        if 1 not in (rows, cols) or rows == cols:
            return
        start, _ = self.s.span(call.args[0])
        _, end = self.s.span(call.args[1])
        text = splice(self.s.text, start, end, f"{cols}, {rows}")
        self.add("layout", "subplot layout", text, "structure_error", 3, "subplots",
                 f"the subplots are laid out {cols}×{rows} instead of {rows}×{cols}",
                 call.args[0].lineno - 1)

    # -- helpers -------------------------------------------------------------------------------

    def _statement(self, call: ast.Call) -> ast.stmt | None:
        """The module-level one-line expression statement that is ``call``, if it is one."""
        for stmt in self.s.tree.body:
            if (isinstance(stmt, ast.Expr) and stmt.value is call
                    and stmt.lineno == stmt.end_lineno):
                return stmt
        return None

    def _literal_list(self, node: ast.AST) -> list[ast.expr] | None:
        if isinstance(node, ast.Name) and node.id in self.lists:
            return list(self.lists[node.id].elts)
        if isinstance(node, ast.List | ast.Tuple):
            return list(node.elts)
        return None

    def _add_keyword(self, call: ast.Call, keyword: str) -> tuple[str, int]:
        """``call`` with ``keyword`` added after its last argument (on that argument's line)."""
        parts: list[ast.AST] = [*call.args, *[k.value for k in call.keywords]]
        if parts:
            last = max(parts, key=lambda n: (n.end_lineno, n.end_col_offset))  # type: ignore[attr-defined]
            _, end = self.s.span(last)
            line = last.end_lineno - 1  # type: ignore[attr-defined]
            return splice(self.s.text, end, end, f", {keyword}"), line
        _, end = self.s.span(call)
        return splice(self.s.text, end - 1, end - 1, keyword), call.end_lineno - 1  # type: ignore[operator]


def mutations(text: str, rng: random.Random) -> list[Mutation]:
    """Every mutation this module knows for the script ``text`` (empty if it does not parse)."""
    script = _Script.parse(text)
    return [] if script is None else _Mutator(script, rng).run()
