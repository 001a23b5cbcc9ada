"""What the benchmark scripts share: one configuration run in its own process, so its peak RSS is its own."""
from __future__ import annotations

import json
import os
import subprocess
import sys


def run_child(script: str, args: list[str]) -> dict | None:
    """Run ``script --one ARGS`` with this interpreter and the project importable; the JSON object on the
    child's last stdout line, or None after printing the tail of its stderr."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, os.path.abspath(script), "--one", *args], capture_output=True, text=True,
                          env=env)
    if done.returncode != 0:
        print(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}", flush=True)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])
