from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.cj.tokens import TokenState
from app.cli import main
from app.core.config import get_settings
from app.core.encryption import TokenCipher
from app.db.models import Fulfillment, OutboxMessage
from app.db.token_store import DatabaseTokenStore
from app.services.notifications import OutboxWriter
from app.sinks.notification import NotificationEvent
from tests.fixtures.medusa_admin import SECRET_KEY as MEDUSA_SECRET_KEY
from tests.fixtures.medusa_admin import FakeMedusa
from tests.fixtures.notifications import outbox_rows, stored_fulfillment


@pytest.fixture(autouse=True)
def fresh_settings() -> None:
    get_settings.cache_clear()


def test_check_reports_the_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "us-standard, us-expedited, ca-standard" in out


def test_check_fails_on_a_broken_options_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "options.yaml"
    broken.write_text("options: []\n", encoding="utf-8")
    monkeypatch.setenv("OPTIONS_FILE", str(broken))
    assert main(["check"]) == 1
    assert str(broken) in capsys.readouterr().err


@pytest.fixture
def cjsim_url() -> Iterator[str]:
    """A real simulator process on a free local port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CJSIM_PORT": str(port), "CJSIM_QPS": "5", "CJSIM_STATE": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "cjsim"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/_sim/stats").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def cj_env(
    cjsim_url: str, clean_db: AsyncEngine, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv("DATABASE_URL", clean_db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("CJ_API_BASE_URL", f"{cjsim_url}/api2.0/v1")
    monkeypatch.setenv("CJ_API_KEY", "CJ7000001@api@cli-test")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "cli-test-key")
    return cjsim_url


@pytest.fixture
def silent_cj() -> Iterator[socket.socket]:
    """A CJ that takes connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(60)
        yield server


