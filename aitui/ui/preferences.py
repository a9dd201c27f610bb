"""The user's preferences on the running app: the config file's [keys] (Textual's keymap, by binding id:
every key of ui/keys.py) and the theme; a theme picked later (ctrl+p) is kept for the next start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aitui.config import Settings, save_theme
from aitui.ui.keys import KEYS

if TYPE_CHECKING:
    from textual.theme import Theme


def apply(app: Any, settings: Settings) -> None:  # (a Textual App)
    known = {k.id for k in KEYS if k.key and k.action}
    unknown = sorted(set(settings.keys) - known)
    if unknown:
        app.notify(f"config [keys]: no binding {', '.join(unknown)}; the ids are in the README", severity="warning")
    app.set_keymap({k: v for k, v in settings.keys.items() if k in known})
    if settings.theme in app.available_themes:
        app.theme = settings.theme
    elif settings.theme:
        app.notify(f"no theme {settings.theme!r}; ctrl+p, theme lists them", severity="warning")
    kept = [app.theme]

    def picked(theme: Theme) -> None:  # the signal also fires as the app starts: only a change is kept
        if theme.name != kept[0]:
            kept[0] = theme.name
            save_theme(theme.name)

    app.theme_changed_signal.subscribe(app, picked)
