"""Durable workflows (SPEC §5): builders, the Run handle and the step protocol."""

from __future__ import annotations

import asyncio
import inspect
import math
import random
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Union

from . import _aio, _otel, _pgqrs
from . import _records as rec
from ._errors import TimeoutError, ValidationError
from ._records import QueueMessage, RunRecord, StepRecord, StepResultStatus, WorkflowRecord
from ._time import TimeLike, to_micros
from ._time import millis as _millis
from ._time import seconds as _secs

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["BackoffStrategy", "StepRetryPolicy", "WorkflowDef", "WorkflowBuilder",
           "RunBuilder", "StepBuilder", "Run", "StepResult", "StepGuard", "workflow", "run",
           "step"]


class BackoffStrategy:
    """Delay before retry number n of a failed step (seconds)."""

    kind: str
    base: float
    max: float

    def __init__(self, kind: str, base: float, max: float) -> None:
        self.kind = kind
        self.base = base
        self.max = max

    @staticmethod
    def fixed(seconds: float) -> "BackoffStrategy":
        return BackoffStrategy("fixed", seconds, seconds)

    @staticmethod
    def exponential(base: float, max: float) -> "BackoffStrategy":
        return BackoffStrategy("exponential", base, max)

    @staticmethod
    def exponential_with_jitter(base: float, max: float) -> "BackoffStrategy":
        return BackoffStrategy("exponential_with_jitter", base, max)

    def __repr__(self) -> str:
        return f"BackoffStrategy.{self.kind}({self.base}, {self.max})"


class StepRetryPolicy:
    """Up to ``max_attempts`` retries of a step that raises TransientStepError, waiting
    ``backoff`` between them (default: exponential with jitter, 1 s .. 60 s)."""

    max_attempts: int
    backoff: BackoffStrategy

    def __init__(self, max_attempts: int = 3, backoff: Optional[BackoffStrategy] = None) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 0:
            raise ValidationError(f"max_attempts: expected an int >= 0, got {max_attempts!r}")
        self.max_attempts = max_attempts
        self.backoff = backoff or BackoffStrategy.exponential_with_jitter(1.0, 60.0)

    def _tuple(self) -> tuple[int, str, int, int]:
        b = self.backoff
        return (self.max_attempts, b.kind, _millis(b.base, "backoff base"),
                _millis(b.max, "backoff max"))

    def __repr__(self) -> str:
        return f"StepRetryPolicy(max_attempts={self.max_attempts}, backoff={self.backoff!r})"


class _NoInput:
    """Default of WorkflowDef.__call__'s input: not given, so the run's own input is used."""

    def __repr__(self) -> str:
        return "..."


_NO_INPUT: Any = _NoInput()


class WorkflowDef:
    """A workflow definition: a name (also its queue's) and an async handler
    ``(run, input) -> output``. Calling it runs the handler under the run protocol:
    start, then success with the return value, or fail with the exception (re-raised);
    the engine's control-flow errors (pause, step retry, cancel) pass through untouched.
    Made by @pgqrs.decorators.workflow."""

    name: str
    fn: Callable[..., Awaitable[Any]]
    retry_policy: Optional[StepRetryPolicy]

    def __init__(self, name: str, fn: Callable[..., Awaitable[Any]],
                 retry_policy: Optional[StepRetryPolicy] = None) -> None:
        self.name = name
        self.fn = fn
        self.retry_policy = retry_policy
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    async def __call__(self, ctx: "Run", input: Any = _NO_INPUT) -> Any:
        from ._errors import ENGINE_SIGNALS
        if input is _NO_INPUT:
            input = ctx.input
        record = await ctx.refresh()
        if record.status == rec.WorkflowStatus.Success:
            # As the original: a run that already succeeded runs its body again (its steps
            # come back Skipped) and returns the result; the stored output stays the first.
            result = self.fn(ctx, input)
            if inspect.isawaitable(result):
                result = await result
            await ctx.success(result)
            return result
        await ctx.start()
        try:
            result = self.fn(ctx, input)
            if inspect.isawaitable(result):
                result = await result
        except ENGINE_SIGNALS:
            raise
        except Exception as exc:
            await ctx.fail(exc)
            raise
        await ctx.success(result)
        return result

    def __repr__(self) -> str:
        return f"WorkflowDef(name={self.name!r})"


