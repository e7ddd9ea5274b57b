"""`cj-fulfillment`: the ops command line."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.errors import CJError
from app.cli_catalogue import add_product_commands, quiet_logs
from app.cli_progress import Progress
from app.container import Container, token_cipher
from app.core.clock import utcnow
from app.core.config import SettingsError, get_settings
from app.core.errors import AppError
from app.db.models import OUTBOX_STATUSES
from app.db.repositories.outbox_messages import OutboxRepository
from app.db.repositories.sku_mappings import SkuMappingRepository
from app.db.session import create_engine, create_sessionmaker
from app.db.token_store import DatabaseTokenStore
from app.services.notifications.replay import replay_dead
from app.services.operations import OpsReader, OpsSnapshot, attention
from app.services.options import OptionsCatalog, OptionsFileError
from app.services.retention import Retention
from app.services.sku_import import (
    ImportReport,
    MappingFile,
    SkuFileError,
    import_mappings,
    read_mapping_file,
    verify_mappings,
)
from app.services.variant_check import VariantState

Command = Callable[[argparse.Namespace], int]


def check_config(_args: argparse.Namespace) -> int:
    """Validate the settings and the options file, as the service does at start."""
    try:
        settings = get_settings()
        catalog = OptionsCatalog.load(settings.options_file)
    except (SettingsError, OptionsFileError) as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 1
    print(f"environment: {settings.environment.value}")
    print(f"database:    {settings.database_url.split('://', 1)[0]}")
    print(f"redis:       {'configured' if settings.redis_url else 'none (per-process features)'}")
    print(f"cj:          {settings.cj_api_base_url} at {settings.cj_qps} req/s")
    print(f"options:     {', '.join(o.id for o in catalog.options)} ({settings.options_file})")
    return 0


def with_container(work: Callable[[Container], Awaitable[int]]) -> int:
    """Run `work` with the process's container (database, Redis, CJ client), then close."""

    async def run() -> int:
        container = Container.build(get_settings(), process="cli")
        try:
            return await work(container)
        except CJError as exc:
            print(f"CJ error: {exc}", file=sys.stderr)
            return 1
        finally:
            await container.close()

    return asyncio.run(run())


def with_database(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]) -> int:
    """Run `work` with a sessionmaker on `DATABASE_URL` (no Redis, no CJ), then close."""

    async def run() -> int:
        engine = create_engine(get_settings())
        try:
            return await work(create_sessionmaker(engine))
        except (SQLAlchemyError, OSError) as exc:
            print(f"database error: {exc}", file=sys.stderr)
            return 1
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else "unknown"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max((now - moment).total_seconds(), 0)
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _status_lines(snapshot: OpsSnapshot) -> list[str]:
    now = snapshot.taken_at
    if snapshot.workers is None:
        workers = "not visible without Redis (python -m app.workers.liveness on its host)"
    elif not snapshot.workers:
        workers = "none alive"
    else:
        workers = f"{len(snapshot.workers)} alive: " + ", ".join(
            f"{beat.name} ({_ago(beat.at, now)})" for beat in snapshot.workers
        )
    token = snapshot.token
    if token.access_expires_at is not None:
        token_line = f"{token.status}, expires {_when(token.access_expires_at)}"
    else:
        token_line = f"{token.status} (obtained at the first CJ call)"
    if snapshot.points_exhausted_until is not None:
        points = f"used up until {_when(snapshot.points_exhausted_until)}"
    elif snapshot.points is not None:
        points = f"{snapshot.points.remaining} of {snapshot.points.total} left today"
    else:
        points = "not used up (CJ has sent no figures today)"
    counts = snapshot.fulfillments
    oldest = snapshot.oldest_pending_at
    pending = f"{counts.get('pending', 0)}" + (
        f" (oldest since {_ago(oldest, now)})" if oldest else ""
    )
    outbox = (
        "; ".join(
            f"{b.sink}: {b.pending} pending"
            + (f" (oldest {_ago(b.oldest_pending_at, now)})" if b.oldest_pending_at else "")
            + f", {b.dead} dead"
            for b in snapshot.outbox
        )
        or "empty"
    )
    return [
        f"cj-fulfillment status at {_when(now)}",
        f"worker:        {workers}",
        f"cj token:      {token_line}",
        f"cj breaker:    {snapshot.breaker}",
        f"cj points:     {points}",
        f"pending:       {pending}",
        f"failed:        {counts.get('failed', 0)}",
        f"open at CJ:    {snapshot.open_fulfillments}"
        f" (shipped {counts.get('shipped', 0)}, delivered {counts.get('delivered', 0)},"
        f" cancelled {counts.get('cancelled', 0)})",
        f"outbox:        {outbox}",
        f"last webhook:  {_ago(snapshot.last_webhook_at, now)}",
    ]


