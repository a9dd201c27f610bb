"""Keys the user can change and a theme that persists (issue 14, item 10): the config file's [keys] table
(binding id -> key or keys) becomes Textual's keymap, the help screen says what was remapped, a panel's own
keys remap too, an unknown id is said; a theme picked in the app (ctrl+p) is the next start's theme."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from test_app_actions import until
from textual.command import CommandPalette

from aitui import config
from aitui.app import AituiApp
from aitui.ui.help import HelpScreen
from aitui.ui.keys import help_rows
from aitui.ui.logs import Line, PodLog

KEYS_TOML = """
[keys]
help = "f1"
"log.toggle_wrap" = ["W", "ctrl+w"]
nothing_here = "x"
"""


def test_keys_table_in_the_config_file(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text(KEYS_TOML)
    s = config.load(env={"XDG_STATE_HOME": str(tmp_path)}, file=f)
    assert s.keys == {"help": "f1", "log.toggle_wrap": "W,ctrl+w", "nothing_here": "x"}
    rows = dict((text, key) for key, text in help_rows(s.keys))
    assert rows["log: wrap long lines on/off"] == "W,ctrl+w (was w)"
    assert rows["build the model's image (b again cancels)"] == "b"  # not remapped: as it was


@pytest.mark.parametrize("text", ['keys = "f5"\n', "[keys]\nbuild = 5\n", '[keys]\nbuild = ["f5", 3]\n',
                                  '[keys]\nbuild = ""\n'])
def test_a_bad_keys_table_is_a_clear_message(tmp_path: Path, text: str) -> None:
    f = tmp_path / "config.toml"
    f.write_text(text)
    with pytest.raises(config.ConfigError, match="keys"):
        config.load(env={}, file=f)


def test_the_theme_picked_last_wins_over_the_file_and_loses_to_the_environment(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text('theme = "nord"\n')
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    assert config.load(env=env, file=f).theme == "nord"
    (tmp_path / "state" / "aitui").mkdir(parents=True)
    (tmp_path / "state" / "aitui" / "theme").write_text("gruvbox\n")
    assert config.load(env=env, file=f).theme == "gruvbox"
    assert config.load(env={**env, "AITUI_THEME": "dracula"}, file=f).theme == "dracula"


async def test_remapped_keys_in_the_app_and_its_help(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    f = tmp_path / "config.toml"
    f.write_text(KEYS_TOML)
    settings = config.load(env={}, file=f)
    settings.kubeconfig, settings.docker_host = str(tmp_path / "none"), "unix:///nonexistent"
    app = AituiApp(settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        assert any("config [keys]: no binding nothing_here" in str(n.message) for n in app._notifications)
        await pilot.press("question_mark")  # remapped away: nothing
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=120, record=True, file=io.StringIO())
        for static in app.screen.query("Static"):
            console.print(static.content)
        text = console.export_text()
        assert re.search(r"^W,ctrl\+w \(was w\) +log: wrap long lines on/off", text, re.M), text
        await pilot.press("escape")
        # the log panel's own key, remapped
        app.query_one("#bottom").active = "logs"
        log = app.query_one(PodLog)
        log.add([Line("a1b2c3", "x" * 300)])
        log.focus()
        await pilot.press("w")
        assert not log.wrap
        await pilot.press("W")
        assert log.wrap
        await pilot.press("ctrl+w")
        assert not log.wrap


async def test_a_theme_picked_in_the_palette_is_the_next_start_s(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    f = tmp_path / "config.toml"
    f.write_text('theme = "nord"\n')

    def start() -> AituiApp:
        settings = config.load(env={"XDG_STATE_HOME": str(tmp_path)}, file=f)
        settings.kubeconfig, settings.docker_host = str(tmp_path / "none"), "unix:///nonexistent"
        return AituiApp(settings)

    app = start()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.theme == "nord"
        assert not (tmp_path / "aitui" / "theme").exists()  # starting is not picking
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), 5, "the palette")
        await pilot.press(*"theme")
        await until(pilot, lambda: app.screen.query_one("CommandList").option_count > 0, 5, "its hits")
        await pilot.press("enter")  # Theme: change the theme
        await until(pilot, lambda: isinstance(app.screen, CommandPalette) and
                    app.screen.query_one("CommandList").option_count > 3, 5, "the themes")
        await pilot.press(*"gruvbox")
        await until(pilot, lambda: app.screen.query_one("CommandList").option_count >= 1, 5, "gruvbox")
        await pilot.press("enter")
        await until(pilot, lambda: app.theme == "gruvbox", 5, "the theme applied")
    assert (tmp_path / "aitui" / "theme").read_text().strip() == "gruvbox"
    again = start()
    async with again.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert again.theme == "gruvbox"
