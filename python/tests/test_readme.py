"""The README's Python quickstart runs as written (in a scratch directory, since it uses a
relative SQLite file)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_quickstart_runs_as_written(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README.md has no Python example"
    script = tmp_path / "quickstart.py"
    script.write_text(blocks[0])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.pop("PGQRS_DSN", None)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sending to ada@example.com" in done.stdout
    assert "result: {'archive': '/tmp/report.csv.zip'}" in done.stdout
