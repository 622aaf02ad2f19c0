"""The explorer: loads the case in the background and routes keys to panes and core calls."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import ContentSwitcher, Footer, ProgressBar, Static

from ualscope import __version__

from .dialogs import ChoiceDialog, TextDialog
from .header import CaseHeader
from .help import HelpScreen
from .line_list import LineList
from .messages import CaseLoaded, CasePreviewed, LoadFailed, LoadProgressed
from .pane import CasePane
from .panes import PANES, make_panes
from .target import Target

if TYPE_CHECKING:
    from ualscope.core.case import Case
    from ualscope.core.case_file import CaseFile, SuspectKind
    from ualscope.core.index.audit_index import AuditIndex
    from ualscope.core.ingest.loader import LoadProgress

# Startup is a feature: this module imports Textual and nothing heavy. numpy, pydantic and
# the analyses (about 0.5 s of imports on an idle 2-core machine) load after the first
# frame, in the pane mount and in the loading worker, so the screen appears at once.

# Progress messages are coalesced to 10 per second: enough for a smooth bar, and a worker
# reporting every 4,096 rows at 100,000 rows/s would otherwise send 25 a second.
PROGRESS_INTERVAL = 0.1


class UalscopeApp(App[None]):
    CSS_PATH = Path(__file__).with_name("ualscope.tcss")  # absolute: subclasses live elsewhere
    TITLE = "ualscope"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        *[
            # The tab line shows these; the footer keeps its room for the pane's own keys.
            Binding(key, f"show_pane('{name}')", title, id=f"pane.{name}", show=False)
            for name, key, title in PANES
        ],
        Binding("m", "mark", "Mark", id="triage.mark"),
        Binding("n", "note", "Note", id="triage.note"),
        Binding("s", "suspect", "Suspect", id="triage.suspect"),
        Binding("e", "export", "Export", id="triage.export"),
        Binding("l", "problems", "Load problems", id="app.problems"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("c", "cancel_load", "Cancel load", id="app.cancel_load"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, paths: list[str], *, note: str = "", case_path: str | None = None) -> None:
        super().__init__()
        self.paths = paths
        self.opening_note = note
        self.case_path_option = case_path
        self.case: Case | None = None
        self.preview_case: Case | None = None  # part of a large case, while it loads
        self.case_file: CaseFile | None = None
        self.case_path: Path | None = None
        self._cancel = False
        self._last_progress = 0.0
        self._started = 0.0
        self.loaded_at: float | None = None
        self._panes_ready = False
        self._wanted_pane = "records"
        self._first_frame = threading.Event()

    # -- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield CaseHeader("loading…", id="case-header")
        yield Static(id="pane-tabs")
        with Horizontal(id="load-bar"):
            yield ProgressBar(id="load-progress", show_eta=False)
            yield Static(id="load-label")
        yield ContentSwitcher(id="panes")
        yield Footer()

    def on_mount(self) -> None:
        self._show_tabs("records")
        if self.opening_note:
            self.notify(self.opening_note, markup=False, timeout=6)
        self._started = time.perf_counter()
        # The loading thread starts now (so the load is a worker from the first moment) but
        # waits for the first frame: its first act is importing numpy and the analyses, and
        # a thread holding the GIL for that delays the first paint.
        self.load_evidence()
        self.call_after_refresh(self._first_frame.set)
        self.call_after_refresh(self._mount_panes)

    async def _mount_panes(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        panes = make_panes()
        # ContentSwitcher hides only the children it had when it mounted: these come later.
        wanted = self._wanted_pane
        for pane in panes:
            pane.display = pane.id == wanted
        await switcher.mount_all(panes)
        switcher.current = wanted
        self._panes_ready = True
        if self.case is not None:
            self._show_case(self.case)
        elif self.preview_case is not None:
            from .records import RecordsPane

            self.query_one(RecordsPane).load(self.preview_case.index, preview=True)

    def _show_tabs(self, current: str) -> None:
        # The current pane is marked with a symbol, not only a colour (NO_COLOR, 16 colours).
        parts = [
            (f"[{key} {title}]" if name == current else f" {key} {title} ")
            for name, key, title in PANES
        ]
        self.query_one("#pane-tabs", Static).update(Content(" ".join(parts)))

    # -- loading -----------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="load")
    def load_evidence(self) -> None:
        self._first_frame.wait(timeout=2.0)
        from ualscope.core.case import Case
        from ualscope.core.ingest.background import LoadProcessFailed, load_in_background
        from ualscope.core.ingest.loader import Cancelled

        try:
            # A large case merges in a process of its own: the merge's long C calls would
            # otherwise hold this process's interpreter, and the keys, for up to ~140 ms.
            result = load_in_background(
                self.paths,
                progress=self._on_progress,
                cancelled=lambda: self._cancel,
                preview=self._on_preview,
            )
        except Cancelled:
            self.post_message(LoadFailed("load cancelled: nothing was kept"))
            return
        except LoadProcessFailed as failure:
            self.post_message(LoadFailed(str(failure)))
            return
        case = Case(result)
        case.prepare()  # here, not on the screen's thread (seconds on a large case)
        self.post_message(CaseLoaded(case))

    def _on_preview(self, index: AuditIndex) -> None:
        self.post_message(CasePreviewed(index))

    def _on_progress(self, progress: LoadProgress) -> None:
        now = time.perf_counter()
        if now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self.post_message(LoadProgressed(progress))

    def on_load_progressed(self, message: LoadProgressed) -> None:
        progress = message.progress
        bar = self.query_one("#load-progress", ProgressBar)
        bar.update(total=max(progress.bytes_total, 1), progress=progress.bytes_done)
        elapsed = max(time.perf_counter() - self._started, 1e-6)
        rate = progress.bytes_done / elapsed
        eta = (progress.bytes_total - progress.bytes_done) / rate if rate else 0
        self.query_one("#load-label", Static).update(
            Content(
                f" {progress.records:,} records  {rate / 2**20:,.1f} MB/s  ETA {eta:,.0f} s"
                f"  files {progress.files_done}/{progress.files_total}  (c cancels)"
            )
        )

    def on_case_previewed(self, message: CasePreviewed) -> None:
        """Browse what has loaded of a large case; analyses and triage wait for all of it."""
        from ualscope.core.case import Case
        from ualscope.core.ingest.loader import LoadResult

        from .records import RecordsPane

        if self.case is not None:
            return
        index = message.index
        self.preview_case = Case(LoadResult(index, index.files))
        if self._panes_ready:  # otherwise _mount_panes shows it
            self.query_one(RecordsPane).load(index, preview=True)

    def on_load_failed(self, message: LoadFailed) -> None:
        from ualscope.core.index.merge import empty_index

        from .records import RecordsPane

        self.query_one("#load-bar").display = False
        self.query_one("#case-header", CaseHeader).update(Content(message.reason))
        if self.preview_case is not None:
            # "Nothing was kept": a preview left on screen would pass for the case.
            self.preview_case = None
            if self._panes_ready:
                self.query_one(RecordsPane).load(empty_index())

    def on_case_loaded(self, message: CaseLoaded) -> None:
        self.loaded_at = time.perf_counter()
        self.query_one("#load-bar").display = False
        self.case = message.case
        self.preview_case = None
        if self._panes_ready:
            self._show_case(message.case)

    def _show_case(self, case: Case) -> None:
        from ualscope.core.case_file import (
            CaseFile,
            CaseFileError,
            default_case_path,
            load_case,
            suspects_of,
            with_evidence,
        )

        from .records import RecordsPane

        self.case_file = CaseFile()
        try:
            self.case_path = (
                Path(self.case_path_option)
                if self.case_path_option
                else default_case_path(case.index.files)
            )
            self.case_file = with_evidence(load_case(self.case_path), case.index.files)
        except CaseFileError as error:
            # Marks then live for this session only; the message says where it failed.
            self.notify(str(error), severity="error", markup=False, timeout=10)
        case.suspects = suspects_of(self.case_file)
        header = self.query_one("#case-header", CaseHeader)
        header.show(case)
        if not any(info.read for info in case.index.files):
            header.update(Content("no file could be read as an audit export: press l"))
        self.query_one(RecordsPane).load(case.index)
        self._redraw()
        rejected = case.result.rejected
        refused = sum(1 for f in case.index.files if f.refused)
        if rejected or refused:
            self.notify(
                f"{rejected:,} rejected rows, {refused} refused files: press l",
                markup=False,
                timeout=6,
            )

    def _redraw(self) -> None:
        if self.case is None or self.case_file is None:
            return
        for pane in self.query(CasePane):
            pane.show_case(self.case, self.case_file)

    # -- panes -------------------------------------------------------------------------
    @property
    def current_pane(self) -> CasePane | None:
        switcher = self.query_one(ContentSwitcher)
        if switcher.current is None:
            return None
        found = self.query_one(f"#{switcher.current}")
        return found if isinstance(found, CasePane) else None

    def action_show_pane(self, name: str) -> None:
        self._show_tabs(name)
        if not self._panes_ready:
            # A key pressed before the panes exist (the first ~0.1 s) is kept for them.
            self._wanted_pane = name
            return
        self.query_one(ContentSwitcher).current = name
        pane = self.query_one(f"#{name}")
        focusable = [w for w in pane.query("*") if w.can_focus and w.display]
        if focusable:
            focusable[0].focus()

    def action_help(self) -> None:
        pane = self.current_pane
        entries: list[tuple[str, str]] = []
        seen: set[str] = set()
        chain = [pane, *pane.query("*")] if pane is not None else []
        for node in [*chain, self]:
            for binding in getattr(node, "BINDINGS", []):
                if isinstance(binding, Binding) and binding.id and binding.id not in seen:
                    seen.add(binding.id)
                    entries.append((binding.key.replace("question_mark", "?"), binding.description))
        entries.append(("ctrl+p", "Command palette"))
        title = f"Keys: {pane.pane_title if pane else 'ualscope'}"
        extra = pane.help_text if pane is not None else ""
        self.push_screen(HelpScreen(title, entries, extra))

    def action_problems(self) -> None:
        from .problems import LoadProblems

        if self.case is not None:
            self.push_screen(LoadProblems(self.case.result))

    def on_unmount(self) -> None:
        self._cancel = True  # a load still running in its own process stops with the app

    def action_cancel_load(self) -> None:
        self._cancel = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_load":
            return self.case is None
        if action in ("mark", "note", "suspect", "export", "problems"):
            return self.case is not None and self.case_file is not None
        return True

    def on_line_list_opened(self, message: LineList.Opened) -> None:
        from .detail import RecordDetail
        from .records import RecordTable

        source = message.source
        case = self.case or self.preview_case
        if case is not None and isinstance(source, RecordTable):
            row = source.current_row
            if row is not None:
                self.push_screen(RecordDetail(case, row))

    # -- triage ------------------------------------------------------------------------
    def _target(self) -> Target | None:
        pane = self.current_pane
        target = pane.target() if pane is not None else None
        if target is None:
            self.notify("nothing here to mark", markup=False)
        return target

    def _save(self) -> None:
        from ualscope.core.case_file import CaseFileError, save_case, suspects_of

        if self.case is None or self.case_path is None or self.case_file is None:
            return
        try:
            save_case(self.case_file, self.case_path, [f.location for f in self.case.index.files])
        except CaseFileError as error:
            self.notify(str(error), severity="error", markup=False, timeout=10)
        self.case.suspects = suspects_of(self.case_file)
        self._redraw()

    def action_mark(self) -> None:
        from ualscope.core.case_file import toggle_mark

        target = self._target()
        if target is None or self.case_file is None:
            return
        self.case_file = toggle_mark(self.case_file, target.kind, target.id, mailbox=target.mailbox)
        self._save()

    def action_note(self) -> None:
        from ualscope.core.case_file import set_note

        target = self._target()
        if target is None:
            return

        def done(text: str | None) -> None:
            if text is not None and self.case_file is not None:
                self.case_file = set_note(
                    self.case_file,
                    target.kind,
                    target.id,
                    text,
                    mailbox=target.mailbox,
                )
                self._save()

        # Content: the label is display text already (Target); a str would be escaped again.
        self.push_screen(TextDialog(Content(f"Note on {target.label}"), ""), done)

    def action_suspect(self) -> None:
        from ualscope.core.case_file import toggle_suspect

        target = self._target()
        if target is None or not target.suspect_choices:
            return

        def chosen(choice: int | None) -> None:
            if choice is None or self.case_file is None:
                return
            kind, value, _ = target.suspect_choices[choice]
            self.case_file = toggle_suspect(self.case_file, cast("SuspectKind", kind), value)
            self._save()

        if len(target.suspect_choices) == 1:
            chosen(0)
            return
        options = [Content(label) for _, _, label in target.suspect_choices]  # display text
        self.push_screen(ChoiceDialog("Mark as the attacker's:", options), chosen)

    def action_export(self) -> None:
        self.action_show_pane("findings")
        pane = self.current_pane
        if pane is not None and hasattr(pane, "ask_export"):
            pane.ask_export()

    @property
    def tool(self) -> str:
        return f"ualscope {__version__}"
