"""Node.js for the tests that run npm packages (graphql-http's audits): found on PATH, the
packages installed from the committed lock file with `npm ci` when absent. Outside CI a
missing node or npm skips the test with the reason; in CI (`CI=true`) it fails it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Node.js is required in CI: {reason}")
    pytest.skip(reason)


def node_project(directory: Path = HERE) -> str:
    """The path of `node`, with `directory`'s node_modules installed (npm ci, once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node or npm not on PATH")
    assert node is not None and npm is not None
    lock = directory / "package-lock.json"
    stamp = directory / "node_modules" / ".package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            _unavailable(f"npm ci failed in {directory}: {done.stderr.strip()[-2000:]}")
    return node
