"""`cj-fulfillment products …`: CJ products into the catalogue, listed, removed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from app.cli_medusa_import import add_medusa_import_command
from app.cli_medusa_stock import add_medusa_stock_command
from app.cli_progress import Progress
from app.container import Container
from app.core.config import get_settings
from app.core.errors import AppError
from app.core.logging import configure_logging
from app.services.catalogue import StoredProduct
from app.services.store_skus import BadSkuRule, SkuRule, read_sku_csv

WithContainer = Callable[[Callable[[Container], Awaitable[int]]], int]


def quiet_logs() -> None:
    """Warnings only, on stderr: the progress lines on stdout stay readable."""
    configure_logging(get_settings().log_format, "WARNING")


def _refs(args: argparse.Namespace) -> list[str]:
    refs = list(args.products)
    if args.file:
        lines = Path(args.file).read_text(encoding="utf-8").splitlines()
        refs += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return list(dict.fromkeys(refs))


def _rule(args: argparse.Namespace) -> SkuRule:
    by_vid = read_sku_csv(Path(args.skus).read_text(encoding="utf-8-sig")) if args.skus else {}
    return SkuRule.of(args.sku_template, by_vid)


def products_add(args: argparse.Namespace, with_container: WithContainer) -> int:
    """Each product is added whole or not at all: 0 all added, 1 some refused, 2 bad input."""
    try:
        refs = _refs(args)
        rule = _rule(args)
    except (OSError, BadSkuRule) as exc:
        print(f"cannot add: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    if not refs:
        print("name at least one product link or pid (or --file)", file=sys.stderr)
        return 2

    quiet_logs()

    async def work(container: Container) -> int:
        progress = Progress(len(refs), container.cj.transport)
        failed = 0
        for ref in refs:
            try:
                added = await container.catalogue.add(ref, rule)
            except AppError as exc:
                failed += 1
                progress.step(f"{ref}: {exc.detail}")
                continue
            counts = {o: sum(v.outcome == o for v in added.variants) for o in ("added", "updated")}
            progress.step(
                f"{added.name} ({added.pid}): {len(added.variants)} variants "
                f"({counts['added']} added, {counts['updated']} updated"
                + (
                    f", {len(added.removed_skus)} dropped by CJ removed"
                    if added.removed_skus
                    else ""
                )
                + ")"
            )
            for variant in added.variants:
                print(f"  {variant.sku}\t{variant.vid}")
        progress.summary(f"{len(refs) - failed} added, {failed} refused")
        return 1 if failed else 0

    return with_container(work)


def _stock_text(stored: StoredProduct, vid: str) -> str:
    stock = stored.stock.get(vid)
    if not stock:
        return "-"
    return ",".join(f"{country}:{quantity}" for country, quantity in sorted(stock.items()))


def products_list(_args: argparse.Namespace, with_container: WithContainer) -> int:
    quiet_logs()

    async def work(container: Container) -> int:
        print("pid\tname\tsku\tvid\tship_from\tstock\tlisted")
        for stored in await container.catalogue.list():
            for mapping in stored.mappings:
                listed = {True: "yes", False: "no", None: "unknown"}[mapping.listed]
                print(
                    f"{stored.product.pid}\t{stored.product.name}\t{mapping.sku}\t{mapping.vid}\t"
                    f"{','.join(mapping.ship_from or []) or '-'}\t"
                    f"{_stock_text(stored, mapping.vid)}\t{listed}"
                )
        return 0

    return with_container(work)


def products_remove(args: argparse.Namespace, with_container: WithContainer) -> int:
    quiet_logs()

    async def work(container: Container) -> int:
        failed = 0
        for ref in args.products:
            try:
                removed = await container.catalogue.remove(ref)
            except AppError as exc:
                failed += 1
                print(f"{ref}: {exc.detail}", file=sys.stderr)
                continue
            skus = ", ".join(m.sku for m in removed.mappings) or "none"
            print(f"removed {removed.product.name} ({removed.product.pid}); SKUs unmapped: {skus}")
        return 1 if failed else 0

    return with_container(work)


def products_stock(_args: argparse.Namespace, with_container: WithContainer) -> int:
    """Read every mapped product's stock from CJ now: 0 done, 3 CJ stopped the pass."""
    quiet_logs()

    async def work(container: Container) -> int:
        poller = container.stock_poller
        groups = await poller.groups()
        progress = Progress(len(groups), container.cj.transport)
        report = await poller.poll(lambda key, variants: progress.step(f"{key}: {variants} SKUs"))
        for event in report.events:
            stock = ",".join(f"{c}:{n}" for c, n in sorted(event.data.stock.items())) or "-"
            print(f"  {event.type}\t{','.join(event.data.skus)}\t{stock}")
        progress.summary(
            f"{report.products} of {len(groups)} products read, {report.changed} variants "
            f"changed, {report.delisted} delisted"
        )
        if report.stopped:
            print(f"stopped: {report.stopped}; run it again later", file=sys.stderr)
            return 3
        return 0

    return with_container(work)


def add_product_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], with_container: WithContainer
) -> None:
    products = commands.add_parser("products", help="CJ products in the catalogue")
    sub = products.add_subparsers(dest="products_command", required=True)
    add = sub.add_parser(
        "add", help="read CJ products (links or pids) and map every variant to a store SKU"
    )
    add.add_argument("products", nargs="*", metavar="URL|PID", help="CJ product links or pids")
    add.add_argument("--file", help="a text file with one link or pid per line")
    add.add_argument(
        "--sku-template",
        help="store SKUs from {variant_sku} {product_sku} {variant_key} {vid} {pid} "
        "(default: CJ's variant SKU)",
    )
    add.add_argument("--skus", metavar="FILE.csv", help="store SKUs per vid (columns vid,sku)")
    add.set_defaults(handler=lambda args: products_add(args, with_container))
    lister = sub.add_parser("list", help="the products, their SKUs, ship-from countries, stock")
    lister.set_defaults(handler=lambda args: products_list(args, with_container))
    stock = sub.add_parser("stock", help="read every mapped product's stock from CJ now")
    stock.set_defaults(handler=lambda args: products_stock(args, with_container))
    remove = sub.add_parser("remove", help="forget products and unmap their SKUs")
    remove.add_argument("products", nargs="+", metavar="URL|PID")
    remove.set_defaults(handler=lambda args: products_remove(args, with_container))
    add_medusa_import_command(sub, with_container)
    add_medusa_stock_command(sub, with_container)
