"""A client never closed and kept alive past its event loop by a reference cycle (as in
any-llm's integration tests, where ``pytest.raises`` holds the frame that holds the client) is
collected after ``asyncio.run`` returned: its connections are dropped without a warning."""

from __future__ import annotations

import asyncio
import gc
import ssl
import warnings
from pathlib import Path
from typing import Any

from any_llm import AnyLLM
from any_llm.emulator import Emulator
from tests.helpers import KEY, client_args


def collect_after_the_loop(api_base: str, **args: Any) -> list[warnings.WarningMessage]:
    """Use a client in ``asyncio.run``, leave it in a cycle, collect it once the loop closed."""

    async def use() -> None:
        llm = AnyLLM.create("openai", api_key=KEY, api_base=api_base, client_args=args)
        await llm.alist_batches()
        cycle: dict[str, Any] = {"llm": llm}
        cycle["self"] = cycle

    gc.collect()
    gc.disable()
    try:
        asyncio.run(use())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
            gc.collect()
    finally:
        gc.enable()
    return [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_an_unclosed_client_collected_after_its_loop_leaves_no_warning(emu: Emulator) -> None:
    assert collect_after_the_loop(emu.api_base(), **client_args()) == []


def test_the_same_over_tls(tls_emu: Emulator, tls_ca: Any, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(bundle))
    trusted = ssl.create_default_context(cafile=str(bundle))
    found = collect_after_the_loop(tls_emu.api_base(), **client_args(ssl_context=trusted))
    assert found == []
