"""`check --deploy` with the production settings is clean, warnings included: CI runs it after the tests,
and a warning there (an unsafe setting, an API schema name clash) fails the whole submission, so the
tests say it first."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_deploy_check_with_production_settings_finds_nothing():
    # as CI runs it: without what config.test_settings put in this process's environment
    env = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG", "DATABASE_URL")}
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--settings=config.deploy_check_settings",
                           "--fail-level", "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
