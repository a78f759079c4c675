"""The allocator setting every torch job makes: freed tensors are reused, not mapped afresh."""

import platform
import subprocess
import sys

import pytest

CHURN = """
import resource, sys, torch
from invertibility.jobs.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory() and keep_freed_memory()  # idempotent
def churn(rounds):
    for _ in range(rounds):  # what a training step does to its gradients: free, then allocate again
        x = torch.empty(16 * 2**20)  # 64 MB: above glibc's largest mmap threshold
        x.fill_(1.0)
        del x
churn(12)  # the heap settles after a few rounds (small objects sit between the blocks)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn(5)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True
    )
    return int(result.stdout.split()[-1])


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the setting is glibc's (mallopt); other allocators are left alone",
)
def test_freed_tensors_are_reused_without_page_faults():
    # 5 x 64 MB touched = 81,920 pages: each a fresh zero-filled page when mmap'ed per tensor
    assert faults("default") > 50_000
    assert faults("keep") < 2_000


def test_does_nothing_off_linux(monkeypatch):
    from invertibility.jobs import allocator

    monkeypatch.setattr(allocator, "_applied", False)
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False
