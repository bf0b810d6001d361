"""The ``gateway`` command: migrate and set up a shop, seed the demo shop, serve, import,
and print development tokens.

Every command answers a database that is missing, unmigrated, unreachable or refuses the
password with one line and exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from types import FrameType

from .collector import paused
from .settings import SOURCE_NAMES, ConfigurationError, Settings, load_settings
from .setup.commands import init_shop, ready_with_profile, start_check


async def _seed(settings: Settings, products: int, reset: bool, customers: int) -> str:
    from sources.common.db import Database
    from sources.common.migrate import drop_source
    from sources.demo.seed import is_seeded, seed_demo_shop

    from .setup.databases import migrate_sources

    if reset:
        dbs = {name: Database(url) for name, url in settings.database_urls().items()}
        try:
            for name in SOURCE_NAMES:
                await drop_source(name, dbs[name])
        finally:
            for db in dbs.values():
                await db.dispose()
    # For `make run`'s one step: the demo shop migrates first, as `gateway migrate` does.
    for line in await migrate_sources(settings):
        print(f"migrate {line}", file=sys.stderr)
    dbs = {name: Database(url) for name, url in settings.database_urls().items()}
    try:
        if await is_seeded(dbs):
            return "the demo shop is already seeded (use --reset to start over)"
        started = time.perf_counter()
        summary = await seed_demo_shop(dbs, products=products, customers=customers)
        if reset:
            await _forget_cached_shop(settings)
        return f"seeded {summary} in {time.perf_counter() - started:.1f}s"
    finally:
        for db in dbs.values():
            await db.dispose()


async def _reindex(settings: Settings, *, progress: bool) -> str:
    """The whole search index again, in one transaction: searches keep the old index
    until it commits."""
    from tqdm import tqdm

    from sources.catalog.search.index import rebuild
    from sources.common.db import Database

    db = Database(settings.database_urls()["catalog"])
    bar = tqdm(unit=" products", disable=not progress, file=sys.stderr)

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        started = time.perf_counter()
        async with db.begin() as conn:
            count = await rebuild(conn, advance)
        return f"indexed {count} products in {time.perf_counter() - started:.1f}s"
    finally:
        bar.close()
        await db.dispose()


async def _forget_cached_shop(settings: Settings) -> None:
    """A reseeded shop shares no ids' meaning with the old one: drop the shared cache (and,
    through its channel, every running gateway's near copies)."""
    from prometheus_client import CollectorRegistry

    from .cache.factory import build_cache

    cache = build_cache(settings, CollectorRegistry())
    if cache is not None and settings.uses_redis:
        await cache.cache.invalidate_everything()
        await cache.cache.close()


def _persisted_add(settings: Settings, path: str) -> str:
    from pathlib import Path

    from .cache.persisted import add_to_allow_list, read_operations

    operations = read_operations(Path(path))
    new = add_to_allow_list(Path(settings.persisted_queries_file), operations)
    return (
        f"registered {len(operations)} operation(s) from {path} ({new} new) in "
        f"{settings.persisted_queries_file}"
    )


async def _sweep(settings: Settings) -> str:
    from .checkout.sweeper import sweep
    from .payments.cashier import Cashier
    from .setup.databases import require_ready
    from .sources import Sources

    await require_ready(settings)
    sources = Sources.from_settings(settings)
    try:
        report = await sweep(sources, cashier=Cashier.from_settings(settings))
    finally:
        await sources.close()
    return (
        f"released {report.reservations_released} expired reservations, "
        f"cleared {report.attempts_cleared} abandoned checkouts, "
        f"cancelled {report.unpaid_orders_cancelled} unpaid orders, "
        f"refunded {report.refunds_retried} retried refunds"
    )


async def _reconcile(settings: Settings, day: str, providers: list[str]) -> tuple[str, int]:
    """The report, and the exit status: 0 all reconciled, 1 differences, 2 a bill missing."""
    from datetime import UTC, date, datetime

    from .payments.cashier import Cashier
    from .payments.provider import ProviderRefused, ProviderUnavailable
    from .payments.reconcile import describe, reconcile
    from .setup.databases import require_ready
    from .sources import Sources

    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        return f"--date must be YYYY-MM-DD, got {day!r}", 2
    cashier = Cashier.from_settings(settings)
    names = providers or [n for n in cashier.providers if n != "manual"]
    unknown = [n for n in names if cashier.provider(n) is None]
    if unknown or not names:
        return f"no such payment provider configured: {', '.join(unknown) or 'none'}", 2
    await require_ready(settings)
    sources = Sources.from_settings(settings)
    reports: list[str] = []
    status = 0
    try:
        for name in names:
            try:
                result = await reconcile(sources, cashier, name, wanted, now=datetime.now(UTC))
            except (ProviderUnavailable, ProviderRefused) as exc:
                reports.append(f"{name} {wanted}: no bill ({exc})")
                status = 2
                continue
            reports.append(describe(result))
            if result.differences:
                status = max(status, 1)
    finally:
        await sources.close()
    return "\n".join(reports), status


