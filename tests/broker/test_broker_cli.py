"""`gateway demo` walks a whole guarantee and writes credentials.json; `institutions decide` works."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path


def gateway(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path / "var"), "GATEWAY_TOKEN_SECRET": "cli-test"}
    env.pop("GATEWAY_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_demo_walks_to_a_verified_letter_and_writes_credentials(tmp_path: Path) -> None:
    result = gateway(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    assert "5. paid" in result.stdout
    assert "FAIL" not in result.stdout
    assert result.stdout.rstrip().endswith("verified letter")
    credentials = json.loads((tmp_path / "var" / "credentials.json").read_text(encoding="utf-8"))
    assert {i["code"] for i in credentials["institutions"]} == {"SBX-BANK", "SBX-INSURER", "SBX-GUARANTOR"}
    assert all(i["private_key_pem"].startswith("-----BEGIN") for i in credentials["institutions"])
    assert len(credentials["bidders"]) == 3
    # A second run reuses the same keys and walks another section.
    again = gateway(tmp_path, "demo")
    assert again.returncode == 0, again.stderr
    application = re.search(r"application (ap_[0-9a-f]+)", again.stdout)
    assert application is not None
    refused = gateway(tmp_path, "institutions", "decide", "--institution", "SBX-INSURER",
                      "--application", application.group(1), "--approve")  # fmt: skip
    assert refused.returncode == 2
    assert "application_not_found" in refused.stderr
