"""The bottom tabs, seen from a panel inside one: a panel names its own tab and brings it forward
without knowing the App's layout."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane


def label_tab(panel: Widget, text: str) -> None:
    """Set the label of the tab that holds `panel`."""
    pane = panel.query_ancestor(TabPane)
    panel.query_ancestor(TabbedContent).get_tab(str(pane.id)).label = text


def show_tab(panel: Widget) -> None:
    """Make the tab that holds `panel` the active one."""
    panel.query_ancestor(TabbedContent).active = str(panel.query_ancestor(TabPane).id)
