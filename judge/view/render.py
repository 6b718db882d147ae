"""HTML rendering: Jinja2 templates with autoescaping, and the filters that show hostile text as text.

Stored texts (prompts, responses, rationales, judge prompts, names) are answers under test: every
one is escaped, and characters that change how text is displayed without being seen (bidi
overrides and isolates, zero-width characters, other control characters) are shown as visible
`⟦U+202E⟧` marks so a reader sees what is really there.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from judge.analysis.report_data import fmt_ci, fmt_cost, fmt_grade, fmt_kappa, fmt_pct, fmt_rate, fmt_rel

# bidi embeddings/overrides/isolates/marks, zero-width and BOM, soft hyphen, C0/C1 controls but tab and newline
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


def _mark(m: re.Match[str]) -> str:
    ch = m.group(0)
    name = unicodedata.name(ch, "control character")
    return f'<span class="cc" title="{escape(name)}">⟦U+{ord(ch):04X}⟧</span>'


_LONG_RUN = re.compile(r"\S{120,}")
WBR_EVERY = 80


def _escaped(text: str) -> str:
    return _INVISIBLE.sub(_mark, str(escape(text)))


def show(text: Any) -> Markup:
    """Escape a stored text and make invisible formatting characters visible.

    Runs of 120+ characters without a space get a <wbr> break opportunity every 80 characters:
    browsers wrap one huge unbroken "word" in time quadratic in its length (a 100,000-character
    line takes Chromium tens of seconds), so the page would hang on exactly the hostile answers.
    """
    if text is None:
        return Markup("")
    raw = str(text)
    out: list[str] = []
    last = 0
    for m in _LONG_RUN.finditer(raw):
        out.append(_escaped(raw[last : m.start()]))
        run = m.group(0)
        out.append("<wbr>".join(_escaped(run[i : i + WBR_EVERY]) for i in range(0, len(run), WBR_EVERY)))
        last = m.end()
    out.append(_escaped(raw[last:]))
    return Markup("".join(out))


def seg(value: Any) -> str:
    """A URL path segment (everything quoted, so no text can become a scheme or a path)."""
    return quote(str(value), safe="")


def qs(**values: Any) -> str:
    """A query string from the non-empty values."""
    kept = {k: v for k, v in values.items() if v not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""


def when(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return str(value)


def ms(value: Any) -> str:
    return "—" if value is None else f"{float(value):,.0f} ms"


def money(value: Any) -> str:
    return "—" if value is None else fmt_cost(float(value))


def num(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def conf(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2f}"


def pvalue(value: Any) -> str:
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def strip_svg_style(svg: str) -> Markup:
    """A chart from judge.analysis.svg_charts (all its text escaped there) without inline style attributes,
    which the viewer's CSP forbids; the font comes from the stylesheet instead."""
    return Markup(re.sub(r' style="[^"]*"', "", svg))


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("judge.view", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        show=show,
        seg=seg,
        when=when,
        ms=ms,
        money=money,
        num=num,
        conf=conf,
        pct=fmt_pct,
        ci=fmt_ci,
        rate=fmt_rate,
        grade=fmt_grade,
        rel=fmt_rel,
        kappa=fmt_kappa,
        pvalue=pvalue,
    )
    env.globals.update(qs=qs)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
