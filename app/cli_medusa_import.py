"""`cj-fulfillment products medusa-import`: the catalogue's products into the Medusa store."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation

from app.cli_medusa_admin import WithContainer, failing_as, medusa_admin_command
from app.cli_medusa_stock import check_location, push_stock
from app.cli_progress import Progress
from app.container import Container
from app.core.config import get_settings
from app.medusa.admin import MedusaProductsApi, MedusaRefused
from app.services.catalogue import StoredProduct
from app.services.medusa_import import ImportOutcome, MedusaImport
from app.services.medusa_stock_resync import MedusaStockResync
from app.services.money import ExchangeRates


def _markup(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"a markup is 0 or more percent, not {text!r}")
    return value


def medusa_import(args: argparse.Namespace, with_container: WithContainer) -> int:
    """0: every product created, updated or unchanged (and, with MEDUSA_STOCK_LOCATION_ID,
    its stock set in Medusa); 1: some failed; 2: not configured."""
    settings = get_settings()
    location_id = settings.medusa_stock_location_id
    markup = args.markup if args.markup is not None else settings.medusa_import_markup_percent

    async def run(api: MedusaProductsApi, products: list[StoredProduct], cj: Container) -> int:
        rates = ExchangeRates(cj.options.exchange_rates)
        progress = Progress(len(products), cj.cj.transport)
        verb = "would be " if args.dry_run else ""

        def each(outcome: ImportOutcome) -> None:
            progress.step(f"{outcome.title} ({outcome.pid}): {verb}{outcome.outcome}")
            for change in (*outcome.changes, *outcome.notes):
                print(f"  {change}", flush=True)

        resync = MedusaStockResync(api, location_id) if location_id else None
        with failing_as("cannot import", "nothing written", key_hint=True):
            if resync is not None:
                await check_location(resync)
            outcomes = await MedusaImport(
                api, rates, markup, manage_inventory=resync is not None
            ).run(products, dry_run=args.dry_run, each=each)
        counts = {
            kind: sum(o.outcome == kind for o in outcomes)
            for kind in ("created", "updated", "unchanged", "failed")
        }
        labels = {"created": "to create", "updated": "to update"} if args.dry_run else {}
        progress.summary(
            ("dry run, nothing written: " if args.dry_run else "")
            + ", ".join(f"{n} {labels.get(kind, kind)}" for kind, n in counts.items())
            + f" (markup {markup}%); {api.requests_sent} Medusa requests"
        )
        stock = 0
        if resync is not None and not args.dry_run:
            done = {o.pid for o in outcomes if o.outcome != "failed"}
            try:
                stock = await push_stock(
                    resync, [p for p in products if p.product.pid in done], cj.cj.transport
                )
            except MedusaRefused as exc:
                print(f"stock not set: {exc}; run products medusa-stock", file=sys.stderr)
                stock = 1
        return 1 if counts["failed"] or stock else 0

    async def work(container: Container, api: MedusaProductsApi) -> int:
        products = await container.catalogue.list()
        if args.products:
            wanted = set(args.products)
            products = [p for p in products if p.product.pid in wanted]
            missing = wanted - {p.product.pid for p in products}
            if missing:
                print(f"not in the catalogue: {', '.join(sorted(missing))}", file=sys.stderr)
                return 2
        return await run(api, products, container)

    return medusa_admin_command(with_container, work)


def add_medusa_import_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], with_container: WithContainer
) -> None:
    command = sub.add_parser(
        "medusa-import",
        help="create or update a Medusa product for each catalogue product (Admin API)",
    )
    command.add_argument("products", nargs="*", metavar="PID", help="only these (default: all)")
    command.add_argument(
        "--markup",
        type=_markup,
        metavar="PERCENT",
        help="added to CJ's sell price (default MEDUSA_IMPORT_MARKUP_PERCENT)",
    )
    command.add_argument(
        "--dry-run", action="store_true", help="print what would change, write nothing"
    )
    command.set_defaults(handler=lambda args: medusa_import(args, with_container))
