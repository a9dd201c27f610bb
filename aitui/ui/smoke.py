"""The smoke test on screen: after every `d` (before the deploy is said done) and on `:smoke`, the shipped
samples go to each ready replica on its own (services/smoke.py); a replica that answers wrong is flagged
in Activity and in the models view's SMOKE column (the store keeps each replica's verdict), and taken out
of traffic (quarantined: kept running to be looked at, a replacement started) — unless every replica
answers wrong: then the image is wrong, not a replica, and replacing them would change nothing (`u` rolls
back)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.message import Message
from textual.widget import Widget

from aitui import messages as msg

if TYPE_CHECKING:
    from aitui.config import Settings
    from aitui.services.smoke import SmokeResult
    from aitui.services.targets import Target
    from aitui.ui.store import WorkloadStore

    TargetOf = Callable[[], Target]


class SmokeCheck(Widget):
    """Sends the model's samples to each ready replica on its own and flags the ones that answer wrong:
    after every `d` (before the deploy is said done) and on `:smoke`. Its flags show in the models view."""

    DEFAULT_CSS = "SmokeCheck { display: none; }"

    @dataclass
    class Done(Message):
        result: SmokeResult
        names: dict[str, str]  # endpoint -> replica name

    @dataclass
    class Quarantined(Message):
        old: str
        new: str

    def __init__(self, settings: Settings, store: WorkloadStore, target_of: TargetOf,
                 readonly: Callable[[], bool] = lambda: False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings, self.store, self._target_of = settings, store, target_of
        self._readonly = readonly
        self.last: SmokeResult | None = None

    @work(thread=True, group="smoke", exclusive=True, exit_on_error=False)
    def run(self, workload: str) -> None:
        self.post_message(msg.ShowTab("activity"))

        def say(line: str) -> None:
            self.post_message(msg.Say(line))

        self.check(self._target_of(), workload, say)

    def check(self, target: Target, workload: str, progress: Callable[[str], None]) -> None:
        """The test, in the caller's (worker) thread: its verdict is said before the caller goes on (a deploy
        is said done after it), its per-replica verdicts go to the store as a message."""
        from aitui.services import samples, smoke
        from aitui.services.targets import TargetError

        try:
            model, images = samples.for_workload(self.settings, target, workload)
            names = {ep: pod for pod, ep in target.replica_endpoints(workload).items()}
            result = smoke.run(target, workload, model, images, samples.min_accuracy(model), progress)
        except (smoke.SmokeError, TargetError, samples.NoSamples) as exc:  # (TargetError: a forbidden port-forward)
            self._tell(msg.Say(f"smoke: {exc}", "warning"))
            return
        self.post_message(self.Done(result, names))
        for said in verdict(result, names):
            self._tell(said)
        self.keep_out(target, workload, result, names, progress)

    def _tell(self, said: msg.Say) -> None:
        # straight to the app, from this thread: a line posted here bubbles up through the widgets around
        # it, and the deploy's "done" (posted next, closer to the app) would pass it on the way
        self.app.post_message(said)

    def keep_out(self, target: Target, workload: str, result: SmokeResult, names: dict[str, str],
                 progress: Callable[[str], None]) -> None:
        """Quarantine the flagged replicas when others answer right (services/smoke.py keep_out)."""
        from aitui.services import smoke
        from aitui.services.targets import TargetError

        if self._readonly():
            if result.flagged:
                progress(f"smoke: read-only: the flagged replicas of {workload} stay in traffic")
            return
        try:
            for old, new in smoke.keep_out(target, workload, result, names, progress):
                self.post_message(self.Quarantined(old, new))
        except TargetError as exc:
            self.post_message(msg.Say(f"smoke: a flagged replica stays in traffic: {exc}", "error"))
        self.post_message(msg.RefreshWanted(images=False))

    @on(Quarantined)
    def _quarantined(self, m: SmokeCheck.Quarantined) -> None:
        m.stop()
        self.store.smoke[m.new] = self.store.smoke.get(m.old, "FLAG")

    @on(Done)
    def _done(self, m: SmokeCheck.Done) -> None:
        m.stop()
        self.last = m.result
        for r in m.result.replicas:
            name = m.names.get(r.endpoint, r.replica)
            self.store.smoke[name] = f"{'ok' if r.ok else 'FLAG'} {r.correct}/{len(r.answers)}"
        self.post_message(msg.RefreshWanted(images=False))


def verdict(result: SmokeResult, names: dict[str, str]) -> list[msg.Say]:
    """What Activity says of a smoke test: each replica's line, then the verdict (notified; an error if any
    replica was flagged, named as the lists name it)."""
    lines = result.text().splitlines()
    out = [msg.Say(f"smoke: {line}") for line in lines[1:]]
    if result.passed:
        return [*out, msg.Say(lines[0], notify=True)]
    flagged = ", ".join(names.get(r.endpoint, r.replica) for r in result.flagged)
    return [*out, msg.Say(f"{lines[0]}; FLAGGED: {flagged} (m shows each replica)", "error")]
