"""The command line's words: the global flags and the headless commands' own, as one argparse parser. The
program (cli.py) and a script's lines (script.py) both read them from here. Kept free of Textual and the
engines' SDKs so `aitui --help` is instant."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from aitui import __version__


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not the whole usage: CI logs and scripts show what was wrong at a glance."""
        print(f"{self.prog}: {message} ('{self.prog} --help' lists the options)", file=sys.stderr)
        sys.exit(2)


def parser(cls: type[argparse.ArgumentParser] = Parser) -> argparse.ArgumentParser:
    p = cls(
        prog="aitui",
        description="Build, deploy, scale, watch and try a TensorFlow image recognizer from a terminal.",
        epilog="Settings: flags > environment (KUBECONFIG, DOCKER_HOST, PROMETHEUS_URL, AITUI_*) > "
               "~/.config/aitui/config.toml > defaults.",
    )
    p.add_argument("--context", help='"local" (the Docker engine, the default) or a kubeconfig context')
    p.add_argument("-n", "--namespace", help="Kubernetes namespace (default: default)")
    p.add_argument("--kubeconfig", help="kubeconfig file(s), like $KUBECONFIG")
    p.add_argument("--docker-host", help="Docker engine URL, like $DOCKER_HOST")
    p.add_argument("--prometheus-url", help="Prometheus URL (default http://127.0.0.1:9090)")
    p.add_argument("--base-image", help="BASE_IMAGE build argument for the recognizer (default python:3.11-slim)")
    p.add_argument("--model", metavar="PATH", help="your model project: a folder with a model file (.keras, .h5, "
                   ".tflite, SavedModel) and labels.txt (default: the shipped recognizer)")
    p.add_argument("--readonly", action="store_true", default=None, help="refuse every action that changes something")
    p.add_argument("--config", help="TOML settings file (default ~/.config/aitui/config.toml)")
    p.add_argument("--version", action="version", version=f"aitui {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{doctor,build,deploy,scale,predict,loadtest,capacity,smoke,run}")
    doctor = sub.add_parser("doctor", help="check Docker, Prometheus, the kubeconfig and offline builds; "
                                           "exit 1 if any check fails")
    doctor.add_argument("--json", action="store_true", help="one JSON object: the checks and the exit code")
    add_commands(sub)
    return p


class UsageError(Exception):
    """A parser that raises instead of exiting: a script's line is checked before anything runs."""


class ScriptParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


GLOBAL = ("context", "namespace", "kubeconfig", "docker_host", "prometheus_url", "base_image", "readonly", "config",
          "model")
EXIT_CODES = "exit codes: 0 done or passed, 1 a check, the SLO or a step failed, 2 usage, configuration, " \
             "an unreachable engine or nothing to act on (nothing changed)"


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The headless commands (aitui/commands.py runs them). The global flags are accepted after the
    command too (`aitui loadtest --context x`), where they win."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object (progress still goes to stderr)")
    common.add_argument("--context", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("-n", "--namespace", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--readonly", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--model", metavar="PATH", default=argparse.SUPPRESS,
                        help="a model project: its folder or its model file (default: the shipped recognizer)")
    on = argparse.ArgumentParser(add_help=False, parents=[common])
    on.add_argument("-w", "--workload", default=None,
                    help="the workload (default: the model's name; recognizer for the shipped one)")

    def add(name: str, help: str, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=parents, epilog=EXIT_CODES)

    b = add("build", "build the recognizer's image from serving/, or your model's (--model PATH)", [common])
    b.add_argument("--tag", help="image tag (default aitui/<model>:<version>-<hash of the sources and the model>)")
    b.add_argument("--push", action="store_true", help="then push it to the context's registry (cluster_images "
                                                       "registry://HOST/PATH) with Docker's credentials")
    d = add("deploy", "deploy an image (default: the newest recognizer image) and wait until it is ready", [on])
    d.add_argument("--image", help="a tag or image id of the local engine (aitui/recognizer: may be left out)")
    d.add_argument("--replicas", type=int, default=1, help="replicas (default 1)")
    d.add_argument("--smoke", action="store_true", help="then run the smoke test; exit 1 if a replica is flagged")
    d.add_argument("--quarantine", action="store_true", help="with --smoke: take flagged replicas out of traffic "
                                                             "(kept running, replaced) when others answer right")
    s = add("scale", "scale the workload to N replicas and wait until they are ready", [on])
    s.add_argument("replicas", type=int, metavar="N")
    pr = add("predict", "send an image (a file, or a sample's name; default a random sample) to one replica", [on])
    pr.add_argument("file", nargs="?", metavar="FILE", help="an image file, or one of the shipped samples: star, ring…")
    slo = argparse.ArgumentParser(add_help=False)
    slo.add_argument("--p99", type=float, metavar="MS", help="p99 threshold in ms (default: the alert rule's)")
    slo.add_argument("--max-error-ratio", type=float, metavar="R",
                     help="error ratio threshold, 0..1 (default: the alert rule's)")
    slo.add_argument("--report", metavar="PATH", help="report file (.json; the .md summary beside it); "
                                                       "default under the state dir's reports/")
    lt = add("loadtest", "bounded load with an SLO gate (p99, error ratio); exit 1 if it fails", [on, slo])
    lt.add_argument("-c", "--concurrency", type=int, default=4, help="concurrent requests (default 4)")
    lt.add_argument("--rate", type=float, help="target rate in req/s across all workers (default: as fast as answered)")
    lt.add_argument("--duration", type=float, default=10.0, help="seconds (default 10, at most 600)")
    lt.add_argument("--max-requests", type=int, default=100_000, help="stop after this many (default 100,000)")
    ca = add("capacity", "ramp concurrency, find the knee, suggest replicas and an HPA target for a rate",
             [on, slo])
    ca.add_argument("--steps", default="1,2,4,8,16,32", help="concurrency per step (default 1,2,4,8,16,32)")
    ca.add_argument("--step-seconds", type=float, default=5.0, help="seconds per step (default 5)")
    ca.add_argument("--growth", type=float, default=10.0, metavar="PCT",
                    help="a step raising throughput by less than this %% is past the knee (default 10)")
    ca.add_argument("--rate", type=float, help="the rate (req/s) to size for")
    ca.add_argument("--headroom", type=float, default=30.0, metavar="PCT", help="headroom %% (default 30)")
    sm = add("smoke", "send the shipped samples to every ready replica; exit 1 if one answers wrong", [on])
    sm.add_argument("--min-accuracy", type=float, default=None,
                    help="a replica below this is flagged (default 1.0 for the recognizer, 0.8 for a model project)")
    sm.add_argument("--quarantine", action="store_true", help="take flagged replicas out of traffic (kept running, "
                                                              "replaced) when others answer right")
    r = add("run", "run a script: one command per line (the words above), '#' comments; stops at the "
                   "first failure with its exit code", [common])
    r.add_argument("script", metavar="SCRIPT", help="the script file ('-': standard input)")
