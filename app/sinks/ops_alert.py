"""An ops alert: what the chat sinks post when something needs the store owner (a public
contract: the generic JSON sink sends it as it is, e.g. to an n8n webhook)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

OPS_ALERT_EVENT_PREFIX = "ops_alert:"


def ops_alert_event(incident: str, state: AlertState) -> str:
    """The outbox `event_type` of an ops alert: `ops_alert:<incident>:<state>`."""
    return f"{OPS_ALERT_EVENT_PREFIX}{incident}:{state.value}"


def is_ops_alert(event_type: str) -> bool:
    return event_type.startswith(OPS_ALERT_EVENT_PREFIX)


class AlertState(StrEnum):
    firing = "firing"
    resolved = "resolved"


class OpsAlert(BaseModel):
    id: str = Field(description="Unique per message and stable across retries")
    type: str = Field(default="ops.alert", description="Always `ops.alert`")
    incident: str = Field(description="What it is about, e.g. `cj_unreachable`")
    state: AlertState
    severity: str = Field(description="`critical` or `warning`")
    title: str = Field(description="One line")
    text: str = Field(description="What happened and what to do, in a few sentences")
    timestamp: datetime = Field(description="When the state changed (RFC 3339, UTC)")

    @property
    def headline(self) -> str:
        mark = "RESOLVED" if self.state is AlertState.resolved else "FIRING"
        return f"[{mark}] {self.title}"
