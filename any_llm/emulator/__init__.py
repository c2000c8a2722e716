"""A local emulator of the providers' batch APIs, for tests and offline use.

```python
from any_llm.emulator import Emulator, EmulatorConfig, Fault, ManualClock

with Emulator(data_dir=tmp_path, config=EmulatorConfig(in_progress_seconds=0.0)) as emu:
    base_url = emu.url + "/v1"          # OpenAI
    emu.add_fault(Fault(method="POST", path="/v1/files", status=429, times=2))
```

Run it from a shell with ``python -m any_llm.emulator --port 8080 --data-dir DIR``.
"""

from __future__ import annotations

from .clock import Clock, ManualClock, SystemClock
from .config import EmulatorConfig
from .faults import Fault, FaultKind
from .server import Emulator, LoggedRequest

__all__ = [
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "FaultKind",
    "LoggedRequest",
    "ManualClock",
    "SystemClock",
]
