"""What a process imports before it does its work (docs/development.md, "Where the suite's
CPU went"): `gateway token staff` needs neither the schema, nor the models, nor alembic;
the served app needs no alembic (the revision check reads the files), no Redis client
without Redis, no HTTP client nor Pillow until a purge, a fetch or an image. A module-level
import that brings one back fails here, in one process of about two seconds of CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import contextlib, io, json, sys
from gateway.cli import main

with contextlib.redirect_stdout(io.StringIO()):
    status = main(["token", "staff", "--permissions", "MANAGE_STOCK"])
token = sorted({m.split(".")[0] for m in sys.modules} | set(sys.modules))
import gateway.app
app = sorted({m.split(".")[0] for m in sys.modules} | set(sys.modules))
print(json.dumps({"status": status, "token": token, "app": app}))
"""


def test_a_token_and_the_app_import_only_what_they_use() -> None:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**env, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout.splitlines()[-1])
    assert loaded["status"] == 0
    token = set(loaded["token"])
    for heavy in ("strawberry", "graphql", "alembic", "asyncpg", "redis", "httpx"):
        assert heavy not in token, f"gateway token staff imports {heavy}"
    for module in ("sources.catalog.search", "sources.catalog.models", "sources.orders.models"):
        assert module not in token, f"gateway token staff imports {module}"
    app = set(loaded["app"])
    for heavy in ("alembic", "asyncpg", "redis", "httpx", "PIL", "stamina"):
        assert heavy not in app, f"importing gateway.app imports {heavy}"
