"""Who used the machine's CPU during a measurement, and how much memory the target holds.

On a shared machine a slow level may be the service's limit or a neighbour's test run.
From Linux's /proc: the busy time of all CPUs (/proc/stat), and the CPU time of the
processes that are ours to measure (/proc/<pid>/stat: the target's process group, its
database backends); what is left is everyone else's, the benchmark's own client included
unless its pid is passed too. `CpuWatch` does that for named groups of processes around
each level; `peak_rss_mb` reads a process's peak resident memory (/proc/<pid>/status).
Shared by the benchmarks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
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


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM) in MB; 0 when it is gone."""
    try:
        lines = (PROC / str(pid) / "status").read_text().splitlines()
    except OSError:
        return 0.0
    kb = next((int(line.split()[1]) for line in lines if line.startswith("VmHWM:")), 0)
    return kb / 1024


@dataclass(frozen=True)
class Usage:
    """CPU seconds each named group used during one measurement, and everyone else's."""

    seconds: float  # wall-clock time measured
    used: dict[str, float]  # group name -> CPU seconds
    others: float  # CPU seconds of every other process on the machine

    def cores(self, name: str) -> float:
        return self.used[name] / self.seconds if self.seconds else 0.0

    @property
    def others_cores(self) -> float:
        return self.others / self.seconds if self.seconds else 0.0

    def microseconds_per(self, name: str, count: int) -> float:
        """The group's CPU per unit of work (a request, a message), in µs."""
        return 1e6 * self.used[name] / count if count else 0.0


class CpuWatch:
    """CPU used by named groups of processes between `start` and `stop`.

    Each group is a function giving its pids now (a process group, a database's
    backends); they are asked at both ends, so a process that starts in between counts.
    """

    def __init__(self, groups: Mapping[str, Callable[[], Iterable[int]]]) -> None:
        self._groups = dict(groups)
        self._pids: dict[str, set[int]] = {}
        self._before: Snapshot | None = None
        self._started = 0.0

    def _find(self) -> dict[str, set[int]]:
        return {name: set(find()) for name, find in self._groups.items()}

    def start(self) -> None:
        self._pids = self._find()
        self._before = snapshot(set().union(*self._pids.values()))
        self._started = time.perf_counter()

    def stop(self) -> Usage:
        assert self._before is not None, "start() first"
        elapsed = time.perf_counter() - self._started
        now = self._find()
        pids = {name: found | now[name] for name, found in self._pids.items()}
        after = snapshot(set().union(*pids.values()))
        used = {name: used_between(self._before, after, group) for name, group in pids.items()}
        others = max(busy_between(self._before, after) - sum(used.values()), 0.0)
        return Usage(seconds=elapsed, used=used, others=others)
