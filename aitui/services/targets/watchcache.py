"""A watch-backed cache of one resource in one namespace, holding only what aitui shows.

list (paged) -> watch from the list's resourceVersion (bookmarks on) -> when the stream ends, watch again
from the last resourceVersion seen -> on 410 Expired, list again. Other failures are kept as `error` (for
the screen) and retried with a capped backoff; a success clears them.

Why not the client's SharedInformer: it deserializes every object into its models, which at 5,000 pods
costs 3.3 s per list and 150 MB held (measured, tests/bench/aitui_speed.py). Here each object is read as
JSON and `convert`ed to a small record at once: the same list takes a fraction of that and of the memory.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
PAGE = 500  # objects per list request (limit/continue)


class Expired(Exception):
    """The watch's resourceVersion is gone (410): list again."""


class WatchCache(Generic[T]):
    def __init__(self, resource: str, list_fn: Callable[..., Any], namespace: str, convert: Callable[[dict], T],
                 changed: Callable[[], None], timeout: float, watch_seconds: int,
                 describe_error: Callable[[BaseException, str], str]) -> None:
        self.resource, self.namespace = resource, namespace
        self._list_fn, self._convert, self._changed = list_fn, convert, changed
        self._timeout, self._watch_seconds = timeout, watch_seconds
        self._describe = describe_error
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._response: Any = None
        self.synced = threading.Event()  # set after the first complete list
        self.error = ""
        self.failure: BaseException | None = None  # what `error` says, as raised (its HTTP status, for a caller)
        self.lists = 0  # how many times it listed (the first, and once per relist)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"watch-{resource}")

    def start(self) -> WatchCache[T]:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):  # already closed is fine
                response.shutdown()  # unblocks a read that waits on a quiet watch

    def values(self) -> list[T]:
        with self._lock:
            return list(self._items.values())

    # -- the loop --------------------------------------------------------------------------------
    def _run(self) -> None:
        version: str | None = None
        backoff = 1.0
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._list()
                version = self._watch(version)
                backoff = 1.0
            except Expired:
                version = None  # relist at once
            except Exception as exc:
                self.error = self._describe(exc, "list" if version is None else "watch")
                self.failure = exc
                self._changed()
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, 30.0)

    def _list(self) -> str:
        items: dict[str, T] = {}
        token = None
        while True:
            kwargs: dict[str, Any] = {"limit": PAGE, "_preload_content": False, "_request_timeout": self._timeout}
            if token:
                kwargs["_continue"] = token
            body = json.loads(self._list_fn(self.namespace, **kwargs).data)
            for obj in body["items"]:
                items[obj["metadata"]["name"]] = self._convert(obj)
            token = body["metadata"].get("continue")
            if not token:
                break
        with self._lock:
            self._items = items
        self.lists += 1
        self.error, self.failure = "", None
        self.synced.set()
        self._changed()
        return str(body["metadata"]["resourceVersion"])

    def _watch(self, version: str) -> str:
        """Follow changes from `version`; returns the last version seen when the server ends the stream."""
        response = self._response = self._list_fn(
            self.namespace, watch=True, resource_version=version, allow_watch_bookmarks=True,
            timeout_seconds=self._watch_seconds, _preload_content=False,
            _request_timeout=(self._timeout, self._watch_seconds + 30))
        buffer = b""
        try:
            for chunk in response.stream(amt=None, decode_content=False):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                if any(line.strip() for line in lines):
                    version = self._apply([json.loads(line) for line in lines if line.strip()], version)
                    self._changed()  # once per chunk: a burst of events is one refresh
                if self._stop.is_set():
                    break
        finally:
            self._response = None
            response.release_conn()
        if buffer.strip():
            raise ConnectionError(f"the {self.resource} watch broke off mid-event")
        return version

    def _apply(self, events: list[dict], version: str) -> str:
        with self._lock:
            for event in events:
                kind, obj = event["type"], event["object"]
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise Expired(obj.get("message", ""))
                    raise ConnectionError(f"{obj.get('code')} {obj.get('reason')}: {obj.get('message')}")
                version = obj["metadata"].get("resourceVersion") or version
                if kind == "BOOKMARK":
                    continue
                name = obj["metadata"]["name"]
                if kind == "DELETED":
                    self._items.pop(name, None)
                else:
                    self._items[name] = self._convert(obj)
        self.error, self.failure = "", None
        return version
