"""The headless commands: build, deploy, scale, predict, loadtest, capacity and smoke, for CI, for
scripts (script.py runs them line by line) and for teachers. Each is a function of the settings and its
options that returns an Outcome (exit code, data for --json, text for a person); progress goes to
stderr, the outcome to stdout.

Exit codes: 0 done or passed; 1 a step ran and failed (the SLO, a flagged replica, a failed build or
rollout); 2 it could not start: usage, configuration, an unreachable engine, an unknown image, nothing
deployed (and then nothing was changed)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aitui.config import Settings, is_local
from aitui.services.redact import data as masked_data
from aitui.services.redact import text as masked
from aitui.services.targets import Target

OK, FAILED, USAGE = 0, 1, 2
READY_TIMEOUT = 180.0  # seconds a scale waits for its replicas to be ready
SETTLE = 30.0  # seconds a command that sends requests waits for the replicas to be ready


class CommandError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Outcome:
    code: int
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def say(line: str) -> None:
    """Progress, to stderr: stdout stays the outcome (and pure JSON with --json). What looks secret is
    masked in all the CLI prints (services/redact.py)."""
    print(masked(line), file=sys.stderr, flush=True)


def execute(command: str, options: dict[str, Any], settings: Settings) -> Outcome:
    def run() -> Outcome:
        if "workload" in options and not options["workload"]:  # a workload is named after its model
            from aitui.services import model_project

            try:
                options["workload"] = model_project.of(settings).name
            except model_project.ModelError as exc:
                raise CommandError(USAGE, str(exc)) from None
        return COMMANDS[command](settings, options)

    return guarded(command, run)


def guarded(command: str, fn: Callable[[], Outcome]) -> Outcome:
    """One clear line for every failure, never a traceback (that goes to aitui.log)."""
    import logging

    from aitui.services.errors import reason

    try:
        return fn()
    except CommandError as exc:
        say(f"aitui {command}: {exc}")
        return Outcome(exc.code, {"error": str(exc)})
    except KeyboardInterrupt:
        say(f"aitui {command}: interrupted")
        return Outcome(130, {"error": "interrupted"})
    except Exception as exc:
        logging.getLogger("aitui.commands").exception("%s failed", command)
        say(f"aitui {command}: failed: {reason(exc)} (details in aitui.log)")
        return Outcome(FAILED, {"error": reason(exc)})


def show(command: str, outcome: Outcome, as_json: bool) -> None:
    if as_json:
        print(json.dumps(masked_data({"command": command, "exit_code": outcome.code, "ok": outcome.code == OK,
                                      **outcome.data}), indent=2, default=str))
    elif outcome.text:
        print(masked(outcome.text))


# -- shared steps --------------------------------------------------------------------------------
def refuse_if_readonly(settings: Settings, verb: str) -> None:
    if settings.is_readonly():
        raise CommandError(USAGE, f"read-only ({settings.context}): {verb} refused, nothing sent")


def engine_hint(settings: Settings) -> str:
    if not is_local(settings.context):
        return f" (context {settings.context}; 'aitui doctor' checks it)"
    return f" (Docker engine at {settings.docker_host or 'its default socket'}; 'aitui doctor' says how to fix it)"


@contextmanager
def target_of(settings: Settings) -> Iterator[Target]:
    """The context's target, once it has answered a list: an engine that cannot be reached is a usage
    error (exit 2) raised before anything is asked to change."""
    from aitui.services.kubeconfig import tls_unverified
    from aitui.services.targets import TargetError, open_target

    try:
        target = open_target(settings, settings.context, settings.namespace)
    except TargetError as exc:
        raise CommandError(USAGE, f"{exc}{engine_hint(settings)}") from None
    if not is_local(settings.context) and (note := tls_unverified(settings.kubeconfig, settings.context)):
        say(f"aitui: {note}")  # connected as kubectl would, never silently
    try:
        if not target.synced(max(10.0, settings.timeout * 3)):  # a cluster's caches list once first
            why = "; ".join(target.errors.values()) or "no answer"
            raise CommandError(USAGE, f"{settings.context}: cannot list the namespace {settings.namespace}: {why}")
        try:
            target.workloads()
        except TargetError as exc:
            raise CommandError(USAGE, f"{exc}{engine_hint(settings)}") from None
        yield target
    finally:
        target.close()


def deployed(target: Target, workload: str, settle: float = 0.0) -> Any:
    """The workload, or a usage error. With `settle`, wait up to that long for its replicas to be ready:
    a replica another process started is ready here once the engine's health check says so (seconds)."""
    deadline = time.monotonic() + settle
    while True:
        found = next((w for w in target.workloads() if w.name == workload), None)
        if found is None:
            raise CommandError(USAGE, f"nothing deployed: no workload {workload!r} on {target.where}; "
                                      "'aitui deploy' runs one")
        if found.ready >= found.desired or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def workload_data(target: Target, workload: str) -> dict[str, Any]:
    w = next((w for w in target.workloads() if w.name == workload), None)
    if w is None:
        return {"workload": workload, "replicas": 0, "ready": 0}
    return {"workload": w.name, "context": target.name, "namespace": target.namespace, "image": w.image,
            "replicas": w.desired, "ready": w.ready, "endpoints": len(target.endpoints(workload))}


