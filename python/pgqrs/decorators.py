"""Decorators for workflows and steps.

    @workflow(name="archive_files")
    async def archive_files(ctx, input):
        files = await list_files(ctx)      # a @step: runs once, replayed after a crash
        return {"archive": files[0] + ".zip"}
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional

from . import _otel
from ._errors import ENGINE_SIGNALS, TransientStepError
from ._records import StepResultStatus
from ._workflow import Run, StepRetryPolicy, WorkflowDef

__all__ = ["workflow", "step"]


def workflow(name: Optional[str] = None, *,
             retry_policy: Optional[StepRetryPolicy] = None) -> Callable[[Callable[..., Any]], WorkflowDef]:
    """``@workflow(name="...")`` on ``async def wf(ctx: Run, input)``: a WorkflowDef for
    ``dequeue().handle_workflow(...)``. The run is started, then marked success with the
    return value or failed with the exception (re-raised); pause, step-retry, cancel and
    retries-exhausted signals pass through without failing the run here."""

    def wrap(fn: Callable[..., Any]) -> WorkflowDef:
        return WorkflowDef(name or fn.__name__, fn, retry_policy)

    return wrap


def step(fn: Optional[Callable[..., Any]] = None, *, name: Optional[str] = None,
         retry_policy: Optional[StepRetryPolicy] = None) -> Any:
    """``@step`` (or ``@step(name=..., retry_policy=...)``) on ``async def s(ctx, *args)``.
    The step name is the function name. A step that succeeded before returns its stored
    value without running; otherwise the body runs and its return value is recorded. A
    TransientStepError is recorded (StepGuard.fail_transient, code from the error's own
    ``code`` attribute, else "TRANSIENT_ERROR"; ``retry_after`` from the error) and
    re-raised; any other exception fails the step and is re-raised."""

    def wrap(body: Callable[..., Any]) -> Callable[..., Any]:
        step_name = name or body.__name__

        @functools.wraps(body)
        async def run_step(ctx: Run, *args: Any, **kwargs: Any) -> Any:
            acquired = await ctx._acquire(step_name, None, retry_policy)
            if acquired.status == StepResultStatus.Skipped:
                return acquired.value
            guard = acquired.guard
            assert guard is not None

            async def execute() -> Any:
                value = body(ctx, *args, **kwargs)
                if inspect.isawaitable(value):
                    value = await value
                return value

            async def attempt() -> int:
                for s in await ctx.steps():
                    if s.step_name == step_name:
                        return int(s.retry_count) + 1
                return 1

            try:
                if _otel.active():
                    value = await _otel.traced_step(step_name, ctx.id(), attempt, execute)
                else:
                    value = await execute()
            except TransientStepError as exc:
                # As the original: record the failure (ERROR, retry_at when a retry is
                # left) and re-raise the user's error; a worker then hides the run's
                # message until retry_at. The code is the exception's own `code`
                # attribute when the user set one.
                code = vars(exc).get("code") or "TRANSIENT_ERROR"
                await guard.fail_transient(str(code), str(exc), exc.retry_after)
                raise
            except ENGINE_SIGNALS:
                raise
            except Exception as exc:
                await guard.fail(exc)
                raise
            await guard.success(value)
            return value

        return run_step

    if fn is not None:
        return wrap(fn)
    return wrap
