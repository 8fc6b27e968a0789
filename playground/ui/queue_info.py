"""What Gradio's queue knows about the request being handled: when it joined the queue, and whether a session has
requests waiting in line. Read from the running app's queue; None / False when it cannot be read (e.g. a handler
called directly, outside a Gradio event)."""

from __future__ import annotations


def _queue():
    from gradio.context import LocalContext

    blocks = LocalContext.blocks.get(None)
    return getattr(blocks, "_queue", None)


def enqueued_at() -> float | None:
    """When the request being handled joined the queue (`time.monotonic()`), or None when unknown."""
    from gradio.context import LocalContext

    event_id, queue = LocalContext.event_id.get(None), _queue()
    for job in getattr(queue, "active_jobs", None) or []:
        for event in job or []:
            if getattr(event, "_id", None) == event_id:
                return getattr(event, "enqueue_time", None)
    return None


def waiting(session_hash: str | None) -> bool:
    """Whether a request of the session waits in line (not started yet)."""
    queue = _queue()
    if queue is None or not session_hash:
        return False
    lines = getattr(queue, "event_queue_per_concurrency_id", {}) or {}
    return any(getattr(e, "session_hash", None) == session_hash for line in list(lines.values()) for e in line.queue)
