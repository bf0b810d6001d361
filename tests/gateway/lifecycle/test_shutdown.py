"""What a SIGTERM leaves running: nothing. A real ``gateway serve`` process (SQLite), its
sweeper on a short interval and a price import half-way, is sent SIGTERM. It exits on its
own within its grace, says it stopped its background work and closed its pools,
the import job stays RUNNING where its last batch committed (the same file sent again
resumes it), and every SQLite database was closed cleanly: its write-ahead log was
checkpointed and removed, which SQLite does only when the last connection closes (a
process that dies with its pools open leaves the log behind).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from gateway.auth import ViewerKind, issue_token
from gateway.settings import Settings
from sources.common.db import Database
from tests.conftest import _migrate_and_seed, sqlite_urls
from tests.gateway.checkout_helpers import run
from tests.gateway.lifecycle.processes import spawn_gateway
from tests.remote import free_port

PRODUCTS = 60
ROWS = 3000
GRACE_SECONDS = 20
JOB = "query Job($id: ID!) { importJob(id: $id) { status processed } }"


def _rows(url: str, statement: str) -> list[tuple[object, ...]]:
    async def go() -> list[tuple[object, ...]]:
        db = Database(url, pool_size=1)
        try:
            async with db.connect() as conn:
                return [tuple(row) for row in (await conn.execute(text(statement))).all()]
        finally:
            await db.dispose()

    return run(go)


def _start(urls: dict[str, str], tmp_path: Path) -> tuple[str, subprocess.Popen[bytes], Path]:
    port = free_port()
    env = {
        **os.environ,
        **{f"{source.upper()}_DATABASE_URL": url for source, url in urls.items()},
        "GATEWAY_SHUTDOWN_GRACE": str(GRACE_SECONDS),
        "GATEWAY_SWEEP_INTERVAL_SECONDS": "0.2",
        "GATEWAY_IMPORT_BATCH_ROWS": "10",
        # Every source call holds its connection a little: the import is still going
        # when the signal comes.
        "GATEWAY_SOURCE_LATENCY_MS": "20",
        "GATEWAY_LOG_LEVEL": "INFO",
        "GATEWAY_LOG_FORMAT": "console",
        "RATE_LIMIT_ENABLED": "false",
    }
    log = tmp_path / "gateway.log"
    process = spawn_gateway(port, env, tmp_path, log)
    return f"http://127.0.0.1:{port}", process, log


def test_sigterm_stops_the_sweeper_and_imports_and_closes_the_pools(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    urls = sqlite_urls(tmp_path / "shop")
    run(lambda: _migrate_and_seed(urls, products=PRODUCTS))
    codes = [str(r[0]) for r in _rows(urls["catalog"], "SELECT code FROM skus ORDER BY id")]
    lines = [f"{codes[n % len(codes)]},{30 + n % 7}.00,25.00" for n in range(ROWS)]
    body = ("sku,list,sale\n" + "\n".join(lines) + "\n").encode()
    token = issue_token(
        Settings(), kind=ViewerKind.STAFF, subject="1", permissions=["MANAGE_PRICES"]
    )
    headers = {"Authorization": f"Bearer {token}"}

    url, process, log = _start(urls, tmp_path)
    try:
        with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
            started = client.post(
                "/admin/imports/prices?fileName=big.csv",
                content=body,
                headers={"content-type": "text/csv"},
            )
            assert started.status_code == 202, started.text
            job_id = started.json()["job"]["id"]
            deadline = time.monotonic() + 60
            while True:  # under way: some batches committed
                job = client.post("/graphql", json={"query": JOB, "variables": {"id": job_id}})
                state = job.json()["data"]["importJob"]
                assert state["status"] == "RUNNING", state
                if state["processed"] >= 20:
                    break
                assert time.monotonic() < deadline, state
                time.sleep(0.05)

        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then raises the signal again: the exit says SIGTERM.
        assert process.wait(timeout=GRACE_SECONDS * 3) in (0, -signal.SIGTERM)
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    said = log.read_text(errors="replace")
    assert took < GRACE_SECONDS, said[-2000:]
    assert "timeout graceful shutdown exceeded" not in said, said[-2000:]
    [line] = [x for x in said.splitlines() if "background work stopped, pools closed" in x]
    for field in ("sweeper=stopped", "import_jobs=1", "invalidation_listener=stopped"):
        assert field in line, line
    # Closed, not dropped: the last connection to each database checkpointed its log away.
    # (Read before this test opens any connection of its own.)
    for source, db_url in urls.items():
        path = Path(db_url.removeprefix("sqlite+aiosqlite:///"))
        assert not path.with_name(path.name + "-wal").exists(), (
            f"{source} was not closed; the gateway's log ends:\n{said[-2000:]}"
        )
    # The job stopped where its last batch committed, to be resumed by the same file.
    [(status, processed)] = _rows(
        urls["pricing"], "SELECT status, processed FROM pricing_import_jobs"
    )
    assert status == "RUNNING"
    assert 20 <= int(str(processed)) < ROWS
