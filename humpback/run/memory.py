"""A run's memory on glibc: a stage's peak must not stack on what earlier stages freed.

glibc keeps freed heap pages, and it raises the size from which it maps a block on its own
(mmap) as blocks are freed; a training step's tensors, of a new size with each sequence, then
fragment a heap that only grows. The quickstart peaked 0.5 GB higher so.
"""

import ctypes
import gc
import os
import re
import resource
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MMAP_THRESHOLD = 1 << 20


def _glibc() -> ctypes.CDLL | None:
    if sys.platform != "linux":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # another C library (musl)
        return None


def map_large_blocks() -> None:
    """Give every block of 1 MB or more its own mapping, returned to the OS when freed: in this
    process, and (through glibc's environment variable) in the processes it starts, such as
    Beam's workers, whose heaps otherwise keep the largest pages they parsed."""
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD))
    if libc := _glibc():
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_memory() -> None:
    """Give what a finished step freed back to the OS: collect reference cycles (a Trainer's),
    then trim the heap."""
    gc.collect()
    if libc := _glibc():
        libc.malloc_trim(0)


def peak_resident_bytes() -> int:
    """This process's own peak resident memory. Linux's ru_maxrss is no measure of it in a child
    process: it keeps the parent's peak across fork and exec (VmHWM does not)."""
    try:
        with open("/proc/self/status") as status:
            return 1024 * int(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1))
    except OSError:  # no /proc: ru_maxrss is in bytes on macOS, in KiB elsewhere
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else 1024 * peak