def _exit_on_sigterm(sig: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + sig)


def _serve_distributed(args: argparse.Namespace) -> int:
    """The four sources as services, then the gateway over them (settings re-read, so the
    gateway sees the services' URLs and secret)."""
    import uvicorn

    from .source_service import spawned_sources

    # uvicorn ends a graceful shutdown by raising the signal again under the handler it
    # found: SIGTERM's default would end this process there, before the block below stops
    # the sources, and leave them running with nobody to stop them. As SystemExit, the
    # gateway drains first, then its sources.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    one_process = args.source_processes == "one"
    with spawned_sources(dict(os.environ), one_process=one_process) as remote_env:
        os.environ.update(remote_env)
        settings = load_settings()
        print(
            "sources: "
            + ", ".join(f"{k}={v}" for k, v in remote_env.items() if k.endswith("_URL")),
            file=sys.stderr,
        )
        from .ready_banner import announce_when_ready

        announce_when_ready(
            args.host or settings.host, args.port or settings.port, graphiql=settings.graphiql
        )
        workers = _export_workers(args.workers or settings.workers)
        from .http_protocol import http_protocol

        with _worker_balance(settings, workers) as loop:
            uvicorn.run(
                "gateway.asgi:app",
                host=args.host or settings.host,
                port=args.port or settings.port,
                workers=workers,
                access_log=False,
                log_level="warning",
                timeout_graceful_shutdown=settings.shutdown_grace_seconds,
                timeout_keep_alive=settings.keep_alive_seconds,
                loop=loop,
                http=http_protocol(),
            )
    return 0


def _export_workers(workers: int) -> int:
    """``--workers`` into the environment the workers read their settings from, so each
    knows how many siblings share the host (the door's places, Settings.in_flight_limit)."""
    os.environ["GATEWAY_WORKERS"] = str(workers)
    return workers


@contextlib.contextmanager
def _worker_balance(settings: Settings, workers: int) -> Iterator[str]:
    """uvicorn's ``loop`` for ``gateway serve``: with several workers and
    GATEWAY_BALANCE_CONNECTIONS, gateway/serving.py's (and the table its workers share,
    for as long as they serve); else uvicorn's own choice."""
    if workers < 2 or not settings.balance_connections:
        yield "auto"
        return
    from .serving import connection_board

    with connection_board():
        yield "gateway.serving:loop_factory"


