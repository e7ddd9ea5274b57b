"""What `products medusa-import` and `products medusa-stock` share: their work with the
process's container and a Medusa Admin API client (MEDUSA_URL, MEDUSA_SECRET_KEY), closed
after, and the service's errors and Medusa's refusals as one line on stderr and exit 1."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from app.container import Container
from app.core.config import get_settings
from app.core.errors import AppError
from app.core.logging import configure_logging
from app.medusa.admin import MedusaProductsApi, MedusaRefused

WithContainer = Callable[[Callable[[Container], Awaitable[int]]], int]
AdminWork = Callable[[Container, MedusaProductsApi], Awaitable[int]]


class CommandFailed(Exception):
    """Said on stderr; the command exits 1."""


@contextmanager
def failing_as(doing: str, then: str, *, key_hint: bool = False) -> Iterator[None]:
    """The service's errors and Medusa's refusals within as `CommandFailed`: `{doing}:
    {why}`, and after a refusal `; {then}` (with `key_hint`, a 401 or 403 names the key)."""
    try:
        yield
    except AppError as exc:
        raise CommandFailed(f"{doing}: {exc.detail}") from exc
    except MedusaRefused as exc:
        hint = " (check MEDUSA_SECRET_KEY)" if key_hint and exc.status in (401, 403) else ""
        raise CommandFailed(f"{doing}: {exc}{hint}; {then}") from exc


def medusa_admin_command(
    with_container: WithContainer, work: AdminWork, *, needs_location: bool = False
) -> int:
    """`work`'s exit code; 1 when it raised `CommandFailed`; 2 without MEDUSA_URL and
    MEDUSA_SECRET_KEY (or, `needs_location`, MEDUSA_STOCK_LOCATION_ID)."""
    settings = get_settings()
    if not settings.medusa_url or settings.medusa_secret_key is None:
        print("set MEDUSA_URL and MEDUSA_SECRET_KEY (a secret API key, sk_…)", file=sys.stderr)
        return 2
    if needs_location and not settings.medusa_stock_location_id:
        print("set MEDUSA_STOCK_LOCATION_ID (the Medusa stock location, sloc_…)", file=sys.stderr)
        return 2
    secret_key = settings.medusa_secret_key
    configure_logging(settings.log_format, "WARNING")

    async def run(container: Container) -> int:
        api = MedusaProductsApi(settings.medusa_url, secret_key)
        try:
            return await work(container, api)
        except CommandFailed as exc:
            print(exc, file=sys.stderr)
            return 1
        finally:
            await api.aclose()

    return with_container(run)
