"""Property-based fuzzing of what verm reads from others: config files, pragmas, reference
templates, a model's answer, and the positions it sends an editor.

Each property states what must hold for *any* input: a ConfigError (a message for the user) or a
valid result, never another exception; streaming and whole-text parsing agree; positions reach
the editor in its own code units. Time-boxed for CI (a few hundred examples each, derandomized
so a run is reproducible); ``VERM_FUZZ_EXAMPLES=N`` runs N random examples per property
(``benchmarks/fuzz.py`` does, for long runs). Each crash found became a regular test at the end.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pygls.workspace.position_codec import PositionCodec

from verm.config import (
    SVG_BACKENDS,
    USER_ONLY,
    Config,
    ConfigError,
    _check_template,
    apply_settings,
    apply_workspace,
    load_config,
    load_user_settings,
    resolve_options,
)
from verm.critic.model.parse import StreamParser, parse_judgement
from verm.lsp.positions import Columns
from verm.render.base import RenderOptions
from verm.source import Source, parse_pragmas
from verm.types import LINE_BREAK, TAXONOMY, Position

LONG = int(os.environ.get("VERM_FUZZ_EXAMPLES", "0") or 0)


def fuzz(examples: int) -> settings:
    """``examples`` derandomized examples in CI; ``VERM_FUZZ_EXAMPLES`` random ones if set."""
    return settings(max_examples=LONG or examples, deadline=None, database=None,
                    derandomize=not LONG, suppress_health_check=list(HealthCheck))


# ---- values a user or a workspace may write ------------------------------------------------

KEYS = ["timeout", "memory", "viewport", "full-page", "full_page", "figure", "max-pixels",
        "chromium", "svg-backend", "preload", "Timeout", "MAX_PIXELS", "critic", "model",
        "endpoint", "trusted", "max-source-mb", "watch-folders", "scale"]
MEANINGFUL = ["1280x800", "800 X 600", "٣٠٠x٢٠٠", "16x16", "10001x20", "true", "off", "yes",
              "cairosvg", "resvg", "pandas", "numpy, scipy.stats", "os;rm", "10", "0.1", "1e9",
              "nan", "inf", "-1", "", " ", "600", "601", "2048", "16384", "64"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(10**400), 10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=24),
    st.sampled_from(MEANINGFUL))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
setting_dicts = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=12), values,
                                max_size=6)


def valid_options(o: RenderOptions) -> None:
    """Every field of ``o`` is a value a renderer can use."""
    assert 0.1 <= o.timeout_s <= 600 and math.isfinite(o.timeout_s)
    assert 64 <= o.memory_mb <= 1 << 20
    assert 64 <= o.max_pixels <= 16384
    assert all(16 <= side <= 10000 for side in o.viewport)
    assert o.svg_backend in SVG_BACKENDS
    assert isinstance(o.full_page, bool) and isinstance(o.learn_imports, bool)
    assert all(all(p.isidentifier() for p in m.split(".")) for m in o.preload)


@fuzz(150)
@given(setting_dicts)
def test_user_settings_are_applied_or_refused_with_a_config_error(found: dict) -> None:
    try:
        options = apply_settings(RenderOptions(), found, "your settings")
    except ConfigError as exc:
        assert str(exc).startswith("your settings: ")
        return
    valid_options(options)


@fuzz(150)
@given(setting_dicts, setting_dicts)
def test_a_workspace_only_lowers_limits_and_never_sets_user_only_keys(
        user: dict, workspace: dict) -> None:
    try:
        ceiling = apply_settings(RenderOptions(), user, "you")
        options, notices = apply_workspace(ceiling, workspace, "verm.toml", ceiling)
    except ConfigError:
        return
    valid_options(options)
    assert options.timeout_s <= ceiling.timeout_s and options.memory_mb <= ceiling.memory_mb
    assert options.max_pixels <= ceiling.max_pixels
    assert options.chromium_path == ceiling.chromium_path  # `chromium` is the user's alone
    said = " ".join(n.message for n in notices)
    for key in workspace:
        if key.replace("_", "-").lower() in USER_ONLY:
            assert f"ignored `{key}`" in said


def toml_value(value: object) -> str:
    """``value`` as a TOML value (inline tables and arrays; None has no TOML: an empty string)."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML's, but for lone surrogates: refused
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


