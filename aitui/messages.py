"""The messages every feature may post (Harlequin's pattern): a worker thread posts one (`post_message` is
thread-safe) and an `@on` handler applies it on the UI thread, so the app's state changes there only. A
message one widget owns is its own nested class (`ChartGrid.Fetched`, `PodLog.Lines`…), beside it; these
are the ones many features post and the App answers. They carry data, never widgets."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class Say(Message):
    """One line for Activity (and a notification unless it is information)."""

    text: str
    severity: str = "information"
    notify: bool = False  # a notification even for information (a background job that ended)


@dataclass
class RefreshWanted(Message):
    """The engine or a target's cache changed: refresh the lists (once per burst)."""

    images: bool = True

    def can_replace(self, message: Message) -> bool:
        if isinstance(message, RefreshWanted):
            message.images = message.images or self.images  # the later one keeps what this one asked
            return True
        return False


@dataclass
class ShowTab(Message):
    """Bring a bottom tab forward ("activity": where a change's progress shows)."""

    tab: str


@dataclass
class Progress(Message):
    """What a background job does now, for Activity's tab label ("" when it ended)."""

    text: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Progress)
