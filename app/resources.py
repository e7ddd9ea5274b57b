"""Long-lived objects of one process, built at start-up and closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.redis import create_redis
from app.db.session import create_engine, create_sessionmaker
from app.services.options import OptionsCatalog


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis | None
    options: OptionsCatalog

    @classmethod
    def build(cls, settings: Settings, *, process: str) -> Resources:
        options = OptionsCatalog.load(settings.options_file)
        engine = create_engine(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            redis=create_redis(settings.redis_url, client_name=f"cj-fulfillment.{process}"),
            options=options,
        )

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
