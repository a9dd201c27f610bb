"""Building the recognizer's image: its tag from what the build sees, the streamed build cut into stages
(with the training's figures), and each stage's time for the next build's estimate."""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aitui.config import Settings, serving_dir, state_dir
from aitui.models import BUILD_STAGES, BuildEvent
from aitui.services import model_project
from aitui.services.engine import docker_client
from aitui.services.errors import reason
from aitui.services.images.catalog import (
    COMPONENT_LABEL,
    MODEL_LABEL,
    NAME_LABEL,
    REPOSITORY,
    read_model,
    remember_model,
)
from aitui.services.images.engine import write_state

if TYPE_CHECKING:
    import docker

    from aitui.services.model_project import Model

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)")
_FROM = re.compile(r"^FROM\s+\S+(?:\s+AS\s+(\S+))?\s*$", re.I)
# serving/Dockerfile's stages, as the user would name what they do; the final (unnamed) stage and any stage
# not named here belong to the runtime image. The train stage is "packages" until its training step runs.
DOCKER_STAGES = {"python-env": "base", "train": "packages"}
TRAINING_STEP = "recognizer.train"  # the step whose RUN trains (its AITUI_RESULT line ends the training)
CONVERT_STEP = "recognizer.convert"  # a project's: in its own stage, it is the build's training
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # the engine colours a step's stderr: not for a log widget
# what serving/recognizer/train.py and convert.py emit
_FIGURES = re.compile(r"^(AITUI_EPOCH|AITUI_RESULT|AITUI_REFUSED) (\{.*\})\s*$")


_TIMES_FILE = "build-times.json"  # build kind -> stage -> seconds it took when it last ran (not from the cache)


