"""Who used the machine's CPU during a measurement: the target, or someone else.

On a shared machine a slow level may be the service's limit or a neighbour's test run.
From Linux's /proc: the busy time of all CPUs (/proc/stat), and the CPU time of the
processes that are ours to measure (/proc/<pid>/stat: the target's process group, its
database backends); what is left is everyone else's, the benchmark's own client included
unless its pid is passed too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")
# /proc/stat "cpu" columns: user nice system idle iowait irq softirq steal ...
_IDLE_COLUMNS = (3, 4)


@dataclass(frozen=True)
class Snapshot:
    busy: float  # seconds of CPU busy, all CPUs, since boot
    processes: dict[int, float]  # pid -> its CPU seconds so far


def _busy_seconds() -> float:
    columns = (PROC / "stat").read_text().splitlines()[0].split()[1:9]
    return sum(int(v) for i, v in enumerate(columns) if i not in _IDLE_COLUMNS) / TICKS


def _stat_fields(pid: int) -> list[str] | None:
    """The fields after the command name (which may hold spaces), or None if gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _cpu_seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def process_group(pgid: int) -> list[int]:
    """Every live process of the group (uvicorn and its workers)."""
    members = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def snapshot(pids: Iterable[int]) -> Snapshot:
    processes = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            processes[pid] = _cpu_seconds(fields)
    return Snapshot(busy=_busy_seconds(), processes=processes)


def busy_between(before: Snapshot, after: Snapshot) -> float:
    """CPU seconds all CPUs were busy between the two snapshots."""
    return after.busy - before.busy


def used_between(before: Snapshot, after: Snapshot, pids: Iterable[int]) -> float:
    """CPU seconds `pids` used between the two snapshots. A process that started in
    between counts from zero; one that ended counts up to `before` (its rest is lost)."""
    return sum(
        after.processes.get(pid, before.processes.get(pid, 0.0)) - before.processes.get(pid, 0.0)
        for pid in set(pids)
    )
