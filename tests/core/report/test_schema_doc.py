"""docs/report.md and the report schema cannot drift: each documented section lists exactly
the fields of the model of the same name, and every model reachable from CaseReport is
documented."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from conftest import ROOT
from pydantic import BaseModel

from ualscope.core.report.schema import CaseReport


def models_of(model: type[BaseModel], found: dict[str, type[BaseModel]]) -> None:
    if model.__name__ in found:
        return
    found[model.__name__] = model
    for field in model.model_fields.values():
        pending: list[Any] = [field.annotation]
        while pending:
            kind = pending.pop()
            pending.extend(typing.get_args(kind))
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                models_of(kind, found)
            if isinstance(kind, types.UnionType):
                pending.extend(kind.__args__)


def documented() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        heading = re.match(r"^## (\w+)$", line)
        if heading:
            current = heading.group(1)
            sections[current] = []
        elif current and (cell := re.match(r"^\| `(\w+)` \|", line)):
            sections[current].append(cell.group(1))
    return sections


def test_every_model_is_documented_field_for_field() -> None:
    models: dict[str, type[BaseModel]] = {}
    models_of(CaseReport, models)
    docs = documented()
    assert sorted(docs) == sorted(models)
    for name, model in models.items():
        assert docs[name] == list(model.model_fields), name


def test_the_issue_names_are_the_schema_names() -> None:
    fields = CaseReport.model_fields
    assert list(fields)[:2] == ["schema_version", "tool"]
    for key in [
        "inputs",
        "records",
        "window",
        "coverage",
        "throttled_windows",
        "sessions",
        "contexts",
        "scope",
        "send_as",
        "findings",
    ]:
        assert key in fields
