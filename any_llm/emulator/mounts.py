"""How an emulated provider plugs into the server: where its API lives, how it authenticates,
how it renders errors and how it writes results."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
from aiohttp import web

from .config import EmulatorConfig
from .store import ResultWriter
from .web_support import ApiError

__all__ = ["ProviderMount", "mount_for"]


@attrs.frozen(kw_only=True)
class ProviderMount:
    """One emulated provider.

    `prefix` is where its routes live on the server ("" for OpenAI, whose paths start with
    /v1; "/mistral", "/anthropic", "/gemini" for the others, so that equal paths of two
    providers never clash). `api_base` is what a client passes as its base URL, relative to the
    server's URL (OpenAI: "/v1", the others: their prefix).
    """

    name: str
    prefix: str
    api_base: str
    add_routes: Callable[[web.Application, str], None]
    authenticate: Callable[[web.Request, EmulatorConfig], None]
    """Raise an `ApiError` (401) unless the request carries an acceptable key."""
    render_error: Callable[[ApiError], web.Response]
    """The provider's own error envelope for an `ApiError`."""
    write_results: ResultWriter
    takes_chunk: Callable[[web.Request], bool] | None = None
    """Whether a request is a chunk of a resumable upload, whose bytes the provider keeps as
    they arrive (a ``reset_mid_chunk`` fault then leaves the part received stored). None: the
    provider has no such route."""


def mount_for(mounts: Sequence[ProviderMount], path: str) -> ProviderMount:
    """The mount whose prefix is the longest one `path` starts with."""
    best = None
    for mount in mounts:
        prefix = mount.prefix
        if (path == prefix or path.startswith(prefix + "/")) and (
            best is None or len(prefix) > len(best.prefix)
        ):
            best = mount
    if best is None:
        raise LookupError(f"no emulated provider serves {path}")
    return best
