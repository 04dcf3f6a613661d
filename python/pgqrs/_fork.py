"""Fork and rerun (docs/workflows.md "Fork and rerun"): a new run with the same input, the
succeeded steps before ``from_step`` copied (not executed again); the original run is not
changed."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from . import _aio, _pgqrs
from . import _records as rec
from ._records import QueueMessage, WorkflowStatus
from ._store import admin
from ._time import TimeLike

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["fork", "rerun", "rerun_matching"]


async def fork(store: "Store", run_id: int, from_step: str) -> QueueMessage:
    """Starts a new run of ``run_id``'s workflow with its input; the steps recorded as
    succeeded before ``from_step`` are copied. Returns the new run's message
    (``pgqrs.run().message(m)``). ValidationError for an unknown run or step."""
    return rec.message(await _aio.call(_pgqrs.workflow_fork, store._native, int(run_id),
                                       from_step))


async def rerun(store: "Store", run_id: int) -> QueueMessage:
    """A new run of ``run_id``'s workflow with its input, from the first step."""
    return rec.message(await _aio.call(_pgqrs.workflow_rerun, store._native, int(run_id)))


async def rerun_matching(store: "Store", *, workflow: Optional[str] = None,
                         status: Optional[WorkflowStatus] = None,
                         since: Optional[TimeLike] = None, limit: int = 100) -> list[QueueMessage]:
    """Reruns every run matching the filters (as ``admin.list_runs``: newest first, at most
    ``limit``); the new runs' messages, in that order."""
    runs = await admin(store).list_runs(workflow=workflow, status=status, since=since,
                                        limit=limit)
    return [await rerun(store, r.id) for r in runs]
