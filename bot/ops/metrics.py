"""Prometheus metrics of a running bot, served as text at http://127.0.0.1:METRICS_PORT/metrics.

The only module that imports prometheus_client. The rest of the program reports what happens
through plain methods (``poll_done``, ``alerts_sent``, ``alerts_failed``, ``message_sent``):
the delivery code takes them as a ``DeliveryObserver`` and never sees Prometheus.

Counters count from the start of the process (Prometheus's ``rate()`` and ``increase()`` take
restarts in their stride). The gauges that the store knows (posts stored, alerts pending) are
read at scrape time, so a scrape always sees the store as it is: the scrape runs in the HTTP
server's thread, which must not touch the store's connection, so it asks the bot's event loop
to run the queries and waits for them (``SCRAPE_WAIT`` at most; then the last values are shown).
No label holds a chat, a query or a phrase: the only label is ``edition`` (en, fa).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from bot.errors import MetricsError

log = logging.getLogger(__name__)

RATE_WINDOW = 60  # seconds that hrm_send_rate averages over
SCRAPE_WAIT = 5.0  # seconds a scrape waits for the store's figures from the event loop
# A poll is a few requests to one site, each up to FETCH_TIMEOUT (20 s by default).
POLL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)


@dataclass(frozen=True, slots=True)
class StoreFigures:
    """What the gauges read from the store at a scrape."""

    posts: Mapping[str, int] = field(default_factory=dict)  # by edition key
    pending: int = 0  # outbox rows still to send


class RateWindow:
    """Events per second over the last ``seconds`` whole seconds, in one counter a second:
    its memory does not grow with the rate. Safe to use from two threads."""

    def __init__(self, seconds: int = RATE_WINDOW, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._counts = [0] * seconds
        self._stamps = [-1] * seconds
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        second = int(self._clock())
        slot = second % self.seconds
        with self._lock:
            if self._stamps[slot] != second:
                self._stamps[slot] = second
                self._counts[slot] = 0
            self._counts[slot] += n

    def rate(self) -> float:
        now = int(self._clock())
        with self._lock:
            total = sum(
                count
                for count, stamp in zip(self._counts, self._stamps, strict=True)
                if 0 <= now - stamp < self.seconds
            )
        return total / self.seconds


class _StoreGauges(Collector):
    """The gauges computed at scrape time: posts stored, alerts pending, the send rate."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Metric]:
        # Given, so that registering does not run a scrape.
        return self._families(None, 0.0)

    def collect(self) -> Iterable[Metric]:
        return self._families(self.metrics.figures(), self.metrics.rate.rate())

    def _families(self, figures: StoreFigures | None, rate: float) -> list[Metric]:
        posts = GaugeMetricFamily(
            "hrm_posts_stored", "Posts stored in the archive, by edition.", labels=["edition"]
        )
        pending = GaugeMetricFamily(
            "hrm_alerts_pending",
            "Alerts waiting to be sent (postponed ones included; not those held for a digest).",
        )
        if figures is not None:
            for edition, count in figures.posts.items():
                posts.add_metric([edition], count)
            pending.add_metric([], figures.pending)
        send_rate = GaugeMetricFamily(
            "hrm_send_rate",
            f"Messages Telegram accepted per second, over the last {RATE_WINDOW} seconds "
            "(alerts, digests, edits, notices and replies).",
            value=rate,
        )
        return [posts, pending, send_rate]


