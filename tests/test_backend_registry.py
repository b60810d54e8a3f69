"""The backend registry always has its built-ins, whatever was registered before the first look-up."""

from __future__ import annotations

import json
import subprocess
import sys

FRESH_PROCESS = """
import json
from graders import backends
from graders.backends.local import LocalSandbox

class Custom(LocalSandbox):
    name = "custom"

backends.register("custom", Custom)  # before anything looked a backend up
names = backends.backend_names()
local = backends.get_backend("local")
backends.register("local", Custom)  # a registration under a built-in's name, after the look-up, replaces it
print(json.dumps({"names": names, "local": local.name, "replaced": backends.get_backend("local").name}))
"""


def test_a_custom_backend_registered_first_does_not_hide_the_built_ins() -> None:
    # A fresh interpreter: this process's registry was filled long ago by other tests.
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["names"] == ["custom", "docker", "local"]
    assert seen["local"] == "local" and seen["replaced"] == "custom"
