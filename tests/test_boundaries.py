"""The architecture's hard lines, checked in fresh interpreters.

A static import graph cannot tell a deferred import from a module-level one, so each core
module is imported in a subprocess and `sys.modules` is inspected afterwards.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import ualscope.core

CORE = Path(ualscope.core.__file__).resolve().parent


def core_modules() -> list[str]:
    names = ["ualscope.core"]
    for module in pkgutil.walk_packages([str(CORE)], prefix="ualscope.core."):
        names.append(module.name)
    return sorted(names)


def test_every_core_module_is_found() -> None:
    names = core_modules()
    assert "ualscope.core.ingest.loader" in names
    assert "ualscope.core.index.audit_index" in names
    assert len(names) > 15


def test_importing_core_loads_neither_textual_nor_rich() -> None:
    script = (
        "import importlib, json, sys\n"
        f"names = {core_modules()!r}\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "ui = ('textual', 'rich')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ui)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd="/"
    )
    assert json.loads(out.stdout) == []


def test_no_plain_core_or_tui_package_is_importable() -> None:
    # Run from / so the repository root is not on sys.path: only what is installed counts.
    script = (
        "import importlib.util, json\n"
        "print(json.dumps([importlib.util.find_spec(n) is not None for n in ('core', 'tui')]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd="/"
    )
    assert json.loads(out.stdout) == [False, False]
