"""Installs work offline: no template or static file loads a script, style, font or image from another host."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# An asset fetched by the browser: <script src>, <link href>, <img src>, CSS url() and @import, JS import().
REMOTE = re.compile(r"""(?:<script[^>]*\ssrc|<link[^>]*\shref|<img[^>]*\ssrc|<source[^>]*\ssrc)\s*=\s*["']?(?:https?:)?//"""
                    r"""|url\(\s*["']?(?:https?:)?//|@import\s+(?:url\()?\s*["']?(?:https?:)?//|import\(\s*["'](?:https?:)?//""",
                    re.IGNORECASE)


def assets() -> list[Path]:
    found = [*ROOT.glob("templates/**/*.html")]
    found += [p for p in ROOT.glob("static/**/*") if p.suffix in {".html", ".css", ".js"}]
    return found


def test_no_page_or_asset_loads_anything_from_another_host() -> None:
    files = assets()
    assert any(p.name == "chart.umd.min.js" for p in files)  # the vendored chart library is read too
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in files for m in REMOTE.finditer(p.read_text("utf-8"))]
    assert offenders == []


def test_the_pattern_catches_each_way_of_loading_from_a_cdn_case() -> None:
    for line in ('<script src="https://cdn.jsdelivr.net/npm/chart.js"></script>',
                 "<link rel=stylesheet href='//fonts.googleapis.com/css'>", "body { background: url(https://x/y.png) }",
                 '@import url("https://fonts.googleapis.com/css2")', '<img class="a" src="http://x/logo.png">'):
        assert REMOTE.search(line), line
    for line in ('<a href="https://docs.litellm.ai/">LiteLLM docs</a>', '<script src="/static/vendor/a.js"></script>'):
        assert not REMOTE.search(line), line
