"""Shared test helpers: where the public reference samples live."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_SAMPLES = ROOT.parent / "shared" / "samples-public"
SAMPLE_CASE = ROOT / "samples" / "case"


@pytest.fixture
def shared_samples() -> Path:
    """The public samples beside the project; tests that need them skip when absent."""
    if not SHARED_SAMPLES.is_dir():
        pytest.skip("../shared/samples-public is not present")
    return SHARED_SAMPLES
