"""Keep a job's freed memory for reuse instead of handing it back to the kernel.

glibc's malloc serves every block above 128 KiB (its dynamic threshold grows to at most
32 MiB) with a fresh ``mmap`` and unmaps it on ``free``. A training step frees and reallocates
the same tensors every iteration (AlexNet's classifier gradients alone are 200 MB at 64 px), so
each step maps them afresh and the kernel zero-fills every page: 53,000 minor page faults per
AlexNet step and a fifth of a run's CPU time spent in the kernel. With ``mmap`` off and the heap
never trimmed, freed blocks stay in the process and the next step reuses them. The resident
size stays at the job's peak, which it reaches on the first step anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
NEVER_TRIM = 2**31 - 1  # mallopt takes a C int

_applied = False


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to serve large blocks from the heap and never return freed heap to
    the kernel, for the rest of this process. Returns whether it applied (glibc only; elsewhere,
    macOS included, the system allocator is left as it is). Idempotent."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # both calls return 1 on success
    _applied = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))
    if not _applied:
        log.warning("glibc refused the allocator settings; large blocks stay mmap'ed")
    return _applied
