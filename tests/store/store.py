"""The store run-store.sh started, as a test drives it: Medusa's Store API (publishable
key), its Admin API (an admin's token), the service and cjsim. The store is described by
the KEY=VALUE file STORE_ENV names (see integrations/medusa-store/README.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx


def read_env(path: str) -> dict[str, str]:
    values = {}
    for line in Path(path).read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


class Store:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self._shop = httpx.Client(
            base_url=env["MEDUSA_URL"],
            timeout=120,
            headers={"x-publishable-api-key": env["MEDUSA_PUBLISHABLE_KEY"]},
        )
        self._admin = httpx.Client(base_url=env["MEDUSA_URL"], timeout=120)
        login = self._admin.post(
            "/auth/user/emailpass",
            json={"email": env["ADMIN_EMAIL"], "password": env["ADMIN_PASSWORD"]},
        )
        login.raise_for_status()
        self._admin.headers["Authorization"] = f"Bearer {login.json()['token']}"
        self._service = httpx.Client(
            base_url=env["CJ_FULFILLMENT_URL"],
            timeout=60,
            headers={"Authorization": f"Bearer {env['CJ_FULFILLMENT_API_KEY']}"},
        )
        self._sim = httpx.Client(base_url=env["CJSIM_URL"], timeout=30)

    def close(self) -> None:
        for client in (self._shop, self._admin, self._service, self._sim):
            client.close()

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        assert response.status_code < 400, (
            f"{response.request.method} {response.request.url} → {response.status_code}: "
            f"{response.text[:1500]}"
        )
        return response.json() if response.content else {}

    def shop_response(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self._shop.request(method, path, json=body)

    def shop(self, method: str, path: str, body: Any = None) -> Any:
        return self._json(self.shop_response(method, path, body))

    def admin_response(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self._admin.request(method, path, json=body)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return self._json(self.admin_response(method, path, body))

    def service(self, method: str, path: str, body: Any = None) -> Any:
        return self._json(self._service.request(method, path, json=body))

    def sim(self, method: str, path: str, body: Any = None) -> Any:
        return self._json(self._sim.request(method, path, json=body))


def store_running() -> bool:
    path = os.environ.get("STORE_ENV")
    return bool(path) and Path(str(path)).is_file()


def load_store() -> Store | None:
    """The running store, or None outside run-store.sh."""
    if not store_running():
        return None
    return Store(read_env(os.environ["STORE_ENV"]))