def status(_args: argparse.Namespace) -> int:
    """One screen of what an operator checks first; 1 when something needs attention."""

    async def work(container: Container) -> int:
        reader = OpsReader(container.sessionmaker, container.cj, container.redis)
        snapshot = await reader.snapshot()
        print("\n".join(_status_lines(snapshot)))
        problems = attention(snapshot)
        for line in problems:
            print(f"attention:     {line}")
        if not problems:
            print("attention:     nothing")
        return 1 if problems else 0

    return with_container(work)


def cj_token(args: argparse.Namespace) -> int:
    """Show the stored token's state (never the token itself); `--refresh` renews it now."""
    if args.action == "rekey":
        return cj_token_rekey()

    async def work(container: Container) -> int:
        tokens = container.cj.tokens
        state = await (tokens.refresh_now() if args.refresh else tokens.state())
        print(f"account:         {tokens.account}")
        if state is None or state.access_token is None:
            print("status:          missing (no token yet; `--refresh` obtains one)")
            return 1
        health = await tokens.health()
        retry = health.retry_at
        waiting = f" (getAccessToken allowed at {_when(retry)})" if retry else ""
        print(f"status:          {health.status}{waiting}")
        print(f"access expires:  {_when(state.access_expires_at)}")
        print(f"refresh expires: {_when(state.refresh_expires_at)}")
        print(f"openId:          {'known' if await tokens.open_id() else 'unknown'}")
        return 0

    return with_container(work)


def cj_token_rekey() -> int:
    """Re-encrypt the stored tokens with the first TOKEN_ENCRYPTION_KEY: 0 done, 1 unreadable."""
    settings = get_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        report = await DatabaseTokenStore(sessionmaker, token_cipher(settings)).rekey()
        print(f"re-encrypted {report.rekeyed} token(s) with the first TOKEN_ENCRYPTION_KEY")
        for name in report.unreadable:
            print(
                f"{name}: no configured key opens it (left as is; a new token is bought "
                "on the next CJ call)",
                file=sys.stderr,
            )
        return 1 if report.unreadable else 0

    return with_database(work)


def cj_ping(_args: argparse.Namespace) -> int:
    """Check the credentials with setting/get and compare CJ's QPS with `CJ_QPS`."""

    async def work(container: Container) -> int:
        account = await container.cj.get_account_settings()
        configured = container.settings.cj_qps
        print(f"cj:          {container.settings.cj_api_base_url}: credentials accepted")
        print(f"qps limit:   {account.qps_limit if account.qps_limit is not None else 'unknown'}")
        print(f"CJ_QPS:      {configured}")
        print(f"sandbox:     {account.is_sandbox}")
        if account.qps_limit is not None and configured > account.qps_limit:
            print(
                f"CJ_QPS={configured} is above the account's limit of {account.qps_limit}: "
                "CJ will answer 1600200; lower CJ_QPS",
                file=sys.stderr,
            )
            return 1
        return 0

    return with_container(work)


def skus_import(args: argparse.Namespace) -> int:
    """Load SKU -> vid mappings from a CSV file, each vid checked with CJ first: 0 all
    saved, 1 rows rejected (the others saved), 2 unusable file, 3 CJ could not be asked
    (nothing saved; run it again)."""
    try:
        mappings = read_mapping_file(Path(args.file))
    except SkuFileError as exc:
        print(f"cannot import: {exc}", file=sys.stderr)
        return 2
    if args.no_check:
        return _save_mappings(mappings, None)
    quiet_logs()

    async def work(container: Container) -> int:
        vids = len({row.vid for row in mappings.rows})
        progress = Progress(vids, container.cj.transport)
        try:
            checked, checks = await verify_mappings(
                mappings,
                container.variant_checker,
                lambda done, _total: progress.step("vids checked with CJ", done - progress.done),
            )
        except AppError as exc:
            print(f"nothing saved: {exc.detail}", file=sys.stderr)
            return 3
        async with container.sessionmaker.begin() as session:
            report = await import_mappings(session, checked, checks)
        progress.summary(f"{vids} vids checked")
        return _report(report)

    return with_container(work)