templates = st.one_of(
    st.text(alphabet="{}stemnaidr!:[].0 /_-ab", max_size=30),
    st.lists(st.sampled_from(["{stem}", "{name}", "{dir}", "design/", ".png", "{{", "}}", "{",
                              "}", "{stem!r}", "{stem:>9}", "{0}", "{}", "{stem[0]}", "..",
                              "/etc/", "{dir}/../", "é", "\x00"]), max_size=6).map("".join))


@fuzz(150)
@given(setting_dicts, st.dictionaries(st.text(max_size=10), templates, max_size=3),
       st.booleans())
def test_a_config_file_loads_or_says_why(tmp_path_factory: pytest.TempPathFactory,
                                         found: dict, references: dict, pyproject: bool) -> None:
    root = tmp_path_factory.mktemp("cfg")
    body = "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in found.items()
                   if k != "references")
    table = "".join(f"{json.dumps(k)} = {json.dumps(v)}\n" for k, v in references.items())
    if pyproject:
        text = f"[tool.verm]\n{body}[tool.verm.references]\n{table}"
        (root / "pyproject.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
    else:
        text = f"{body}[references]\n{table}"
        (root / "verm.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        config = load_config(root / "chart.py")
    except ConfigError as exc:
        assert str(root) in str(exc)
        return
    valid_options(config.options)
    assert config.critic in ("analytic", "model", "remote", "ensemble")
    for source in (root / "chart.py", root / "sub" / "deeper" / "icon.svg"):
        target = config.reference_for(source)
        assert target is None or target.is_absolute()


@fuzz(200)
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda s: s.encode("utf-8",
                                                                                 "surrogatepass")))
def test_any_bytes_as_a_config_file_load_or_say_why(tmp_path_factory: pytest.TempPathFactory,
                                                    raw: bytes) -> None:
    root = tmp_path_factory.mktemp("raw")
    (root / "verm.toml").write_bytes(raw)
    with contextlib.suppress(ConfigError):
        valid_options(load_config(root).options)
    with contextlib.suppress(ConfigError):
        load_user_settings(root / "verm.toml")


# ---- reference templates ----------------------------------------------------------------------

@fuzz(400)
@given(templates, st.sampled_from(["chart.py", "a b/ü.svg", "deep/er/page.html", "x.md"]))
def test_a_reference_template_is_refused_or_names_a_path_from_stem_name_and_dir(
        tmp_path_factory: pytest.TempPathFactory, template: str, source: str) -> None:
    try:
        checked = _check_template(template, "verm.toml")
    except ConfigError as exc:
        assert "verm.toml" in str(exc)
        return
    assert checked == template
    # Accepted: only {stem}, {name}, {dir} (and {{ }} escapes) remain; formatting cannot fail.
    assert re.sub(r"\{(stem|name|dir)\}|\{\{|\}\}", "", template).count("{") == 0
    root = tmp_path_factory.mktemp("tpl")
    config = Config(path=root / "verm.toml", references=(("*", template),))
    target = config.reference_for(root / source)
    assert target is not None and target.is_absolute()
    assert len(str(target)) <= len(str(root)) + 3 * len(template) * (len(source) + 8) + 64


# ---- pragmas ------------------------------------------------------------------------------------

BREAKS = st.sampled_from(["\n", "\r\n", "\r"])
# Not empty: an empty line after a lone "\r" would join it into one "\r\n" break.
filler = st.text(min_size=1, max_size=30).filter(
    lambda s: "verm:" not in s and not LINE_BREAK.search(s))
pragma_values = st.text(alphabet=string.ascii_letters + string.digits + "./_-xé{}=:", min_size=1,
                        max_size=16).filter(lambda v: not v.endswith("-") and "--" not in v)
pragma_keys = st.from_regex(r"[a-z_][a-z0-9_-]{0,10}", fullmatch=True)
STYLES = [("# ", ""), ("<!-- ", " -->"), ("// ", ""), ("/* ", " */")]


@fuzz(400)
@given(st.text(max_size=300))
def test_any_text_yields_pragmas_on_real_lines(text: str) -> None:
    found = parse_pragmas(text)
    lines = LINE_BREAK.split(text)
    for key, (value, line) in found.items():
        assert 0 <= line < len(lines) and "verm:" in lines[line]
        assert re.fullmatch(r"[a-z_][\w-]*", key) and value.strip() == value


@fuzz(300)
@given(st.lists(st.one_of(filler.map(lambda s: ("text", s)),
                          st.tuples(st.sampled_from(STYLES),
                                    st.lists(st.tuples(pragma_keys, pragma_values),
                                             min_size=1, max_size=3)).map(
                                        lambda p: ("pragma", p))),
                max_size=12), st.lists(BREAKS, min_size=12, max_size=12))