class Metrics:
    """The bot's metrics in a registry of their own (not prometheus_client's global one, so
    that two bots in one process, as in the tests, do not collide)."""

    def __init__(
        self,
        editions: Sequence[str],
        send_limit: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = CollectorRegistry()
        # Memory, CPU time, open files and the start time (a restart shows): what an operator
        # looks at first. Read from /proc, so on Linux only; it adds nothing elsewhere. The GC
        # and platform collectors are left out: nothing an operator of this bot acts on.
        ProcessCollector(registry=self.registry)
        self.rate = RateWindow(clock=clock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._read: Callable[[], Awaitable[StoreFigures]] | None = None
        self._last: StoreFigures | None = None
        self._sent = Counter(
            "hrm_alerts_sent",
            "Alerts delivered: each report of a digest counts as one; edits and notices do not.",
            registry=self.registry,
        )
        self._failed = Counter(
            "hrm_alerts_failed",
            "Alerts given up: refused by Telegram, out of retries, or their report deleted.",
            registry=self.registry,
        )
        self._poll_failures = Counter(
            "hrm_poll_failures",
            "Polls of the site that failed, by edition.",
            ["edition"],
            registry=self.registry,
        )
        self._poll_duration = Histogram(
            "hrm_poll_duration_seconds",
            "How long a poll of the site took, failed ones included, by edition.",
            ["edition"],
            buckets=POLL_BUCKETS,
            registry=self.registry,
        )
        for edition in editions:
            # Every edition's series from the start: a counter that appears only at its
            # first failure hides that first increase from rate().
            self._poll_failures.labels(edition)
            self._poll_duration.labels(edition)
        Gauge(
            "hrm_send_rate_limit",
            "The pace messages are held to (SEND_RATE), per second: compare hrm_send_rate.",
            registry=self.registry,
        ).set(send_limit)
        self.registry.register(_StoreGauges(self))
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- what happens, told by the rest of the program (on the event loop) -------------------

    def poll_done(self, edition: str, ok: bool, seconds: float) -> None:
        self._poll_duration.labels(edition).observe(seconds)
        if not ok:
            self._poll_failures.labels(edition).inc()

    def alerts_sent(self, n: int = 1) -> None:
        self._sent.inc(n)

    def alerts_failed(self, n: int = 1) -> None:
        self._failed.inc(n)

    def message_sent(self) -> None:
        self.rate.add()

    # -- the store's gauges -----------------------------------------------------------------

    def attach(
        self, loop: asyncio.AbstractEventLoop, read: Callable[[], Awaitable[StoreFigures]]
    ) -> None:
        """From now on, scrapes read the store's figures with ``read``, run on ``loop``."""
        self._loop, self._read = loop, read

    def detach(self) -> None:
        """Before the store closes: scrapes show the last figures read."""
        self._loop = self._read = None

    def figures(self) -> StoreFigures | None:
        """The store's figures now, or the last ones read when the event loop does not answer
        in time (busy, stopping); None before the store is open."""
        loop, read = self._loop, self._read
        if loop is None or read is None or loop.is_closed():
            return self._last
        try:
            if asyncio.get_running_loop() is loop:
                return self._last  # waiting here for the loop would wait for ourselves
        except RuntimeError:
            pass
        future = asyncio.run_coroutine_threadsafe(_call(read), loop)
        try:
            self._last = future.result(SCRAPE_WAIT)
        except concurrent.futures.TimeoutError:
            future.cancel()
            log.warning(
                "metrics: the store's figures took over %g s; last ones shown", SCRAPE_WAIT
            )
        except Exception:
            log.exception("metrics: cannot read the store's figures; last ones shown")
        return self._last

    # -- the page -----------------------------------------------------------------------------

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        """Serve the page on ``address``:``port`` in a thread of its own, until ``stop()``."""
        if self._server is not None:
            return
        try:
            self._server, self._thread = start_http_server(port, address, self.registry)
        except OSError as exc:
            reason = (
                "the port is already in use (another program, or another hrm-bot, serves it): "
                "choose another METRICS_PORT or leave it empty"
                if exc.errno == errno.EADDRINUSE
                else exc.strerror or str(exc)
            )
            raise MetricsError(
                f"cannot serve metrics on {address}:{port} (METRICS_PORT={port}): {reason}"
            ) from None
        log.info("metrics: serving http://%s:%d/metrics", address, port)

    @property
    def port(self) -> int | None:
        return None if self._server is None else int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop serving and free the port; nothing when not serving."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)


async def _call(read: Callable[[], Awaitable[StoreFigures]]) -> StoreFigures:
    return await read()
