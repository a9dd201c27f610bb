"""Keys are data: one table of what the user can ask for. It generates every BINDINGS (the App's, each
panel's and each screen's), the footer's order, the `?` screen, the `:` commands and the ctrl+p palette,
and it says which actions change a target (refused in read-only), which need a deployed workload and which
act on the selected row (the guard reads it: ui/guard.py)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

# whose keys work anywhere on the dashboard: the App's (""), its screen's (ui/screen.py), and the features'
# that wrap the dashboard's panels: what changes a workload (ui/workloads.py) and what shows or tries it
# (ui/inspect.py). Their ids name no panel (the README lists them)
DASHBOARD = ("", "screen", "workloads", "inspect")


@dataclass(frozen=True)
class Key:
    key: str  # Textual key name(s); "" for a `:` command without a key
    action: str  # the action it runs ("" for help-only rows such as tab)
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
    where: str = ""  # "" for the App's keys; the name of the panel or screen whose widget binds it ("log")
    name: str = ""  # the id's last word, when not the action's (one action, two keys: a dialog's yes and no)
    tooltip: str = ""

    @property
    def id(self) -> str:
        """The binding id users remap keys by (Textual's keymap; the config file's [keys] table)."""
        word = self.name or self.verb + (f".{self.key}" if "(" in self.action else "")
        return (f"{self.where}." if self.where not in DASHBOARD else "") + word

    @property
    def verb(self) -> str:
        """The action's name without its arguments (scale_by for scale_by(1))."""
        return self.action.split("(")[0]


