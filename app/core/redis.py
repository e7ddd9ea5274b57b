"""Optional Redis: the service works without it (features then run per process)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry


def create_redis(url: str, client_name: str = "cj-fulfillment") -> Redis | None:
    """A Redis client for `url`, or None when no Redis is configured (empty URL)."""
    if not url:
        return None
    return Redis.from_url(
        url,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
        client_name=client_name,
        decode_responses=False,
    )