def _error_json(error: Any) -> Any:
    if isinstance(error, BaseException):
        return {"message": str(error), "type": type(error).__name__}
    if isinstance(error, str):
        return {"message": error}
    return error


# ---- builders ----------------------------------------------------------------------------


class WorkflowBuilder:
    """``workflow().name(n).store(s)`` -> ``create()`` / ``trigger(input).execute()``."""

    def __init__(self) -> None:
        self._name: Optional[str] = None
        self._store: "Store" = None
        self._input: Any = None
        self._has_input = False
        self._flow: dict[str, Any] = {}

    def name(self, name: Union[str, WorkflowDef]) -> "WorkflowBuilder":
        self._name = name.name if isinstance(name, WorkflowDef) else name
        return self

    def store(self, store: "Store") -> "WorkflowBuilder":
        self._store = store
        return self

    def trigger(self, input: Any) -> "WorkflowBuilder":
        self._input = input
        self._has_input = True
        return self

    def priority(self, priority: int) -> "WorkflowBuilder":
        """The run message's priority (smaller first; docs/flow-control.md)."""
        self._flow["priority"] = priority
        return self

    def dedup_key(self, key: str) -> "WorkflowBuilder":
        """An idempotent trigger: while a run message with this key is live, execute()
        creates nothing and returns that message."""
        self._flow["dedup_key"] = key
        return self

    def concurrency_key(self, key: str) -> "WorkflowBuilder":
        self._flow["concurrency_key"] = key
        return self

    def _need(self) -> tuple[str, Any]:
        if self._name is None:
            raise ValidationError("workflow(): no name given (call .name(...))")
        if self._store is None:
            raise ValidationError(f"workflow '{self._name}': no store given (call .store(s))")
        return self._name, self._store

    async def create(self) -> WorkflowRecord:
        """Registers the workflow and a queue of the same name; a no-op if it exists."""
        name, store = self._need()
        return WorkflowRecord(**await _aio.call(_pgqrs.workflow_create, store._native, name))

    async def execute(self) -> QueueMessage:
        """Creates the run (QUEUED) and its message; ValidationError if unregistered."""
        name, store = self._need()
        if not self._has_input:
            raise ValidationError(f"workflow '{name}': nothing to execute (call .trigger(input))")
        if _otel.active():
            return await _otel.traced_enqueue(
                name, 1,
                lambda tp, ts: self._trigger_traced(store, name, tp, ts))
        return await self._trigger_traced(store, name, None, None)

    async def _trigger_traced(self, store: "Store", name: str, tp: Optional[str],
                              ts: Optional[str]) -> QueueMessage:
        """The trigger, with the flow fields when given and the trace context when given."""
        if self._flow:
            return rec.message(await _aio.call(
                _pgqrs.workflow_trigger_flow, store._native, name, self._input,
                self._flow.get("priority"), self._flow.get("dedup_key"),
                self._flow.get("concurrency_key"), tp, ts))
        if tp is None:
            return rec.message(await _aio.call(_pgqrs.workflow_trigger, store._native, name,
                                               self._input))
        return rec.message(await _aio.call(_pgqrs.workflow_trigger_traced, store._native, name,
                                           self._input, tp, ts))


