"""`cj-fulfillment`: the ops command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from app.cj.errors import CJError
from app.core.config import get_settings
from app.resources import Resources
from app.services.options import OptionsCatalog, OptionsFileError

Command = Callable[[argparse.Namespace], int]


def check_config(_args: argparse.Namespace) -> int:
    """Validate the settings and the options file, as the service does at start."""
    try:
        settings = get_settings()
        catalog = OptionsCatalog.load(settings.options_file)
    except (ValidationError, OptionsFileError) as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 1
    print(f"environment: {settings.environment.value}")
    print(f"database:    {settings.database_url.split('://', 1)[0]}")
    print(f"redis:       {'configured' if settings.redis_url else 'none (per-process features)'}")
    print(f"cj:          {settings.cj_api_base_url} at {settings.cj_qps} req/s")
    print(f"options:     {', '.join(o.id for o in catalog.options)} ({settings.options_file})")
    return 0


def with_resources(work: Callable[[Resources], Awaitable[int]]) -> int:
    """Run `work` with this process's resources (database, Redis, CJ client), then close."""

    async def run() -> int:
        resources = Resources.build(get_settings(), process="cli")
        try:
            return await work(resources)
        except CJError as exc:
            print(f"CJ error: {exc}", file=sys.stderr)
            return 1
        finally:
            await resources.close()

    return asyncio.run(run())


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else "unknown"


def cj_token(args: argparse.Namespace) -> int:
    """Show the stored token's state (never the token itself); `--refresh` renews it now."""

    async def work(resources: Resources) -> int:
        tokens = resources.cj.tokens
        state = await (tokens.refresh_now() if args.refresh else tokens.state())
        print(f"account:         {tokens.account}")
        if state is None or state.access_token is None:
            print("status:          missing (no token yet; `--refresh` obtains one)")
            return 1
        print(f"status:          {state.status(datetime.now(UTC))}")
        print(f"access expires:  {_when(state.access_expires_at)}")
        print(f"refresh expires: {_when(state.refresh_expires_at)}")
        print(f"openId:          {'known' if await tokens.open_id() else 'unknown'}")
        return 0

    return with_resources(work)


def cj_ping(_args: argparse.Namespace) -> int:
    """Check the credentials with setting/get and compare CJ's QPS with `CJ_QPS`."""

    async def work(resources: Resources) -> int:
        account = await resources.cj.get_account_settings()
        configured = resources.settings.cj_qps
        print(f"cj:          {resources.settings.cj_api_base_url}: credentials accepted")
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

    return with_resources(work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cj-fulfillment", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate settings and the options file")
    check.set_defaults(handler=check_config)
    cj = commands.add_parser("cj", help="CJ account: token state, credentials check")
    cj_commands = cj.add_subparsers(dest="cj_command", required=True)
    token = cj_commands.add_parser("token", help="show the CJ token's state (never the token)")
    token.add_argument("--refresh", action="store_true", help="refresh or obtain a token now")
    token.set_defaults(handler=cj_token)
    ping = cj_commands.add_parser("ping", help="check the credentials and the account's QPS")
    ping.set_defaults(handler=cj_ping)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)
