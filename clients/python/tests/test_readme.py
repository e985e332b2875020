"""The README's five-minute example, run unchanged against the live server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_unchanged(server, tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1
    src = Path(__file__).resolve().parents[1] / "src"
    env = dict(os.environ, CREDITD_URL=server.url, CREDITD_API_KEY=server.key, PYTHONPATH=str(src))
    r = subprocess.run([sys.executable, "-c", blocks[0]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "available: 87.5" in r.stdout
    assert "refused: insufficient_credits 409" in r.stdout
    assert "webhook: depleted 0" in r.stdout
    exported = list(tmp_path.glob("credit-history_*.csv"))
    assert len(exported) == 1 and "Welcome credits" in exported[0].read_text()
