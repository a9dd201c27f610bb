"""Keys are data: one table of what the user can ask for. It generates the App's BINDINGS (and so the
footer), the `?` screen, the `:` commands and the ctrl+p palette, and it says which actions change a
target (refused in read-only) and which need a deployed workload (one guard, in the App)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    key: str  # Textual key name(s); "" for a `:` command without a key
    action: str  # the App action it runs ("" for help-only rows such as enter)
    label: str = ""  # the footer's word
    help: str = ""  # the `?` screen's line ("" for none)
    display: str = ""  # how the key is written in the footer and help, when not its name
    show: bool = True  # in the footer
    changes: bool = False  # changes the target: refused in read-only
    needs_workload: bool = False  # refused while nothing is deployed
    scoped: bool = False  # acts on the selected row: only in the views whose verbs name it (ui/resources)
    command: str = ""  # its `:` command (and palette entry)
    args: str = ""  # the command's argument, "" for none
    command_help: str = ""
    help_key: str = ""  # the help screen's key column, when it differs from the display (e.g. "+ / -")
    priority: bool = False  # before the focused widget's own key (its action raises SkipAction to pass it on)
    where: str = ""  # "" for the App's keys; a panel's name for keys its widget binds (e.g. "log")

    @property
    def id(self) -> str:
        """The binding id users remap keys by (Textual's keymap; the config file's [keys] table)."""
        return (f"{self.where}." if self.where else "") + self.action.split("(")[0] + \
            (f".{self.key}" if "(" in self.action else "")


KEYS: tuple[Key, ...] = (
    Key("", "", command="ctx", args="<context>", command_help="switch context: local or a kubeconfig context"),
    Key("", "", command="ns", args="<namespace>", command_help="switch namespace (Kubernetes contexts)"),
    Key("b", "build", "Build", "build the recognizer image (b again cancels)", changes=True,
        command="build", command_help="build the recognizer image"),
    Key("d", "deploy", "Deploy", "deploy the selected or newest image", changes=True,
        command="deploy", command_help="deploy the newest recognizer image"),
    Key("plus", "scale_by(1)", "More", "scale the workload by one", display="+", help_key="+ / -",
        changes=True, needs_workload=True, scoped=True),
    Key("minus", "scale_by(-1)", "Less", display="-", changes=True, needs_workload=True, scoped=True),
    Key("s", "scale_to", "Scale to", "scale to N (prefilled)", changes=True, needs_workload=True,
        command="scale", args="<replicas>", command_help="scale the selected workload", scoped=True),
    Key("r", "restart", "Restart", "rollout restart", changes=True, needs_workload=True,
        command="restart", command_help="rollout restart the selected workload", scoped=True),
    Key("ctrl+d", "delete", "Delete", "delete the workload", show=False, changes=True, needs_workload=True,
        scoped=True),
    # the tables' own key opens a row's view; a view that names a verb for it (:models -> logs) runs that
    Key("enter", "enter_row", help="open the row (a workload's pods, a replica's log); esc back", show=False,
        priority=True),
    Key("l", "logs", "Logs", "logs: the pod, or all replicas merged",
        command="logs", command_help="follow the logs of the selected workload or pod", scoped=True),
    Key("e", "events", "Events", "events of the workload", show=False,
        command="events", command_help="the selected workload's events", scoped=True),
    Key("y", "yaml", "YAML", "the selected row's live object as YAML (/ searches)",
        show=False, command="yaml", command_help="the selected row's live object as YAML"),
    Key("i", "describe", "Describe", "describe the selected row: status, conditions, its events", show=False,
        command="describe", command_help="describe the selected row (kubectl describe)"),
    # a shell can change what runs (k9s's read-only mode has none either)
    Key("x", "shell", "Shell", "a shell in the selected replica (exit comes back)", show=False, scoped=True,
        changes=True, command="shell", command_help="exec a shell in the selected replica"),
    Key("u", "rollback", "Undo", "roll back to the previous revision (:rs lists them)", show=False, changes=True,
        needs_workload=True, scoped=True, command="rollback", command_help="roll the workload back one revision"),
    Key("m", "models", "Models", "models: each replica's model, req/s, p99, errors, batch, queue",
        show=False, needs_workload=True),
    Key("L", "loadtest", "Load test", "load test held to the SLO; a report file", show=False, changes=True,
        needs_workload=True, command="loadtest", command_help="load test the workload, held to the SLO"),
    Key("C", "capacity", "Capacity", "capacity: ramp concurrency, throughput vs p99, the knee, replicas",
        show=False, changes=True, needs_workload=True, command="capacity",
        command_help="find the knee and size replicas for a rate"),
    Key("", "smoke", needs_workload=True, command="smoke",
        command_help="send the samples to each replica; flag the wrong ones"),
    Key("", "demo", command="demo", command_help="replay the README walkthrough with captions, for a class"),
    # priority: the demo's space works over the prediction it opened (a modal screen)
    Key("space", "demo_next", "Next", "demo: run the step shown / the next step", show=False, priority=True),
    Key("n", "canary", "Canary", "canary: a second image beside, side by side; p promote, a abort", show=False,
        changes=True, needs_workload=True, command="canary",
        command_help="deploy a canary beside the workload, compare, promote or abort"),
    Key("t", "traffic", "Traffic", "traffic: start (concurrency) / stop", changes=True, needs_workload=True),
    Key("p", "predict", "Predict", "predict: send a sample image", needs_workload=True),
    Key("w", "window", "Window", "charts window: 5m, 15m, 1h", show=False,
        command="window", args="<5m|15m|1h>", command_help="the charts' time window"),
    Key("c", "flip_charts", "Charts", "next charts: CPU, memory, batch size, in flight (c again: back)",
        show=False),
    Key("z", "zoom", "Zoom", "zoom: the focused panel (or the open tab: logs, build) full screen; esc back",
        show=False),
    # copy through the terminal (OSC 52): works over SSH and in tmux (set-clipboard on)
    Key("Y", "copy", "Copy", "copy (yank) the selected row's name; in the log, its newest line shown",
        show=False),
    Key("I", "copy_image", "Copy image", "copy the selected row's image", show=False),
    Key("P", "copy_prediction", "Copy prediction", "copy the last prediction", show=False),
    Key("slash", "filter", "Filter", "filter images, workloads and the log", display="/"),
    Key("colon", "command", "Cmd", "command line; ctrl+p palette", display=":"),
    Key("", "doctor", command="doctor", command_help="check docker, prometheus, kubeconfig, offline builds"),
    Key("question_mark", "help", "Help", display="?", command="help", command_help="show the keys"),
    Key("escape", "go_back", "Back", show=False),
    Key("tab", "", help="next panel; down/up", help_key="tab, j/k"),  # Textual's own focus key
    Key("j", "cursor('down')", "Down", show=False),
    Key("k", "cursor('up')", "Up", show=False),
    Key("q", "quit", "Quit", "quit", command="quit", command_help="leave aitui"),
    # the log panel's own keys (ui/logs.py), k9s's: they win over the App's while the log has focus
    Key("t", "toggle_timestamps", "Timestamps", "log: timestamps on/off", where="log"),
    Key("w", "toggle_wrap", "Wrap", "log: wrap long lines on/off", where="log"),
    Key("p", "previous", "Previous", "log: the previous container (after a crash); p again: live", where="log"),
    Key("ctrl+s", "save", "Save", "log: save the lines shown to a file (its path is said)", where="log",
        display="^s"),
)

BY_ACTION: dict[str, Key] = {}
for _k in KEYS:  # an action two keys share (scale_by: + and -) is described by its first, whose help names both
    if _k.action and not _k.where:  # (a panel's own keys are not the App's)
        BY_ACTION.setdefault(_k.action.split("(")[0], _k)


def bindings(where: str = "") -> list[Binding]:
    """The Binding of every key of the App (where="") or of one panel (its widget's BINDINGS)."""
    return [Binding(k.key, k.action, k.label, show=k.show, key_display=k.display or None, id=k.id,
                    priority=k.priority)
            for k in KEYS if k.key and k.action and k.where == where]


def shown_key(k: Key, keymap: dict[str, str] | None = None) -> str:
    """How the help writes a key: the user's own when the config file remaps it, and what it replaced."""
    default = k.help_key or k.display or k.key
    mine = (keymap or {}).get(k.id)
    return f"{mine} (was {default})" if mine and mine != k.key else default


def help_rows(keymap: dict[str, str] | None = None) -> list[tuple[str, str]]:
    return [(shown_key(k, keymap), k.help) for k in KEYS if k.help]