def test_ctrl_c_is_one_line_and_130_and_saves_nothing_half_done(
    tmp_path: Path,
    clean_db: AsyncEngine,
    db_env: None,
    redis_url: str,
    silent_cj: socket.socket,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGINT while `skus import` waits for CJ, as Ctrl-C sends it: no traceback, and the
    import saves no row (its one transaction never began)."""
    env = {
        **os.environ,
        "DATABASE_URL": clean_db.url.render_as_string(hide_password=False),
        "REDIS_URL": redis_url,
        "CJ_API_BASE_URL": f"http://127.0.0.1:{silent_cj.getsockname()[1]}/api2.0/v1",
        "CJ_API_KEY": "CJ7000001@api@cli-test",
        "TOKEN_ENCRYPTION_KEY": "cli-test-key",
        # The command must still be waiting when the signal comes, however late a loaded
        # host lets this test accept its connection: it never gives up on CJ by itself.
        "CJ_TIMEOUT_SECONDS": "600",
    }
    # As a terminal's shell starts it, with SIGINT at its default: a shell script's
    # background job inherits SIGINT ignored (POSIX), Python keeps it ignored, and the
    # command would then rightly never see the Ctrl-C this test sends.
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from app.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    command = [sys.executable, "-c", code, "skus", "import", csv_file(tmp_path, FIRST_IMPORT)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        connection, _ = silent_cj.accept()  # the command is waiting for CJ now
        with connection:
            process.send_signal(signal.SIGINT)
            _out, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert "Traceback" not in err.decode()
    assert err.decode().splitlines()[-1] == "interrupted"
    assert listed(capsys) == ["sku\tvid\tfrom_country"]


class TestCJToken:
    def test_missing_then_refreshed_never_printing_the_token(
        self, cj_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["cj", "token"]) == 1
        assert "status:          missing" in capsys.readouterr().out

        assert main(["cj", "token", "--refresh"]) == 0
        out = capsys.readouterr().out
        assert "status:          valid" in out
        assert "openId:          known" in out

        assert main(["cj", "token"]) == 0
        shown = capsys.readouterr().out
        assert "status:          valid" in shown
        stats = httpx.get(f"{cj_env}/_sim/stats").json()
        assert stats["calls"]["getAccessToken"] == 1
        # cjsim's tokens are 32 hex digits; the only such string printed is the account id.
        account = re.search(r"account:\s+(\w+)", shown)
        assert account is not None
        assert set(re.findall(r"\b[0-9a-f]{32}\b", out + shown)) == {account.group(1)}


class TestCJPing:
    def test_reports_the_accounts_qps(
        self, cj_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["cj", "ping"]) == 0
        out = capsys.readouterr().out
        assert "credentials accepted" in out
        assert "qps limit:   5" in out

    def test_fails_when_cj_qps_is_above_the_accounts_limit(
        self, cj_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("CJ_QPS", "8")
        assert main(["cj", "ping"]) == 1
        assert "above the account's limit of 5" in capsys.readouterr().err

    def test_wrong_api_key_is_a_clear_error(
        self, cj_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("CJ_API_KEY", "not-a-cj-key")
        assert main(["cj", "ping"]) == 1
        assert "CJ error" in capsys.readouterr().err


@pytest.fixture
def db_env(clean_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", clean_db.url.render_as_string(hide_password=False))


def csv_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / "mappings.csv"
    path.write_bytes(text.encode(encoding))
    return str(path)


def listed(capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert main(["skus", "list"]) == 0
    return capsys.readouterr().out.splitlines()


FIRST_IMPORT = "sku,vid,from_country\nA-1,vid-a1,CN\nB-2,vid-b2,\nC-3,vid-c3,us\n"

# Columns reordered, an extra column (with a quoted two-line note), blank lines, and one
# row of each kind: updated, unchanged, added, and rejected for every reason.
SECOND_IMPORT = (
    "note,VID,sku,From_Country\n"  # line 1
    ",vid-a1-new,A-1,CN\n"  # 2: updated (vid)
    ",vid-b2,B-2,\n"  # 3: unchanged
    "\n"  # 4: blank
    '"two\nlines",vid-d4,D-4,gb\n'  # 5-6: added
    "x,,E-5,CN\n"  # 7: vid is empty
    "x,vid-f6,  ,CN\n"  # 8: sku is empty
    f",vid-long,{'S' * 129},CN\n"  # 9: sku too long
    ",vid-g7,G-7,USA\n"  # 10: bad country
    ",vid-other,D-4,GB\n"  # 11: D-4 repeated with another vid
    ",vid-c3,C-3,CA\n"  # 12: updated (from_country)
    ",vid-d4,D-4,FR\n"  # 13: D-4 repeated with another from_country
    "   ,  ,  ,  \n"  # 14: blank
)


class TestSkusImport:
    def test_reports_every_outcome_with_line_numbers(
        self, db_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["skus", "import", "--no-check", csv_file(tmp_path, FIRST_IMPORT)]) == 0
        assert capsys.readouterr().out == "added 3, updated 0, unchanged 0, rejected 0\n"

        assert main(["skus", "import", "--no-check", csv_file(tmp_path, SECOND_IMPORT)]) == 1
        assert capsys.readouterr().out.splitlines() == [
            "added 1, updated 2, unchanged 1, rejected 6",
            "line 7: vid is empty",
            "line 8: sku is empty",
            "line 9: sku is longer than 128 characters (129)",
            "line 10: from_country must be 2 letters (ISO 3166-1), not 'USA'",
            "line 11: sku D-4 is mapped to vid vid-d4 on line 5",
            "line 13: sku D-4 has from_country GB on line 5",
        ]
        # The valid rows were saved although others were rejected.
        assert listed(capsys) == [
            "sku\tvid\tfrom_country",
            "A-1\tvid-a1-new\tCN",
            "B-2\tvid-b2\t-",
            "C-3\tvid-c3\tCA",
            "D-4\tvid-d4\tGB",
        ]

    def test_the_same_file_twice_changes_nothing(
        self, db_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = csv_file(tmp_path, FIRST_IMPORT)
        assert main(["skus", "import", "--no-check", path]) == 0
        before = listed(capsys)
        assert main(["skus", "import", "--no-check", path]) == 0
        assert capsys.readouterr().out == "added 0, updated 0, unchanged 3, rejected 0\n"
        assert listed(capsys) == before

    def test_a_utf8_bom_is_not_part_of_the_header(
        self, db_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = csv_file(tmp_path, "sku,vid\r\nÄPFEL-1,vid-ä\r\n", encoding="utf-8-sig")
        assert main(["skus", "import", "--no-check", path]) == 0
        assert capsys.readouterr().out == "added 1, updated 0, unchanged 0, rejected 0\n"
        assert listed(capsys)[1:] == ["ÄPFEL-1\tvid-ä\t-"]

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                "code,variant\nA-1,vid-a1\n",
                "must name the columns sku and vid (found: code, variant)",
            ),
            ("sku,from_country\nA-1,CN\n", "must name the columns sku and vid"),
            ("\n\n", "the file is empty"),
        ],
    )
    def test_a_file_without_the_sku_and_vid_header_is_exit_2(
        self,
        db_env: None,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        text: str,
        message: str,
    ) -> None:
        path = csv_file(tmp_path, text)
        assert main(["skus", "import", "--no-check", path]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert path in captured.err
        assert message in captured.err
        assert listed(capsys) == ["sku\tvid\tfrom_country"]

    def test_an_unreadable_file_is_exit_2(
        self, db_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["skus", "import", "--no-check", str(tmp_path / "missing.csv")]) == 2
        assert "missing.csv: cannot read the file" in capsys.readouterr().err
        latin1 = csv_file(tmp_path, "sku,vid\nÄPFEL,vid-1\n", encoding="latin-1")
        assert main(["skus", "import", "--no-check", latin1]) == 2
        assert "not UTF-8 text" in capsys.readouterr().err


class TestSkusList:
    def test_limit(self, db_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["skus", "import", "--no-check", csv_file(tmp_path, FIRST_IMPORT)]) == 0
        capsys.readouterr()
        assert main(["skus", "list", "--limit", "2"]) == 0
        assert capsys.readouterr().out.splitlines() == [
            "sku\tvid\tfrom_country",
            "A-1\tvid-a1\tCN",
            "B-2\tvid-b2\t-",
        ]


class TestCJWebhooks:
    def test_register_without_a_token_makes_one_and_calls_cj_only_once_it_is_set(
        self, cj_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        url = "https://fulfil.example.com/webhooks/cj"
        assert main(["cj", "webhooks", "register", "--url", url]) == 2
        err = capsys.readouterr().err
        [token] = [line.split("=", 1)[1] for line in err.split() if "PATH_TOKEN=" in line]
        assert len(token) >= 43
        assert httpx.get(f"{cj_env}/_sim/stats").json()["calls"].get("set") is None

        monkeypatch.setenv("CJ_WEBHOOK_PATH_TOKEN", token)
        get_settings.cache_clear()
        assert main(["cj", "webhooks", "register", "--url", url]) == 0
        out = capsys.readouterr().out
        assert token not in out
        assert f"order:     ENABLE {url}/<CJ_WEBHOOK_PATH_TOKEN>" in out
        assert "CJ answered: accepted" in out
        assert httpx.get(f"{cj_env}/_sim/stats").json()["calls"]["set"] == 1

        assert main(["cj", "webhooks", "cancel"]) == 0
        assert "CJ answered: accepted" in capsys.readouterr().out

    def test_a_url_that_already_ends_with_the_token_is_kept(
        self, cj_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("CJ_WEBHOOK_PATH_TOKEN", "path-secret-123")
        base = "https://fulfil.example.com/webhooks/cj"
        assert main(["cj", "webhooks", "register", "--url", f"{base}/path-secret-123"]) == 0
        out = capsys.readouterr().out
        assert "path-secret-123" not in out
        assert f"{base}/<CJ_WEBHOOK_PATH_TOKEN>\n" in out

    def test_token_prints_a_new_one_and_the_settings_to_rotate(
        self, cj_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("CJ_WEBHOOK_PATH_TOKEN", "old-token")
        assert main(["cj", "webhooks", "token"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].startswith("CJ_WEBHOOK_PATH_TOKEN=")
        assert lines[0] != "CJ_WEBHOOK_PATH_TOKEN=old-token"
        assert lines[1] == "CJ_WEBHOOK_PATH_TOKENS_PREVIOUS=old-token"


class TestOutbox:
    @pytest.fixture
    async def messages(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clean_db: AsyncEngine,
        monkeypatch: pytest.MonkeyPatch,
    ) -> list[OutboxMessage]:
        """Four messages: 1 pending, 2 dead, 3 delivered, 4 dead."""
        monkeypatch.setenv("DATABASE_URL", clean_db.url.render_as_string(hide_password=False))
        fulfillment = await stored_fulfillment(sessionmaker)
        writer = OutboxWriter({"webhook": frozenset(NotificationEvent)})
        async with sessionmaker.begin() as session:
            row = await session.get_one(Fulfillment, fulfillment.id)
            for event in (
                NotificationEvent.cj_order_created,
                NotificationEvent.tracking_updated,
                NotificationEvent.shipped,
                NotificationEvent.delivered,
            ):
                await writer.enqueue(session, row, event)
            for message_id, status, error in (
                (2, "dead", "HTTP 404: Order id\nnot found"),
                (3, "delivered", None),
                (4, "dead", "HTTP 500: boom"),
            ):
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id)
                    .values(status=status, last_error=error, attempts=7)
                )
        return list(await outbox_rows(sessionmaker))

    def test_list_shows_pending_and_dead_by_default(
        self, messages: list[OutboxMessage], capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["outbox", "list"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split("\t")[:4] == ["id", "status", "sink", "event"]
        rows = [line.split("\t") for line in lines[1:]]
        assert [(r[0], r[1], r[3]) for r in rows] == [
            ("1", "pending", "cj_order_created"),
            ("2", "dead", "tracking_updated"),
            ("4", "dead", "delivered"),
        ]
        assert rows[1][-1] == "HTTP 404: Order id not found"
        assert rows[1][4] == messages[0].fulfillment_id

    def test_list_filters_by_status_and_limit(
        self, messages: list[OutboxMessage], capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["outbox", "list", "--status", "dead", "--limit", "1"]) == 0
        rows = capsys.readouterr().out.splitlines()[1:]
        assert [row.split("\t")[0] for row in rows] == ["2"]

    async def test_replay_by_id_resets_attempts_and_makes_it_due(
        self,
        messages: list[OutboxMessage],
        sessionmaker: async_sessionmaker[AsyncSession],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        before = datetime.now(UTC)
        assert await asyncio.to_thread(main, ["outbox", "replay", "2"]) == 0
        assert capsys.readouterr().out.strip() == "replayed 1: 2"
        rows = {row.id: row for row in await outbox_rows(sessionmaker)}
        assert (rows[2].status, rows[2].attempts) == ("pending", 0)
        assert before <= rows[2].next_attempt_at <= datetime.now(UTC)
        assert rows[4].status == "dead"

    async def test_replay_names_what_it_could_not_replay(
        self,
        messages: list[OutboxMessage],
        sessionmaker: async_sessionmaker[AsyncSession],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        assert await asyncio.to_thread(main, ["outbox", "replay", "4", "3", "1", "99"]) == 1
        out, err = capsys.readouterr()
        assert out.strip() == "replayed 1: 4"
        assert err.splitlines() == [
            "id 99: not found",
            "id 1: pending, not dead",
            "id 3: delivered, not dead",
        ]

    async def test_replay_all_dead(
        self,
        messages: list[OutboxMessage],
        sessionmaker: async_sessionmaker[AsyncSession],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        assert await asyncio.to_thread(main, ["outbox", "replay", "--all-dead"]) == 0
        assert capsys.readouterr().out.strip() == "replayed 2: 2, 4"
        statuses = [row.status for row in await outbox_rows(sessionmaker)]
        assert statuses == ["pending", "pending", "delivered", "pending"]

    @pytest.mark.parametrize("args", [[], ["3", "--all-dead"]])
    def test_replay_needs_ids_or_all_dead(
        self, args: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["outbox", "replay", *args]) == 2
        assert "--all-dead" in capsys.readouterr().err


class TestTokenRekey:
    OLD_KEY = "the passphrase used before the rotation, long enough"
    NEW_KEY = Fernet.generate_key().decode()

    async def store(
        self, sessionmaker: async_sessionmaker[AsyncSession], key: str, account: str
    ) -> None:
        now = datetime.now(UTC)
        await DatabaseTokenStore(sessionmaker, TokenCipher(SecretStr(key))).save(
            account,
            TokenState(
                access_token=f"access-{account}",
                access_expires_at=now,
                refresh_token=f"refresh-{account}",
                refresh_expires_at=now,
                open_id="open-id",
            ),
        )

    async def test_rekey_rewrites_every_token_with_the_first_key(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clean_db: AsyncEngine,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        await self.store(sessionmaker, self.OLD_KEY, "acct-a")
        await self.store(sessionmaker, self.OLD_KEY, "acct-b")
        monkeypatch.setenv("DATABASE_URL", clean_db.url.render_as_string(hide_password=False))
        monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", f"{self.NEW_KEY},{self.OLD_KEY}")
        assert await asyncio.to_thread(main, ["cj", "token", "rekey"]) == 0
        assert "re-encrypted 4 token(s)" in capsys.readouterr().out
        # The old key can be dropped now: the new one alone reads everything.
        only_new = DatabaseTokenStore(sessionmaker, TokenCipher(SecretStr(self.NEW_KEY)))
        for account in ("acct-a", "acct-b"):
            state = await only_new.load(account)
            assert state is not None
            assert (state.access_token, state.refresh_token) == (
                f"access-{account}",
                f"refresh-{account}",
            )

    async def test_a_token_no_key_opens_is_named_and_left(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clean_db: AsyncEngine,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        await self.store(sessionmaker, "a key nobody has any more, long enough", "acct-lost")
        monkeypatch.setenv("DATABASE_URL", clean_db.url.render_as_string(hide_password=False))
        monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", self.NEW_KEY)
        assert await asyncio.to_thread(main, ["cj", "token", "rekey"]) == 1
        captured = capsys.readouterr()
        assert "re-encrypted 0 token(s)" in captured.out
        assert "acct-lost access_token: no configured key opens it" in captured.err


def sim_products(base: str) -> dict[str, dict[str, object]]:
    return {p["sku"]: p for p in httpx.get(f"{base}/_sim/catalog").json()["products"]}


class TestProducts:
    def test_add_links_and_pids_with_progress_then_list_and_remove(
        self, cj_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        products = sim_products(cj_env)
        tshirt, mug = products["CJ-TSHIRT"], products["CJ-MUG"]
        links = tmp_path / "links.txt"
        links.write_text(f"# my products\n{mug['pid']}\n", encoding="utf-8")
        bad = "https://www.amazon.com/dp/B0C1234567"
        code = main(["products", "add", str(tshirt["url"]), bad, "--file", str(links)])
        assert code == 1
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith(f"[1/3] Cotton T-Shirt ({tshirt['pid']}): 9 variants (9 added")
        assert "· 4 CJ requests ·" in out[0]  # the token, then three
        assert any(line.startswith("  CJ-TSHIRT-RED-M\t") for line in out[1:10])
        assert out[10].startswith(f"[2/3] {bad}: {bad!r} is not a CJ product link")
        assert out[11].startswith(f"[3/3] Ceramic Mug White 11oz ({mug['pid']})")
        assert out[-1].startswith("done: 2 added, 1 refused; 7 CJ requests in ")

        assert main(["products", "list"]) == 0
        rows = capsys.readouterr().out.splitlines()
        assert rows[0] == "pid\tname\tsku\tvid\tship_from\tstock\tlisted"
        assert len(rows) == 11
        red_m = next(r.split("\t") for r in rows if "\tCJ-TSHIRT-RED-M\t" in r)
        assert red_m[4] == "CN,US"
        assert red_m[6] == "yes"

        assert main(["products", "remove", str(mug["url"])]) == 0
        assert "SKUs unmapped: CJ-MUG-WHITE-11OZ" in capsys.readouterr().out
        assert main(["products", "remove", str(mug["pid"])]) == 1
        assert "No product" in capsys.readouterr().err

    def test_a_bad_template_is_exit_2_and_asks_nothing(
        self, cj_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mug = sim_products(cj_env)["CJ-MUG"]
        assert main(["products", "add", str(mug["pid"]), "--sku-template", "{colour}"]) == 2
        assert "must use only {variant_sku}" in capsys.readouterr().err
        assert httpx.get(f"{cj_env}/_sim/stats").json()["calls"] == {}


class TestSkusChecked:
    def test_an_unknown_vid_is_reported_on_its_line_and_the_others_saved(
        self, cj_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        variants = httpx.get(f"{cj_env}/_sim/catalog").json()["variants"]
        tee, mug = (
            next(v for v in variants if v["sku"] == s)
            for s in ("CJ-TSHIRT-RED-M", "CJ-MUG-WHITE-11OZ")
        )
        text = (
            "sku,vid\n"
            f"MY-TEE,{tee['vid']}\n"
            "MY-GHOST,1392053744945991680\n"  # line 3: CJ does not know it
            f"MY-MUG,{mug['vid']}\n"
            f"MY-TEE-2,{tee['vid']}\n"  # the same vid again: asked once
        )  # fmt: skip
        assert main(["skus", "import", csv_file(tmp_path, text)]) == 1
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("[3/3] vids checked with CJ · 4 CJ requests")  # with the token
        assert out[1].startswith("done: 3 vids checked; 4 CJ requests in ")
        assert out[2:] == [
            "added 3, updated 0, unchanged 0, rejected 1",
            "line 3: CJ does not know vid 1392053744945991680",
        ]
        assert [line.split("\t")[0] for line in listed(capsys)[1:]] == [
            "MY-MUG", "MY-TEE", "MY-TEE-2",
        ]  # fmt: skip

    def test_points_gone_save_nothing_and_say_so(
        self, cj_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        httpx.post(f"{cj_env}/_sim/config", json={"points_per_day": 5})
        variants = httpx.get(f"{cj_env}/_sim/catalog").json()["variants"]
        text = "sku,vid\n" + "".join(f"S-{n},{v['vid']}\n" for n, v in enumerate(variants[:3]))
        assert main(["skus", "import", csv_file(tmp_path, text)]) == 3
        assert "nothing saved: CJ's API points for today are used up" in capsys.readouterr().err
        assert listed(capsys) == ["sku\tvid\tfrom_country"]

    def test_check_re_asks_cj_about_every_stored_mapping(
        self, cj_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        variants = httpx.get(f"{cj_env}/_sim/catalog").json()["variants"]
        tee, mug = variants[0], variants[1]
        text = f"sku,vid\nA,{tee['vid']}\nB,{mug['vid']}\nC,no-such-vid\n"
        assert main(["skus", "import", "--no-check", csv_file(tmp_path, text)]) == 0
        httpx.post(f"{cj_env}/_sim/listing/{mug['vid']}", json={"listed": False})
        capsys.readouterr()
        assert main(["skus", "check"]) == 1
        out = capsys.readouterr().out.splitlines()
        assert f"B: CJ has taken vid {mug['vid']} off the shelves" in out
        assert "C: CJ does not know vid no-such-vid" in out
        assert out[-1].startswith("done: 1 on sale, 1 off the shelves, 1 unknown to CJ; ")


class TestProductsStock:
    def test_a_resync_reads_each_product_once_and_says_what_changed(
        self, cj_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mug = sim_products(cj_env)["CJ-MUG"]
        assert main(["products", "add", str(mug["pid"])]) == 0
        [only] = mug["variants"]  # type: ignore[attr-defined]
        httpx.post(f"{cj_env}/_sim/variants/{only['vid']}/stock",
                   json={"country_code": "US", "quantity": 7})  # fmt: skip
        capsys.readouterr()
        assert main(["products", "stock"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith(f"[1/1] {mug['pid']}: 1 SKUs")
        assert out[1] == "  variant.stock_changed\tCJ-MUG-WHITE-11OZ\tUS:7"
        assert out[2].startswith("done: 1 of 1 products read, 1 variants changed, 0 delisted")


class TestMedusaImport:
    def test_dry_run_then_created_once_then_unchanged_with_progress(
        self,
        cj_env: str,
        fake_medusa_thread: FakeMedusa,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("MEDUSA_URL", fake_medusa_thread.url)
        monkeypatch.setenv("MEDUSA_SECRET_KEY", MEDUSA_SECRET_KEY)
        monkeypatch.setenv("MEDUSA_IMPORT_MARKUP_PERCENT", "100")
        mug = sim_products(cj_env)["CJ-MUG"]
        assert main(["products", "add", str(mug["pid"])]) == 0
        capsys.readouterr()

        assert main(["products", "medusa-import", "--dry-run"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith(f"[1/1] Ceramic Mug White 11oz ({mug['pid']}): would be created")
        assert "· 0 CJ requests · ~0 s left" in out[0]
        assert out[1] == "  new product with 1 variants"
        assert out[2].startswith("done: dry run, nothing written: 1 to create, 0 to update")
        assert fake_medusa_thread.products == {}

        assert main(["products", "medusa-import", "--markup", "50%"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith(f"[1/1] Ceramic Mug White 11oz ({mug['pid']}): created")
        assert out[-1].startswith("done: 1 created, 0 updated, 0 unchanged, 0 failed (markup 50%)")
        [product] = fake_medusa_thread.products.values()
        [variant] = product["variants"]
        assert variant["sku"] == "CJ-MUG-WHITE-11OZ"
        assert {p["currency_code"] for p in variant["prices"]} == {"usd", "jpy"}

        assert main(["products", "medusa-import"]) == 0  # the setting's 100 %: new prices
        out = capsys.readouterr().out.splitlines()
        assert ": updated · 0 CJ requests" in out[0]
        assert out[1].startswith("  CJ-MUG-WHITE-11OZ: USD ")
        assert main(["products", "medusa-import"]) == 0
        assert ": unchanged" in capsys.readouterr().out
        assert len(fake_medusa_thread.products) == 1

    def test_without_medusa_settings_is_exit_2(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("MEDUSA_URL", "")
        assert main(["products", "medusa-import"]) == 2
        assert "set MEDUSA_URL and MEDUSA_SECRET_KEY" in capsys.readouterr().err


class TestMedusaStock:
    def test_without_medusa_settings_is_exit_2_naming_them_in_order(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("MEDUSA_URL", "")
        monkeypatch.setenv("MEDUSA_STOCK_LOCATION_ID", "")
        assert main(["products", "medusa-stock"]) == 2
        assert "set MEDUSA_URL and MEDUSA_SECRET_KEY" in capsys.readouterr().err
        monkeypatch.setenv("MEDUSA_URL", "http://127.0.0.1:9")
        monkeypatch.setenv("MEDUSA_SECRET_KEY", MEDUSA_SECRET_KEY)
        get_settings.cache_clear()
        assert main(["products", "medusa-stock"]) == 2
        assert "set MEDUSA_STOCK_LOCATION_ID" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "location", "said"),
    [
        (
            "medusa-import",
            "",
            "cannot import: Medusa answered 401: Unauthorized (check MEDUSA_SECRET_KEY); "
            "nothing written\n",
        ),
        (
            "medusa-stock",
            "sloc_01CJWAREHOUSE",
            "cannot set stock: Medusa answered 401: Unauthorized; run it again\n",
        ),
    ],
)
def test_a_refused_secret_key_is_a_clear_error(
    command: str,
    location: str,
    said: str,
    cj_env: str,
    fake_medusa_thread: FakeMedusa,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEDUSA_URL", fake_medusa_thread.url)
    monkeypatch.setenv("MEDUSA_SECRET_KEY", "sk_revoked")
    monkeypatch.setenv("MEDUSA_STOCK_LOCATION_ID", location)
    assert main(["products", command]) == 1
    assert capsys.readouterr().err == said


@pytest.mark.parametrize(
    ("command", "failed"),
    [("medusa-import", "cannot import"), ("medusa-stock", "cannot set stock")],
)
def test_an_unknown_stock_location_is_a_clear_error_before_anything_is_written(
    command: str,
    failed: str,
    cj_env: str,
    fake_medusa_thread: FakeMedusa,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEDUSA_URL", fake_medusa_thread.url)
    monkeypatch.setenv("MEDUSA_SECRET_KEY", MEDUSA_SECRET_KEY)
    monkeypatch.setenv("MEDUSA_STOCK_LOCATION_ID", "sloc_01NOPE")
    assert main(["products", command]) == 1
    assert capsys.readouterr().err == (
        f"{failed}: Medusa has no stock location sloc_01NOPE (MEDUSA_STOCK_LOCATION_ID)\n"
    )
    assert fake_medusa_thread.products == {}