class RunBuilder:
    """``run().message(m).store(s)`` -> ``execute()`` (a Run handle), ``result()``, ``get()``."""

    def __init__(self) -> None:
        self._run_id: Optional[int] = None
        self._message_id: Optional[int] = None
        self._store: "Store" = None

    def message(self, msg: QueueMessage) -> "RunBuilder":
        self._message_id = msg.id  # the run is found from the message id
        return self

    def id(self, run_id: int) -> "RunBuilder":
        self._run_id = int(run_id)
        return self

    def store(self, store: "Store") -> "RunBuilder":
        self._store = store
        return self

    def _args(self) -> tuple[Any, Optional[int], Optional[int]]:
        if self._store is None:
            raise ValidationError("run(): no store given (call .store(store))")
        return self._store._native, self._run_id, self._message_id

    async def execute(self) -> "Run":
        return Run(await _aio.call(_pgqrs.run_execute, *self._args()), self._store)

    async def record(self) -> RunRecord:
        return rec.run(await _aio.call(_pgqrs.run_record, *self._args()))

    async def get(self) -> Any:
        """The output if the run succeeded, None if it has not finished;
        ExecutionFailedError for ERROR, WorkflowCancelledError for CANCELLED."""
        return await _aio.call(_pgqrs.run_get, *self._args())

    async def result(self, timeout: Optional[float] = None) -> Any:
        """Waits for the outcome (as get(), but waiting); pgqrs.TimeoutError after
        ``timeout`` seconds (None: no limit). Waiting does not hold a thread."""
        args = self._args()
        # The timeout is measured on the store's clock (a ManualClock when the store was
        # connected on one); the re-reads between are real time, so no thread is held.
        now = _clock_reader(self._store)
        deadline = None if timeout is None else now() + _secs_f(timeout)
        interval = max(0.005, min(0.2, self._store.config.poll_interval_ms / 1000.0))
        while True:
            record = rec.run(await _aio.call(_pgqrs.run_record, *args))
            if record.status in (rec.WorkflowStatus.Success, rec.WorkflowStatus.Error,
                                 rec.WorkflowStatus.Cancelled):
                return await _aio.call(_pgqrs.run_get, *args)
            if deadline is not None and now() >= deadline:
                raise TimeoutError(f"run {record.id} did not finish within {timeout} s "
                                   f"(status {record.status.value})")
            await asyncio.sleep(interval)


def _clock_reader(store: Any) -> Callable[[], float]:
    """Seconds on the store's clock: its ManualClock, else time.monotonic."""
    clock = getattr(store, "_clock", None)
    if clock is None:
        return time.monotonic
    return lambda: clock._native.now_us() / 1_000_000


def _secs_f(value: float) -> float:
    from ._time import seconds_float
    return seconds_float(value, "timeout")


class StepBuilder:
    """``step().run(run).name("s")`` -> ``execute()``: acquire_step with an optional
    retry policy for the step."""

    def __init__(self) -> None:
        self._run: Optional[Run] = None
        self._name: Optional[str] = None
        self._policy: Optional[StepRetryPolicy] = None
        self._time: Optional[TimeLike] = None

    def run(self, run: "Run") -> "StepBuilder":
        self._run = run
        return self

    def name(self, name: str) -> "StepBuilder":
        self._name = name
        return self

    def retry_policy(self, policy: StepRetryPolicy) -> "StepBuilder":
        self._policy = policy
        return self

    def current_time(self, iso: TimeLike) -> "StepBuilder":
        self._time = iso
        return self

    async def execute(self) -> "StepResult":
        if self._run is None or self._name is None:
            raise ValidationError("step(): give .run(run) and .name(name)")
        return await self._run._acquire(self._name, self._time, self._policy)


def workflow() -> WorkflowBuilder:
    return WorkflowBuilder()


def run() -> RunBuilder:
    return RunBuilder()


def step() -> StepBuilder:
    return StepBuilder()


# ---- Run and steps ------------------------------------------------------------------------


