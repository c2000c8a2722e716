"""Sessions: generate, lint, typecheck, tests, bench (see README)."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests"]

PYTHON = "3.11"


def _install_dev(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Regenerate any_llm_sync/ and tests/_sync/ from the async sources."""
    _install_dev(session)
    session.run("python", "scripts/unasync.py")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff (lint + format check) and the generated-twin staleness check."""
    _install_dev(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", "scripts/unasync.py", "--check")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over both packages (generated code included), tests and scripts."""
    _install_dev(session)
    session.run("mypy")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite: async core and generated sync twin over loopback HTTP."""
    _install_dev(session)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against the peers (not run by CI): writes BENCHMARKS.md.

    Options after ``--`` go to benchmarks/run.py (``nox -s bench -- --rounds 5 --only
    create,results``); it builds each library's venv under .bench-venvs/ itself. A run without
    options also runs benchmarks/upload_memory.py, and benchmarks/loop_block.py, which adds its
    "Event loop" section to BENCHMARKS.md.
    """
    _install_dev(session)
    session.run("python", "benchmarks/run.py", *session.posargs)
    if not session.posargs:
        session.run("python", "benchmarks/upload_memory.py")
        session.run("python", "benchmarks/loop_block.py", "--out", "BENCHMARKS.md")
