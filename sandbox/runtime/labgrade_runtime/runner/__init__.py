"""Drives the kernel: runs one submission's cells with nbclient and writes ``run.json``.

python -m labgrade_runtime.runner /job/spec.json
"""
