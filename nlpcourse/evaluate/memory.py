"""Peak memory of one call: CUDA's allocator counters on a GPU, the process's RSS on a CPU."""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class MemoryPeak:
    """What one call returned, how long it took, and how far memory rose above its start."""

    result: Any
    peak_bytes: int  # peak minus the level just before the call
    seconds: float
    method: str  # how the peak was read, said in words

    @property
    def peak_mib(self) -> float:
        """The peak in MiB."""
        return self.peak_bytes / 2**20


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"{field} is not in {_STATUS}")


def _trim_heap() -> None:
    """Hand freed heap memory back to the OS (glibc), so the RSS starts from what is in use."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def rss_peak_supported() -> bool:
    """True where the process's peak RSS can be reset and read (Linux ``/proc``)."""
    try:
        _CLEAR_REFS.write_text("5")  # resets VmHWM, the peak resident set size
        _status_kib("VmHWM")
    except OSError:
        return False
    return True


def peak_memory(fn: Callable[[], Any], device: torch.device | str = "cpu") -> MemoryPeak:
    """Run ``fn()`` once and measure its peak memory above the level before it.

    On CUDA: ``torch.cuda.max_memory_allocated`` (tensors only, exact). On a CPU: the peak
    resident set size of the whole process (Linux's ``VmHWM``, reset just before the call),
    which also counts the allocator's caches, so it is a coarser, noisier figure.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        start = time.perf_counter()
        result = fn()
        torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated(device) - before
        return MemoryPeak(result, int(peak), seconds, "torch.cuda.max_memory_allocated")
    if not rss_peak_supported():
        raise OSError(
            "Peak memory on a CPU is read from Linux's /proc/self (VmHWM); it is not "
            "available on this system."
        )
    _trim_heap()
    _CLEAR_REFS.write_text("5")
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = (_status_kib("VmHWM") - before) * 1024
    return MemoryPeak(result, max(int(peak), 0), seconds, "peak RSS of the process (VmHWM)")
