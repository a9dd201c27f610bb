"""Demo mode (`:demo`), for a class: the README walkthrough replayed in the app, step by step. Each step
shows a caption (what is about to happen and why), then, on space, presses the step's keys itself — the
same keys a user would press, so what the class sees is the app doing it — and waits until the app shows
the step done (a condition on what the app shows, with a deadline), then says what to look at. esc (or
:demo again) leaves the demo; whatever it started keeps running, as if the keys had been typed. It drives the
App from above, as a user would: the program hands it to the App (cli.py), which knows it only as a guide."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.widgets import Static

if TYPE_CHECKING:
    from textual.timer import Timer

    from aitui.app import AituiApp


def _ready(app: AituiApp, n: int) -> bool:
    w = app.workloads.get(app.store.default)
    return w is not None and w.ready == n and w.desired == n


def _lines(app: AituiApp) -> list[str]:
    return list(app.query_one("#activity-log").lines)  # type: ignore[attr-defined]


def _said(app: AituiApp, text: str, since: int = 0) -> bool:
    """Activity said `text` since line `since` (the step's start: an earlier step's line does not count)."""
    return any(text in line for line in _lines(app)[since:])


def _traffic(app: AituiApp) -> int:
    """Requests answered by the traffic that runs now (0: none runs)."""
    from aitui.ui.traffic import TrafficControl

    t = app.query_one(TrafficControl).traffic
    return t.stats.ok if t is not None and t.running else 0


BUILT = re.compile(r"^build: \S+ \(\w+\) in \d+s")  # ui/build.py's line when a build is done


def _built(app: AituiApp, since: int) -> bool:
    from aitui.ui.build import BuildPanel

    return not app.query_one(BuildPanel).busy and any(BUILT.match(line) for line in _lines(app)[since:])


def _predicted(app: AituiApp, _since: int) -> bool:
    from aitui.ui.dialogs import PredictionScreen

    return isinstance(app.screen, PredictionScreen)


@dataclass(frozen=True)
class Step:
    title: str
    caption: str  # what the class reads before the keys are pressed
    keys: tuple[str | float, ...]  # pressed in order; a number is a pause in seconds (a dialog opening)
    done: Callable[[AituiApp, int], bool]  # the app shows the step done (Activity's lines from the 2nd on)
    then: str  # what to look at, once it is done
    timeout: float = 120.0


# The README's walkthrough (## The walkthrough), one step per numbered item; the captions say what it says.
STEPS: tuple[Step, ...] = (
    Step("build", "b builds the recognizer image from serving/: the build takes the screen and tells its story, "
         "stage by stage, with each training epoch's loss and accuracy.", ("b",), _built,
         "the new image is in Images with a ★, its version hash and held-out accuracy (esc gives the dashboard "
         "back while a build runs)", timeout=1800),
    Step("deploy", "d deploys the newest image: a dialog says where, what and how many; y confirms. Then the "
         "shipped samples go to the new replica (smoke test).", ("escape", 0.3, "d", 0.6, "y"),
         lambda app, since: _ready(app, 1) and _said(app, "smoke PASS", since),
         "the workload is 1/1 and its smoke test passed (Activity): Prometheus scrapes it from now on"),
    Step("traffic", "t starts traffic (concurrency prefilled): the charts fill with requests/s, latency "
         "p50/p95/p99, replicas and errors within about 15 s.", ("t", 0.6, "enter"),
         lambda app, _: _traffic(app) > 100,
         "the Activity tab counts requests/s, failed and retried; failed stays 0"),
    Step("scale up", "+ + scales to 3 while traffic runs: a new replica joins only once ready, and each gets "
         "its own line in the requests chart.", ("plus", 0.3, "plus"), lambda app, _: _ready(app, 3),
         "3/3 ready, and not one request failed on the way (Activity)"),
    Step("predict", "p sends a sample image to a replica and shows it, with the top-5 labels.", ("p",),
         _predicted, "the image and its labels: esc closes"),
    Step("rollout", "A new build rolls out one replica at a time, each new one ready before an old one drains; "
         "r does the same with the same image.", ("escape", 0.3, "r", 0.6, "y"),
         lambda app, since: _said(app, f"rollout {app.store.default}: 3 replicas on", since) and _ready(app, 3),
         "every replica replaced, traffic still flowing, still 0 failed", timeout=300),
    Step("scale down", "- - scales back to 1: each leaving replica drains first.", ("minus", 0.3, "minus"),
         lambda app, _: _ready(app, 1), "1/1 again", timeout=180),
    Step("stop", "t stops the traffic: its totals say how many requests went out and how many failed.", ("t",),
         lambda app, since: _said(app, "traffic: stopped after", since),
         "the totals in Activity: that is the walkthrough. q quits; aitui finds the workload again next time"),
)


class DemoCaption(Static):
    """The caption bar over the dashboard while the demo runs."""

    DEFAULT_CSS = """
    DemoCaption { dock: top; height: auto; max-height: 6; background: $accent 30%; color: $text;
                  border: tall $accent; padding: 0 1; }
    """


class Demo:
    """The demo's state and its timers, owned by the App (one at a time)."""

    def __init__(self, app: AituiApp, steps: tuple[Step, ...] = STEPS, first: int = 1) -> None:
        self.app, self.steps = app, steps
        self.index = max(0, min(first, len(steps)) - 1)
        self.phase = "ready"  # ready: caption shown, space runs it; running: keys pressed, waiting; done
        self.history: list[tuple[str, str, float]] = []  # (step, outcome, seconds): what the class saw
        self.caption = DemoCaption(id="demo-caption")
        self._started = 0.0
        self._timer: Timer | None = None
        self._since = 0  # Activity's line count when the running step began

    def start(self) -> None:
        self.app.screen_stack[0].mount(self.caption)
        self._show()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self.caption.is_attached:
            self.caption.remove()

    @property
    def step(self) -> Step:
        return self.steps[self.index]

    def _show(self, note: str = "") -> None:
        """The caption: the step and what it does (or did); the keys that go on in the border."""
        n, total, s = self.index + 1, len(self.steps), self.step
        head = f"[b]Demo {n}/{total}: {s.title}[/b] — "
        if self.phase == "ready":
            text, keys = head + s.caption, "space: do it · esc: leave the demo"
        elif self.phase == "running":
            pressed = " ".join(k for k in s.keys if isinstance(k, str) and k != "escape")
            text, keys = head + f"pressing {pressed}… {note}", "esc: leave the demo (what it started goes on)"
        else:
            more = "space: next step" if self.index + 1 < total else "the end"
            text, keys = head + (note or s.then), f"{more} · esc: leave the demo"
        self.caption.update(text)
        self.caption.border_title = "demo: the README walkthrough"
        self.caption.border_subtitle = keys

    def next(self) -> None:
        """space: run the shown step, or show the next one once this one is done."""
        if self.phase == "running":
            return
        if self.phase == "done":
            if self.index + 1 >= len(self.steps):
                return
            self.index += 1
            self.phase = "ready"
            self._show()
            return
        self.phase = "running"
        self._started = time.monotonic()
        self._since = len(_lines(self.app))
        self._show()
        self._select()
        self._press(list(self.step.keys))

    def _select(self) -> None:
        """The walkthrough's workload selected in the list, which has the focus: + - r act on the selection."""
        from aitui.ui.browser import ResourceBrowser

        browser = self.app.query_one(ResourceBrowser)
        if self.app.screen is not self.app.screen_stack[0] or browser.view.kind != "workloads":
            return
        table = browser.table()
        with contextlib.suppress(Exception):  # not deployed yet: d comes first
            table.move_cursor(row=table.get_row_index(self.app.store.default))
        browser.focus_top()

    def _press(self, keys: list[str | float]) -> None:
        """The step's keys in order, a pause where it says (the dialog a key opens must be there first)."""
        while keys:
            key = keys.pop(0)
            if isinstance(key, float):
                self.app.set_timer(key, lambda: self._press(keys))
                return
            if key == "escape" and self.app.screen is self.app.screen_stack[0]:
                continue  # nothing open to close: esc would leave the demo
            self.app.simulate_key(key)
        self._timer = self.app.set_interval(0.5, self._check)

    def _check(self) -> None:
        s = self.step
        elapsed = time.monotonic() - self._started
        done = s.done(self.app, self._since)
        if done:
            outcome = s.then
        elif elapsed > s.timeout:
            outcome = f"not done after {elapsed:.0f} s: look at Activity for why"
        else:
            self._show(f"({elapsed:.0f} s)")
            return
        if self._timer is not None:
            self._timer.stop()
        self.history.append((s.title, "done" if done else "timed out", round(elapsed, 1)))
        self.phase = "done"
        self._show(outcome)
