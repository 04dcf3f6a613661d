# Type stub for pgqrs.decorators: matches the runtime exactly (python/tests/test_stub.py).
from __future__ import annotations

from typing import Any, Callable, Optional

from . import Run, StepRetryPolicy, WorkflowDef

def workflow(name: Optional[str] = None, *, retry_policy: Optional[StepRetryPolicy] = None) -> Callable[[Callable[..., Any]], WorkflowDef]: ...
def step(fn: Optional[Callable[..., Any]] = None, *, name: Optional[str] = None, retry_policy: Optional[StepRetryPolicy] = None) -> Any: ...