def wait_ready(target: Target, workload: str, replicas: int, timeout: float = READY_TIMEOUT) -> None:
    """Until exactly `replicas` replicas (not leaving, not quarantined) are there and ready, and the
    workload says so too (a Deployment's status follows its pods by a moment), polled with a deadline."""
    deadline = time.monotonic() + timeout
    seen = ""
    while True:
        pods = [p for p in target.pods(workload) if p.status not in ("Terminating", "Exited", "Dead", "Quarantined")]
        ready = sum(p.ready for p in pods)
        w = next((w for w in target.workloads() if w.name == workload), None) if ready == replicas else None
        agrees = (w.desired, w.ready) == (replicas, replicas) if w is not None else replicas == 0
        if len(pods) == replicas and ready == replicas and agrees:
            return
        now = f"{ready}/{replicas} ready ({len(pods)} replicas)"
        if now != seen:
            say(f"scale {workload}: {now}")
            seen = now
        if time.monotonic() > deadline:
            raise CommandError(FAILED, f"{workload}: {now} after {timeout:.0f} s")
        time.sleep(0.25)


# -- the commands --------------------------------------------------------------------------------
def build(settings: Settings, o: dict[str, Any]) -> Outcome:
    from aitui.services import images, model_project
    from aitui.services.errors import reason

    refuse_if_readonly(settings, "build")
    try:  # a model that cannot be served is refused before the engine is asked anything
        model = model_project.of(settings)
    except model_project.ModelError as exc:
        raise CommandError(USAGE, str(exc)) from None
    try:
        images.client(settings).ping()
    except Exception as exc:
        raise CommandError(USAGE, f"docker: {reason(exc)}{engine_hint(settings)}") from None
    place = registry_of(settings) if o.get("push") else None  # checked before a build of minutes
    run = images.Build(settings, tag=o.get("tag"), model=model)
    say(f"build {run.tag} from {run.context}" + ("" if model.shipped else f" and {model.path} "
                                                f"({model.format}, {model.input}, {model.samples} samples)"))
    if model.unchecked:
        say(f"build: checked when built: {model.unchecked}")
    last = None
    for ev in run.events():
        last = ev
        if ev.kind == "step":
            say(f"build: step {ev.step}/{ev.steps}: {ev.text}")
        elif ev.kind == "stage":
            say(f"build: {ev.text} ({ev.seconds:.0f} s)")
        elif ev.kind == "log" and not model.shipped and ev.stage in ("training", "export") \
                and not ev.text.startswith(("AITUI_", " ---> ")):
            say(f"build: {ev.text}")  # what the conversion says: the input it read, int8 or not and why, the check
    if last is None or last.kind != "done":
        raise CommandError(FAILED, last.text if last else "the build said nothing")
    data = {"tag": last.tag, "image_id": last.image_id, "seconds": round(last.seconds, 1), "model": model.name}
    text = f"built {last.tag} ({last.image_id}) in {last.seconds:.0f} s"
    if place is not None:
        from aitui.services import registry

        t0 = time.monotonic()
        try:
            data["pushed"] = registry.push(settings, last.tag, place, say)
        except registry.RegistryError as exc:
            raise CommandError(FAILED, str(exc)) from None
        data["push_seconds"] = round(time.monotonic() - t0, 1)
        text += f"\npushed {data['pushed']} in {data['push_seconds']:.1f} s"
    return Outcome(OK, data, text)


