"""Terminal output: data printed literally (no markup, emoji codes or raw control characters); 80-column tables.

Every string that comes from a prompt set, a model, a database or the user goes through `literal`
(or `cell`/`Col` tables, which call it): `[/red]`, `[bold]` and `:x:` print as typed, an ANSI escape
prints as `\\x1b`, so hostile answers can neither crash the output nor repaint the terminal.
Styling is only ever applied to our own words, through `styled`.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

KEEP = {"\n", "\t"}
# bidirectional overrides can reorder what the reader sees; shown as escapes like control characters
BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


def literal(value: object) -> str:
    """`value` as text with control characters (ESC, CR, BEL, …) and bidi overrides as visible escapes."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in KEEP or (ch not in BIDI and unicodedata.category(ch) != "Cc"):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def cell(value: object, style: str = "") -> Text:
    """A Rich Text holding `value` literally (never parsed as markup)."""
    from rich.text import Text

    return Text(literal(value), style=style)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Our own words with styles: each part is plain text, or (text, style). Data parts are escaped too."""
    from rich.text import Text

    out = Text()
    for part in parts:
        if isinstance(part, tuple):
            out.append(literal(part[0]), style=part[1])
        else:
            out.append(literal(part))
    return out


def console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A console that never interprets markup or emoji codes, nor highlights data; lines are not cut at its width.

    Tables still fit the width (80 columns when output is piped): see `print_table`.
    """
    from rich.console import Console

    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, width=width, soft_wrap=True)


def is_terminal(stream: object = None) -> bool:
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclass(frozen=True)
class Col:
    """A table column. Numbers never wrap (their header sets the minimum width); text folds."""

    header: str
    kind: Literal["text", "number"] = "text"
    min_width: int | None = None


def table(
    cols: Sequence[Col],
    rows: Iterable[Sequence[object]],
    *,
    title: str | None = None,
    caption: str | None = None,
) -> Table:
    """A compact table (no outer border) whose headers stay whole at 80 columns; cells are literal."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=cell(title) if title else None,
        title_justify="left",
        caption=cell(caption) if caption else None,
        caption_justify="left",
    )
    for c in cols:
        number = c.kind == "number"
        t.add_column(
            cell(c.header),
            justify="right" if number else "left",
            no_wrap=number,
            overflow="ellipsis" if number else "fold",
            min_width=c.min_width or (len(c.header) if number else min(len(c.header), 12)),
        )
    for row in rows:
        t.add_row(*[v if isinstance(v, Text) else cell(v) for v in row])
    return t


def needed_width(cols: Sequence[Col], rows: Sequence[Sequence[object]]) -> int:
    """Columns a table needs with every number and header whole (text columns may fold to 12)."""
    total = 2 * max(0, len(cols) - 1)
    for n, c in enumerate(cols):
        longest = max((len(line) for r in rows for line in _plain(r[n]).splitlines()), default=0)
        wanted = max(len(c.header), longest, c.min_width or 0)
        total += wanted if c.kind == "number" else min(wanted, 12)
    return total


def print_table(
    out: Console,
    cols: Sequence[Col],
    rows: Sequence[Sequence[object]],
    *,
    title: str | None = None,
    caption: str | None = None,
) -> None:
    """A table when it fits `out`'s width; otherwise one block per row (first cell, then `column: value`)."""
    if needed_width(cols, rows) <= out.width:
        out.print(table(cols, rows, title=title, caption=caption))
        return
    if title:
        out.print(styled((title, "bold")))
    for r in rows:
        out.print(styled((_plain(r[0]), "bold")) if r else "")
        for c, v in zip(cols[1:], r[1:], strict=True):
            value = _plain(v).replace("\n", " ")
            out.print(styled(f"  {c.header}: {value}"))
    if caption:
        out.print(styled((caption, "dim")))


def _plain(value: object) -> str:
    plain = getattr(value, "plain", None)
    return plain if isinstance(plain, str) else literal(value)