def _save_mappings(mappings: MappingFile, checks: None) -> int:
    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        async with sessionmaker.begin() as session:
            report = await import_mappings(session, mappings, checks)
        return _report(report)

    return with_database(work)


def _report(report: ImportReport) -> int:
    print(report.summary())
    for row in report.rejected:
        print(f"line {row.line}: {row.reason}")
    return 1 if report.rejected else 0


def skus_check(args: argparse.Namespace) -> int:
    """Ask CJ again about every mapped vid (each batch saved as it is checked): 0 all on
    sale, 1 some unknown or off the shelves, 3 CJ could not be asked (run it again)."""
    quiet_logs()

    async def work(container: Container) -> int:
        async with container.sessionmaker() as session:
            skus = await SkuMappingRepository(session).by_vid(args.limit)
        progress = Progress(len(skus), container.cj.transport)
        counts = dict.fromkeys(VariantState, 0)
        try:
            async for batch in container.variant_checker.batches(list(skus)):
                async with container.sessionmaker.begin() as session:
                    repository = SkuMappingRepository(session)
                    for check in batch:
                        await repository.record_check(check.vid, check.mapping_values())
                for check in batch:
                    counts[check.state] += 1
                    if check.state is not VariantState.listed:
                        print(f"{', '.join(skus[check.vid])}: {check.reason}")
                progress.step("vids checked with CJ", len(batch))
        except AppError as exc:
            print(f"stopped: {exc.detail}; what was checked is saved", file=sys.stderr)
            return 3
        progress.summary(
            f"{counts[VariantState.listed]} on sale, {counts[VariantState.delisted]} off the "
            f"shelves, {counts[VariantState.unknown]} unknown to CJ"
        )
        return 0 if counts[VariantState.listed] == len(skus) else 1

    return with_container(work)


def skus_list(args: argparse.Namespace) -> int:
    """Print the mappings in SKU order, tab-separated."""

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        async with sessionmaker() as session:
            mappings = await SkuMappingRepository(session).first(args.limit)
        print("sku\tvid\tfrom_country")
        for mapping in mappings:
            print(f"{mapping.sku}\t{mapping.vid}\t{mapping.from_country or '-'}")
        return 0

    return with_database(work)


def cj_webhooks_register(args: argparse.Namespace) -> int:
    """Point CJ's ORDER and LOGISTIC callbacks at /webhooks/cj/<CJ_WEBHOOK_PATH_TOKEN>
    (webhook/set); no other topic is touched."""
    settings = get_settings()
    token = settings.cj_webhook_path_token
    if token is None:
        # CJ probes the URL when it is registered: the service must know the token first.
        print(
            "CJ_WEBHOOK_PATH_TOKEN is not set. A new one (the secret part of the URL CJ calls):"
            f"\n\n  CJ_WEBHOOK_PATH_TOKEN={new_path_token()}\n\n"
            "Set it in the service's environment, restart the service, then run this again.",
            file=sys.stderr,
        )
        return 2
    url = _with_token(args.url, token.get_secret_value())
    if not url.startswith("https://"):
        print(
            f"warning: CJ accepts only public https:// URLs; {_masked(url, token)} may be refused"
        )

    async def work(container: Container) -> int:
        accepted = await container.cj.set_webhooks(
            order_url=url, logistics_url=url, catalogue_url=url if args.stock else None
        )
        print(f"order:     ENABLE {_masked(url, token)}")
        print(f"logistics: ENABLE {_masked(url, token)}")
        if args.stock:
            print(f"product:   ENABLE {_masked(url, token)}")
            print(f"stock:     ENABLE {_masked(url, token)}")
        else:
            print("other topics (product, stock, ...): left as they are")
        print(f"CJ answered: {'accepted' if accepted else 'not accepted (data false)'}")
        return 0 if accepted else 1

    return with_container(work)