def stage_times(kind: str) -> dict[str, float]:
    """How long each stage took the last time a build of this kind ran it (for the estimate)."""
    try:
        found = json.loads((state_dir() / _TIMES_FILE).read_text()).get(kind, {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {k: float(v) for k, v in found.items() if k in BUILD_STAGES and isinstance(v, (int, float))}


def record_stage_times(kind: str, times: dict[str, float]) -> None:
    try:
        every = json.loads((state_dir() / _TIMES_FILE).read_text())
        every = every if isinstance(every, dict) else {}
    except (OSError, ValueError):
        every = {}
    every[kind] = {**every.get(kind, {}), **{k: round(v, 1) for k, v in times.items()}}
    write_state(_TIMES_FILE, every)


def recognizer_tag(context: Path, model: Model | None = None) -> str:
    """aitui/recognizer:<version>-<hash of what the build sees>: a change that reaches the image
    is a new tag, so a rollout always has something new to roll to; a README edit is not. A model project's
    image is aitui/<its name>, and its files are part of what the build sees (in place of project/)."""
    init = (context / "recognizer" / "__init__.py").read_text()
    m = re.search(r'__version__\s*=\s*"([^"]+)"', init)
    version = m.group(1) if m else "0"
    ignore = ["wheels", "wheels/*"]  # the wheelhouse is how packages arrive, not what is built
    if (context / ".dockerignore").is_file():
        ignore += [line.strip().removeprefix("**/") for line in (context / ".dockerignore").read_text().splitlines()
                   if line.strip() and not line.startswith("#")]
    if model is not None and not model.shipped:
        ignore.append(PROJECT_DIR)
    h = hashlib.sha256()
    for p in sorted(context.rglob("*")):
        rel = p.relative_to(context)
        if p.is_file() and not any(fnmatch.fnmatch(str(rel), pat) or any(fnmatch.fnmatch(part, pat.rstrip("/"))
                                                                         for part in rel.parts) for pat in ignore):
            h.update(str(rel).encode() + b"\0" + p.read_bytes())
    if model is None or model.shipped:
        return f"{REPOSITORY}:{version}-{h.hexdigest()[:7]}"
    for rel_name in sorted(model.files):
        h.update(f"{PROJECT_DIR}/{rel_name}".encode() + b"\0" + (model.path / rel_name).read_bytes())  # type: ignore[operator]
    return f"{model.repository}:{version}-{h.hexdigest()[:7]}"


PROJECT_DIR = "project"  # where serving/Dockerfile's project stages find a model project in the context


def project_context(context: Path, model: Model) -> Any:
    """The build context of a model project's image: the serving directory as the engine would take it
    (its .dockerignore), with the project's files (and only those) in project/. A temporary file, read once."""
    import tarfile
    import tempfile

    from docker.utils.build import exclude_paths

    ignore = []
    if (context / ".dockerignore").is_file():
        ignore = [line.strip() for line in (context / ".dockerignore").read_text().splitlines()
                  if line.strip() and not line.startswith("#")]
    f = tempfile.TemporaryFile()  # noqa: SIM115 - the engine reads it after this returns
    with tarfile.open(fileobj=f, mode="w") as tar:
        for rel in sorted(exclude_paths(str(context), [*ignore, PROJECT_DIR])):
            tar.add(context / rel, arcname=rel, recursive=False)
        for rel in model.files:
            tar.add(model.path / rel, arcname=f"{PROJECT_DIR}/{rel}", recursive=False)  # type: ignore[operator]
    f.seek(0)
    return f


def source_revision(context: Path) -> str:
    """The git commit the build context is at (org.opencontainers.image.revision), with "-dirty" when
    the context has uncommitted changes; "" when it is not in a git work tree (the Dockerfile then
    says "unknown")."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(context), *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "--verify", "HEAD")
        if head.returncode != 0:
            return ""
        dirty = git("status", "--porcelain", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return ""
    return head.stdout.strip() + ("-dirty" if dirty.returncode != 0 or dirty.stdout.strip() else "")


class Build:
    """One build of the recognizer. Iterate for events; cancel() from any thread stops it
    (closing the connection makes the engine abandon the build)."""

    def __init__(self, settings: Settings, tag: str | None = None, context: Path | None = None,
                 buildargs: dict[str, str] | None = None, model: Model | None = None) -> None:
        self.settings = settings
        self.context = context or serving_dir(settings)
        self.refused = ""  # why the model cannot be built (nothing is sent to the engine then)
        if model is None:
            try:
                model = model_project.of(settings)
            except model_project.ModelError as exc:
                model, self.refused = model_project.shipped(), str(exc)
        self.model = model
        self.tag = tag or ("" if self.refused else recognizer_tag(self.context, model))
        revision = source_revision(self.context)
        self.buildargs = {"BASE_IMAGE": settings.base_image, "VERSION": self.tag.split(":")[-1],
                          **({"REVISION": revision} if revision else {}),
                          **({} if model.shipped else {"MODEL_NAME": model.name}), **(buildargs or {})}
        self._cancelled = threading.Event()
        self._api: docker.APIClient | None = None
        self._response: Any = None  # the build's streamed HTTP response, once the engine answers
        self.estimate = stage_times(self.kind)  # seconds per stage, the last time a build of this kind ran it

    @property
    def kind(self) -> str:
        """Builds of one kind take about as long: the runtime, and the training's arguments when not the default."""
        runtime = self.buildargs.get("RUNTIME", "litert")
        if not self.model.shipped:  # a project's: its own model, converted (no training arguments)
            return f"{runtime} {self.model.name}"
        # a seed or an accuracy gate takes no longer: such builds share the default's estimate
        args = " ".join(re.sub(r"--(seed|min-accuracy)[ =]\S+", "", self.buildargs.get("TRAIN_ARGS", "")).split())
        return f"{runtime} {args}" if args else runtime

    def cancel(self) -> None:
        """Stop now, even in a quiet step: the stream's socket is shut, which unblocks the read waiting
        on it, and the engine abandons a build whose client is gone (closing the client alone would only
        close its idle connections, and the read would wait for the step's next line)."""
        self._cancelled.set()
        sock = getattr(getattr(getattr(self._response, "raw", None), "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._api is not None:
            self._api.close()

    def events(self) -> Iterator[BuildEvent]:
        t0 = time.monotonic()
        if self.refused:
            yield BuildEvent("error", self.refused)
            return
        if not (self.context / "Dockerfile").is_file():
            yield BuildEvent("error", f"no Dockerfile in {self.context}")
            return
        try:
            api = self._api = docker_client(self.settings, 3600).api
            stream_helper = api._stream_helper

            def keep_response(response: Any, decode: bool = False) -> Any:  # cancel() needs its socket
                self._response = response
                return stream_helper(response, decode=decode)

            api._stream_helper = keep_response
            if self._cancelled.is_set():
                raise RuntimeError("cancelled")
            target = self.model.target
            stages = _Stages(t0, model_project.PROJECT_STAGES.get(target or ""))
            yield stages.enter("base")  # sending the context (the wheelhouse) is part of it
            # The tag is applied by the engine only when every step succeeds: a failed build
            # leaves no half-tagged image behind.
            where: dict[str, Any] = {"path": str(self.context)} if target is None else {
                "fileobj": project_context(self.context, self.model), "custom_context": True, "target": target}
            stream = self._api.build(**where, tag=self.tag, buildargs=self.buildargs, rm=True, forcerm=True,
                                     decode=True, labels={COMPONENT_LABEL: "recognizer", NAME_LABEL: self.model.name})
            image_id = ""
            lines = BuildLines()
            for chunk in stream:
                if self._cancelled.is_set():
                    break
                if "error" in chunk:
                    detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                    detail = stages.refused or detail  # the project's own word on why, over "returned code 1"
                    yield BuildEvent("error", detail.strip(), seconds=time.monotonic() - t0, stage=stages.now)
                    return
                if "aux" in chunk and "ID" in chunk["aux"]:
                    image_id = chunk["aux"]["ID"].removeprefix("sha256:")[:12]
                for line in lines.feed(chunk.get("stream", "")):
                    yield from stages.read(line)
            for line in lines.end():
                yield from stages.read(line)
            if not self._cancelled.is_set():
                record_stage_times(self.kind, stages.ran())
                image_id, said = self._label(api, image_id)
                if said:
                    yield BuildEvent("log", said, stage=stages.now)
        except Exception as exc:
            if self._cancelled.is_set():
                yield BuildEvent("cancelled", "build cancelled", seconds=time.monotonic() - t0)
            else:
                yield BuildEvent("error", f"build failed: {reason(exc)}", seconds=time.monotonic() - t0)
            return
        finally:
            if self._api is not None:
                self._api.close()
        if self._cancelled.is_set():
            yield BuildEvent("cancelled", "build cancelled", seconds=time.monotonic() - t0)
            return
        yield BuildEvent("done", f"built {self.tag}", image_id=image_id, tag=self.tag,
                         seconds=time.monotonic() - t0)

    def _label(self, api: docker.APIClient, image_id: str) -> tuple[str, str]:
        """model.json's figures written on the image as a label (MODEL_LABEL), so that listing them needs no
        container (a read-only aitui creates none): one more build, FROM the image just tagged, of that
        label alone, under the same tag (the first image stays, as its parent; a rebuild takes both from the
        engine's cache). An image without a model.json keeps its tag. (image id, a line to log or "")."""
        import io
        import tarfile

        model = read_model(api, self.tag)
        if not model:
            return image_id, "" if model is not None else "build: model.json not read: its figures are not labelled"
        value = json.dumps(model, separators=(",", ":"), sort_keys=True)
        if len(value) > 8192:  # a label is metadata: a model.json that grew big keeps its headline figure
            value = json.dumps({"accuracy": model.get("accuracy")})
        context = io.BytesIO()
        with tarfile.open(fileobj=context, mode="w") as tar:
            dockerfile = f"FROM {self.tag}\n".encode()
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(dockerfile)
            tar.addfile(info, io.BytesIO(dockerfile))
        context.seek(0)
        labelled = image_id
        try:
            for chunk in api.build(fileobj=context, custom_context=True, tag=self.tag, labels={MODEL_LABEL: value},
                                   rm=True, forcerm=True, decode=True):
                if "error" in chunk:
                    return image_id, f"build: model.json's figures not labelled: {chunk['error'].strip()}"
                if "aux" in chunk and "ID" in chunk["aux"]:
                    labelled = chunk["aux"]["ID"].removeprefix("sha256:")[:12]
        except Exception as exc:
            if self._cancelled.is_set():
                raise
            return image_id, f"build: model.json's figures not labelled: {reason(exc)}"
        remember_model(labelled, model)
        return labelled, f"build: model.json's figures labelled on the image ({MODEL_LABEL})"


LINE_LIMIT = 16 * 1024  # characters of one build line kept: a step that never prints a newline grows nothing


class BuildLines:
    """Whole lines from a build's stream chunks (a figures line split across two chunks would be two broken
    lines). A line longer than `limit` is cut there, said so, and the rest of it is dropped up to its
    newline: what is held never exceeds `limit`, whatever a step prints."""

    def __init__(self, limit: int = LINE_LIMIT) -> None:
        self.limit = limit
        self.partial = ""
        self.cutting = False  # dropping the rest of a line that was cut

    def feed(self, text: str) -> Iterator[str]:
        while text:
            head, newline, text = text.partition("\n")
            if self.cutting:
                self.cutting = not newline
                continue
            self.partial += head[: self.limit + 1 - len(self.partial)]
            if len(self.partial) > self.limit:
                yield f"{self.partial[: self.limit]} … (cut: a line longer than {self.limit // 1024} kB)"
                self.partial, self.cutting = "", not newline
            elif newline:
                line, self.partial = self.partial, ""
                yield from line.splitlines()

    def end(self) -> list[str]:
        line, self.partial = self.partial, ""
        return line.splitlines()


class _Stages:
    """Which stage a build is in, from the lines it streams: a step's FROM names its Dockerfile stage, the
    training step and its AITUI_RESULT line split the train stage. Times each stage, and whether it ran
    (any of its steps not taken from the engine's cache)."""

    def __init__(self, t0: float, project_stage: str | None = None) -> None:
        self.t0 = t0
        # a model project's build: its own project stage installs (packages) and converts (training)
        self.project_stage = project_stage
        self.docker_stage = ""
        self.refused = ""  # what a project stage said when it refused the project (AITUI_REFUSED)
        self.now = ""
        self.began: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.ran_steps: set[str] = set()  # stages with a step that ran (not taken from the engine's cache)
        self._open_step = ""  # the stage of the step in progress, until it says it was cached
        self.staged = False  # past the first FROM
        self.step = 0

    def enter(self, stage: str) -> BuildEvent:
        at = time.monotonic()
        if self.now:
            self.ended[self.now] = at
        self.now = stage
        self.began.setdefault(stage, at)
        return BuildEvent("stage", stage, seconds=at - self.t0, stage=stage)

    def read(self, line: str) -> Iterator[BuildEvent]:
        line = _ANSI.sub("", line)
        m = _STEP.match(line)
        if m:
            self.step, steps, text = int(m.group(1)), int(m.group(2)), m.group(3)
            self._settle()
            f = _FROM.match(text)
            stage = self.now
            if f:
                self.docker_stage = f.group(1) or ""
                stage = self._stage_of(self.docker_stage)
            elif self.now == "packages" and (TRAINING_STEP in text or (
                    CONVERT_STEP in text and self.project_stage and self.docker_stage == self.project_stage)):
                stage = "training"
            if stage != self.now:
                yield self.enter(stage)
            self._open_step = self.now if self.staged and not f else ""  # a FROM (or an ARG before one) runs nothing
            self.staged = self.staged or bool(f)
            yield BuildEvent("step", text, self.step, steps, seconds=time.monotonic() - self.t0, stage=self.now)
            return
        figures = _FIGURES.match(line.strip())
        if figures:
            yield from self._figures(figures.group(1), figures.group(2), line)
            return
        if line.strip() == "---> Using cache":
            self._open_step = ""
            yield BuildEvent("cached", step=self.step, seconds=time.monotonic() - self.t0, stage=self.now)
        if line.strip():
            yield BuildEvent("log", line.rstrip(), stage=self.now)

    def _stage_of(self, name: str) -> str:
        """A Dockerfile stage's part of the story: named ones by DOCKER_STAGES, the final one and any stage
        after the training belong to the runtime image; an unknown stage before it, to the current part."""
        if name in DOCKER_STAGES:
            return DOCKER_STAGES[name]
        if name and name == self.project_stage:
            return "packages"
        if not name or BUILD_STAGES.index(self.now) >= BUILD_STAGES.index("training"):
            return "runtime image"
        return self.now

    def _settle(self) -> None:
        if self._open_step:
            self.ran_steps.add(self._open_step)
            self._open_step = ""

    def _figures(self, kind: str, raw: str, line: str) -> Iterator[BuildEvent]:
        try:
            fields = json.loads(raw)
            seconds = time.monotonic() - self.t0
            if kind == "AITUI_REFUSED":
                self.refused = str(fields["reason"])
            elif kind == "AITUI_EPOCH":
                yield BuildEvent("epoch", stage=self.now, seconds=seconds, epoch=int(fields["epoch"]),
                                 epochs=int(fields["epochs"]), loss=_number(fields.get("loss")),
                                 accuracy=_number(fields.get("val_accuracy")))
            else:
                # (said again after export when what ships is another model, e.g. int8: the last one counts)
                yield BuildEvent("result", stage=self.now, seconds=seconds, accuracy=_number(fields.get("accuracy")))
                if self.now != "export":
                    yield self.enter("export")
                    self.ran_steps.add("export")  # the rest of the training step: it runs, or no result is said
        except (ValueError, KeyError, TypeError):
            pass  # a malformed line is only a line
        yield BuildEvent("log", line.rstrip(), stage=self.now)

    def ran(self) -> dict[str, float]:
        """Seconds of each stage that ran (not all from the cache): the next build's estimate."""
        self._settle()
        self.ended.setdefault(self.now, time.monotonic())
        return {s: self.ended[s] - self.began[s] for s in self.began if s in self.ran_steps and s in self.ended}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