def registry_of(settings: Settings) -> Any:
    """The registry the context's nodes pull from, checked (TLS trust, credentials): a usage error if none."""
    from aitui.services import kubeconfig, registry

    if is_local(settings.context):
        raise CommandError(USAGE, "--push: the local context runs what its engine has; name a cluster's context "
                                  "whose cluster_images is registry://HOST/PATH (--context)")
    try:
        images = settings.cluster_images.get(settings.context) or kubeconfig.extension_of(
            settings.kubeconfig, settings.context).get("images", "")
        place = registry.place_of(images)
        if place is None:
            raise CommandError(USAGE, f"--push: context {settings.context} names no registry: set "
                                      f'cluster_images.{settings.context} = "registry://HOST/PATH"')
        registry.check(place.host, registry.credentials(place.host), timeout=max(5.0, settings.timeout))
    except registry.RegistryError as exc:
        raise CommandError(USAGE, str(exc)) from None
    return place


def resolve_image(settings: Settings, wanted: str | None) -> str:
    """The image's tag as the engine knows it: the tag or id given, or the newest recognizer image."""
    from aitui.services import images

    try:
        found = images.list_images(settings)
    except images.DockerError as exc:
        raise CommandError(USAGE, f"{exc}{engine_hint(settings)}") from None
    recognizers = [i for i in found if i.recognizer and i.tags]
    if wanted is None:  # the newest image of the model the settings name
        from aitui.services import model_project

        try:
            name = model_project.of(settings).name
        except model_project.ModelError as exc:
            raise CommandError(USAGE, str(exc)) from None
        recognizers = [i for i in recognizers if i.model == name]
        if not recognizers:
            raise CommandError(USAGE, f"no {name} image in the Docker engine; 'aitui build' makes one")
        return recognizers[0].tags[0]
    for image in found:
        for name in (wanted, f"{images.REPOSITORY}:{wanted}"):
            if name in image.tags:
                return name
        if image.tags and len(wanted) >= 6 and image.id.startswith(wanted.removeprefix("sha256:")):
            return image.tags[0]
    known = ", ".join(t for i in recognizers[:3] for t in i.tags[:1]) or "none: 'aitui build' makes one"
    raise CommandError(USAGE, f"no image {wanted!r} in the Docker engine (recognizer images: {known})")


def deploy(settings: Settings, o: dict[str, Any]) -> Outcome:
    from aitui.services.targets import TargetError

    refuse_if_readonly(settings, "deploy")
    if o["replicas"] < 1:
        raise CommandError(USAGE, "--replicas must be 1 or more ('aitui scale 0' stops every replica)")
    image = resolve_image(settings, o.get("image"))
    with target_of(settings) as target:
        say(f"deploy {image} x{o['replicas']} as {o['workload']} on {settings.context}")
        try:
            target.deploy(image, o["replicas"], o["workload"], say)
        except TargetError as exc:
            raise CommandError(FAILED, str(exc)) from None
        data = workload_data(target, o["workload"])
        text = (f"deployed {image} as {o['workload']} on {target.name}: {data['ready']}/{data['replicas']} ready")
        if not o.get("smoke"):
            return Outcome(OK, data, text)
        checked = smoke_on(settings, target, o["workload"], None, o.get("quarantine", False))
    data["smoke"] = checked.data
    return Outcome(checked.code, data, f"{text}\n{checked.text}")


def scale(settings: Settings, o: dict[str, Any]) -> Outcome:
    from aitui.services.targets import TargetError

    refuse_if_readonly(settings, "scale")
    if o["replicas"] < 0:
        raise CommandError(USAGE, "N must be 0 or more")
    with target_of(settings) as target:
        deployed(target, o["workload"])
        try:
            target.scale(o["replicas"], o["workload"], say)
        except TargetError as exc:
            raise CommandError(FAILED, str(exc)) from None
        wait_ready(target, o["workload"], o["replicas"])
        data = workload_data(target, o["workload"])
    return Outcome(OK, data, f"scaled {o['workload']} to {o['replicas']}: {data['ready']} ready")


