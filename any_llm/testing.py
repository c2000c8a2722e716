"""Pytest fixtures that run the any_llm batch emulator for your own tests.

The plugin is registered under the ``pytest11`` entry point ``any_llm``, so installing
any-llm-batch makes these fixtures available in every test session:

``any_llm_emulator``
    A started `any_llm.emulator.Emulator` with instant timings (every phase takes 0 s, so a
    batch is ``completed`` on its first retrieve after create) and a fresh data directory;
    stopped after the test. The OpenAI base URL is ``any_llm_emulator.url + "/v1"``.

``any_llm_emulator_factory``
    Starts emulators with your own settings: ``factory(config=None, clock=None,
    data_dir=None)``. ``config`` defaults to the instant timings above, ``clock`` to the wall
    clock, ``data_dir`` to a fresh temporary directory. Every emulator it started is stopped
    after the test.

Example::

    from any_llm.emulator import EmulatorConfig, Fault, ManualClock

    def test_polling(any_llm_emulator_factory):
        clock = ManualClock()
        emu = any_llm_emulator_factory(
            config=EmulatorConfig(validating_seconds=5, in_progress_seconds=60), clock=clock
        )
        emu.add_fault(Fault(method="POST", path="/v1/files", status=429, times=2))
        ...  # point your client at emu.url + "/v1", call clock.advance(65) to finish batches

The emulator is imported when a fixture is first used, never when pytest loads the plugin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

if TYPE_CHECKING:
    from any_llm.emulator import Clock, Emulator, EmulatorConfig

__all__ = ["EmulatorFactory", "any_llm_emulator", "any_llm_emulator_factory", "instant_config"]


class EmulatorFactory(Protocol):
    """Starts an emulator (see `any_llm_emulator_factory`)."""

    def __call__(
        self,
        config: EmulatorConfig | None = None,
        clock: Clock | None = None,
        data_dir: Path | None = None,
    ) -> Emulator: ...


def instant_config() -> EmulatorConfig:
    """An emulator configuration in which every batch phase takes no time."""
    from any_llm.emulator import EmulatorConfig

    return EmulatorConfig(
        validating_seconds=0.0,
        in_progress_seconds=0.0,
        finalizing_seconds=0.0,
        cancelling_seconds=0.0,
    )


@pytest.fixture
def any_llm_emulator_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorFactory]:
    """Start emulators with chosen settings; all are stopped after the test."""
    from any_llm.emulator import Emulator

    started: list[Emulator] = []

    def make(
        config: EmulatorConfig | None = None,
        clock: Clock | None = None,
        data_dir: Path | None = None,
    ) -> Emulator:
        directory = (
            data_dir if data_dir is not None else tmp_path_factory.mktemp("any-llm-emulator")
        )
        emulator = Emulator(directory, config if config is not None else instant_config(), clock)
        emulator.start()
        started.append(emulator)
        return emulator

    try:
        yield make
    finally:
        for emulator in reversed(started):
            emulator.stop()


@pytest.fixture
def any_llm_emulator(any_llm_emulator_factory: EmulatorFactory) -> Emulator:
    """A started emulator with instant timings, stopped after the test."""
    return any_llm_emulator_factory()