KEYS: tuple[Key, ...] = (
    Key("", "ctx", command="ctx", args="<context>", command_help="switch context: local or a kubeconfig context",
        where="contexts"),
    Key("", "ns", command="ns", args="<namespace>", command_help="switch namespace (Kubernetes contexts)",
        where="contexts"),
    Key("", "model", command="model", args="<name|path>", where="contexts",
        command_help="switch model: one named before, or a model project's folder (b builds it, d deploys it)"),
    # the workloads feature's own (ui/workloads.py): what changes a workload, or makes the image it runs
    Key("b", "build", "Build", "build the model's image (b again cancels)", changes=True,
        command="build", command_help="build the model's image (:model names it)", where="workloads"),
    Key("d", "deploy", "Deploy", "deploy the selected or newest image", changes=True, where="workloads",
        command="deploy", command_help="deploy the model's newest image"),
    Key("plus", "scale_by(1)", "More", "scale the workload by one", display="+", help_key="+ / -",
        changes=True, needs_workload=True, scoped=True, where="workloads"),
    Key("minus", "scale_by(-1)", "Less", display="-", changes=True, needs_workload=True, scoped=True,
        where="workloads"),
    Key("s", "scale_to", "Scale to", "scale to N (prefilled)", changes=True, needs_workload=True,
        command="scale", args="<replicas>", command_help="scale the selected workload", scoped=True,
        where="workloads"),
    Key("r", "restart", "Restart", "rollout restart", changes=True, needs_workload=True,
        command="restart", command_help="rollout restart the selected workload", scoped=True, where="workloads"),
    Key("ctrl+d", "delete", "Delete", "delete the workload", show=False, changes=True, needs_workload=True,
        scoped=True, where="workloads"),
    # the inspect feature's own (ui/inspect.py): what shows the selected row or workload, or tries it.
    # The tables' own key opens a row's view; a view that names a verb for it (:models -> logs) runs that
    Key("enter", "enter_row", help="open the row (a workload's pods, a replica's log); esc back", show=False,
        priority=True, where="inspect"),
    Key("l", "logs", "Logs", "logs: the pod, or all replicas merged",
        command="logs", command_help="follow the logs of the selected workload or pod", scoped=True, where="inspect"),
    Key("e", "events", "Events", "events of the workload", show=False,
        command="events", command_help="the selected workload's events", scoped=True, where="inspect"),
    Key("y", "yaml", "YAML", "the selected row's live object as YAML (/ searches)",
        show=False, command="yaml", command_help="the selected row's live object as YAML", where="inspect"),
    Key("i", "describe", "Describe", "describe the selected row: status, conditions, its events", show=False,
        command="describe", command_help="describe the selected row (kubectl describe)", where="inspect"),
    # a shell can change what runs (k9s's read-only mode has none either)
    Key("x", "shell", "Shell", "a shell in the selected replica (exit comes back)", show=False, scoped=True,
        changes=True, command="shell", command_help="exec a shell in the selected replica", where="workloads"),
    Key("u", "rollback", "Undo", "roll back to the previous revision (:rs lists them)", show=False, changes=True,
        needs_workload=True, scoped=True, command="rollback", command_help="roll the workload back one revision",
        where="workloads"),
    Key("m", "models", "Models", "models: each replica's model, req/s, p99, errors, batch, queue",
        show=False, needs_workload=True, where="inspect"),
    Key("L", "loadtest", "Load test", "load test held to the SLO; a report file", show=False, changes=True,
        needs_workload=True, command="loadtest", command_help="load test the workload, held to the SLO",
        where="inspect"),
    Key("C", "capacity", "Capacity", "capacity: ramp concurrency, throughput vs p99, the knee, replicas",
        show=False, changes=True, needs_workload=True, command="capacity",
        command_help="find the knee and size replicas for a rate", where="inspect"),
    Key("", "smoke", needs_workload=True, command="smoke",
        command_help="send the samples to each replica; flag the wrong ones", where="inspect"),
    Key("", "demo", command="demo", command_help="replay the README walkthrough with captions, for a class"),
    # priority: the demo's space works over the prediction it opened (a modal screen)
    Key("space", "demo_next", "Next", "demo: run the step shown / the next step", show=False, priority=True),
    Key("n", "canary", "Canary", "canary: a second image beside, side by side; p promote, a abort", show=False,
        changes=True, needs_workload=True, command="canary", where="workloads",
        command_help="deploy a canary beside the workload, compare, promote or abort"),
    Key("t", "traffic", "Traffic", "traffic: start (concurrency) / stop", changes=True, needs_workload=True,
        where="inspect"),
    Key("p", "predict", "Predict", "predict: send a sample image", needs_workload=True, where="inspect"),
    Key("", "predict_file", needs_workload=True, where="inspect", command="predict", args="<image file>",
        command_help="send an image file to the selected workload (→ completes its path)"),
    Key("w", "window", "Window", "charts window: 5m, 15m, 1h", show=False,
        command="window", args="<5m|15m|1h>", command_help="the charts' time window", where="inspect"),
    Key("c", "flip_charts", "Charts", "next charts: CPU, memory, batch size, in flight (c again: back)",
        show=False, where="inspect"),
    Key("z", "zoom", "Zoom", "zoom: the focused panel (or the open tab: logs, build) full screen; esc back",
        show=False, where="screen"),
    # copy through the terminal (OSC 52): works over SSH and in tmux (set-clipboard on)
    Key("Y", "copy", "Copy", "copy (yank) the selected row's name; in the log, its newest line shown",
        show=False, where="inspect"),
    Key("I", "copy_image", "Copy image", "copy the selected row's image", show=False, where="inspect"),
    Key("P", "copy_prediction", "Copy prediction", "copy the last prediction", show=False, where="inspect"),
    Key("slash", "filter", "Filter", "filter images, workloads and the log", display="/", where="screen"),
    Key("colon", "command", "Cmd", "command line; ctrl+p palette", display=":", where="screen"),
    Key("", "doctor", command="doctor", command_help="check docker, prometheus, kubeconfig, offline builds"),
    Key("question_mark", "help", "Help", display="?", command="help", command_help="show the keys"),
    Key("escape", "go_back", "Back", show=False, where="screen"),
    Key("tab", "", help="next panel; down/up", help_key="tab, j/k"),  # Textual's own focus key
    Key("j", "cursor('down')", "Down", show=False, where="screen"),
    Key("k", "cursor('up')", "Up", show=False, where="screen"),
    Key("q", "quit", "Quit", "quit", command="quit", command_help="leave aitui"),
    # the log panel's own keys (ui/logs.py), k9s's: they win over the App's while the log has focus
    Key("t", "toggle_timestamps", "Timestamps", "log: timestamps on/off", where="log"),
    Key("w", "toggle_wrap", "Wrap", "log: wrap long lines on/off", where="log"),
    Key("p", "previous", "Previous", "log: the previous container (after a crash); p again: live", where="log"),
    Key("ctrl+s", "save", "Save", "log: save the lines shown to a file (its path is said)", where="log",
        display="^s"),
    # the build's, the canary's and the YAML view's own
    Key("v", "toggle_raw", "Raw log", "build: its raw log, or back to its story", where="build",
        tooltip="the build's raw log, or back to its story"),
    Key("p", "promote", "Promote", "canary: promote it (its smoke test first, then the rollout)", where="canary"),
    Key("a", "abort", "Abort", "canary: abort it (its replicas drain away)", where="canary"),
    Key("escape", "close", "Close", where="canary"),
    Key("escape,q", "close", "Back", where="yaml"),
    Key("slash", "find", "Search", "YAML view: search; n / N: the next, the previous match", display="/",
        where="yaml"),
    Key("n", "next_match(1)", "Next", show=False, where="yaml"),
    Key("N", "next_match(-1)", "Previous", show=False, where="yaml"),
    Key("y", "mode('yaml')", "YAML", "YAML view: the object as YAML; i: described", where="yaml"),
    Key("i", "mode('describe')", "Describe", where="yaml"),
    Key("j", "scroll(1)", show=False, where="yaml"),
    Key("k", "scroll(-1)", show=False, where="yaml"),
    # the lists' and the dialogs'
    Key("enter", "select", "Select", show=False, where="table"),
    Key("up", "cursor_up", "Up", "a list: a row up, down; pgup pgdn home end: a page, the first, the last",
        show=False, help_key="↑ ↓ ← →", where="table"),
    Key("down", "cursor_down", "Down", show=False, where="table"),
    Key("pageup", "page_up", "Page up", show=False, where="table"),
    Key("pagedown", "page_down", "Page down", show=False, where="table"),
    Key("home", "first", "First", show=False, where="table"),
    Key("end", "last", "Last", show=False, where="table"),
    Key("left", "scroll_left", "Left", show=False, where="table"),
    Key("right", "scroll_right", "Right", show=False, where="table"),
    Key("y", "answer(True)", "Yes", "a question: y yes; n or esc no", help_key="y / n", where="confirm",
        name="yes"),
    Key("n,escape", "answer(False)", "No", where="confirm", name="no"),
    Key("escape", "cancel", "Cancel", where="number"),
    Key("escape,enter,q,p", "dismiss", "Close", where="prediction"),
    Key("escape,question_mark,q", "dismiss", "Close", "a screen over the dashboard: esc (or q) closes it",
        help_key="esc, q", where="help"),
    Key("escape,q", "dismiss", "Close", where="doctor"),
    Key("r", "recheck", "Check again", "doctor: check again", where="doctor"),
    Key("escape", "close", "Close", "load test, capacity: esc stops the run, or closes", where="run"),
)

