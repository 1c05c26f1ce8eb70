"""`gateway reconcile`: imports, reconciles and prints the summary; a bad file exits 2 and changes nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from gateway.composition import Container
from gateway.db import transaction
from gateway.settings import Settings
from tests.reconciliation.recon_factories import CENTER, Row, deposit, mt940

REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 3, 5)


def gateway(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "GATEWAY_DATABASE_URL": settings.resolved_database_url,
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_TOKEN_SECRET": "test-token-secret",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_reconcile_prints_the_summary_and_a_bad_file_exits_2(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    with transaction(container.sessions) as session:
        deposit(session, "dep-1", 500_00, ref="BR1", party="6222000000000001", day=DAY)
    good = tmp_path / "march.sta"
    good.write_bytes(mt940([Row(500_00, True, DAY, "BR1"), Row(9_99, True, DAY, "BANK-2")]))
    done = gateway(settings, "reconcile", str(good), "--format", "mt940", "--center", CENTER, "--progress")
    assert done.returncode == 0, done.stderr
    assert "2 lines (2 new)" in done.stdout
    assert "matched: 1 matches, 1 lines, 1 items, ¥500.00" in done.stdout
    assert "unmatched lines: 1 (¥9.99), unmatched ledger items: 0 (¥0.00)" in done.stdout
    assert "reconcile" in done.stderr  # the progress bar

    again = gateway(settings, "reconcile", str(good), "--format", "mt940", "--center", CENTER)
    assert "2 lines (0 new)" in again.stdout
    assert "matched: 0 matches" in again.stdout

    bad = tmp_path / "bad.sta"
    bad.write_bytes(good.read_bytes().replace(b"C500,00", b"C500,001"))
    refused = gateway(settings, "reconcile", str(bad), "--format", "mt940", "--center", CENTER)
    assert refused.returncode == 2
    assert "bad.sta: line 5: amount '500,001' has 3 decimals" in refused.stderr
    wrong_format = gateway(settings, "reconcile", str(good), "--format", "camt053", "--center", CENTER)
    assert wrong_format.returncode == 2
    assert "not well-formed XML" in wrong_format.stderr
