"""Measuring a fit in a fresh process, so that its peak memory and its imports are its own."""

from __future__ import annotations

import multiprocessing


def in_fresh_process(target, *args):
    """``target(*args, queue)`` in a new ("spawn") process; what it puts on the queue."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result