class Run:
    """One execution of a workflow run: handed to a workflow handler by the worker, or
    obtained with ``await run().message(m).store(s).execute()`` to drive it by hand
    (start, steps, success / fail). Use it from one task at a time."""

    def __init__(self, native: Any, store: "Store",
                 policy: Optional[StepRetryPolicy] = None) -> None:
        self._native = native
        self._store = store
        self._policy = policy  # the workflow's retry policy (None: the original's backoff)

    def id(self) -> int:
        return self._native.id()

    @property
    def input(self) -> Any:
        return self._native.input

    @property
    def current_time(self) -> str:
        return self._native.current_time

    def with_time(self, iso: TimeLike) -> "Run":
        """A handle on the same run whose "now" is ``iso`` (steps, pauses)."""
        return Run(self._native.with_time(_time_arg(iso)), self._store, self._policy)

    async def start(self) -> None:
        """QUEUED|PAUSED|RUNNING -> RUNNING; ValidationError naming the state otherwise."""
        await _aio.call(self._native.start)

    async def success(self, result: Any) -> bool:
        """RUNNING -> SUCCESS with ``result`` (CANCELLED if a cancel was requested)."""
        return await _aio.call(self._native.complete, result)

    async def complete(self, result: Any) -> bool:
        return await self.success(result)

    async def fail(self, error: Any) -> bool:
        """RUNNING -> ERROR with ``error`` (an exception, a message or a JSON value)."""
        return await _aio.call(self._native.fail, _error_json(error))

    async def pause(self, message: str, resume_after_seconds: float) -> bool:
        """As in the original pgqrs: records and returns True. The run becomes PAUSED with
        error ``{"message", "resume_after"}`` (no step row; the message's lease is
        untouched). Raise PausedError from a worker-driven handler afterwards and the
        worker hides the run's message until the wake time; start() resumes the run. The
        durable timer that raises by itself is ``sleep(name, seconds)``."""
        return await _aio.call(self._native.pause_run, message,
                               _secs(resume_after_seconds, "resume_after_seconds"))

    async def cancel(self) -> bool:
        """QUEUED|RUNNING|PAUSED -> CANCELLING; False for a finished run."""
        return await _aio.call(self._native.cancel)

    async def refresh(self) -> RunRecord:
        """The run's record, fresh from storage."""
        return rec.run(await _aio.call(self._native.record))

    async def steps(self) -> list[StepRecord]:
        return [rec.step(d) for d in await _aio.call(self._native.steps)]

    async def acquire_step(self, name: str, current_time: Optional[TimeLike] = None) -> "StepResult":
        """Depends only on the stored step row, as in the original pgqrs; call it any number
        of times. No row or RUNNING: Execute (a StepGuard records the outcome); SUCCESS:
        Skipped with the stored value; ERROR waiting for a later retry: StepNotReadyError;
        ERROR whose retry time came (at ``current_time``, RFC 3339, default now): Execute
        again; ERROR with no retry left: RetriesExhaustedError (also an
        ExecutionFailedError). A malformed ``current_time`` is a ValueError."""
        return await self._acquire(name, current_time, None)

    async def _acquire(self, name: str, current_time: Optional[TimeLike],
                       policy: Optional[StepRetryPolicy]) -> "StepResult":
        target = self if current_time is None else self.with_time(current_time)
        status, value = await _aio.call(target._native.acquire_step, name)
        if status == "skipped":
            return StepResult(StepResultStatus.Skipped, value, None)
        return StepResult(StepResultStatus.Execute, None, StepGuard(target, name, policy))

    async def complete_step(self, name: str, output: Any) -> None:
        await _aio.call(self._native.complete_step, name, output)

    async def fail_step(self, name: str, error: Any, current_time: Optional[TimeLike] = None) -> None:
        target = self if current_time is None else self.with_time(current_time)
        await _aio.call(target._native.fail_step, name, _error_json(error))

    async def sleep(self, name: str, seconds: float) -> None:
        """Durable timer ``name``: the first time it pauses the run (PausedError); once
        due, later executions pass straight on."""
        await _aio.call(self._native.sleep, name, _millis(seconds, "seconds"))

    async def patched(self, name: str) -> bool:
        """Safe upgrades: ``if await ctx.patched("fix-x"): new code else: old code``. True
        when the run reaches this point for the first time on code that has the patch,
        False when it had already gone past it on older code (it recorded a step this
        execution has not reached yet). The answer is recorded (step ``patch:<name>``), so
        every later execution gets the same one. ValidationError for an empty name."""
        return await _aio.call(self._native.patched, name)

    # ---- workflows that talk (docs/workflows.md); each call is recorded as a step, so a
    # replay returns what the first execution got and does nothing twice.

    async def recv(self, topic: str, timeout: float = 60.0) -> Any:
        """The oldest unread message of ``topic`` sent to this run (``pgqrs.send``), each
        received once, in send order. With none there the run waits durably (PausedError
        unwinds the handler; a send wakes it) up to ``timeout`` seconds on the engine's
        clock; then None."""
        found, value = await _aio.call(_pgqrs.run_recv, self._native, topic,
                                       _millis(timeout, "timeout"))
        return value if found else None

    async def send(self, run_id: int, topic: str, payload: Any) -> int:
        """Sends to run ``run_id`` exactly once; returns the message id."""
        return await _aio.call(_pgqrs.run_send, self._native, int(run_id), topic, payload)

    async def set_event(self, key: str, value: Any) -> None:
        """Publishes ``value`` as the latest value of event ``key`` (``pgqrs.get_event``)."""
        await _aio.call(_pgqrs.run_set_event, self._native, key, value)

    async def write_stream(self, key: str, value: Any) -> None:
        """Appends ``value`` to stream ``key`` (``pgqrs.read_stream``)."""
        await _aio.call(_pgqrs.run_write_stream, self._native, key, value)

    async def close_stream(self, key: str) -> None:
        """Ends stream ``key`` (a stream also ends when the run finishes)."""
        await _aio.call(_pgqrs.run_close_stream, self._native, key)

    async def start_child(self, workflow: Union[str, "WorkflowDef"], input: Any = None) -> Any:
        """Starts a run of ``workflow`` as a child of this run, exactly once (a replay gets
        the same child); ``await child.result()`` waits for it. Cancelling this run cancels
        its unfinished children."""
        from ._coordination import ChildRun
        name = workflow.name if isinstance(workflow, WorkflowDef) else workflow
        child_id = await _aio.call(_pgqrs.run_start_child, self._native, name, input)
        return ChildRun(self, child_id)

    async def gather(self, *children: Any) -> list:
        """The outputs of ``children`` in order, once all ended (one durable wait);
        ExecutionFailedError when one failed or was cancelled."""
        ids = [c.id if hasattr(c, "id") else int(c) for c in children]
        return await _aio.call(_pgqrs.run_gather, self._native, ids)

    def __repr__(self) -> str:
        return f"Run(id={self.id()})"


