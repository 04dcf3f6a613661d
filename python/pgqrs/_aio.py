"""How blocking native calls become coroutines (internal).

* :func:`call` runs a short storage call (one statement or transaction) on the event
  loop's default executor. The native call releases the GIL, so other threads and the loop
  keep running.
* :func:`call_long` runs a call that can block for long (poll loops, waiting dequeues) on
  a dedicated daemon thread, so it never starves the executor that handlers' own storage
  calls need. Cancelling the awaiting task requests the native loop to stop (through a
  StopSource) and waits for it to return, so no handler runs after cancellation.
* :func:`invoker` adapts a user handler for a call from an engine thread: a plain function
  runs on that thread; a coroutine function runs on the event loop and the engine thread
  waits for it. Either way the handler's own exception propagates unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import threading
from typing import Any, Callable

from . import _pgqrs


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(fn, *args))


async def call_long(fn: Callable[..., Any], *args: Any, stop: Any = None) -> Any:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if done.cancelled():
            return
        if ok:
            done.set_result(value)
        else:
            done.set_exception(value)

    def runner() -> None:
        try:
            value, ok = fn(*args), True
        except BaseException as exc:  # handed to the awaiting task
            value, ok = exc, False
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(deliver, ok, value)

    threading.Thread(target=runner, name="pgqrs-worker", daemon=True).start()
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        if stop is not None:
            stop.request_stop()
            with contextlib.suppress(BaseException):
                await done
        raise


def invoker(handler: Callable[..., Any], loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """``handler`` made callable from an engine thread (see the module docstring)."""

    def call_handler(*args: Any) -> Any:
        result = handler(*args)
        if inspect.isawaitable(result):
            out = asyncio.run_coroutine_threadsafe(_awaited(result), loop).result()
            if isinstance(out, _Abort):
                raise out.exc  # re-raised here, on the engine thread: the loop stops
            return out
        return result

    return call_handler


class _Abort:
    """A BaseException that is not an Exception (KeyboardInterrupt, SystemExit), carried
    out of the event loop's task as a value: raised inside a task, asyncio would also
    re-raise it from the event loop itself."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def _awaited(awaitable: Any) -> Any:
    try:
        return await awaitable
    except Exception:
        raise
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # noqa: B036 - handed to the engine thread, see _Abort
        return _Abort(exc)


def new_stop() -> Any:
    return _pgqrs.StopSource()
