"""`cj-fulfillment`: the ops command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from app.core.config import get_settings
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cj-fulfillment", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate settings and the options file")
    check.set_defaults(handler=check_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)
