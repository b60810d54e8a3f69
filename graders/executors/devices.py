"""Which GPU devices this host may hand to jobs.

The local pool pins each job to one device, so it needs the device ids up
front. They come, in this order, from:

1. ``LABGRADE_FAKE_GPUS`` -- a count ("2" = devices "0", "1") or a list ("0,3"):
   logical devices for tests and dry runs on a host without GPUs;
2. ``CUDA_VISIBLE_DEVICES`` when set -- the host's operator already chose the
   devices this harness may use ("" or "-1" means none);
3. ``nvidia-smi -L`` -- every GPU the driver sees, by index.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from graders.executors.base import ExecutorError

FAKE_ENV = "LABGRADE_FAKE_GPUS"
_SMI_LINE = re.compile(r"^GPU (\d+):", re.MULTILINE)

GpuSetting = int | str | bool | None


def visible_gpus() -> tuple[list[str], str]:
    """The device ids this host offers and where they were found (for error messages)."""
    fake = os.environ.get(FAKE_ENV)
    if fake is not None and fake.strip():
        return _parse_list(fake, FAKE_ENV), FAKE_ENV
    cuda = os.environ.get("CUDA_VISIBLE_DEVICES")
    if cuda is not None:
        ids = [] if cuda.strip() in ("", "-1") else [part.strip() for part in cuda.split(",") if part.strip()]
        return ids, "CUDA_VISIBLE_DEVICES"
    return _nvidia_smi(), "nvidia-smi -L"


def _parse_list(value: str, source: str) -> list[str]:
    value = value.strip()
    if value.isdigit() and "," not in value:
        return [str(i) for i in range(int(value))]
    ids = [part.strip() for part in value.split(",") if part.strip()]
    if not ids:
        raise ExecutorError(f"{source}={value!r} names no device; give a count (2) or ids (0,1)")
    return ids


def _nvidia_smi() -> list[str]:
    """Indices from ``nvidia-smi -L``; none when the tool is absent or fails (a host without a driver)."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return []
    try:
        out = subprocess.run([tool, "-L"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return _SMI_LINE.findall(out.stdout) if out.returncode == 0 else []


def choose_gpus(setting: GpuSetting) -> list[str]:
    """The devices the ``gpus`` setting asks for: none (None/0/False), the first N, or ``"all"`` (or True).

    Asking for devices the host does not have is an error rather than a silent
    CPU run: a course that trains on GPUs would otherwise time out everywhere.
    """
    if setting is None or setting is False or setting == 0:
        return []
    found, source = visible_gpus()
    if setting is True or (isinstance(setting, str) and setting.strip().lower() == "all"):
        if not found:
            raise ExecutorError(f'gpus = "all" but this host shows no GPU (looked at {source})')
        return found
    count = _count(setting)
    if count > len(found):
        have = ", ".join(found) if found else "none"
        raise ExecutorError(f"gpus = {count} but this host has {len(found)} (devices: {have}; from {source})")
    return found[:count]


def _count(setting: int | str) -> int:
    try:
        count = int(setting)
    except ValueError:
        raise ExecutorError(f'gpus must be a number of devices or "all", got {setting!r}') from None
    if count < 0:
        raise ExecutorError(f"gpus must not be negative, got {count}")
    return count
