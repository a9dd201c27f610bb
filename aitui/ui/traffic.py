"""Traffic (`t`) and predict (`p`): requests to the replicas of the store's workload (the one `d` deploys),
from the current target's endpoints. Each is a small non-visual widget that owns its worker and state;
what they say goes to Activity, what predict answers opens a screen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.message import Message
from textual.widget import Widget

from aitui import messages as msg
from aitui.config import Settings
from aitui.ui.dialogs import PredictionScreen

if TYPE_CHECKING:
    from aitui.services.targets import Target
    from aitui.services.traffic import Traffic
    from aitui.ui.store import WorkloadStore

SECONDS = 600.0  # traffic stops after this long, this many requests, or this long with no ready replica
CAP = 100_000
IDLE = 30.0
MAX_FILE = 6 << 20  # an image file p sends: base64 in JSON (4/3 of it) must fit a replica's 8 MiB body


class TrafficControl(Widget):
    DEFAULT_CSS = "TrafficControl { display: none; }"

    @dataclass
    class Started(Message):
        traffic: Any  # services.traffic.Traffic

    @dataclass
    class Ended(Message):
        traffic: Any  # services.traffic.Traffic, ended on its own (its limit, its cap, no ready replica)

    def __init__(self, settings: Settings, store: WorkloadStore, target_of: Callable[[], Target],
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings, self.store = settings, store
        self._target_of = target_of
        self.traffic: Traffic | None = None
        self._quit = threading.Event()

    @property
    def running(self) -> bool:
        return self.traffic is not None and self.traffic.running

    def stop(self) -> None:
        if self.traffic is not None and self.traffic.running:
            self.traffic.stop()
            self.post_message(msg.Say(f"traffic: stopped after {self.traffic.totals()}"))
        self.traffic = None

    def on_unmount(self) -> None:
        self._quit.set()
        if self.traffic is not None:
            self.traffic.stop()

    @work(thread=True, group="traffic", exclusive=True, exit_on_error=False)
    def start(self, concurrency: int, workload: str | None = None) -> None:
        """Load on `workload` (default the store's), with its model's samples in turn."""
        from aitui.services import samples
        from aitui.services.traffic import Traffic

        target, workload = self._target_of(), workload or self.store.default
        retries = self.settings.traffic_retries
        try:
            model, found = samples.for_workload(self.settings, target, workload)
        except samples.NoSamples as exc:
            self.post_message(msg.Say(f"traffic: {exc}", "warning"))
            return
        traffic = Traffic(lambda: target.endpoints(workload), [data for _, data in found], concurrency,
                          duration=SECONDS, max_requests=CAP, idle_limit=IDLE, retries=retries, model=model).start()
        self.post_message(self.Started(traffic))
        self.post_message(msg.Say(f"traffic: {concurrency} concurrent requests {traffic.limits()} (t stops); "
                                  + (f"a refused connection is resent up to {retries}x" if retries else "no retries")))
        self.post_message(msg.Say(f"traffic: {target.reach(workload)}"))
        while traffic.running:
            s = traffic.stats
            self.post_message(msg.Progress(f"{s.rate():.0f} req/s · {s.failed} failed · {s.retried} retried"))
            if self._quit.wait(1.0):
                return
        self.post_message(msg.Progress(""))
        if traffic.reason != "stopped":  # it ended on its own: say when and why, with its totals
            self.post_message(self.Ended(traffic))

    @on(Started)
    def _started(self, m: TrafficControl.Started) -> None:
        m.stop()
        self.traffic = m.traffic

    @on(Ended)
    def _ended(self, m: TrafficControl.Ended) -> None:
        m.stop()
        if self.traffic is m.traffic:
            self.traffic = None
        self.post_message(msg.Say(f"traffic: {m.traffic.why_ended()}: {m.traffic.totals()}",
                                  "warning" if m.traffic.reason == "idle" else "information", notify=True))


class Predictor(Widget):
    DEFAULT_CSS = "Predictor { display: none; }"

    @dataclass
    class Predicted(Message):
        sample: str  # the sample's label ("" for a file: no answer is expected)
        png: bytes
        labels: tuple[tuple[str, float], ...]
        detail: str
        title: str

    def __init__(self, settings: Settings, store: WorkloadStore, target_of: Callable[[], Target],
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings, self.store, self._target_of = settings, store, target_of
        self.last: Predictor.Predicted | None = None  # the last answer (P copies it)

    @work(thread=True, group="predict", exclusive=True, exit_on_error=False)
    def run(self, workload: str | None = None, file: str = "") -> None:
        """One of the model's samples at random, or the image `file`, to a ready replica of `workload` (default
        the store's)."""
        import random

        from aitui.services import samples
        from aitui.services.predict import predict
        from aitui.services.targets import TargetError

        target, workload = self._target_of(), workload or self.store.default
        if file:
            path = Path(file).expanduser()
            try:
                if path.stat().st_size > MAX_FILE:
                    raise OSError(f"{path.stat().st_size / 2**20:.0f} MiB: more than a replica takes")
                model, found = samples.served(target, workload), [("", path.read_bytes())]
            except OSError as exc:
                self.post_message(msg.Say(f"predict: {file}: {exc.strerror or exc}", "warning"))
                return
        else:
            try:
                model, found = samples.for_workload(self.settings, target, workload)
            except samples.NoSamples as exc:
                self.post_message(msg.Say(f"predict: {exc}", "warning"))
                return
        try:
            endpoints = target.endpoints(workload)
        except TargetError as exc:  # a port-forward the cluster forbids: in its words, whole
            self.post_message(msg.Say(f"predict: {exc}", "error"))
            return
        if not endpoints:
            self.post_message(msg.Say(f"predict: no ready replica ({target.reach(workload)})", "warning"))
            return
        sample, png = random.choice(found)
        result = predict(endpoints[0], png, model=model)
        if result.error:
            self.post_message(msg.Say(f"predict: {result.error}", "error"))
            return
        top, score = result.labels[0]
        where = target.route(result.endpoint)
        sent = f"a sample '{sample}'" if not file else Path(file).name
        self.post_message(msg.Say(f"predict: {sent} -> {top} ({score:.1%}) in "
                                  f"{result.seconds * 1000:.0f} ms from {where}"))
        detail = f"{where} answered in {result.seconds * 1000:.0f} ms · esc closes"
        self.post_message(self.Predicted(sample, png, result.labels, detail, f"Predict: {sent}"))

    @on(Predicted)
    def _predicted(self, m: Predictor.Predicted) -> None:
        m.stop()
        self.last = m
        if self.is_attached:
            self.app.push_screen(PredictionScreen(m.sample, m.png, m.labels, m.detail, m.title))
