from __future__ import annotations

import json
import logging

import pytest
import structlog
from pydantic import SecretStr

from app.core.config import LogFormat
from app.core.logging import configure_logging
from app.core.redaction import MASK, redact_processor


class TestRedactProcessor:
    def test_secret_keys_are_masked(self) -> None:
        event = redact_processor(
            None,
            "info",
            {
                "event": "x",
                "access_token": "abc",
                "CJ-Access-Token": "abc",
                "api_key": "k",
                "password": "p",
                "sign": "s",
                "secret": SecretStr("s"),
            },
        )
        assert all(event[k] == MASK for k in event if k != "event")

    def test_personal_data_is_masked_in_nested_values(self) -> None:
        event = redact_processor(
            None,
            "info",
            {
                "event": "order",
                "payload": {
                    "shipping_address": {"address1": "1 Main St"},
                    "items": [{"sku": "A", "email": "a@b.co"}],
                    "phone": "+1 555 123 4567",
                },
            },
        )
        assert event["payload"]["shipping_address"] == MASK
        assert event["payload"]["items"][0] == {"sku": "A", "email": MASK}
        assert event["payload"]["phone"] == MASK

    def test_free_text_is_scrubbed(self) -> None:
        event = redact_processor(
            None,
            "info",
            {
                "event": "mail jane.doe@example.com or call +44 20 7946 0958",
                "header": "Bearer abc.def",
            },
        )
        assert "jane.doe" not in event["event"]
        assert "7946" not in event["event"]
        assert event["header"] == f"Bearer {MASK}"

    def test_ids_and_amounts_survive(self) -> None:
        event = redact_processor(
            None, "info", {"event": "x", "cj_order_id": "2108231000162905550", "amount": "12.34"}
        )
        assert event["cj_order_id"] == "2108231000162905550"
        assert event["amount"] == "12.34"

    def test_uuids_survive_but_a_dashed_phone_does_not(self) -> None:
        request_id = "be232b6d-4123-4567-9a0e-e87dcd403d55"
        event = redact_processor(
            None, "info", {"event": "x", "cj_request_id": request_id, "note": "call 212-555-0100"}
        )
        assert event["cj_request_id"] == request_id
        assert event["note"] == f"call {MASK}"


class TestLogOutput:
    def test_json_logs_never_show_secrets(self, capfd: pytest.CaptureFixture[str]) -> None:
        configure_logging(LogFormat.json)
        structlog.get_logger("test").info(
            "cj_call", token="tok-secret", email="a@b.co", request_id="r1"
        )
        logging.getLogger("uvicorn.error").warning("user x@y.io failed")
        lines = [json.loads(line) for line in capfd.readouterr().err.strip().splitlines()]
        assert lines[0]["token"] == MASK
        assert lines[0]["email"] == MASK
        assert lines[0]["request_id"] == "r1"
        assert "x@y.io" not in lines[1]["event"]
