"""Stopping the bridge's tasks: a cancellation swallowed on the way must not stall shutdown.

A library can turn a cancellation into an ordinary error (a request timeout firing as the
cancellation arrives), which the bridge then handles like any failed request, and the task goes
on. ``app.cancelled`` therefore cancels a task again until it ends, within a deadline.
"""

from __future__ import annotations

import asyncio

from adcbridge.app import cancelled


async def test_a_task_that_swallows_its_cancellation_is_cancelled_again() -> None:
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.set()  # and carries on, as if a request had merely failed
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancelled({task}, again_every=0.05), 2.0)
    assert swallowed.is_set()
    assert task.cancelled()


async def test_a_task_that_will_not_end_is_left_at_the_deadline() -> None:
    stop = False

    async def immortal() -> None:
        while not stop:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(immortal())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await cancelled({task}, within=0.3, again_every=0.05)
    assert 0.3 <= loop.time() - started < 1.0
    assert not task.done()
    stop = True
    task.cancel()
    await asyncio.wait({task})
    assert task.done()
