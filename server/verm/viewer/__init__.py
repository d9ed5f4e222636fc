"""The visual-diff viewer: one HTML/CSS/JS component for the editors and the static report.

``viewer.js`` and ``viewer.css`` (plain, no framework, no remote resources, no inline script:
a page's Content-Security-Policy can forbid everything but its own nonce'd script) render one
judgement from a JSON object, the *view data*:

```
{
  "title": "icon.svg",                       # what is judged
  "reference": "icon.ref.png",               # the pinned reference's name, for captions
  "images": {"reference": URL, "render": URL, "diff": URL,
             "width": W, "height": H},       # the three pictures, aligned, all W×H
  "reward": 1.96, "equivalent": false, "rendered": true,
  "discrepancies": [{
      "number": 1, "index": 0,               # shown number; index in the judgement
      "category": "style_error", "severity": 2,
      "location": "circle", "message": "fill is #d08770, expected #5e81ac",
      "line": 2,                             # 0-based source line, null when unknown
      "refBox": [x0, y0, x1, y1] | null,     # in the reference picture (W×H pixels)
      "renderBox": [x0, y0, x1, y1] | null,  # in the render picture (W×H pixels)
      "fix": "Change #D08770 to #5e81ac" | null,     # the quick fix's title, if any
      "sourceLine": "  <circle fill=...>"}],  # optional: the line's text, shown under it
  "path": "icons/icon.svg",                  # optional: the source as the entries name it
  "readOnly": false                          # true: no "Accept (pin this render)"
}
```

The host page puts the data in ``<script type="application/json" id="verm-data">`` and loads
``viewer.js``; the viewer reports what the user asks for through ``window.vermHost.post``
(VS Code: ``acquireVsCodeApi().postMessage``) as ``{"type": "reveal"|"fix"|"pin", "index",
"line"}``, and takes fresh data from a ``message`` event ``{"type": "data", "data": {...}}``.
A page with several judgements (the static report, ``verm.viewer.report_site``) mounts the
viewer itself: ``VermViewer.mount(container, data, host)``.
``verm.viewer.page.page_html`` writes such a page; ``verm.viewer.data.view_data`` builds the
data from a judgement; ``verm.viewer.pictures.aligned`` draws the three pictures.
"""

from pathlib import Path

ASSETS = Path(__file__).resolve().parent
"""Where ``viewer.js`` and ``viewer.css`` are (shipped in the wheel)."""
