"""The Build tab: one build of the recognizer at a time, its log streamed, `b` again cancels. The panel
owns its worker and its state; a finished image is published to the current target (a cluster runs only
what its nodes have)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log

from aitui import messages as msg
from aitui.config import Settings
from aitui.ui.tabs import label_tab, show_tab

if TYPE_CHECKING:
    from aitui.services.images import Build
    from aitui.services.targets import Target

_PENDING = object()  # a build asked for, before its worker has made the Build


class BuildPanel(Vertical):
    def __init__(self, settings: Settings, target_of: Callable[[], Target], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings = settings
        self._target_of = target_of
        self._build: object = None  # the running Build, _PENDING until its worker made it, or None
        self._cancel = False

    def compose(self) -> ComposeResult:
        yield Log(id="build-log", max_lines=5000)

    @property
    def running(self) -> Build | None:
        """The build in progress (None while none runs, or before its worker has begun)."""
        return None if self._build is _PENDING else self._build  # type: ignore[return-value]

    @property
    def busy(self) -> bool:
        return self._build is not None

    def toggle(self) -> None:
        """Start a build, or cancel the one that runs."""
        if self._build is not None:
            self._cancel = True
            if self.running is not None:
                self.running.cancel()
            self.post_message(msg.Say("build: cancelling"))
            return
        show_tab(self)
        self.query_one(Log).clear()
        self._build = _PENDING  # BuildStarted brings the Build to cancel
        self._run()

    def on_unmount(self) -> None:
        if self.running is not None:
            self.running.cancel()

    @work(thread=True, group="build", exclusive=True, exit_on_error=False)
    def _run(self) -> None:
        from aitui.services.images import Build

        build = Build(self.settings)
        self.post_message(msg.BuildStarted(build))
        self.post_message(msg.Say(f"build: {build.tag} from {build.context} (base {self.settings.base_image})"))
        pending: list[str] = []
        try:
            for ev in build.events():
                progress = ""
                if ev.kind == "step":
                    pending.append(f"── step {ev.step}/{ev.steps}: {ev.text}")
                    progress = f"step {ev.step}/{ev.steps}"
                elif ev.kind == "log":
                    pending.append(ev.text)
                if len(pending) >= 20 or ev.kind != "log":
                    self.post_message(msg.BuildOutput(pending, progress))
                    pending = []
                if ev.kind == "done":
                    self.post_message(msg.Say(f"build: {ev.tag} ({ev.image_id}) in {ev.seconds:.0f}s", notify=True))
                    self.post_message(msg.BuildOutput(progress=f"built {ev.tag} in {ev.seconds:.0f}s"))
                    self._publish(ev.tag)
                elif ev.kind in ("error", "cancelled"):
                    self.post_message(msg.Say(f"build: {ev.text}", "error" if ev.kind == "error" else "warning"))
                    self.post_message(msg.BuildOutput(progress=ev.kind))
        finally:
            if pending:
                self.post_message(msg.BuildOutput(pending))
            self.post_message(msg.BuildEnded())

    def _publish(self, tag: str) -> None:
        """A cluster runs what aitui builds only once its nodes have it (loaded, or pushed)."""
        from aitui.services.targets import TargetError

        def say(line: str) -> None:
            self.post_message(msg.Say(line))

        try:
            self._target_of().publish(tag, say)
        except TargetError as exc:
            self.post_message(msg.Say(str(exc), "error"))

    @on(msg.BuildStarted)
    def _started(self, m: msg.BuildStarted) -> None:
        m.stop()
        self._build = m.build
        if self._cancel:  # b again before the build had begun
            m.build.cancel()

    @on(msg.BuildOutput)
    def _output(self, m: msg.BuildOutput) -> None:
        m.stop()
        if not self.is_attached:
            return
        if m.lines:
            self.query_one(Log).write_lines(m.lines)
        if m.progress:
            label_tab(self, f"Build: {m.progress}")

    @on(msg.BuildEnded)
    def _ended(self, m: msg.BuildEnded) -> None:
        m.stop()
        self._build, self._cancel = None, False
        self.post_message(msg.RefreshWanted())  # the new image, in Images
