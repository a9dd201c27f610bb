"""Copy, through the terminal (OSC 52: its clipboard, also over SSH and in tmux): Y the focused row's name
(an image's tag, a workload's or a pod's name) or the log's newest line shown; I the selected image, or
the image the selected workload runs; P the last prediction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aitui.ui.images import ImagesTable
from aitui.ui.logs import PodLog

if TYPE_CHECKING:
    from aitui.models import Workload
    from aitui.ui.traffic import Predictor


def what_to_copy(what: str, focused: Any, row: str | None, workload: Workload | None,
                 predictor: Predictor) -> tuple[str, str]:
    """(what it is, its text; "" for none). `what`: "name", "image" or "prediction"; `row`: the
    selected row of the view on top; `workload`: the selected workload, if it is deployed."""
    image = focused.selected if isinstance(focused, ImagesTable) else None
    if what == "prediction":
        last = predictor.last
        top = ", ".join(f"{label} {score:.1%}" for label, score in last.labels[:5]) if last else ""
        return "prediction", f"{last.sample}: {top}" if last else ""
    if what == "image" and image is None:
        return "image", workload.image if workload else ""
    if isinstance(focused, ImagesTable) or what == "image":
        return "image", (image.tags[0] if image.tags else image.id) if image else ""
    if isinstance(focused, PodLog):
        return "log line", focused.last_line()
    return "name", row or ""


def copy(app: Any, what: str, text: str) -> None:  # (a Textual App)
    if not text:
        app.notify(f"nothing to copy: no {what}", severity="warning")
        return
    app.copy_to_clipboard(text)
    app.notify(f"copied {what}: {text if len(text) <= 60 else text[:57] + '…'}")
