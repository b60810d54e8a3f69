# boston: fill the disk, many files so that a per-file limit is not enough
import os
block = b"0" * (16 * 1024 * 1024)
i = 0
while True:
    with open(f"fill-{i}.bin", "wb") as fh:
        fh.write(block)
    i += 1
