"""The database side of the CJ token manager: encrypted tokens in `cj_tokens`.

Token work happens outside any request's unit of work, so each operation is its own
short transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.tokens import TokenState
from app.core.encryption import TokenCipher
from app.db.models import CJToken


@dataclass
class RekeyReport:
    rekeyed: int = 0
    unreadable: list[str] = field(default_factory=list)


class DatabaseTokenStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], cipher: TokenCipher) -> None:
        self._sessionmaker = sessionmaker
        self._cipher = cipher

    async def load(self, account: str) -> TokenState | None:
        async with self._sessionmaker() as session:
            row = await session.get(CJToken, account)
        if row is None:
            return None
        # A token another process wrote has its salt: scrypt runs once for it, off the loop.
        access, refresh = await asyncio.to_thread(
            lambda: (
                self._decrypt(row.access_token_encrypted),
                self._decrypt(row.refresh_token_encrypted),
            )
        )
        return TokenState(
            access_token=access,
            access_expires_at=row.access_token_expires_at,
            refresh_token=refresh,
            refresh_expires_at=row.refresh_token_expires_at,
            open_id=row.open_id,
        )

    async def save(self, account: str, state: TokenState) -> None:
        async with self._sessionmaker.begin() as session:
            row = await session.get(CJToken, account, with_for_update=True)
            if row is None:
                row = CJToken(account=account)
                session.add(row)
            row.access_token_encrypted = self._encrypt(state.access_token)
            row.access_token_expires_at = state.access_expires_at
            row.refresh_token_encrypted = self._encrypt(state.refresh_token)
            row.refresh_token_expires_at = state.refresh_expires_at
            row.open_id = state.open_id

    async def rekey(self) -> RekeyReport:
        """Re-encrypt every stored token with the first key, in one transaction.

        A value no configured key opens is left as it is and counted: its account gets a
        new token on its next CJ call (the API key alone buys one).
        """
        report = RekeyReport()
        async with self._sessionmaker.begin() as session:
            rows = (await session.scalars(select(CJToken).with_for_update())).all()
            for row in rows:
                for column in ("access_token_encrypted", "refresh_token_encrypted"):
                    stored: str | None = getattr(row, column)
                    if stored is None:
                        continue
                    plaintext = self._cipher.decrypt(stored)
                    if plaintext is None:
                        name = column.removesuffix("_encrypted")
                        report.unreadable.append(f"{row.account} {name}")
                        continue
                    setattr(row, column, self._cipher.encrypt(plaintext))
                    report.rekeyed += 1
        return report

    async def claim_auth_call(self, account: str, interval: timedelta) -> bool:
        now = datetime.now(UTC)
        async with self._sessionmaker.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            await session.execute(insert(CJToken).values(account=account).on_conflict_do_nothing())
            result = await session.execute(
                update(CJToken)
                .where(CJToken.account == account)
                .where(
                    or_(
                        CJToken.last_auth_call_at.is_(None),
                        CJToken.last_auth_call_at < now - interval,
                    )
                )
                .values(last_auth_call_at=now)
            )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def last_auth_call(self, account: str) -> datetime | None:
        async with self._sessionmaker() as session:
            return await session.scalar(
                select(CJToken.last_auth_call_at).where(CJToken.account == account)
            )

    def _encrypt(self, value: str | None) -> str | None:
        return self._cipher.encrypt(value) if value is not None else None

    def _decrypt(self, value: str | None) -> str | None:
        return self._cipher.decrypt(value) if value is not None else None
