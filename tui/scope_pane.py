"""Scope pane (being written)."""

from __future__ import annotations

from .pane import CasePane


class ScopePane(CasePane):
    pane_title = "Scope"
