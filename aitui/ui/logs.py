"""The Logs tab: one followed log (a pod's, or every replica's merged), k9s style. The panel owns its
worker, its bounded buffer and how it is shown (Toolong's LogLines): timestamps (t), wrap (w), the previous
container (p), a regex search with its matches highlighted (/), a colour per replica, save to a file
(ctrl+s); `z` (the App's) shows it full screen. Lines are kept as records and re-rendered from them, so a
toggle never asks the engine again."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.highlighter import Highlighter
from rich.text import Text
from textual import events, on, work
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Log

from aitui import messages as msg
from aitui.services.redact import text as masked
from aitui.ui.keys import bindings

if TYPE_CHECKING:
    from aitui.services.targets import Target

LOG_LINES = 5000  # records kept (and searched); older ones are dropped and counted (k9s caps at 5k too)
TAIL = 50  # lines each followed log starts with
PREVIOUS_TAIL = 500  # lines of a previous container
SEP = " │ "
# RFC 3339 with nanoseconds, as both engines prefix a line when asked for timestamps
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT(\d\d:\d\d:\d\d)(\.\d+)?(?:Z|[+-]\d\d:\d\d)) ?")
# a colour per replica, in the order they first speak; readable on dark and light themes
PALETTE = ("cyan", "magenta", "green", "yellow", "bright_blue", "red", "bright_cyan", "bright_magenta")


@dataclass(frozen=True, slots=True)
class Line:
    replica: str  # the pod's last 6 characters: its prefix on screen
    text: str
    stamp: str = ""  # the engine's RFC 3339 timestamp, "" when it gave none


def parse(replica: str, raw: str) -> Line:
    """One line as the engine sent it (asked for timestamps) -> a record; a line without one keeps it all.
    What looks secret in it is masked (services/redact.py): on screen, searched, copied and saved alike."""
    m = STAMP.match(raw)
    return Line(replica, masked(raw[m.end():]), m.group(1)) if m else Line(replica, masked(raw))


def short_stamp(stamp: str) -> str:
    """15:04:05.123 (UTC, as the engine wrote it): the date is noise in a live log; the saved file keeps it."""
    m = STAMP.match(stamp + " ")
    return f"{m.group(2)}{(m.group(3) or '.000')[:4]}" if m else stamp


class Buffer:
    """The last `limit` records, and how many older ones were dropped to stay within it."""

    def __init__(self, limit: int | None = None) -> None:
        self.lines: deque[Line] = deque(maxlen=limit or LOG_LINES)
        self.dropped = 0

    def add(self, lines: list[Line]) -> None:
        maxlen = self.lines.maxlen or 0
        self.dropped += max(0, len(self.lines) + len(lines) - maxlen)
        self.lines.extend(lines)

    def clear(self) -> None:
        self.lines.clear()
        self.dropped = 0


def compile_search(needle: str) -> tuple[re.Pattern[str] | None, str]:
    """A regex (any case); text that is not a valid regex is searched as it is, and says so."""
    if not needle:
        return None, ""
    try:
        return re.compile(needle, re.IGNORECASE), ""
    except re.error as exc:
        return re.compile(re.escape(needle), re.IGNORECASE), f"not a regex ({exc.msg}): as text"


class LogHighlighter(Highlighter):
    """Each replica's prefix in its colour, the search's matches in reverse (on the text, not the prefix)."""

    def __init__(self, log: PodLog) -> None:
        self.log = log

    def highlight(self, text: Text) -> None:
        plain = text.plain
        cut = plain.find(SEP)
        if cut < 0:
            return
        head = plain[:cut].rstrip()
        replica = head.rsplit(" ", 1)[-1]
        if replica:
            start = cut - len(replica)
            text.stylize(self.log.colour(replica), start, cut)
        if cut > len(replica) and replica:  # a timestamp before it: dim
            text.stylize("dim", 0, cut - len(replica))
        pattern = self.log.pattern
        if pattern is not None:
            body = cut + len(SEP)
            for m in pattern.finditer(plain, body):
                if m.end() > m.start():
                    text.stylize("reverse bold", m.start(), m.end())


class PodLog(Log):
    # a border for its subtitle: the search's count, the dropped lines, the modes, why the log ended
    DEFAULT_CSS = """
    PodLog { border: round $primary-darken-2; border-subtitle-color: $text-muted; }
    PodLog:focus { border: round $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings("log")  # from ui/keys.py

    @dataclass
    class Lines(Message):
        lines: list[Line]
        ended: threading.Event  # the follow's: lines of a follow that was replaced are dropped

    @dataclass
    class Ended(Message):
        ended: threading.Event  # the follow's (a replaced follow's end is dropped)
        text: str  # why, with its totals

    def __init__(self, **kwargs: object) -> None:
        super().__init__(highlight=True, max_lines=None, **kwargs)  # type: ignore[arg-type]
        self.highlighter = LogHighlighter(self)
        self.buffer = Buffer()
        self._stop = threading.Event()
        self.needle = ""
        self.pattern: re.Pattern[str] | None = None
        self._search_note = ""
        self.timestamps = False
        self.wrap = False
        self.previous = False
        self._colours: dict[str, str] = {}
        self._ended = ""
        self._source: tuple[Callable[[], Target], str, str | None] | None = None
        self._width = 0

    # -- what is followed ----------------------------------------------------------------------
    def follow(self, target: Callable[[], Target], workload: str, pod: str | None, previous: bool = False) -> None:
        """Follow `pod`'s log, or every replica's of `workload` when pod is None; the last follow stops.
        previous: the container before the last restart, read once (Kubernetes' previous=true)."""
        self.stop()
        self._stop = threading.Event()
        self._source = (target, workload, pod)
        self.border_title = pod or f"{workload}: all replicas"
        self.previous = previous
        self.buffer.clear()
        self._colours.clear()
        self._ended = ""
        self._redraw()
        self._follow(target, workload, pod, self._stop, previous)

    def stop(self) -> None:
        self._stop.set()

    def on_unmount(self) -> None:
        self.stop()

    # -- how it is shown -------------------------------------------------------------------------
    def colour(self, replica: str) -> str:
        if replica not in self._colours:
            self._colours[replica] = PALETTE[len(self._colours) % len(PALETTE)]
        return self._colours[replica]

    def matches(self, line: Line) -> bool:
        return self.pattern is None or self.pattern.search(line.text) is not None

    def shown(self) -> list[Line]:
        """The kept records the search lets through, oldest first."""
        return [line for line in self.buffer.lines if self.matches(line)]

    def _rows(self, lines: Iterable[Line]) -> list[str]:
        """Records -> the widget's rows: a prefix (time, replica), and when wrapping, the text cut to the width."""
        width = self._width or self.scrollable_content_region.width
        out: list[str] = []
        for line in lines:
            head = f"{short_stamp(line.stamp)} {line.replica}" if self.timestamps and line.stamp else line.replica
            room = width - len(head) - len(SEP)
            if not self.wrap or room < 10 or len(line.text) <= room:
                out.append(f"{head}{SEP}{line.text}")
                continue
            pad = " " * len(head)
            for i in range(0, len(line.text), room):
                out.append(f"{head if i == 0 else pad}{SEP}{line.text[i:i + room]}")
        return out

    def _redraw(self) -> None:
        """Every kept record again, as the modes say (a toggle, a search, a resize while wrapping)."""
        self._render_line_cache.clear()  # the highlight (search, colours) may have changed
        self.clear()
        self.write_lines(self._rows(self.shown()))
        self._subtitle()

    def _subtitle(self) -> None:
        parts = []
        if self.needle:
            parts.append(f"/{self.needle}: {len(self.shown())} of {len(self.buffer.lines)} lines")
            if self._search_note:
                parts.append(self._search_note)
        if self.buffer.dropped:
            parts.append(f"{self.buffer.dropped:,} older lines dropped (keeps {self.buffer.lines.maxlen:,})")
        modes = [name for name, on_ in (("previous container", self.previous), ("timestamps", self.timestamps),
                                        ("wrap", self.wrap)) if on_]
        parts.extend(modes)
        if self._ended:
            parts.append(self._ended)
        self.border_subtitle = " · ".join(parts)

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            self._width = width
            if self.wrap:
                self._redraw()

    def search(self, needle: str) -> None:
        """Show the lines whose text matches `needle` (a regex, any case) and highlight the matches;
        every line again when it is empty."""
        self.needle = needle
        self.pattern, self._search_note = compile_search(needle)
        self._redraw()

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self._redraw()

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self._redraw()

    def action_previous(self) -> None:
        """The previous container's log (after a crash or restart); p again follows the live one."""
        if self._source is None:
            self.notify("no log yet: l follows the selected workload or pod", severity="warning")
            return
        self.follow(*self._source, previous=not self.previous)

    def action_save(self) -> None:
        from aitui.config import state_dir

        try:
            path = save(self.shown(), state_dir() / "logs",
                        self._source[2] or self._source[1] if self._source else "log")
        except OSError as exc:
            self.notify(f"log not saved: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"saved {len(self.shown())} lines to {path}")
        self.post_message(msg.Say(f"logs: saved to {path}"))

    def last_line(self) -> str:
        """The newest line the search lets through, as the engine wrote it (for copy)."""
        lines = self.shown()
        return lines[-1].text if lines else ""

    # -- the worker ---------------------------------------------------------------------------------
    @work(thread=True, group="logs", exit_on_error=False)
    def _follow(self, target_of: Callable[[], Target], workload: str, pod: str | None, stop: threading.Event,
                previous: bool) -> None:
        """Each followed log's lines, as records of their replica; flushed ten times a second."""
        target = target_of()
        pods = [p for p in target.pods(workload) if pod in (None, p.name)]
        if not pods:
            self.post_message(msg.Say(f"logs: no replicas of {workload}", "warning"))
            return
        lines: list[Line] = []
        ended: list[str] = []  # each follow that ended on its own: why, with its count of lines
        lock = threading.Lock()

        def follow(pod: str) -> None:
            from aitui.services.errors import reason  # a plain function: no engine SDK import

            count, why = 0, "its replica stopped or is gone"
            try:
                for raw in target.logs(pod, tail=PREVIOUS_TAIL if previous else TAIL, follow=not previous,
                                       timestamps=True, previous=previous):
                    if stop.is_set():
                        return
                    count += 1
                    with lock:
                        lines.append(parse(pod[-6:], raw))
                if previous:
                    why = "the previous container's log, whole" if count else "the previous container said nothing"
            except Exception as exc:
                why = reason(exc)
            if not stop.is_set():
                with lock:
                    lines.append(Line(pod[-6:], f"(log ended: {why})"))
                    ended.append(f"{pod} ended after {count} line{'s' if count != 1 else ''} ({why})")

        for p in pods:
            threading.Thread(target=follow, args=(p.name,), daemon=True).start()
        told = 0
        while not stop.wait(0.1):
            with lock:
                batch, lines[:] = lines[:], []
                news, told = ended[told:], len(ended)
            if batch:
                self.post_message(self.Lines(batch, stop))
            for text in news:
                self.post_message(msg.Say(f"logs: {text}", "information" if previous else "warning"))
            if told == len(pods):  # every followed log ended: say so on the tab too
                self.post_message(self.Ended(stop, "ended" if len(pods) == 1 else f"all {len(pods)} ended"))
                return

    @on(Ended)
    def _ended_msg(self, m: PodLog.Ended) -> None:
        m.stop()
        if m.ended.is_set() or not self.is_attached:
            return  # a follow that was replaced or stopped
        self._ended = f"log {m.text}: " + ("p follows the live one" if self.previous else "l follows again")
        self._subtitle()

    @on(Lines)
    def _append(self, m: PodLog.Lines) -> None:
        """Keep every record (the oldest beyond the bound are dropped and counted); show those that match."""
        m.stop()  # the panel's own message
        if m.ended.is_set() or not self.is_attached:
            return  # a follow that was replaced or stopped
        self.add(m.lines)

    def add(self, lines: list[Line]) -> None:
        self.buffer.add(lines)
        self.write_lines(self._rows(line for line in lines if self.matches(line)))
        if self.line_count > 2 * (self.buffer.lines.maxlen or LOG_LINES):  # rows of records dropped long ago
            self._redraw()
        elif self.needle or self.buffer.dropped:
            self._subtitle()


def file_name(name: str) -> str:
    """A workload's or pod's name as a file's: a label value may hold anything (`../`, `/`, spaces), and the
    file must land in the logs folder, under a name that says whose log it is."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")[:100] or "log"


def save(lines: list[Line], folder: Path, name: str) -> Path:
    """The lines with their full timestamps, to a new file in `folder` (whatever `name` holds); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    name = file_name(name)
    path = folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    n = 1
    while path.exists():  # two saves in one second
        n += 1
        path = folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{n}.log"
    path.write_text("".join(f"{line.stamp + ' ' if line.stamp else ''}{line.replica}{SEP}{line.text}\n"
                            for line in lines))
    return path
