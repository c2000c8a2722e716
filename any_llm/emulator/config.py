"""Emulator configuration."""

from __future__ import annotations

import attrs

__all__ = ["EmulatorConfig"]


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _window(
    _instance: object, _attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"completion_window_seconds must be > 0 or None, got {value!r}")


def _page_size(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if not 1 <= value <= 100:
        raise ValueError(f"page_size_default must be within 1..100, got {value!r}")


@attrs.frozen(kw_only=True)
class EmulatorConfig:
    """Timings and limits of an emulator.

    A batch spends `validating_seconds`, then `in_progress_seconds` (its requests are processed
    at an even pace), then `finalizing_seconds` before it is `completed`; a cancelled batch stays
    `cancelling` for `cancelling_seconds`. With `completion_window_seconds` set, a batch whose
    validation and processing would take longer expires at `created_at + window`. Every batch
    keeps the timings it was created with, so changing the configuration of a restarted emulator
    does not move existing batches.

    `api_key=None` accepts any non-empty bearer token; otherwise the token must equal it.

    With `presigned_uploads`, a provider whose servers may answer a file upload with a redirect
    to a presigned storage URL (Together's ``POST /files/upload``) does so: a 302 to another
    loopback port, which takes the bytes by ``PUT`` and refuses any ``Authorization`` header.
    """

    validating_seconds: float = attrs.field(default=1.0, validator=_non_negative)
    in_progress_seconds: float = attrs.field(default=5.0, validator=_non_negative)
    finalizing_seconds: float = attrs.field(default=1.0, validator=_non_negative)
    cancelling_seconds: float = attrs.field(default=1.0, validator=_non_negative)
    completion_window_seconds: float | None = attrs.field(default=None, validator=_window)
    page_size_default: int = attrs.field(default=20, validator=_page_size)
    api_key: str | None = attrs.field(default=None, repr=False)
    presigned_uploads: bool = False
