"""Sources, pragmas and layered configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from verm.config import ConfigError, apply_settings, load_config, render_options
from verm.render.base import RenderOptions
from verm.source import Source, SourceError, parse_pragmas


def test_pragmas_in_every_comment_style():
    text = (
        "# verm: reference=design/a.png figure=2\n"
        "<!-- verm: viewport=800x600 full-page=true -->\n"
        '/* verm: reference="with space.png" */\n'
    )
    found = parse_pragmas(text)
    assert found["reference"] == ("with space.png", 2)
    assert found["figure"] == ("2", 0)
    assert found["viewport"] == ("800x600", 1)
    assert found["full-page"] == ("true", 1)


def test_non_utf8_source_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "chart.py"
    bad.write_bytes(b"x = 1\ntitle = '\xff\xfe'\n")
    with pytest.raises(SourceError, match=r"chart.py:2: not valid UTF-8 .*0xff"):
        Source.load(bad)


def test_unknown_suffix_and_missing_file(tmp_path: Path):
    with pytest.raises(SourceError, match="does not know how to render"):
        Source.load(tmp_path / "notes.txt")
    with pytest.raises(SourceError, match="no such file"):
        Source.load(tmp_path / "missing.py")


def test_config_from_pyproject_and_pragma_layering(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.verm]\ntimeout = 3\nviewport = "640x480"\n'
        '[tool.verm.references]\n"charts/*.py" = "design/{stem}.png"\n')
    (tmp_path / "charts").mkdir()
    src = tmp_path / "charts" / "sales.py"
    src.write_text("# verm: viewport=320x200\n")
    config = load_config(src.parent)
    assert config.path == tmp_path / "pyproject.toml"
    assert config.options.timeout_s == 3
    assert config.reference_for(src) == (tmp_path / "design" / "sales.png").absolute()
    options = render_options(Source.load(src), config)
    assert options.viewport == (320, 200)  # the pragma beats the config
    assert options.timeout_s == 3


def test_verm_toml_wins_over_a_pyproject_without_verm(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "verm.toml").write_text('critic = "analytic"\nmemory = 512\n')
    config = load_config(tmp_path)
    assert config.path == tmp_path / "verm.toml"
    assert config.options.memory_mb == 512


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[tool.verm]\nviewport = "big"\n', "viewport must look like 1280x800"),
        ("[tool.verm]\ntimeout = -1\n", "timeout: -1 is outside"),
        ('[tool.verm]\ncritic = "oracle"\n', "critic must be one of"),
        ("[tool.verm\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_key_and_expectation(tmp_path: Path, content: str, message: str):
    (tmp_path / "pyproject.toml").write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(tmp_path)
    assert "pyproject.toml" in str(info.value)


def test_bad_pragma_is_a_config_error(tmp_path: Path):
    src = tmp_path / "page.html"
    src.write_text("<!-- verm: viewport=hugexhuge -->\n<p>x</p>\n")
    with pytest.raises(ConfigError, match=r"page\.html .*viewport"):
        render_options(Source.load(src), load_config(tmp_path))


def test_preload_setting_takes_names_or_false():
    base = RenderOptions()
    assert apply_settings(base, {"preload": ["pandas", "scipy.stats"]}, "t").preload == (
        "pandas", "scipy.stats")
    assert apply_settings(base, {"preload": "pandas, seaborn"}, "pragma").preload == (
        "pandas", "seaborn")
    off = apply_settings(base, {"preload": False}, "t")
    assert off.preload == () and off.learn_imports is False
    assert apply_settings(base, {"preload": "false"}, "pragma").learn_imports is False
    with pytest.raises(ConfigError, match="module names"):
        apply_settings(base, {"preload": ["pandas", "9lives"]}, "verm.toml: preload")
