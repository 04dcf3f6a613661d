"""as_s3(): explicit sync control of a store on the S3 backend (SPEC §6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _aio, _pgqrs
from ._errors import NotS3StoreError
from ._records import SyncState

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["S3StoreHandle", "as_s3"]


class S3StoreHandle:
    """snapshot() pulls the remote object into the local working copy (ConflictError
    saying "unsynced writes" if it holds writes not yet published); sync() publishes local
    changes (ConflictError saying "conflict" when another store published meanwhile; an
    object deleted remotely is published again); state() compares the two. In local mode
    opening downloads nothing and install() stays in the working copy until sync()."""

    def __init__(self, store: "Store") -> None:
        self._store = store

    async def snapshot(self) -> None:
        await _aio.call(_pgqrs.s3_snapshot, self._store._native)

    async def sync(self) -> None:
        await _aio.call(_pgqrs.s3_sync, self._store._native)

    async def state(self) -> SyncState:
        return SyncState(await _aio.call(_pgqrs.s3_state, self._store._native))


def as_s3(store: "Store") -> S3StoreHandle:
    """The S3 handle of a store opened with an s3:// DSN. Any other store raises an error
    that is both a ConfigError and a TypeError, naming the store's backend."""
    backend = store.backend
    if backend != "s3":
        raise NotS3StoreError(f"as_s3(): expected 's3' store, got the {backend} backend "
                              "(open it with an s3://bucket/key.sqlite DSN)")
    return S3StoreHandle(store)
