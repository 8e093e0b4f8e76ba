"""The controller's publish/subscribe: typed notices to whoever subscribed (DESIGN, principle 8).

The controller publishes what it learns (:mod:`routing.notices`, :class:`agents.seats.SeatChanged`,
:class:`tickets.service.TicketDraft`); the composition root (:mod:`hotline.runtime`) subscribes
the ticket writer, metrics and, later, the desktops' streams. So no part calls another around
the controller, and each can be tested alone.

Rules:

* **Synchronous and in order**: ``publish`` calls each subscriber of the notice's exact type,
  in the order they subscribed, before it returns. A subscriber must be cheap and must not
  block (this runs on the AMI event path, tens of thousands of events a second): one that has
  slow work to do queues it (the ticket writer does).
* **A subscriber cannot break the controller or the others**: its exception is counted (by the
  subscriber's name, ``on_error``) and logged once per subscriber (the exception, never the
  notice's values: they can hold a phone number); the other subscribers still get the notice.
* **Nothing is built for nobody**: :meth:`Bus.wants` tells the publisher whether anyone
  subscribed to a type, so the notices nobody reads cost a dictionary lookup.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Bus"]

log = logging.getLogger(__name__)

N = TypeVar("N")


class Bus:
    """Typed, synchronous publish/subscribe.

    >>> bus = Bus()
    >>> got = []
    >>> unsubscribe = bus.subscribe(int, got.append, name="ints")
    >>> bus.publish(7); bus.publish("not an int"); unsubscribe(); bus.publish(8)
    >>> got, bus.wants(int)
    ([7], False)
    """

    __slots__ = ("_logged", "_on_error", "_subs", "errors")

    def __init__(self, on_error: Callable[[str], None] = lambda subscriber: None) -> None:
        #: Notice type -> its subscribers as ``(name, callable)``; replaced, never mutated, so a
        #: subscription made during a publish takes effect from the next notice.
        self._subs: dict[type, tuple[tuple[str, Callable[[Any], object]], ...]] = {}
        self._on_error = on_error
        self._logged: set[str] = set()
        #: Exceptions raised by subscribers, by subscriber name.
        self.errors: Counter[str] = Counter()

    def subscribe(
        self, kind: type[N], fn: Callable[[N], object], *, name: str | None = None
    ) -> Callable[[], None]:
        """Call ``fn(notice)`` for every notice of type ``kind`` from now on; returns the function
        that ends the subscription. ``name`` (default: ``fn``'s qualified name) labels its
        errors: keep it a fixed word (``ticket_writer``), it becomes a metric label."""
        entry = (name or getattr(fn, "__qualname__", repr(fn)), fn)
        self._subs[kind] = (*self._subs.get(kind, ()), entry)

        def unsubscribe() -> None:
            left = tuple(e for e in self._subs.get(kind, ()) if e is not entry)
            if left:
                self._subs[kind] = left
            else:
                self._subs.pop(kind, None)

        return unsubscribe

    def wants(self, kind: type) -> bool:
        """Whether anyone subscribed to ``kind`` (publishers skip building unread notices)."""
        return kind in self._subs

    def publish(self, notice: object) -> None:
        subs = self._subs.get(type(notice))
        if subs is None:
            return
        for name, fn in subs:
            try:
                fn(notice)
            except Exception:
                self._failed(name, notice)

    def _failed(self, name: str, notice: object) -> None:
        self.errors[name] += 1
        try:
            self._on_error(name)
        except Exception:
            log.exception("counting a subscriber error failed")
        if name not in self._logged:
            self._logged.add(name)
            log.exception(
                "subscriber %s failed on a %s notice; the others got it, and its further "
                "failures are only counted",
                name,
                type(notice).__name__,
            )
