"""`cj-fulfillment products medusa-stock`: every mapped variant's stored stock into Medusa's
inventory levels at MEDUSA_STOCK_LOCATION_ID; also the last part of `products medusa-import`."""

from __future__ import annotations

import argparse

from app.cli_medusa_admin import WithContainer, failing_as, medusa_admin_command
from app.cli_progress import CountsRequests, Progress
from app.container import Container
from app.core.config import get_settings
from app.medusa.admin import MedusaProductsApi
from app.services.catalogue import StoredProduct
from app.services.medusa_stock_resync import MedusaStockResync, ResyncStep


async def check_location(resync: MedusaStockResync) -> None:
    """Raises UnknownStockLocation; a location in no sales channel is said (Medusa refuses
    to add a variant that manages inventory to a cart whose channel has no location)."""
    name, channels = await resync.location()
    if not channels:
        print(
            f"note: stock location {name} is in no sales channel: Medusa will not sell the "
            "variants stocked there until it is (Settings > Locations > Sales channels)",
            flush=True,
        )


async def push_stock(
    resync: MedusaStockResync, products: list[StoredProduct], cj: CountsRequests
) -> int:
    """0: every SKU's level is CJ's figure; 1: some SKUs have no inventory item in Medusa."""
    progress = Progress(MedusaStockResync.steps(products), cj)

    def each(step: ResyncStep) -> None:
        missing = f", {len(step.missing)} not in Medusa" if step.missing else ""
        progress.step(
            f"stock: {step.skus} SKUs, {step.written} levels set, {step.unchanged} "
            f"already right{missing}"
        )

    report = await resync.run(products, each)
    for sku in report.missing:
        print(f"  {sku}: no inventory item in Medusa (not imported, or not inventory-managed)")
    progress.summary(
        f"stock into Medusa: {report.written} levels set, {report.unchanged} already right, "
        f"{len(report.missing)} SKUs not in Medusa"
    )
    return 1 if report.missing else 0


def medusa_stock(args: argparse.Namespace, with_container: WithContainer) -> int:
    """0 done; 1 some SKUs have no inventory item, or Medusa refused; 2 not configured."""
    location_id = get_settings().medusa_stock_location_id

    async def work(container: Container, api: MedusaProductsApi) -> int:
        products = await container.catalogue.list()
        if args.products:
            products = [p for p in products if p.product.pid in set(args.products)]
        resync = MedusaStockResync(api, location_id)
        with failing_as("cannot set stock", "run it again"):
            await check_location(resync)
            return await push_stock(resync, products, container.cj.transport)

    return medusa_admin_command(with_container, work, needs_location=True)


def add_medusa_stock_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], with_container: WithContainer
) -> None:
    command = sub.add_parser(
        "medusa-stock",
        help="set Medusa's inventory levels at MEDUSA_STOCK_LOCATION_ID to the stored stock",
    )
    command.add_argument("products", nargs="*", metavar="PID", help="only these (default: all)")
    command.set_defaults(handler=lambda args: medusa_stock(args, with_container))
