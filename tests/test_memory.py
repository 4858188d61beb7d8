"""glibc's allocator: freed blocks reused while a model runs, mapped alone otherwise."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")

CHURN = """
import os, resource, sys
from humpback.inference.allocator import map_large_blocks, reuse_freed_blocks
from humpback.run.memory import release_memory

def faults():  # a tensor of 8 MB made and freed 50 times, as a forward pass does
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        block = bytearray(8 << 20)
        del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

map_large_blocks()  # what `humpback` does first
alone = faults()
reuse_freed_blocks()  # a model is loaded
reused = faults()
release_memory()  # the stage is over
print(alone, reused, faults(), os.environ["MALLOC_MMAP_THRESHOLD_"])
"""


def test_freed_blocks_are_reused_while_a_model_runs_and_mapped_alone_otherwise():
    out = subprocess.run([sys.executable, "-c", CHURN], capture_output=True, text=True,
                         check=True, env={})  # fmt: skip
    alone, reused, after, threshold = out.stdout.split()
    every_page = 50 * (8 << 20) // 4096
    assert int(alone) > 0.9 * every_page  # a fresh mapping each time, every page faulted in
    assert int(reused) < every_page / 20
    assert int(after) > 0.9 * every_page  # back to mapping alone after the stage
    assert threshold == "1048576"  # what the processes it starts (Beam's workers) get