def predict(settings: Settings, o: dict[str, Any]) -> Outcome:
    import random

    from aitui.services import samples
    from aitui.services.predict import predict
    from aitui.services.targets import TargetError

    wanted, expected = o.get("file"), None
    with target_of(settings) as target:
        deployed(target, o["workload"], SETTLE)
        model = samples.served(target, o["workload"])
        if wanted and Path(wanted).is_file():
            try:
                image = Path(wanted).read_bytes()
            except OSError as exc:
                raise CommandError(USAGE, f"{wanted}: {exc.strerror or exc}") from None
        else:  # a label of the model's samples, or one of them at random
            try:
                by_label = samples.one_per_label(samples.of(settings, model))
            except samples.NoSamples as exc:
                raise CommandError(USAGE, f"{exc}; or name an image file") from None
            if wanted and wanted not in by_label:
                raise CommandError(USAGE, f"{wanted}: no such file, nor a sample ({', '.join(by_label)})")
            expected = wanted or random.choice(sorted(by_label))
            image = by_label[expected]
        try:
            endpoints = target.endpoints(o["workload"])
        except TargetError as exc:  # a port-forward the cluster forbids, in its words
            raise CommandError(USAGE, str(exc)) from None
        if not endpoints:
            raise CommandError(USAGE, f"{o['workload']} has no ready replica")
        endpoint = random.choice(endpoints)
        p = predict(endpoint, image, max(10.0, settings.timeout), model)
        route = target.route(endpoint)
    if p.error:
        raise CommandError(FAILED, f"{route}: {p.error}")
    right = expected is None or p.labels[0][0] == expected
    data = {"replica": route, "expected": expected, "labels": [{"label": k, "score": v} for k, v in p.labels],
            "seconds": round(p.seconds, 4), "correct": right if expected else None}
    top = ", ".join(f"{k} {v:.3f}" for k, v in p.labels[:5])
    verdict = "" if expected is None else (f" (sample {expected}: right)" if right else f" (sample {expected}: WRONG)")
    return Outcome(OK if right else FAILED, data, f"{p.labels[0][0]}{verdict} from {route} in "
                                                  f"{p.seconds * 1000:.0f} ms; top-5: {top}")


def thresholds_of(settings: Settings, o: dict[str, Any]) -> Any:
    from aitui.services import slo

    if o.get("p99") is not None and o["p99"] <= 0:
        raise CommandError(USAGE, "--p99 must be more than 0 ms")
    if o.get("max_error_ratio") is not None and not 0 <= o["max_error_ratio"] <= 1:
        raise CommandError(USAGE, "--max-error-ratio must be from 0 to 1")
    try:
        return slo.resolve(settings, o.get("p99"), o.get("max_error_ratio"))
    except slo.SLOError as exc:
        raise CommandError(USAGE, str(exc)) from None


def ticker() -> Callable[[Any], None]:
    """Progress lines for a terminal or a CI log: one each few seconds, not one a second."""
    last = [time.monotonic()]

    def tick(t: Any) -> None:
        if time.monotonic() - last[0] >= 5 or t.elapsed >= t.duration:
            last[0] = time.monotonic()
            say(t.text)

    return tick


def load_of(settings: Settings, target: Target, workload: str) -> tuple[str, list[bytes]]:
    """What load sends: (the model the workload serves, its samples' images)."""
    from aitui.services import samples

    try:
        model, found = samples.for_workload(settings, target, workload)
    except samples.NoSamples as exc:
        raise CommandError(USAGE, str(exc)) from None
    return model, [data for _, data in found]


def loadtest(settings: Settings, o: dict[str, Any]) -> Outcome:
    from aitui.services import loadtest as lt

    refuse_if_readonly(settings, "loadtest")  # as the app's L: a load test is not for a read-only context
    if o["concurrency"] < 1 or (o.get("rate") is not None and o["rate"] <= 0) or o["max_requests"] < 1:
        raise CommandError(USAGE, "--concurrency, --rate and --max-requests must be more than 0")
    if not 0 < o["duration"] <= 600:
        raise CommandError(USAGE, "--duration must be more than 0 and at most 600 s")
    limits = thresholds_of(settings, o)
    report = Path(o["report"]) if o.get("report") else lt.default_report()
    with target_of(settings) as target:
        deployed(target, o["workload"], SETTLE)
        say(f"loadtest {o['workload']} on {target.name}: {o['concurrency']} concurrent"
            f"{', ' + format(o['rate'], 'g') + ' req/s' if o.get('rate') else ''} for {o['duration']:g} s; "
            f"SLO p99 <= {limits.p99_ms:g} ms, errors <= {limits.error_ratio:g} ({limits.source})")
        try:
            model, images = load_of(settings, target, o["workload"])
            result = lt.run(target, o["workload"], limits, o["concurrency"], o["duration"], o.get("rate"),
                            o["max_requests"], images, progress=ticker(), model=model)
        except lt.LoadTestError as exc:
            raise CommandError(USAGE, str(exc)) from None
    try:
        result = lt.write_report(result, report)
    except OSError as exc:
        raise CommandError(USAGE, f"report {report}: {exc.strerror or exc}") from None
    text = f"{result.line()}\nreport: {result.report['json']} ({Path(result.report['markdown']).name})"
    return Outcome(OK if result.passed else FAILED, result.as_dict(), text)


