"""`l`: what the load could not take in: refused files, rejected rows, truncation, notes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ualscope.core.ingest.loader import LoadResult

from .text import safe, safe_lines


def problem_lines(result: LoadResult) -> list[str]:
    lines: list[str] = []
    for info in result.files:
        header = f"{safe(info.path, limit=None)}  [{info.shape or 'refused'}]  sha256 {info.sha256}"
        entries: list[str] = []
        if info.refused:
            entries.append(f"  refused: {safe(info.refused, limit=None)}")
        if info.possibly_truncated:
            entries.append(
                f"  exactly {info.data_rows:,} rows, a collection cap: probably truncated"
            )
        entries += [f"  note: {safe(note, limit=None)}" for note in info.notes]
        entries += [
            f"  line {r.line} (row {r.row}): {safe(r.reason, limit=None)}" for r in info.rejections
        ]
        if entries:
            lines += [header, *entries, ""]
    lines += [f"{safe(p, limit=None)}: skipped, {safe(r, limit=None)}" for p, r in result.skipped]
    return lines or ["Every file was read; no row was rejected."]


class LoadProblems(Screen[None]):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back", id="problems.back")]

    def __init__(self, result: LoadResult) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(safe_lines(problem_lines(self.result)))  # each value safe() once
        yield Footer()
