"""The rule for tests that need system programs (tests/helpers.py): skip with the reason where
ci/setup.sh cannot install them, fail where it could have."""
from __future__ import annotations

import os
import shutil

import pytest
from _pytest.outcomes import Failed, Skipped

import helpers


def test_found_program_is_returned():
    assert helpers.require_program(["no-such-program-xyz", "sh"], "a test") == shutil.which("sh")


def test_missing_program_skips_without_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(Skipped, match=r"a test needs no-such-program-xyz, not found on PATH; "
                                      r"ci/setup.sh cannot install it here \(not root\)"):
        helpers.require_program(["no-such-program-xyz"], "a test")


def test_missing_program_fails_where_setup_could_install_it(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda n: "/usr/bin/apt-get" if n == "apt-get" else real_which(n))
    with pytest.raises(Failed, match=r"bash ci/setup.sh. installs it"):
        helpers.require_program(["no-such-program-xyz"], "a test")
