"""Emulator fixtures shared by every test (async core and sync twin alike)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from any_llm.emulator import Emulator, EmulatorConfig, ManualClock

INSTANT = EmulatorConfig(
    validating_seconds=0,
    in_progress_seconds=0,
    finalizing_seconds=0,
    cancelling_seconds=0,
)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """An emulator whose batches complete on the first retrieve after create."""
    with Emulator(data_dir=tmp_path / "emulator", config=INSTANT) as server:
        yield server


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand."""
    return ManualClock()


@pytest.fixture
def slow_emu(tmp_path: Path, clock: ManualClock) -> Iterator[Emulator]:
    """Batches validate for 1 s, run for 10 s, finalize for 1 s: on the manual ``clock``."""
    config = EmulatorConfig(
        validating_seconds=1, in_progress_seconds=10, finalizing_seconds=1, cancelling_seconds=1
    )
    with Emulator(data_dir=tmp_path / "emulator", config=config, clock=clock) as server:
        yield server


@pytest.fixture
def expiring_emu(tmp_path: Path, clock: ManualClock) -> Iterator[Emulator]:
    """Batches need 100 s of work but expire after 50 s, on the manual ``clock``."""
    config = EmulatorConfig(
        validating_seconds=0,
        in_progress_seconds=100,
        finalizing_seconds=0,
        completion_window_seconds=50,
    )
    with Emulator(data_dir=tmp_path / "emulator", config=config, clock=clock) as server:
        yield server


@pytest.fixture
def auth_emu(tmp_path: Path) -> Iterator[Emulator]:
    """An emulator that accepts only the key ``sk-right``."""
    config = EmulatorConfig(api_key="sk-right")
    with Emulator(data_dir=tmp_path / "emulator", config=config) as server:
        yield server


@pytest.fixture(scope="session")
def tls_ca() -> Any:
    """A throwaway certificate authority (trustme) that signs 127.0.0.1."""
    import trustme

    return trustme.CA()


@pytest.fixture
def tls_emu(tmp_path: Path, tls_ca: Any) -> Iterator[Emulator]:
    """An emulator serving HTTPS with a certificate no system trusts."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    with Emulator(data_dir=tmp_path / "emulator", config=INSTANT, ssl_context=context) as server:
        yield server
