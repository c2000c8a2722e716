"""One virtual environment per benchmarked library, built and cached by the benchmark itself.

Each library gets its own venv under a cache directory (``.bench-venvs/`` at the repository root
by default) so that imports and versions do not interfere: any-llm-sdk's top-level package is
also named ``any_llm``. A venv is reused while its requirement list is unchanged; ours is
reinstalled from the working tree (non-editable, as a user gets it) on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = ROOT / ".bench-venvs"


@dataclass(frozen=True)
class VenvSpec:
    """What one venv holds: pip requirements, and the distributions whose versions we report."""

    name: str
    requirements: tuple[str, ...]
    report: tuple[str, ...]
    install_repo: bool = False
    """Also install this repository (non-editable) on every run, so the current code is used."""


HTTPX = ("httpx", "httpx2", "aiohttp")
"""The HTTP stacks the peers may use (only those installed are reported)."""

SPECS: dict[str, VenvSpec] = {
    "ours": VenvSpec(
        name="ours",
        requirements=(),
        report=("any-llm-batch", "aiohttp", "urllib3", "msgspec", "attrs", "cattrs", "tenacity"),
        install_repo=True,
    ),
    "openai": VenvSpec(name="openai", requirements=("openai",), report=("openai", *HTTPX)),
    "any-llm-sdk": VenvSpec(
        name="any-llm-sdk",
        requirements=("any-llm-sdk[openai]",),
        report=("any-llm-sdk", "openai", *HTTPX),
    ),
    "litellm": VenvSpec(
        name="litellm", requirements=("litellm",), report=("litellm", "openai", *HTTPX)
    ),
    "raw": VenvSpec(name="raw", requirements=("aiohttp", "urllib3"), report=("aiohttp", "urllib3")),
}


@dataclass
class Env:
    """A ready interpreter for some libraries, or why there is none."""

    name: str
    python: str | None
    versions: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def _run(cmd: Sequence[str], log: Path) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)


def _python(path: Path) -> Path:
    return path / "bin" / "python"


VERSIONS_CODE = """
import importlib.metadata as m, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


def versions(python: str, dists: Sequence[str]) -> dict[str, str]:
    """The installed versions of ``dists`` as seen by ``python``."""
    out = subprocess.run(
        [python, "-c", VERSIONS_CODE, *dists],
        check=True,
        capture_output=True,
        text=True,
        env=clean_env(),
    ).stdout
    data: dict[str, str] = json.loads(out)
    return data


def clean_env() -> dict[str, str]:
    """The environment for benchmark subprocesses: no PYTHONPATH leaking the repository in."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


def ensure(spec: VenvSpec, cache: Path, *, rebuild: bool = False, quiet: bool = False) -> Env:
    """Create or reuse the venv of ``spec``; never raises for a failed install."""
    path = cache / spec.name
    marker = path / ".bench-spec.json"
    log = cache / f"{spec.name}.log"
    key: dict[str, object] = {"requirements": spec.requirements, "python": sys.version}
    if spec.install_repo:  # rebuild when our dependencies change
        key["pyproject"] = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    wanted = json.dumps(key)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if rebuild or not marker.exists() or marker.read_text() != wanted:
            if not quiet:
                print(f"[venvs] building {path} (log: {log})", flush=True)
            log.write_text("")
            venv.EnvBuilder(clear=True, with_pip=True).create(path)
            python = str(_python(path))
            _run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], log)
            requirements = [*spec.requirements, *([str(ROOT)] if spec.install_repo else [])]
            _run([python, "-m", "pip", "install", "--quiet", *requirements], log)
            marker.write_text(wanted)
        python = str(_python(path))
        if spec.install_repo:  # the working tree as it is now, not as it was at build time
            if not quiet:
                print(f"[venvs] installing {ROOT} into {path}", flush=True)
            reinstall = ["install", "--quiet", "--no-deps", "--force-reinstall", str(ROOT)]
            _run([python, "-m", "pip", *reinstall], log)
        return Env(name=spec.name, python=python, versions=versions(python, spec.report))
    except (subprocess.CalledProcessError, OSError) as exc:
        marker.unlink(missing_ok=True)
        tail = ""
        if log.exists():
            tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        return Env(name=spec.name, python=None, error=f"install failed ({exc}); {tail}"[:400])


def current(spec: VenvSpec) -> Env:
    """Use the running interpreter instead of a venv (smoke runs: no installs)."""
    try:
        found = versions(sys.executable, spec.report)
    except (subprocess.CalledProcessError, OSError) as exc:
        return Env(name=spec.name, python=None, error=str(exc))
    if spec.report[0] not in found:  # e.g. any-llm-sdk: `any_llm` here would be this project
        return Env(name=spec.name, python=None, error=f"{spec.report[0]} is not installed here")
    return Env(name=spec.name, python=sys.executable, versions=found)


if __name__ == "__main__":
    for name in sys.argv[1:] or SPECS:
        env = ensure(SPECS[name], DEFAULT_CACHE)
        print(name, env.python, env.versions, env.error or "")
