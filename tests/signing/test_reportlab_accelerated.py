"""The letter renders with reportlab's C accelerator (the `rl_accel` package, a dependency): without
it reportlab silently falls back to pure Python and every letter costs about 10% more CPU."""

from __future__ import annotations

from reportlab.lib import rl_accel


def test_reportlab_uses_its_c_accelerator() -> None:
    assert rl_accel.asciiBase85Encode.__module__ == "_rl_accel"
    assert rl_accel.fp_str.__module__ == "_rl_accel"
