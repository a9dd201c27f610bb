"""Operating what is selected, k9s style: a shell in a replica (x), a rollback to the previous revision
(u), and scaling a workload whose count an autoscaler owns (+ - s ask before moving its bounds). A small
non-visual widget that owns their workers; the changes themselves run through WorkloadChanges (confirmed,
their progress in Activity, the lists refreshed after)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.message import Message
from textual.widget import Widget

from aitui import messages as msg
from aitui.ui import format as fmt
from aitui.ui.changes import WorkloadChanges
from aitui.ui.dialogs import ConfirmScreen

if TYPE_CHECKING:
    from aitui.models import Revision, Shell, Workload
    from aitui.services.targets import Target


@dataclass
class ShellReady(Message):
    shell: Shell


@dataclass
class RollbackPlanned(Message):
    workload: str
    revisions: list[Revision]
    context: str  # the target's, as the worker found it


def shell_lines(shell: Shell) -> str:
    """The command as a person would type it (for the screen and the terminal)."""
    return " ".join(shell.argv)


def run_shell(app: Any, shell: Shell) -> str:
    """Hand the terminal to the shell and take it back: Textual's suspend stops the app's output and input
    and restores its screen afterwards. Returns what to say in Activity."""
    from textual.app import SuspendNotSupported

    try:
        with app.suspend():
            print(f"\naitui: a shell in {shell.where} ({shell_lines(shell)})\n"
                  "aitui: exit (or ctrl+d) comes back to aitui\n", flush=True)
            done = subprocess.run(list(shell.argv), env={**os.environ, **dict(shell.env)}, check=False)
    except SuspendNotSupported:
        return f"shell: this terminal cannot be handed over; run it yourself: {shell_lines(shell)}"
    return f"shell in {shell.where}: ended (exit code {done.returncode})"


def _bounds_then_scale(target: Target, workload: str, n: int, low: int, high: int,
                       progress: Callable[[str], None]) -> None:
    target.set_autoscaler(workload, low, high, progress)
    target.scale(n, workload, progress)


class Operations(Widget):
    DEFAULT_CSS = "Operations { display: none; }"

    def __init__(self, target_of: Callable[[], Target], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._target_of = target_of
        self._warned: set[str] = set()  # workloads told once that their autoscaler may move a scale

    # -- x: a shell --------------------------------------------------------------------------
    def shell(self, pod: str | None, workload: str | None) -> None:
        """In `pod`, or in the first ready replica of `workload` (the workloads view)."""
        self.post_message(msg.Say(f"shell: checking {pod or 'a ready replica of ' + str(workload)} has one…"))
        self._probe(pod, workload)

    @work(thread=True, group="shell", exclusive=True, exit_on_error=False)
    def _probe(self, pod: str | None, workload: str | None) -> None:
        from aitui.services.targets import TargetError

        try:
            target = self._target_of()
            if pod is None:
                ready = [p.name for p in target.pods(workload) if p.ready]
                if not ready:
                    self.post_message(msg.Say(f"shell: {workload} has no ready replica", "warning"))
                    return
                pod = ready[0]
            self.post_message(ShellReady(target.shell(pod)))
        except TargetError as exc:
            self.post_message(msg.Say(str(exc), "error"))

    @on(ShellReady)
    def _shell_ready(self, m: ShellReady) -> None:
        said = run_shell(self.app, m.shell)
        self.post_message(msg.Say(said, "warning" if said.startswith("shell: this terminal") else "information"))
        self.post_message(msg.RefreshWanted(images=False))

    # -- u: rollback -------------------------------------------------------------------------
    def rollback(self, workload: str) -> None:
        self._plan(workload)

    @work(thread=True, group="rollback", exclusive=True, exit_on_error=False)
    def _plan(self, workload: str) -> None:
        from aitui.services.targets import TargetError

        try:
            target = self._target_of()
            found = target.revisions(workload)
        except TargetError as exc:
            self.post_message(msg.Say(f"rollback {workload}: {exc}", "error"))
            return
        self.post_message(RollbackPlanned(workload, found, target.name))

    @on(RollbackPlanned)
    def _planned(self, m: RollbackPlanned) -> None:
        found = sorted(m.revisions, key=lambda r: r.revision)
        if len(found) < 2:
            only = f" (only revision {found[0].revision}: {found[0].image})" if found else ""
            self.post_message(msg.Say(f"rollback {m.workload}: no previous revision to go back to{only}", "warning"))
            return
        now, before = found[-1], found[-2]
        self.app.query_one(WorkloadChanges).confirm(
            "Rollback", [f"Roll {m.workload} on {m.context} back", f"from revision {now.revision}: {now.image}",
                         f"to revision {before.revision}: {before.image} ({fmt.age(before.created)} old),",
                         "one replica at a time, each drained before it stops?"],
            lambda t, p: t.rollback(m.workload, p),
            done=f"rollback: {m.workload} runs revision {before.revision}'s template ({before.image})",
            said=f"rollback: {m.workload} to revision {before.revision}")

    # -- + - s under an autoscaler -------------------------------------------------------------
    def scale(self, w: Workload, n: int) -> None:
        """Scale as asked when no autoscaler owns the count or `n` is within its bounds; else ask to move
        the bound in the way (the autoscaler would undo the scale otherwise), or say why not."""
        if isinstance(self.app.screen, ConfirmScreen):
            return  # a - pressed again while its question is open: one question at a time
        changes = self.app.query_one(WorkloadChanges)
        bounds = w.autoscaler
        if bounds is None or bounds[0] <= n <= bounds[1]:
            if bounds is not None and w.name not in self._warned:
                self._warned.add(w.name)
                self.post_message(msg.Say(f"scale {w.name}: its autoscaler (hpa {bounds[0]}..{bounds[1]}) may move "
                                          "this count again by its targets"))
            changes.scale(w.name, n)
            return
        low, high = bounds
        if n < 1:
            self.post_message(msg.Say(f"scale {w.name} to 0: its autoscaler keeps at least 1 replica (hpa "
                                      f"{low}..{high}; its minimum cannot be 0); ctrl+d deletes the workload",
                                      "warning"))
            return
        move = f"lower its minimum from {low} to {n}" if n < low else f"raise its maximum from {high} to {n}"
        new_low, new_high = min(low, n), max(high, n)
        changes.confirm(
            "Scale under the autoscaler",
            [f"An autoscaler keeps {w.name} between {low} and {high} replicas.",
             f"To run {n}: {move},", f"then scale {w.name} to {n}?", "(d re-applies manifests/base and its bounds)"],
            lambda t, p: _bounds_then_scale(t, w.name, n, new_low, new_high, p),
            done=f"scale {w.name}: {n} replica(s); its autoscaler now keeps {new_low}..{new_high}")