def cj_webhooks_token(_args: argparse.Namespace) -> int:
    """Print a new path token and the settings that rotate to it without losing a message."""
    current = get_settings().cj_webhook_path_token
    print(f"CJ_WEBHOOK_PATH_TOKEN={new_path_token()}")
    if current is not None:
        print(f"CJ_WEBHOOK_PATH_TOKENS_PREVIOUS={current.get_secret_value()}")
        print(
            "# set both, restart the service (both tokens are accepted), run "
            "`cj webhooks register`, and drop the previous token a day later",
            file=sys.stderr,
        )
    return 0


def cj_webhooks_cancel(_args: argparse.Namespace) -> int:
    """Switch CJ's ORDER and LOGISTIC callbacks off (no other topic is touched)."""

    async def work(container: Container) -> int:
        accepted = await container.cj.set_webhooks(order_url=None, logistics_url=None)
        print(
            f"order, logistics: CANCEL; CJ answered: "
            f"{'accepted' if accepted else 'not accepted (data false)'}"
        )
        return 0 if accepted else 1

    return with_container(work)


def new_path_token() -> str:
    """256 random bits, URL-safe: a path segment nobody guesses."""
    return secrets.token_urlsafe(32)


def _with_token(url: str, token: str) -> str:
    """`.../webhooks/cj` + `/<token>` (a URL that already ends with the token is kept)."""
    base = url.rstrip("/")
    return base if base.endswith("/" + token) else f"{base}/{token}"


def _masked(url: str, token: SecretStr) -> str:
    """The URL as it may be printed: the secret path token masked."""
    return url.replace(token.get_secret_value(), "<CJ_WEBHOOK_PATH_TOKEN>")


def _one_line(text: str | None, width: int = 120) -> str:
    if not text:
        return "-"
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def outbox_list(args: argparse.Namespace) -> int:
    """Print outbox messages oldest first, tab-separated (default: pending and dead)."""
    statuses = [args.status] if args.status else ["pending", "dead"]

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        async with sessionmaker() as session:
            messages = await OutboxRepository(session).listing(statuses, args.limit)
        print(
            "id\tstatus\tsink\tevent\tfulfillment\tattempts\tcreated_at\tnext_attempt_at\tlast_error"
        )
        for m in messages:
            due = _when(m.next_attempt_at) if m.status == "pending" else "-"
            print(
                f"{m.id}\t{m.status}\t{m.sink}\t{m.event_type}\t{m.fulfillment_id or '-'}\t"
                f"{m.attempts}\t{_when(m.created_at)}\t{due}\t{_one_line(m.last_error)}"
            )
        return 0

    return with_database(work)


def outbox_replay(args: argparse.Namespace) -> int:
    """Dead messages back to pending, due now: 0 all replayed, 1 some ids were not dead."""
    if args.all_dead == bool(args.ids):
        print("name the message IDs to replay, or --all-dead (not both)", file=sys.stderr)
        return 2

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        async with sessionmaker.begin() as session:
            report = await replay_dead(
                session, None if args.all_dead else args.ids, datetime.now(UTC)
            )
        replayed = ", ".join(str(i) for i in report.replayed)
        print(f"replayed {len(report.replayed)}" + (f": {replayed}" if replayed else ""))
        for message_id in report.not_found:
            print(f"id {message_id}: not found", file=sys.stderr)
        for message_id, status in report.not_dead.items():
            print(f"id {message_id}: {status}, not dead", file=sys.stderr)
        return 1 if report.not_found or report.not_dead else 0

    return with_database(work)


