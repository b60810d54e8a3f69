"""labgrade's in-sandbox side: the runner, the kernel shims, the probe, the evaluator.

This package runs inside the sandbox, next to untrusted student code. It
depends only on the grading runtime's own packages (nbclient, keras, numpy)
and never on the host-side ``graders`` package: the host talks to it through
JSON files (a job spec in, artifacts out).
"""

ARTIFACT_SCHEMA_VERSION = 1
