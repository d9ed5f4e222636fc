"""`verm check --format junit`: JUnit XML for CI test tabs, valid against the Jenkins/Surefire
junit-10.xsd — one test case per source, the findings of a failing one in its failure, a source
that did not render an error; and the same XML from `verm merge-reports` of the JSON report."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from ci_workspace import EQUIVALENT, FAILING, NOT_RENDERED, mixed_workspace
from support import run_verm as verm

SCHEMA = Path(__file__).parent / "fixtures" / "junit" / "junit-10.xsd"


@pytest.fixture(scope="module")
def workspace(pinner, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mixed_workspace(pinner, tmp_path_factory.mktemp("junit") / "repo")


def _valid(xml: str) -> etree._Element:
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    doc = etree.fromstring(xml.encode("utf-8"))
    schema.assertValid(doc)
    return doc


def test_junit_names_each_source_and_its_findings_and_validates(workspace: Path):
    out = verm("check", ".", "--format", "junit", "--json-report", "run.jsonl", cwd=workspace)
    assert out.returncode == 1, out.stderr
    suite = _valid(out.stdout)
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "2", "1")
    cases = {f"{c.get('classname')}/{c.get('name')}": c for c in suite.iter("testcase")}
    assert set(cases) == {"verm/bars.py", "verm/broken.py", "verm/icon.svg", "verm/page.html",
                          "tables/stock.md"}
    assert all(float(c.get("time")) > 0 for c in cases.values())
    assert float(suite.get("time")) >= sum(float(c.get("time")) for c in cases.values()) - 0.01

    def shown(name: str) -> str:
        return f"{'verm/' if '/' not in name else ''}{name}"

    for name in EQUIVALENT:
        assert len(cases[shown(name)]) == 0  # passed: no child
    bars = cases["verm/bars.py"].find("failure")
    assert bars is not None and bars.get("type") == "visual_discrepancy"
    assert bars.get("message") == ("bars.py: 1 discrepancy (1 warning) against bars.ref.png — "
                                   "reward 1.96")
    assert bars.text.startswith("bars.py:8:1: warning text_error: reference text "
                                "'Sales per quarter', render 'Sales per year' (title)")
    icon = cases["verm/icon.svg"].find("failure")
    assert icon is not None and "icon.svg:3:40: info style_error: reference colour #5e81ac, " \
        "render #d08770 (<circle> #1)" in icon.text
    assert {shown(n) for n in FAILING} == {k for k, c in cases.items()
                                           if c.find("failure") is not None}
    (broken,) = NOT_RENDERED
    error = cases[shown(broken)].find("error")
    assert error is not None and error.get("type") == "not_rendered"
    assert "broken.py:3:1: error structure_error: render failed: ValueError" in error.text

    merged = verm("merge-reports", "run.jsonl", "--format", "junit", cwd=workspace)
    assert merged.returncode == 1, merged.stderr
    _valid(merged.stdout)

    def without_times(xml: str) -> bytes:
        doc = etree.fromstring(xml.encode("utf-8"))
        for node in doc.iter():
            node.attrib.pop("time", None)
        return etree.tostring(doc)

    assert without_times(merged.stdout) == without_times(out.stdout)
    times = [float(c.get("time")) for c in etree.fromstring(merged.stdout.encode()).iter(
        "testcase")]
    assert all(t > 0 for t in times)  # the recorded seconds ride along


def test_an_all_passing_run_is_a_suite_without_failures(tmp_path: Path):
    (tmp_path / "a.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="40" '
                                    'height="40"><rect width="20" height="20" fill="#123456"/>'
                                    '</svg>\n')
    assert verm("pin", "a.svg", cwd=tmp_path).returncode == 0
    out = verm("check", "a.svg", "--format", "junit", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    suite = _valid(out.stdout)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "0")
    (case,) = suite.iter("testcase")
    assert (case.get("classname"), case.get("name"), len(case)) == ("verm", "a.svg", 0)
