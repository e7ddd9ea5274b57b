"""Writes the OpenAPI document the app serves to openapi/openapi.json (`make openapi`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from app.core.config import Settings

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def render() -> str:
    from app.main import create_app

    document: dict[str, Any] = create_app(Settings(_env_file=None)).openapi()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main() -> int:
    OPENAPI_PATH.parent.mkdir(exist_ok=True)
    OPENAPI_PATH.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OPENAPI_PATH}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
