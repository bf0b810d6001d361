"""docs/benchmarks.md's figures are rendered from the JSON ``make bench`` writes, each under
the command, date, commit and load that produced it; none is typed in by hand, and a bench
that has not run shows none."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench import docs
from bench.provenance import ROOT, Measurement, load


def _git_head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_page_is_what_the_committed_figures_render() -> None:
    page = docs.DOC.read_text()

    assert docs.render(page) == page, "run python -m bench.docs (a table was edited by hand?)"
    assert set(docs.BLOCK.findall(page)) and all(
        name in docs.RENDERERS for _, name, _, _ in docs.BLOCK.findall(page)
    )


def test_the_page_keeps_no_stale_lines() -> None:
    page = docs.DOC.read_text()

    assert "measured before the breadth-first executor" not in page
    assert "to be added to `make bench`" not in page


def test_a_saved_run_carries_its_command_date_commit_and_load(tmp_path: Path) -> None:
    measurement = Measurement.begin("tracing", "bench.tracing", ["--rounds", "2"])
    figures = {
        "products": 1000,
        "ratio": 0.1,
        "rounds": 2,
        "duration_s": 2.0,
        "concurrency": 4,
        "cpu_ms_off": [20.0, 22.0],
        "cpu_ms_on": [21.0, 23.0],
        "median_off_ms": 21.0,
        "median_on_ms": 22.0,
        "exports": 7,
        "export_bytes": 1234,
    }
    measurement.save(figures, tmp_path)

    saved = load("tracing", tmp_path)
    assert saved is not None
    assert saved["command"] == "python -m bench.tracing --rounds 2"
    assert saved["commit"]["sha"] == _git_head()
    assert len(saved["load_average"]["before"]) == 3
    assert saved["date"].startswith(measurement.started.date().isoformat())

    shown = docs.block("tracing", tmp_path)
    assert "`python -m bench.tracing --rounds 2`" in shown
    assert f"`{_git_head()[:10]}`" in shown
    assert measurement.started.strftime("%Y-%m-%d %H:%M UTC") in shown
    assert "load average" in shown
    assert "21.00 ms off, 22.00 ms on, +4.8%" in shown


def test_a_bench_that_has_not_run_shows_no_figures(tmp_path: Path) -> None:
    page = "intro\n<!-- bench:processes -->\n| old | 3.4 |\n<!-- /bench:processes -->\n"

    rendered = docs.render(page, tmp_path)

    assert "3.4" not in rendered
    assert "Not measured yet" in rendered and "python -m bench.processes" in rendered


def test_a_search_run_shows_its_targets_and_each_engine(tmp_path: Path) -> None:
    timing = {"p50": 12.5, "p99": 48.0, "max": 60.0, "n": 20}
    engine = {
        "backend": "sqlite",
        "load_before": 1.0,
        "load_after": 1.2,
        "http": {
            "search": timing,
            "predictive": {**timing, "p50": 8.0},
            "per_query": [{"query": "耳机", "hits": 7057, **timing}],
        },
        "in_process": {
            "published": 95000,
            "search": timing,
            "predictive": timing,
            "ilike": {**timing, "p50": 950.0},
        },
    }
    figures = {
        "products": 100000,
        "rounds": 20,
        "targets": {"search_p50": 20.0, "search_p99": 50.0, "predictive_p50": 10.0},
        "backends": [engine, {**engine, "backend": "postgresql"}],
    }
    Measurement.begin("search", "bench.search", ["--rounds", "20"]).save(figures, tmp_path)

    shown = docs.block("search", tmp_path)

    assert "`python -m bench.search --rounds 20`" in shown
    assert "| what | target | SQLite | PostgreSQL |" in shown
    assert "| `search` with facets, over HTTP | 20 / 50 | 12.5 / 48.0 | 12.5 / 48.0 |" in shown
    assert "| `predictiveSearch`, over HTTP | 10 / - | 8.0 / 48.0 | 8.0 / 48.0 |" in shown
    assert "| `耳机` | 7057 | 12.5 / 48.0 | 12.5 / 48.0 |" in shown
