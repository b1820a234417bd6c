"""The national pipeline's tests (tests/national_suite.py), run in a pytest process of their own.

An in-process dask cluster (``LocalCluster(processes=False)``) started in an interpreter where
Streamlit's AppTest has already run never completes its tasks, and worker processes fail to start
there ("Nanny failed to start"): seen in the full suite, never when the national tests run alone.
So the full suite runs them as a child pytest, and fails with its output if any of them fails.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(900)
def test_national_suite_passes_in_its_own_process():
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=600",
                          "tests/national_suite.py"], cwd=ROOT, capture_output=True, text=True, timeout=880)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout.splitlines()[-1], run.stdout[-2000:]