def _permissions(value: str) -> list[str]:
    from .auth import Permission

    names = [p.strip().upper() for p in value.split(",") if p.strip()]
    known = {p.value for p in Permission}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown permission(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser(
        "migrate",
        help="bring every embedded source's database to its latest migration (idempotent; "
        "run it on every deploy)",
    )
    init = commands.add_parser(
        "init",
        help="set up a shop's essentials (name, currency, languages, delivery regions and "
        "rates, warehouses) from a TOML file; idempotent",
    )
    init.add_argument("file", help="see docs/operations.md for the format")
    seed = commands.add_parser(
        "seed",
        help="demo data only: write the demo shop (it runs `gateway migrate` first, for "
        "`make run`)",
    )
    seed.add_argument("--products", type=int, default=240, help="number of products (default 240)")
    seed.add_argument(
        "--customers",
        type=int,
        default=50,
        help="number of customers, at least the 50 demo ones (default 50)",
    )
    seed.add_argument("--reset", action="store_true", help="drop every source's data first")

    serve = commands.add_parser("serve", help="serve the gateway with uvicorn")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=None)
    serve.add_argument(
        "--spawn-sources",
        action="store_true",
        help="start the four sources as services on loopback (ports 8101-8104) and serve "
        "the gateway over them",
    )
    serve.add_argument(
        "--source-processes",
        choices=("each", "one"),
        default="each",
        help="with --spawn-sources: a process per source (each, the default) or one process "
        "serving the four on their ports (one: fewer wake-ups per call, docs/remote-sources.md)",
    )

    source = commands.add_parser("source", help="a source as its own HTTP service")
    source_commands = source.add_subparsers(dest="source_command", required=True)
    source_serve = source_commands.add_parser(
        "serve",
        help="serve sources' batch APIs: one, or several in one process, each on its own port",
    )
    source_serve.add_argument(
        "names",
        nargs="*",
        metavar="NAME[:PORT]",
        help=f"{', '.join(SOURCE_NAMES)}; each on its usual port (8101-8104) unless :PORT",
    )
    source_serve.add_argument(
        "--all", action="store_true", help="the four sources in this one process"
    )
    source_serve.add_argument("--host", default=None, help="default 127.0.0.1")
    source_serve.add_argument(
        "--port", type=int, default=None, help="the port of a lone source (default 8101-8104)"
    )

    persisted = commands.add_parser("persisted", help="the persisted-query allow-list")
    persisted_commands = persisted.add_subparsers(dest="persisted_command", required=True)
    add = persisted_commands.add_parser(
        "add",
        help="register a client's operations (a .graphql document, an Apollo manifest or "
        "a {hash: query} JSON map) in PERSISTED_QUERIES_FILE",
    )
    add.add_argument("file")

    imports = commands.add_parser(
        "import",
        help="apply a CSV file of prices (sku,list,sale), stock (sku,warehouse,delta) or "
        "products (a Shopify product CSV export)",
    )
    imports.add_argument("kind", choices=["prices", "stock", "products"])
    imports.add_argument("file")
    imports.add_argument(
        "--warehouse",
        default=None,
        help="products: the warehouse code that receives Variant Inventory Qty (default: the "
        "shop's only warehouse)",
    )
    imports.add_argument(
        "--no-images", action="store_true", help="products: record image URLs, fetch later"
    )
    imports.add_argument("--batch-rows", type=int, default=1000, help="rows per transaction")
    imports.add_argument("--no-progress", action="store_true", help="no progress bar")

    search = commands.add_parser("search", help="the catalog's search index")
    search_commands = search.add_subparsers(dest="search_command", required=True)
    reindex = search_commands.add_parser(
        "reindex", help="rebuild the search index from the catalogue (one transaction)"
    )
    reindex.add_argument("--no-progress", action="store_true", help="no progress bar")

    commands.add_parser(
        "sweep", help="release expired stock holds and abandoned checkouts' coupon uses"
    )

    payments = commands.add_parser("payments", help="the payment providers' books")
    payment_commands = payments.add_subparsers(dest="payments_command", required=True)
    reconcile = payment_commands.add_parser(
        "reconcile",
        help="compare each provider's bill for a day with the shop's payments and refunds; "
        "exit 1 when they differ",
    )
    reconcile.add_argument("--date", required=True, help="the bill day, YYYY-MM-DD (China time)")
    reconcile.add_argument(
        "--provider", action="append", default=[], help="alipay or wechat (default: all)"
    )

    token = commands.add_parser(
        "token", help="print a development token (signed with GATEWAY_JWT_SECRET)"
    )
    kinds = token.add_subparsers(dest="kind", required=True)
    customer = kinds.add_parser("customer", help="a customer's token, by email")
    customer.add_argument("email")
    staff = kinds.add_parser("staff", help="a staff token with permissions")
    staff.add_argument(
        "email", nargs="?", help="a demo staff account; its permissions unless --permissions"
    )
    staff.add_argument(
        "--permissions", type=_permissions, default=None, help="e.g. MANAGE_STOCK,VIEW_FINANCE"
    )
    staff.add_argument("--subject", default="staff-1", help="the staff member's id (sub claim)")
    for sub in (customer, staff):
        sub.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        return _run(args, settings)
    except Exception as exc:
        lines = _operator_lines(exc)
        if lines is None:
            raise
        for line in lines:
            print(line, file=sys.stderr)
        return 2