def capacity(settings: Settings, o: dict[str, Any]) -> Outcome:
    from aitui.services import capacity as cap
    from aitui.services import loadtest as lt

    refuse_if_readonly(settings, "capacity")  # as the app's C
    try:
        steps = tuple(int(s) for s in o["steps"].split(",") if s.strip())
    except ValueError:
        raise CommandError(USAGE, f"--steps: {o['steps']!r} is not a list of numbers like 1,2,4,8") from None
    if o.get("rate") is not None and o["rate"] <= 0:
        raise CommandError(USAGE, "--rate must be more than 0")
    limits = thresholds_of(settings, o)
    report = Path(o["report"]) if o.get("report") else lt.default_report("capacity")
    with target_of(settings) as target:
        deployed(target, o["workload"], SETTLE)
        say(f"capacity {o['workload']} on {target.name}: steps {','.join(map(str, steps))}, "
            f"{o['step_seconds']:g} s each; SLO p99 <= {limits.p99_ms:g} ms, errors <= {limits.error_ratio:g}")

        def step_done(s: cap.Step) -> None:
            say(f"capacity: concurrency {s.concurrency}: {s.figures.rate:.1f} req/s, p99 {s.figures.p99_ms:.1f} ms, "
                f"{s.figures.failed} failed")

        model, images = load_of(settings, target, o["workload"])
        try:
            result = cap.run(target, o["workload"], limits, steps, o["step_seconds"], o["growth"] / 100,
                             o.get("rate"), o["headroom"] / 100, cap.cpu_request(settings), on_step=step_done,
                             images=images, model=model)
        except lt.LoadTestError as exc:
            raise CommandError(USAGE, str(exc)) from None
    text = result.text()
    if result.suggestion is None and result.ok:
        text += "\nsuggest: give --rate R to size replicas for R req/s"
    data = result.as_dict()
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
        report = report if report.suffix == ".json" else report.with_name(report.name + ".json")
        data["report"] = {"json": str(report), "markdown": str(report.with_suffix(".md"))}
        report.write_text(json.dumps(masked_data(data), indent=2) + "\n")
        report.with_suffix(".md").write_text(masked(f"# Capacity: {result.deployed.image}\n\n- machine: "
                                                    f"{result.machine.line()}\n- when: {result.started}\n\n"
                                                    f"```\n{text}\n```\n"))
    except OSError as exc:
        raise CommandError(USAGE, f"report {report}: {exc.strerror or exc}") from None
    return Outcome(OK if result.ok else FAILED, data, f"{text}\nreport: {report}")


def smoke_on(settings: Settings, target: Target, workload: str, min_accuracy: float | None,
             quarantine: bool = False) -> Outcome:
    """The smoke test with the model's samples; with `quarantine`, flagged replicas are taken out of traffic as
    the UI does. `min_accuracy` None: the model's own bar (services/samples.py)."""
    from aitui.services import samples
    from aitui.services import smoke as sm
    from aitui.services.targets import TargetError

    try:
        model, images = samples.for_workload(settings, target, workload)
        names = {ep: pod for pod, ep in target.replica_endpoints(workload).items()}
        result = sm.run(target, workload, model, images,
                        samples.min_accuracy(model) if min_accuracy is None else min_accuracy, say)
    except (sm.SmokeError, TargetError, samples.NoSamples) as exc:  # (TargetError: a port-forward the cluster forbids)
        raise CommandError(USAGE, str(exc)) from None
    try:
        kept = sm.keep_out(target, workload, result, names, say) if quarantine else []
    except TargetError as exc:
        raise CommandError(FAILED, f"quarantine: {exc}") from None
    data = {**result.as_dict(), "quarantined": [new for _, new in kept]}
    text = result.text() + "".join(f"\nquarantined: {old} (out of traffic, kept as {new})" for old, new in kept)
    return Outcome(OK if result.passed else FAILED, data, text)


def smoke(settings: Settings, o: dict[str, Any]) -> Outcome:
    if o.get("min_accuracy") is not None and not 0 <= o["min_accuracy"] <= 1:
        raise CommandError(USAGE, "--min-accuracy must be from 0 to 1")
    with target_of(settings) as target:
        deployed(target, o["workload"], SETTLE)
        if o.get("quarantine"):
            refuse_if_readonly(settings, "quarantine")
        return smoke_on(settings, target, o["workload"], o.get("min_accuracy"), o.get("quarantine", False))


COMMANDS: dict[str, Callable[[Settings, dict[str, Any]], Outcome]] = {
    "build": build, "deploy": deploy, "scale": scale, "predict": predict, "loadtest": loadtest,
    "capacity": capacity, "smoke": smoke,
}
