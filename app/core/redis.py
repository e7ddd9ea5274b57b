"""Optional Redis: the service works without it (features then run per process)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

MAX_CONNECTIONS = 100
SOCKET_TIMEOUT_SECONDS = 2.0


def create_redis(url: str, client_name: str = "cj-fulfillment") -> Redis | None:
    """A Redis client for `url`, or None when no Redis is configured (empty URL)."""
    if not url:
        return None
    # A burst of requests past the pool's size waits for a connection (up to the socket
    # timeout) instead of failing with "Too many connections".
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=SOCKET_TIMEOUT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
        client_name=client_name,
        decode_responses=False,
    )
    return Redis.from_pool(pool)