def _operator_lines(exc: Exception) -> list[str] | None:
    """A failed command's one line per problem for an operator, or None for a bug (its
    traceback). Imported once a command failed: the database checks load alembic and the
    drivers, which `gateway token staff` never needs."""
    from sources.common.db_state import database_errors, describe_database_error

    from .setup.databases import DatabasesNotReady
    from .setup.shop_file import ShopFileError

    if isinstance(exc, DatabasesNotReady):
        return exc.lines
    if isinstance(exc, ShopFileError):
        return [f"error: {exc}"]
    if isinstance(exc, database_errors()):  # a database that went away after the checks
        return [f"error: {describe_database_error(exc)}"]
    return None


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        from .setup.databases import migrate_sources

        for line in asyncio.run(migrate_sources(settings)):
            print(line)
        return 0
    if args.command == "init":
        for line in asyncio.run(init_shop(settings, args.file)):
            print(line)
        return 0
    if args.command == "seed":
        if args.products < 1:
            print("--products must be at least 1", file=sys.stderr)
            return 2
        if args.customers < 50:
            print("--customers must be at least 50 (the demo customers)", file=sys.stderr)
            return 2
        print(asyncio.run(_seed(settings, args.products, args.reset, args.customers)))
        return 0
    if args.command == "persisted":
        try:
            print(_persisted_add(settings, args.file))
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "import":
        from pathlib import Path

        from .backoffice.import_cli import run_import_command
        from .backoffice.imports import ImportKind

        if not Path(args.file).is_file():
            print(f"error: no such file {args.file}", file=sys.stderr)
            return 2
        if not 1 <= args.batch_rows <= 10_000:
            print("--batch-rows must be between 1 and 10000", file=sys.stderr)
            return 2
        settings = asyncio.run(ready_with_profile(settings))
        return asyncio.run(
            run_import_command(
                settings,
                ImportKind(args.kind),
                Path(args.file),
                batch_rows=args.batch_rows,
                progress=not args.no_progress,
                warehouse=args.warehouse,
                fetch_images=not args.no_images,
            )
        )
    if args.command == "search":
        print(asyncio.run(_reindex(settings, progress=not args.no_progress)))
        return 0
    if args.command == "sweep":
        print(asyncio.run(_sweep(settings)))
        return 0
    if args.command == "payments":
        report, status = asyncio.run(_reconcile(settings, args.date, args.provider))
        print(report, file=sys.stdout if status < 2 else sys.stderr)
        return status
    if args.command == "source":
        with paused():  # gateway/collector.py: not while importing the sources' modules
            from .source_service import serve_sources, source_ports

        try:
            ports = source_ports(args.names, every=args.all, port=args.port)
        except ConfigurationError as exc:
            print(exc, file=sys.stderr)
            return 2
        what = f"the {' and '.join(ports)} source{'s' if len(ports) > 1 else ''}"
        with paused():
            refused = start_check(settings, list(ports), what)
        if refused is not None:
            return refused
        try:
            serve_sources(ports, settings, args.host)
        except ConfigurationError as exc:
            print(exc, file=sys.stderr)
            return 2
        return 0
    if args.command == "serve":
        with paused():
            refused = start_check(settings, SOURCE_NAMES, "the gateway")
        if refused is not None:
            return refused
    if args.command == "serve" and args.spawn_sources:
        return _serve_distributed(args)
    if args.command == "serve":
        import uvicorn

        from .ready_banner import announce_when_ready

        host = args.host or settings.host
        port = args.port or settings.port
        workers = _export_workers(args.workers or settings.workers)
        announce_when_ready(host, port, graphiql=settings.graphiql, examples=settings.examples)
        from .http_protocol import http_protocol

        with _worker_balance(settings, workers) as loop:
            uvicorn.run(
                "gateway.asgi:app",
                host=host,
                port=port,
                workers=workers,
                factory=False,
                access_log=False,
                log_level="warning",
                timeout_graceful_shutdown=settings.shutdown_grace_seconds,
                timeout_keep_alive=settings.keep_alive_seconds,
                loop=loop,
                http=http_protocol(),
            )
        return 0
    return _token(args, settings)


def _token(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the JWT library loads cryptography, which no other command needs.
    from .auth import ViewerKind, issue_token
    from .dev_tokens import customer_id_by_email, customer_subject_by_email, staff_member_by_email

    if args.kind == "customer" and settings.customer_subjects == "identity-provider":
        subject = asyncio.run(customer_subject_by_email(settings, args.email))
        print(
            issue_token(
                settings,
                kind=ViewerKind.CUSTOMER,
                subject=subject,
                ttl_seconds=args.ttl,
                extra_claims={"email": args.email.lower(), "email_verified": True},
            )
        )
        return 0
    if args.kind == "customer":
        customer_id = asyncio.run(customer_id_by_email(settings, args.email))
        if customer_id is None:
            print(
                f"no customer with email {args.email} (seed the demo shop first?)", file=sys.stderr
            )
            return 1
        print(
            issue_token(
                settings, kind=ViewerKind.CUSTOMER, subject=str(customer_id), ttl_seconds=args.ttl
            )
        )
        return 0
    subject, permissions = args.subject, args.permissions
    if args.email:
        member = asyncio.run(staff_member_by_email(settings, args.email))
        if member is None:
            print(f"no staff account {args.email} (seed the demo shop first?)", file=sys.stderr)
            return 1
        subject = f"staff-{member.id}"
        permissions = permissions if permissions is not None else list(member.permissions)
    print(
        issue_token(
            settings,
            kind=ViewerKind.STAFF,
            subject=subject,
            permissions=permissions or [],
            ttl_seconds=args.ttl,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
