"""Loading SKU -> CJ variant mappings from a CSV file (`cj-fulfillment skus import`).

The file has a header row naming `sku`, `vid` and optionally `from_country`, in any
order; other columns are ignored. Each row is checked on its own, so one bad line never
blocks the others: valid rows are saved, rejected ones are reported with their line
number as an editor shows it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories.sku_mappings import SkuMappingRepository
from app.services.variant_check import VariantCheck, VariantChecker, VariantState

MAX_LENGTH = 128  # the width of sku_mappings.sku and .vid
_COUNTRY = re.compile(r"[A-Za-z]{2}")


class SkuFileError(ValueError):
    """The file cannot be used at all (unreadable, not CSV, no sku/vid header)."""


@dataclass(frozen=True)
class MappingRow:
    line: int
    sku: str
    vid: str
    from_country: str | None


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass(frozen=True)
class MappingFile:
    rows: list[MappingRow]
    rejected: list[RejectedRow]


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
        )


def read_mapping_file(path: Path) -> MappingFile:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SkuFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise SkuFileError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from exc
    try:
        return parse_mapping_csv(text)
    except SkuFileError as exc:
        raise SkuFileError(f"{path}: {exc}") from exc


def parse_mapping_csv(text: str) -> MappingFile:
    records = _records(text)
    header = next(records, None)
    if header is None:
        raise SkuFileError("the file is empty; it needs a header row with sku and vid")
    columns = _columns(header[1])
    rows: list[MappingRow] = []
    rejected: list[RejectedRow] = []
    first_seen: dict[str, MappingRow] = {}
    for line, cells in records:
        checked = _check(line, cells, columns)
        if isinstance(checked, MappingRow):
            checked = _consistent(checked, first_seen.setdefault(checked.sku, checked))
        if isinstance(checked, RejectedRow):
            rejected.append(checked)
        else:
            rows.append(checked)
    return MappingFile(rows, rejected)


async def verify_mappings(
    mappings: MappingFile,
    checker: VariantChecker,
    on_batch: Callable[[int, int], None] = lambda done, total: None,
) -> tuple[MappingFile, dict[str, VariantCheck]]:
    """Ask CJ about every vid of the file (once per vid, in batches; `on_batch(done, total)`
    after each); rows whose vid CJ does not know, or has taken off the shelves, move to the
    rejected ones with their line. A CJ failure (points, down) raises before anything is
    saved, so the import can be run again."""
    vids = list(dict.fromkeys(row.vid for row in mappings.rows))
    checks: dict[str, VariantCheck] = {}
    async for batch in checker.batches(vids):
        checks.update((check.vid, check) for check in batch)
        on_batch(len(checks), len(vids))
    rows: list[MappingRow] = []
    rejected = list(mappings.rejected)
    for row in mappings.rows:
        check = checks[row.vid]
        if check.state is VariantState.listed:
            rows.append(row)
        else:
            rejected.append(RejectedRow(row.line, check.reason))
    rejected.sort(key=lambda r: r.line)
    return MappingFile(rows, rejected), checks


async def import_mappings(
    session: AsyncSession, mappings: MappingFile, checks: dict[str, VariantCheck] | None = None
) -> ImportReport:
    """Upsert every valid row on `session` (the caller commits them as one transaction),
    with what CJ said about each vid when it was asked (`checks`)."""
    repository = SkuMappingRepository(session)
    report = ImportReport(rejected=list(mappings.rejected))
    for row in mappings.rows:
        outcome = await repository.upsert(row.sku, row.vid, row.from_country)
        if outcome == "added":
            report.added += 1
        elif outcome == "updated":
            report.updated += 1
        else:
            report.unchanged += 1
    for vid in dict.fromkeys(row.vid for row in mappings.rows):
        if checks and vid in checks:
            await repository.record_check(vid, checks[vid].mapping_values())
    return report


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV records with the file line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SkuFileError(f"line {line}: not valid CSV ({exc})") from exc
        if any(cell.strip() for cell in cells):
            yield line, cells


def _columns(header: list[str]) -> dict[str, int]:
    names = [name.strip().lower() for name in header]
    columns: dict[str, int] = {}
    for wanted in ("sku", "vid", "from_country"):
        positions = [i for i, name in enumerate(names) if name == wanted]
        if len(positions) > 1:
            raise SkuFileError(f"the header names the column {wanted} more than once")
        if positions:
            columns[wanted] = positions[0]
    if "sku" not in columns or "vid" not in columns:
        found = ", ".join(name for name in names if name) or "nothing"
        raise SkuFileError(f"the header row must name the columns sku and vid (found: {found})")
    return columns


def _check(line: int, cells: list[str], columns: dict[str, int]) -> MappingRow | RejectedRow:
    def cell(column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    sku, vid, country = cell("sku"), cell("vid"), cell("from_country")
    reasons = [*_identifier_problems("sku", sku), *_identifier_problems("vid", vid)]
    if country and not _COUNTRY.fullmatch(country):
        reasons.append(f"from_country must be 2 letters (ISO 3166-1), not {country!r}")
    if reasons:
        return RejectedRow(line, "; ".join(reasons))
    return MappingRow(line, sku, vid, country.upper() or None)


def _identifier_problems(column: str, value: str) -> list[str]:
    if not value:
        return [f"{column} is empty"]
    if len(value) > MAX_LENGTH:
        return [f"{column} is longer than {MAX_LENGTH} characters ({len(value)})"]
    return []


def _consistent(row: MappingRow, earlier: MappingRow) -> MappingRow | RejectedRow:
    """A SKU repeated in the file must say the same thing; the later line is rejected."""
    if row.vid != earlier.vid:
        return RejectedRow(
            row.line, f"sku {row.sku} is mapped to vid {earlier.vid} on line {earlier.line}"
        )
    if row.from_country != earlier.from_country:
        shown = f"from_country {earlier.from_country or 'empty'}"
        return RejectedRow(row.line, f"sku {row.sku} has {shown} on line {earlier.line}")
    return row