class StepGuard:
    """Records the outcome of a step that must execute."""

    name: str

    def __init__(self, run: Run, name: str, policy: Optional[StepRetryPolicy]) -> None:
        self._run = run
        self.name = name
        self._policy = policy

    async def success(self, result: Any) -> None:
        await _aio.call(self._run._native.complete_step, self.name, result)

    async def fail(self, error: Any) -> None:
        await _aio.call(self._run._native.fail_step, self.name, _error_json(error))

    async def fail_transient(self, code: str, message: str,
                             retry_after: Optional[float] = None) -> None:
        """Records a transient failure and returns None (it never raises for the retry).
        The step becomes ERROR with ``{"is_transient": true, "code", "message"}`` (+
        ``retry_after``). While retries are left (retry_count < max_attempts, default 3) it
        is retried at the guard's time + delay (``floor(retry_after)`` s, else the policy's
        backoff; without a policy the original's min(60, 2^n) s +- floor(delay/4) s, at
        least 1 s); otherwise retry_at stays NULL and the next acquire raises
        RetriesExhaustedError. ``retry_after`` must be finite and >= 0 (ValueError)."""
        if retry_after is not None:
            if (isinstance(retry_after, bool) or not isinstance(retry_after, (int, float))
                    or not math.isfinite(retry_after) or retry_after < 0):
                raise ValueError(f"retry_after must be finite and >= 0, got {retry_after!r}")
        error: dict[str, Any] = {"is_transient": True, "code": code, "message": message}
        policy = self._policy or self._run._policy
        delay_ms: Optional[int] = None
        if retry_after is not None:
            error["retry_after"] = retry_after
            delay_ms = int(math.floor(retry_after)) * 1000
        elif policy is None:
            delay_ms = _original_delay(await self._retry_count()) * 1000
        await _aio.call(self._run._native.fail_step_transient, self.name, error, delay_ms,
                        None if policy is None else policy._tuple())

    async def _retry_count(self) -> int:
        for d in await _aio.call(self._run._native.steps):
            step = rec.step(d)
            if step.step_name == self.name:
                return step.retry_count
        return 0


def _original_delay(n: int) -> int:
    """The original pgqrs backoff for retry n + 1, in whole seconds."""
    delay = min(60, 2 ** min(n, 6))
    spread = delay // 4
    return max(1, delay + random.randint(-spread, spread))


def _time_arg(iso: TimeLike) -> int:
    try:
        return to_micros(iso, "current_time")
    except ValidationError as e:  # a ValueError too
        raise ValueError(str(e)) from None


class StepResult:
    """Outcome of acquire_step: ``status``; ``value`` (the stored output when Skipped);
    ``guard`` (a StepGuard when it must Execute)."""

    status: StepResultStatus
    value: Any
    guard: Optional[StepGuard]

    def __init__(self, status: StepResultStatus, value: Any, guard: Optional[StepGuard]) -> None:
        self.status = status
        self.value = value
        self.guard = guard

    def __repr__(self) -> str:
        return f"StepResult(status={self.status}, value={self.value!r})"
