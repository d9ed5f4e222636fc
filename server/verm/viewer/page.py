"""A page showing the viewer: ``viewer.html`` filled in (the VS Code extension fills the same
template in TypeScript; the static report writes it next to copies of the assets)."""

from __future__ import annotations

import html
import json
import re
import secrets
from typing import Any

from verm.viewer import ASSETS

TEMPLATE = ASSETS / "viewer.html"


def embed_json(data: Any) -> str:
    """``data`` as JSON safe inside ``<script type="application/json">`` (no ``</script>``,
    no ``<!--``: every ``<``, ``>`` and ``&`` escaped)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def content_security_policy(nonce: str, source: str) -> str:
    """Pictures and the stylesheet from ``source``, and the one script with ``nonce`` (the
    same policy as ``contentSecurityPolicy`` in viewer.js)."""
    return "; ".join([
        "default-src 'none'", f"img-src {source} data:", f"style-src {source}",
        f"script-src 'nonce-{nonce}'", "base-uri 'none'", "form-action 'none'",
    ])


def page_html(data: dict[str, Any], *, script: str, style: str, source: str = "'self'",
              nonce: str | None = None) -> str:
    """The viewer page for ``data`` (images as URLs relative to the page, or absolute),
    loading ``script`` and ``style`` (viewer.js and viewer.css) from ``source``."""
    nonce = nonce or secrets.token_urlsafe(18)
    values = {
        "csp": html.escape(content_security_policy(nonce, source)),
        "title": html.escape(f"verm: {data.get('title', '')}"),
        "style": html.escape(style), "script": html.escape(script),
        "nonce": html.escape(nonce), "data": embed_json(data),
    }
    # one pass: a value that happens to contain "{{data}}" is never filled in again
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)],
                  TEMPLATE.read_text(encoding="utf-8"))
