"""Live fan-out of run events to websocket subscribers (DESIGN §2)."""

from __future__ import annotations

from trainscope.live.hub import Hub, Message, Subscriber, coalesce

__all__ = ["Hub", "Message", "Subscriber", "coalesce"]
