"""A request body read whole, as its ASGI messages, then handed on as if it had not been read.

Load shedding reads a body before it admits the request; the fast lane reads it to see
whether the request is its own. Both hand it on to the app behind them with `replaying`.
"""

from __future__ import annotations

from starlette.types import Message, Receive


async def read_messages(receive: Receive) -> list[Message] | None:
    """The body's messages, to the last one; None if the client hung up.

    Bounded in size and time by the body limits outside, which stop this read.
    """
    messages: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        messages.append(message)
        if not message.get("more_body", False):
            return messages


def joined(messages: list[Message]) -> bytes:
    """The body the messages carry."""
    if len(messages) == 1:
        return bytes(messages[0].get("body", b""))
    return b"".join(m.get("body", b"") for m in messages)


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives `messages` first, then whatever `receive` gives."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
