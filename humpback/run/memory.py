"""A run's memory on glibc: a stage's peak must not stack on what earlier stages freed.

glibc keeps freed heap pages; between stages they go back to the OS, and the allocator returns
to mapping large blocks alone (`humpback.inference.allocator`).
"""

import gc
import re
import resource
import sys

from humpback.inference.allocator import glibc, map_large_blocks


def release_memory() -> None:
    """Give what a finished step freed back to the OS: collect reference cycles (a Trainer's),
    map large blocks alone again (a model's step reused them), then trim the heap."""
    gc.collect()
    map_large_blocks()
    if libc := glibc():
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
