"""Charts of a benchmark run, written next to its JSON (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

Series = Mapping[str, Sequence[float]]  # target -> one value per level


def levels_chart(
    path: Path,
    title: str,
    levels: Sequence[str],
    panels: Sequence[tuple[str, Series, bool]],
) -> Path:
    """One bar panel per (y label, values per target, log scale), the targets side by side
    at each level."""
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (label, series, log_scale) in zip(axes[0], panels, strict=True):
        width = 0.8 / max(len(series), 1)
        for n, (target, values) in enumerate(series.items()):
            xs = [i + (n - (len(series) - 1) / 2) * width for i in range(len(levels))]
            bars = ax.bar(xs, values, width, label=target)
            ax.bar_label(bars, fmt="%.0f", fontsize=7)
        ax.set_xticks(range(len(levels)), levels)
        ax.set_ylabel(label)
        if log_scale:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