def test_written_pragmas_are_read_back_on_their_lines(parts: list, breaks: list) -> None:
    lines, want = [], {}
    for i, (what, item) in enumerate(parts):
        if what == "text":
            lines.append(item)
            continue
        (start, end), pairs = item
        lines.append(start + "verm: " + " ".join(f"{k}={v}" for k, v in pairs) + end)
        for k, v in pairs:
            want[k] = (v, i)
    text = "".join(line + breaks[i] for i, line in enumerate(lines))
    assert parse_pragmas(text) == want


@fuzz(300)
@given(st.dictionaries(st.sampled_from(KEYS), st.one_of(pragma_values, st.sampled_from(
    MEANINGFUL).filter(lambda v: v.strip() and " " not in v)), max_size=5),
       st.sampled_from(["chart.py", "icon.svg", "page.html", "table.md"]))
def test_pragmas_resolve_to_usable_options_within_the_users_limits(
        tmp_path_factory: pytest.TempPathFactory, pragmas: dict, name: str) -> None:
    body = " ".join(f"{k}={v}" for k, v in pragmas.items())
    text = f"# verm: {body}\nprint('hi')\n" if name.endswith(".py") else \
        f"<!-- verm: {body} -->\n<p>hi</p>\n"
    source = Source.load(tmp_path_factory.mktemp("src") / name, text)
    user = RenderOptions(timeout_s=5.0, memory_mb=512)
    try:
        options, notices = resolve_options(source, Config(), user)
    except ConfigError as exc:
        assert "pragma" in str(exc)
        return
    valid_options(options)
    assert options.timeout_s <= 5.0 and options.memory_mb <= 512
    assert options.chromium_path is None
    assert all(n.range is None or n.range.start.line == 0 for n in notices)


# ---- a model's answer -------------------------------------------------------------------------

DOMAINS = sorted(TAXONOMY)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**30), 10**30),
                         st.floats(allow_nan=False), st.text(max_size=20))
error_objects = st.dictionaries(
    st.sampled_from(["category", "type", "severity", "level", "location", "description",
                     "message", "extra"]),
    json_scalars | st.sampled_from(["text_error", "Data Error", "style", "major", "3", "1.5",
                                    "minor", "layout_error", "numeric_error", "shape_error"]),
    max_size=6)
answers = st.builds(
    lambda errors, counts, key: {**counts, key: errors},
    st.lists(error_objects, max_size=4),
    st.dictionaries(st.sampled_from(["text_error_count", "style_error_count"]),
                    st.integers(0, 5), max_size=2),
    st.sampled_from(["errors", "errors", "issues"]))
NOISE = ["<think>", "</think>", "```json\n", "```", "Here is the answer: ", "{", "}", "[", "]",
         ",", '"', "\\", "'", "\n", "None", "True", "// note", "{'errors': [", "<thi", "</thin"]


def written(answer: dict, python: bool, trailing: bool) -> str:
    text = repr(answer) if python else json.dumps(answer)
    return text.replace("]", ",]") if trailing else text


model_texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(NOISE) | st.text(max_size=8), max_size=30).map("".join),
    st.tuples(st.lists(st.sampled_from(NOISE), max_size=4).map("".join),
              st.builds(written, answers, st.booleans(), st.booleans()),
              st.lists(st.sampled_from(NOISE), max_size=4).map("".join),
              st.integers(0, 10_000)).map(lambda p: (p[0] + p[1] + p[2])[: max(1, p[3])]))


def summary(errors: list) -> list[tuple]:
    return [(e.category, e.severity, e.location, e.description, repr(e.raw)) for e in errors]


@fuzz(500)
@given(model_texts, st.sampled_from(DOMAINS), st.lists(st.integers(1, 40), max_size=20))
def test_a_models_answer_streamed_in_any_chunks_is_read_as_the_whole_text(
        text: str, domain: str, cuts: list[int]) -> None:
    whole = parse_judgement(text, domain)
    for e in whole.errors:
        assert e.category in TAXONOMY[domain] and e.severity in (1, 2, 3)
    parser, streamed, at = StreamParser(domain), [], 0
    for size in cuts:
        streamed += parser.feed(text[at:at + size])
        at += size
    streamed += parser.feed(text[at:])
    final = parser.finish()
    assert summary(final.errors) == summary(whole.errors)
    assert (final.readable, final.complete, final.problems) == (
        whole.readable, whole.complete, whole.problems)
    recovered = any("</think>" in p or "inside <think>" in p for p in final.problems)
    if not recovered:
        assert summary(streamed) == summary(final.errors)