def retention_prune(_args: argparse.Namespace) -> int:
    """Delete settled webhook inbox rows and idempotency keys past their retention now."""
    settings = get_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        retention = Retention(
            sessionmaker,
            webhook_inbox_days=settings.webhook_inbox_retention_days,
            idempotency_days=settings.idempotency_retention_days,
        )
        report = await retention.prune(utcnow())
        print(
            f"webhook inbox:    deleted {report.webhook_inbox} "
            f"(settled, older than {settings.webhook_inbox_retention_days:g} days)"
        )
        print(
            f"idempotency keys: deleted {report.idempotency_keys} "
            f"(older than {settings.idempotency_retention_days:g} days)"
        )
        return 0

    return with_database(work)


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cj-fulfillment", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate settings and the options file")
    check.set_defaults(handler=check_config)
    state = commands.add_parser(
        "status", help="token, breaker, pending/failed counts, outbox, last webhook, points"
    )
    state.set_defaults(handler=status)
    cj = commands.add_parser("cj", help="CJ account: token state, credentials check")
    cj_commands = cj.add_subparsers(dest="cj_command", required=True)
    token = cj_commands.add_parser("token", help="show the CJ token's state (never the token)")
    token.add_argument(
        "action",
        nargs="?",
        choices=["rekey"],
        help="rekey: re-encrypt the stored tokens with the first TOKEN_ENCRYPTION_KEY",
    )
    token.add_argument("--refresh", action="store_true", help="refresh or obtain a token now")
    token.set_defaults(handler=cj_token)
    ping = cj_commands.add_parser("ping", help="check the credentials and the account's QPS")
    ping.set_defaults(handler=cj_ping)
    webhooks = cj_commands.add_parser("webhooks", help="CJ's order and logistics callbacks")
    webhook_commands = webhooks.add_subparsers(dest="webhooks_command", required=True)
    register = webhook_commands.add_parser(
        "register",
        help="send CJ's ORDER and LOGISTIC webhooks to URL/<CJ_WEBHOOK_PATH_TOKEN> (webhook/set)",
    )
    register.add_argument(
        "--url", required=True, help="public https URL of POST /webhooks/cj on this service"
    )
    register.add_argument(
        "--stock",
        action="store_true",
        help="also PRODUCT and STOCK (stock sync: the products they name are read again)",
    )
    register.set_defaults(handler=cj_webhooks_register)
    token = webhook_commands.add_parser(
        "token", help="print a new path token (and the settings that rotate to it)"
    )
    token.set_defaults(handler=cj_webhooks_token)
    cancel = webhook_commands.add_parser("cancel", help="switch CJ's ORDER and LOGISTIC off")
    cancel.set_defaults(handler=cj_webhooks_cancel)
    skus = commands.add_parser("skus", help="SKU -> CJ variant (vid) mappings")
    skus_commands = skus.add_subparsers(dest="skus_command", required=True)
    importer = skus_commands.add_parser(
        "import", help="load mappings from a CSV file (columns sku, vid, from_country)"
    )
    importer.add_argument("file", metavar="FILE.csv", help="UTF-8 CSV with a header row")
    importer.add_argument(
        "--no-check", action="store_true", help="save without asking CJ about the vids"
    )
    importer.set_defaults(handler=skus_import)
    checker = skus_commands.add_parser(
        "check", help="ask CJ again about every mapped vid (unknown, off the shelves)"
    )
    checker.add_argument("--limit", type=_positive_int, help="at most N vids")
    checker.set_defaults(handler=skus_check)
    lister = skus_commands.add_parser("list", help="print the mappings in SKU order")
    lister.add_argument("--limit", type=_positive_int, default=100, help="at most N (100)")
    lister.set_defaults(handler=skus_list)
    add_product_commands(commands, with_container)
    outbox = commands.add_parser("outbox", help="notifications to the store: list, replay")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    outbox_lister = outbox_commands.add_parser(
        "list", help="print messages oldest first (default: pending and dead)"
    )
    outbox_lister.add_argument("--status", choices=OUTBOX_STATUSES, help="only this status")
    outbox_lister.add_argument("--limit", type=_positive_int, default=100, help="at most N (100)")
    outbox_lister.set_defaults(handler=outbox_list)
    replay = outbox_commands.add_parser(
        "replay", help="dead messages back to pending, attempts reset, due now"
    )
    replay.add_argument("ids", metavar="ID", type=_positive_int, nargs="*", help="message ids")
    replay.add_argument("--all-dead", action="store_true", help="every dead message")
    replay.set_defaults(handler=outbox_replay)
    retention = commands.add_parser("retention", help="prune what is kept past its use")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    prune = retention_commands.add_parser(
        "prune", help="delete old settled webhook inbox rows and idempotency keys now"
    )
    prune.set_defaults(handler=retention_prune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status. Ctrl-C is one line and 130 (128 + SIGINT), not a
    traceback: asyncio.run cancels the command's task first, so the transaction in
    progress rolls back and the clients close; what was committed before stays."""
    try:
        args = build_parser().parse_args(argv)
        handler: Command = args.handler
        return handler(args)
    except SettingsError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