BY_ACTION: dict[str, Key] = {}
for _k in KEYS:  # an action two keys share (scale_by: + and -) is described by its first, whose help names both
    if _k.action and _k.where in DASHBOARD:  # (a panel's own keys are not the dashboard's)
        BY_ACTION.setdefault(_k.verb, _k)
ORDER = {k.id: n for n, k in enumerate(KEYS) if k.where in DASHBOARD}  # the footer's order of the dashboard's keys


def bindings(where: str = "") -> list[BindingType]:
    """The Binding of every key of the App (where="") or of one panel or screen (its widget's BINDINGS).
    A key its widget's check_action may hide (a verb the view on top lacks, a change in read-only) has a
    hidden twin after it, `refused`, which still says why when that key is pressed."""
    own = [k for k in KEYS if k.key and k.action and k.where == where]
    made: list[BindingType] = [Binding(k.key, k.action, k.label, show=k.show, key_display=k.display or None,
                                       id=k.id, priority=k.priority, tooltip=k.tooltip) for k in own]
    return made + [Binding(k.key, f"refused('{k.verb}')", show=False, id=k.id) for k in own if k.scoped or k.changes]


def blockers(own: set[str]) -> list[BindingType]:
    """For a full screen over the dashboard: the App's keys bound to `nothing` (d would deploy behind it)
    but for the keys the screen has itself; each with its key's id, so that a remapped key is blocked too."""
    made: list[BindingType] = [Binding(k.key, "nothing", show=False, id=k.id) for k in KEYS
                               if k.key and k.action and not k.where and k.key not in own]
    return made


def shown_key(k: Key, keymap: dict[str, str] | None = None) -> str:
    """How the help writes a key: the user's own when the config file remaps it, and what it replaced."""
    default = k.help_key or k.display or k.key
    mine = (keymap or {}).get(k.id)
    return f"{mine} (was {default})" if mine and mine != k.key else default


def help_rows(keymap: dict[str, str] | None = None) -> list[tuple[str, str]]:
    return [(shown_key(k, keymap), k.help) for k in KEYS if k.help]