@fuzz(300)
@given(st.sampled_from(DOMAINS), st.data())
def test_well_formed_errors_come_back_as_written(domain: str, data: st.DataObject) -> None:
    errors = data.draw(st.lists(st.fixed_dictionaries({
        "category": st.sampled_from(TAXONOMY[domain]), "severity": st.integers(1, 3),
        "location": st.text(max_size=20).map(str.strip),
        "description": st.text(min_size=1, max_size=40).map(str.strip).filter(bool)}),
        max_size=5))
    before = data.draw(st.sampled_from(["", "```json\n", "<think>hmm {not json}</think>\n",
                                        "Sure! "]))
    text = before + json.dumps({"errors": errors}) + data.draw(st.sampled_from(["", "\n```"]))
    found = parse_judgement(text, domain)
    assert found.readable and found.complete
    assert [(e.category, e.severity, e.location, e.description) for e in found.errors] == [
        (e["category"], e["severity"], e["location"], e["description"]) for e in errors]


# ---- positions sent to the editor ---------------------------------------------------------------

ENCODINGS = [lsp.PositionEncodingKind.Utf8, lsp.PositionEncodingKind.Utf16,
             lsp.PositionEncodingKind.Utf32]


def units(text: str, encoding: str) -> int:
    if encoding == lsp.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == lsp.PositionEncodingKind.Utf16:
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    return len(text)


@fuzz(500)
@given(st.text(max_size=120) | st.lists(st.sampled_from(["a", "é", "😀", "\r\n", "\n", "\r",
                                                         "\u2028", "\ud800", "𝄞", "\t"]),
                                        max_size=40).map("".join),
       st.sampled_from(ENCODINGS), st.integers(-3, 50), st.integers(-3, 130))
def test_positions_reach_the_editor_in_its_code_units(text: str, encoding: str, line: int,
                                                      character: int) -> None:
    columns = Columns(PositionCodec(encoding), text)
    got = columns.to_client(Position(line, character))
    lines = LINE_BREAK.split(text)
    assert got.line == max(0, line) and got.character >= 0
    if 0 <= line < len(lines):
        want = units(lines[line][: max(0, min(character, len(lines[line])))], encoding)
        assert got.character == want
        later = columns.to_client(Position(line, character + 1))
        assert later.character >= got.character
    none = Columns(PositionCodec(encoding), None).to_client(Position(line, character))
    assert (none.line, none.character) == (max(0, line), max(0, character))


# ---- crashes the fuzzers found, kept as plain tests ----------------------------------------------

def test_a_severity_too_large_for_a_float_is_read_as_3() -> None:
    """Found by fuzzing: `1e999` (JSON: infinity) and a 400-digit severity raised
    OverflowError out of the parser, losing the model's whole answer."""
    for severity in ("1e999", "9" * 400, "-1e999"):
        [error] = parse_judgement('{"errors": [{"category": "text_error", "severity": '
                                  f'{severity}, "description": "x"}}]}}', "chart").errors
        assert error.severity == (1 if severity.startswith("-") else 3)


def test_a_setting_too_large_for_a_float_is_a_config_error() -> None:
    """Found by fuzzing: editor settings are JSON, whose integers have no size; `timeout` of
    10**400 raised OverflowError instead of saying the value is out of range."""
    with pytest.raises(ConfigError, match="is outside"):
        apply_settings(RenderOptions(), {"timeout": 10**400}, "your settings")
    with pytest.raises(ConfigError, match="is outside"):
        apply_settings(RenderOptions(), {"memory": -(10**400)}, "your settings")


def test_a_null_setting_is_not_set() -> None:
    """Found by fuzzing: JSON null (an editor's unset setting) became the string "None": a
    Chromium at ./None, a figure named "None", a module "None" to preload."""
    options = apply_settings(RenderOptions(), {"chromium": None, "figure": None,
                                               "preload": None, "timeout": None}, "you")
    assert options == RenderOptions()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_negative_position_reaches_the_editor_as_zero(encoding: str) -> None:
    """Found by fuzzing: a negative column (a worker's or a sidecar's range) was sliced from
    the line's end in UTF-8/16 and raised ValueError in UTF-32, losing the publication."""
    columns = Columns(PositionCodec(encoding), "a😀b\nc")
    assert columns.to_client(Position(0, -1)) == lsp.Position(line=0, character=0)
    assert columns.to_client(Position(-1, 2)) == lsp.Position(line=0, character=units("a😀",
                                                                                        encoding))
