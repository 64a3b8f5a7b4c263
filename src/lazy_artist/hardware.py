"""What the CPU can do fast, read from the kernel's flags (no benchmark, no work).

bf16 autocast on a CPU is fast only with native bfloat16 instructions (AVX-512 BF16 or AMX):
without them oneDNN emulates it, and a training step of the study's LeNet ran about 10x
slower than in fp32 (measured 2026-12-02 on an AVX2-only AMD EPYC: about 4 s vs 0.3 s per
batch of 128), which turns T4's full profile from about an hour into many.
"""

from __future__ import annotations

from pathlib import Path

import torch

CPUINFO = Path("/proc/cpuinfo")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str] | None:
    """The first processor's feature flags, or None where the kernel does not list them."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return None


def native_bf16(device: torch.device | str, cpuinfo: Path = CPUINFO) -> bool | None:
    """Whether ``device`` runs bf16 natively: True on CUDA, the CPU's flags otherwise (None
    when they cannot be read, e.g. not Linux)."""
    if torch.device(device).type == "cuda":
        return True
    flags = cpu_flags(cpuinfo)
    if flags is None:
        return None
    return any(flag in flags for flag in BF16_FLAGS)
