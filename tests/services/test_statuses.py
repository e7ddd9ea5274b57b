"""Status rules: forward only, terminals stay, CJ's statuses map onto ours."""

from __future__ import annotations

from itertools import pairwise

import pytest

from app.services.backoff import retry_delay
from app.services.statuses import FLOW, Status, can_move, from_cj


class TestCanMove:
    def test_forward_along_the_flow(self) -> None:
        for earlier, later in pairwise(FLOW):
            assert can_move(earlier, later)
        assert can_move(Status.pending, Status.delivered)

    def test_never_back_and_never_in_place(self) -> None:
        for index, status in enumerate(FLOW):
            assert not can_move(status, status)
            for earlier in FLOW[:index]:
                assert not can_move(status, earlier)

    @pytest.mark.parametrize("terminal", [Status.cancelled, Status.failed])
    def test_terminals_stay(self, terminal: Status) -> None:
        assert not any(can_move(terminal, target) for target in Status)

    def test_cancelled_from_any_open_status_failed_only_before_cj(self) -> None:
        assert all(can_move(status, Status.cancelled) for status in FLOW)
        assert can_move(Status.pending, Status.failed)
        assert not any(can_move(status, Status.failed) for status in FLOW[1:])


class TestFromCJ:
    @pytest.mark.parametrize(
        ("cj", "ours"),
        [
            ("CREATED", Status.created),
            ("IN_CART", Status.in_cart),
            ("UNPAID", Status.unpaid),
            ("UNSHIPPED", Status.unshipped),
            ("SHIPPED", Status.shipped),
            ("DELIVERED", Status.delivered),
            ("CANCELLED", Status.cancelled),
            ("300", Status.unshipped),
            ("shipped", Status.shipped),
        ],
    )
    def test_known(self, cj: str, ours: Status) -> None:
        assert from_cj(cj) == ours

    @pytest.mark.parametrize("cj", [None, "", "PROCESSING", "100"])
    def test_unknown_means_the_order_exists(self, cj: str | None) -> None:
        assert from_cj(cj) == Status.created


class TestRetryDelay:
    def test_grows_and_is_capped(self) -> None:
        delays = [retry_delay(n, initial=2, maximum=300) for n in range(1, 15)]
        assert 2 <= delays[0] <= 4
        assert delays[4] > delays[0]
        assert delays[-1] == 300
        assert all(d <= 300 for d in delays)

    def test_jittered(self) -> None:
        assert len({retry_delay(3, initial=2, maximum=300) for _ in range(20)}) > 1
