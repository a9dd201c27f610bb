"""The Textual app. Engines are reached only through aitui.services, in thread workers."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer

from aitui.config import Settings
from aitui.models import Health, Image
from aitui.ui.header import StatusBar
from aitui.ui.images import ImagesTable

HEALTH_EVERY = 5.0  # seconds between engine probes; the next starts only after the last ends


class AituiApp(App[None]):
    TITLE = "aitui"
    CSS = """
    #images { border: round $primary; border-title-color: $text; height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.images: list[Image] = []

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Vertical():
            yield ImagesTable(id="images")
        yield Footer()

    def on_mount(self) -> None:
        status = self.query_one(StatusBar)
        status.context = self.settings.context
        status.namespace = self.settings.namespace
        status.readonly = self.settings.is_readonly()
        self.query_one("#images").border_title = "Images"
        self.probe_health()
        self.load_images()

    # -- engines, in workers ------------------------------------------------------------------
    @work(thread=True, group="health", exclusive=True, exit_on_error=False)
    def probe_health(self) -> None:
        from aitui.services import health

        for probe in (health.docker, health.prometheus, health.kubernetes):
            self.call_from_thread(self._show_health, probe(self.settings))
        self.call_from_thread(self.set_timer, HEALTH_EVERY, self.probe_health)

    def _show_health(self, h: Health) -> None:
        self.query_one(StatusBar).set_health(h)

    @work(thread=True, group="images", exclusive=True, exit_on_error=False)
    def load_images(self) -> None:
        from aitui.services import images

        try:
            found = images.list_images(self.settings)
        except images.DockerError as exc:
            self.call_from_thread(self._images_failed, str(exc))
            return
        self.call_from_thread(self._show_images, found)

    def _show_images(self, found: list[Image]) -> None:
        self.images = found
        table = self.query_one(ImagesTable)
        table.show(found)
        table.border_subtitle = f"{len(found)}"

    def _images_failed(self, why: str) -> None:
        self.query_one(ImagesTable).border_subtitle = why

    def action_cursor_down(self) -> None:
        self.query_one(ImagesTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(ImagesTable).action_cursor_up()
