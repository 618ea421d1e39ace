"""How many CPU cores this process may use (its affinity, not the machine's total)."""

from __future__ import annotations

import os


def default_workers() -> int:
    """One worker per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))
