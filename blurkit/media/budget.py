"""How much memory one file may take, and so how large a picture this machine accepts.

A Raspberry Pi 4 with 2 GB runs the system, the page, the watcher and one worker; an
accepted file must never wake the out-of-memory killer (which would take the worker, and
on every restart again, until someone removes the file). So the limits derive from the
machine's memory instead of being one number for every machine:

    budget       = min(CAP_MB, SHARE x memory)        memory: RAM, or the cgroup's limit
    photo limit  = min(200 MP, (budget - WORKER_BASE_MB) / PHOTO_BYTES_PER_PIXEL)
    video limit  = (budget - VIDEO_BASE_MB) / VIDEO_BYTES_PER_PIXEL pixels per frame

WORKER_BASE_MB (Python, onnxruntime and the detector loaded) and the bytes per pixel of
the peak (the decoded photo, the detector's finest level, the redacted copy, the encoder's
copy) were measured with benchmarks/memory.py (DESIGN.md "Memory budget"). A 16-GB laptop
and a 4-GB Pi get the 1.2-GB cap; a 2-GB Pi gets 0.9 GB and refuses earlier, with a reason
naming the picture's size and the machine's limit. BLURKIT_MEMORY_MB overrides the memory
seen (a test simulates a 2-GB Pi with it).
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Budget", "current", "max_workers", "photo_pixel_limit",
           "video_heap", "video_pixel_limit", "machine_memory_mb"]

CAP_MB = 1200                  # the target: no accepted photo above this, whatever the RAM
SHARE = 0.45                   # of the machine's memory for one file's work
# Measured with benchmarks/memory.py (worker peak, whole process tree, 2 cores): 740 MB for
# a 12-MP JPEG, 800 for 26 MP, 842 for 50 MP, 1,137 for 83 MP, 1,347 for 102 MP; a worker
# that has processed a 12-MP photo before (as the watch folder's does) keeps the network's
# arena and peaks higher on the next file: 1,212 MB for 84 MP. Not a straight line (the arena
# grows in steps); the line below lies above every point from 50 MP up, warm or not, the range
# where the limit falls on machines from 2 GB up. Per pixel: the decoder's two copies (6
# bytes) while reading, then the photo, the detector's finest level and its tiles, the
# redacted copy and the encoder's copy.
WORKER_BASE_MB = 400
PHOTO_BYTES_PER_PIXEL = 10.5
# Video: 819 MB for 1080p and 893 MB for 4K, text on (the encoder bounded above 1080p:
# encoder_options; freed frames given back: video_heap)
VIDEO_BASE_MB = 800
VIDEO_BYTES_PER_PIXEL = 20.0   # per pixel of one frame (16 measured)
ABSOLUTE_MAX_PIXELS = 200_000_000
MIN_PHOTO_PIXELS = 12_000_000  # never below a 12-MP phone photo (a machine that small is
                               # refused at `blurkit doctor` time, not per file)


@dataclass(frozen=True)
class Budget:
    total_mb: int        # the machine's memory (or its cgroup limit)
    budget_mb: int       # what one file's work may take
    photo_pixels: int    # the largest photo accepted
    video_pixels: int    # the largest video frame accepted (width x height)


def machine_memory_mb() -> int:
    """RAM in MB, or the cgroup (container, systemd MemoryMax) limit if lower."""
    override = os.environ.get("BLURKIT_MEMORY_MB", "").strip()
    if override.isdigit() and int(override) > 0:
        return int(override)
    total = 0
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError, AttributeError):
        total = 2048           # unknown: assume the smallest supported Pi
    for limit_file in ("/sys/fs/cgroup/memory.max",
                       "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < (1 << 50):
            total = min(total, int(text) // 2**20)
    return max(total, 256)


@functools.lru_cache(maxsize=8)
def _for(total_mb: int) -> Budget:
    budget = int(min(CAP_MB, SHARE * total_mb))
    photo = int((budget - WORKER_BASE_MB) * 2**20 / PHOTO_BYTES_PER_PIXEL)
    photo = max(MIN_PHOTO_PIXELS, min(ABSOLUTE_MAX_PIXELS, photo))
    video = int((budget - VIDEO_BASE_MB) * 2**20 / VIDEO_BYTES_PER_PIXEL)
    video = max(1280 * 720, video)
    return Budget(total_mb=total_mb, budget_mb=budget, photo_pixels=photo, video_pixels=video)


def encoder_options(width: int, height: int) -> dict[str, str]:
    """x264 options that bound the encoder's memory for frames beyond 1080p (none at or
    below 1080p: those outputs are unchanged). A 4K clip's worker peak went from 1,223 MB to
    930 MB (benchmarks/memory.py) with a short lookahead, no B-frames and two threads; the
    cost is a somewhat larger file at the same quality (CRF)."""
    if width * height <= 1920 * 1088:
        return {}
    return {"x264-params": "rc-lookahead=3:sync-lookahead=0:bframes=0:threads=2"}


VIDEO_MMAP_BYTES = 4 << 20    # in a video: buffers from 4 MB up mapped and unmapped alone
SETTLED_MMAP_BYTES = 32 << 20  # after it: what glibc's own threshold settles at (its maximum)
M_MMAP_THRESHOLD = -3          # mallopt's parameter number (malloc.h)


@contextlib.contextmanager
def video_heap():
    """While a clip is processed, glibc maps every buffer of 4 MB or more on its own and
    gives it back when freed.

    glibc starts by mapping buffers of 128 KB and up, but raises that threshold to the size
    of each mapped buffer freed (up to 32 MB), after which a video's frames (6 MB at 1080p,
    25 MB at 4K) come from heaps that the decoder, detection, painting and encoder threads
    keep and fragment. Measured (three runs each way, text on): a 10-s 1080p clip's worker
    peaked at 919-936 MB, 838-844 MB with the threshold fixed; a 4-s 4K clip 987-1,014
    against 878-896 MB. The cost is the page faults of fresh mappings: 7-9 % more time for
    a clip (1080p 11.5 -> 12.5 s, 4K 12.9 -> 14.0 s, a 512-px talking head 4.1 -> 4.4 s;
    measured with the threshold set for the whole worker; set per clip, as here, two spot
    runs gave 849-851 and 909-914 MB).
    Photos are left alone (the same setting cost them 7 % for 50-80 MB: their large
    buffers, over 32 MB, are mapped on their own anyway); after a clip the threshold is set
    where glibc's own would have settled. Process-wide (a worker runs one file at a time);
    nothing is changed where the C library is not glibc."""
    mallopt = _mallopt()
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, VIDEO_MMAP_BYTES)
    try:
        yield
    finally:
        if mallopt is not None:
            mallopt(M_MMAP_THRESHOLD, SETTLED_MMAP_BYTES)


@functools.cache
def _mallopt():
    import ctypes
    import ctypes.util
    import platform

    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return None


def current() -> Budget:
    return _for(machine_memory_mb())


def max_workers() -> int:
    """Worker processes that may run at once, each with its budget, in 80 % of the memory
    (a 2-GB Pi: 1; 4 GB: 2; 8 GB: 5)."""
    b = current()
    return max(1, int(0.8 * b.total_mb / b.budget_mb))


def photo_pixel_limit() -> int:
    return current().photo_pixels


def video_pixel_limit() -> int:
    return current().video_pixels
