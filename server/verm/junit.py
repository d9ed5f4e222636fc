"""``verm check --format junit``: JUnit XML for CI test tabs (Jenkins, GitLab, Azure, the GitHub
test-report actions). One ``testsuite``; one ``testcase`` per source (``classname`` its folder,
dotted, ``name`` its file name); a source with discrepancies is a ``failure`` whose body lists
the findings as the text report does; a source that did not render is an ``error``. Valid
against the Jenkins/Surefire ``junit-10.xsd`` (tests/fixtures/junit)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from verm.outcome import Outcome
from verm.report import summary, text_lines

SUITE = "verm check"


# Characters XML 1.0 cannot carry at all (a description quoting a source's text may hold them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _seconds(value: float | None) -> str:
    return f"{max(0.0, value or 0.0):.3f}"


def _names(source: str) -> tuple[str, str]:
    """``classname`` and ``name`` of a source shown as ``charts/q3/revenue.py``:
    ``charts.q3`` and ``revenue.py`` (a source at the top: ``verm``)."""
    path = PurePosixPath(source)
    folder = ".".join(p for p in path.parent.parts if p not in ("/", ".", ".."))
    return folder or "verm", path.name


def junit_xml(results: Sequence[Outcome], cwd: Path) -> str:
    failures = sum(r.rendered and not r.equivalent for r in results)
    errors = sum(not r.rendered for r in results)
    suite = ET.Element("testsuite", {
        "name": SUITE, "tests": str(len(results)), "failures": str(failures),
        "errors": str(errors), "skipped": "0",
        "time": _seconds(sum(r.seconds or 0.0 for r in results)),
    })
    for r in results:
        classname, name = _names(r.source)
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": name,
                                                 "time": _seconds(r.seconds)})
        if r.equivalent:
            continue
        lines = text_lines(r, cwd)
        tag, kind = ("failure", "visual_discrepancy") if r.rendered else ("error", "not_rendered")
        problem = ET.SubElement(case, tag, {"type": kind, "message": _xml(summary(r, cwd))})
        problem.text = _xml("\n".join(lines[:-1] or lines)) + "\n"
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode")
