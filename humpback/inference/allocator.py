"""glibc's allocator, set for the work at hand: blocks mapped alone for data, freed blocks
reused while a model runs.

By default a run's processes map every block of 1 MB or more on their own, returned to the OS
when freed: a heap otherwise keeps the largest pages a parser read, and a Beam runner's grouping
grew twice as fast with reuse. A model's passes are the other case: a tensor of a few MB was a
fresh mapping each time, and page faults took a third of a forward pass. While a model runs,
its process keeps freed blocks below 32 MB (glibc's largest threshold) for reuse and lets its
heap keep 512 MB free at its top; `humpback.run.memory.release_memory` returns to the default
after each stage.
"""

import ctypes
import os
import sys

M_TOP_PAD, M_MMAP_THRESHOLD = -2, -3  # mallopt's parameter numbers, from glibc's malloc.h
DEFAULT_TOP_PAD = 128 << 10  # glibc's own
MAPPED_ALONE = 1 << 20
REUSED_BELOW = 32 << 20  # the largest threshold glibc takes
MODEL_TOP_PAD = 512 << 20


def glibc() -> ctypes.CDLL | None:
    if sys.platform != "linux":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # another C library (musl)
        return None


def map_large_blocks() -> None:
    """Give every block of 1 MB or more its own mapping: in this process, and (through glibc's
    environment variable) in the processes it starts, such as Beam's workers."""
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MAPPED_ALONE))
    if libc := glibc():
        libc.mallopt(M_MMAP_THRESHOLD, MAPPED_ALONE)
        libc.mallopt(M_TOP_PAD, DEFAULT_TOP_PAD)


def reuse_freed_blocks() -> None:
    """While a model runs in this process: freed blocks below 32 MB are reused, not unmapped."""
    if libc := glibc():
        libc.mallopt(M_MMAP_THRESHOLD, REUSED_BELOW)
        libc.mallopt(M_TOP_PAD, MODEL_TOP_PAD)
