"""Progress of a long command: items done of total, CJ requests spent, time left."""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class CountsRequests(Protocol):
    @property
    def requests_sent(self) -> int: ...


class Progress:
    """One line per item (`[3/10] … · 6 CJ requests · ~12 s left`), then a summary."""

    def __init__(self, total: int, cj: CountsRequests, out: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self._cj = cj
        self._first_request = cj.requests_sent
        self._started = time.monotonic()
        self._out = out or sys.stdout

    @property
    def requests(self) -> int:
        return self._cj.requests_sent - self._first_request

    def step(self, text: str, items: int = 1) -> None:
        self.done += items
        elapsed = time.monotonic() - self._started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        print(
            f"[{self.done}/{self.total}] {text} · {self.requests} CJ requests · ~{left:.0f} s left",
            file=self._out,
            flush=True,
        )

    def summary(self, text: str) -> None:
        elapsed = time.monotonic() - self._started
        print(
            f"done: {text}; {self.requests} CJ requests in {elapsed:.1f} s",
            file=self._out,
            flush=True,
        )
