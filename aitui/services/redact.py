"""What looks secret is masked before aitui shows or writes it: one place, used by the YAML and describe
views, the doctor, the header, Activity, notifications, the charts' errors, the logs (on screen and saved),
the reports and the CLI's output.

Secret by its name: a key, env var, query parameter or field whose name holds TOKEN, PASSWORD (PASSWD),
SECRET or KEY, in any case (`API_TOKEN=…`, `{"name": "DB_PASSWORD", "value": …}`, `password: …`,
`?token=…`). Secret by where it is: a Kubernetes Secret's `data` and `stringData` values, the userinfo of a
URL (`https://user:token@host` -> `https://user:***@host`), an `Authorization: Bearer …` value. Over-masking
a harmless value (`keyUsage: …`) is the price of never showing a credential."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

MASK = "***"
_WORD = re.compile(r"token|passw(?:or)?d|secret|key", re.I)
_QUERY_WORD = re.compile(r"token|passw(?:or)?d|secret|key|sig(?:nature)?$|^sig|auth|credential", re.I)
# names that hold the secret word but name a structure or a path, not a value: a selector's or a keyRef's
# `key`, `docker inspect`'s network namespace (SandboxKey)
_STRUCTURAL = {"key", "keys", "sandboxkey"}
# a cheap test first: most lines (a log's, Activity's) hold none of these and are returned as they are
_CANDIDATE = re.compile(r"token|passw|secret|key|sig|auth|credential|bearer|basic|://", re.I)
_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*)://([^/\s@?#'\"]+)@", re.I)
_QUERY = re.compile(r"([?&;])([^=&#\s;'\"]+)=([^&#\s;'\"]*)")
_ASSIGN = re.compile(r"(?<![\w.-])(-{0,2}[A-Za-z_][\w.-]*)=(?!=)(\"[^\"]*\"|'[^']*'|[^\s,;&'\"]+)")
_JSON_PAIR = re.compile(r"\"([^\"\\]+)\"(\s*:\s*)(\"(?:[^\"\\]|\\.)*\"|[^\s,}\]]+)")
_YAML_PAIR = re.compile(r"(?m)^([ \t]*(?:-[ \t]+)?)([\w.-]+)([ \t]*:[ \t]+)(\S[^\n]*)$")
_AUTH = re.compile(r"\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}", re.I)


def secret_name(name: str) -> bool:
    """Whether a value of this name is masked (API_TOKEN, dbPassword, aws_secret_access_key, apiKey)."""
    bare = name.strip("\"'-")
    return bool(_WORD.search(bare)) and bare.lower() not in _STRUCTURAL and \
        not bare.lower().endswith(("error", "exception"))  # KeyError: 'x' is a Python error, not a key


def text(value: str) -> str:
    """A line or a page with every secret-looking value masked."""
    if not value or not _CANDIDATE.search(value):
        return value
    value = _USERINFO.sub(_userinfo, value)
    value = _QUERY.sub(lambda m: f"{m[1]}{m[2]}={MASK}" if m[3] and _QUERY_WORD.search(m[2]) else m[0], value)
    value = _ASSIGN.sub(lambda m: f"{m[1]}={MASK}" if secret_name(m[1]) and m[2] != MASK else m[0], value)
    value = _JSON_PAIR.sub(lambda m: f'"{m[1]}"{m[2]}"{MASK}"' if secret_name(m[1]) and m[3] not in
                           ("null", "true", "false", "{", "[") else m[0], value)
    value = _YAML_PAIR.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{MASK}" if secret_name(m[2]) and not
                           m[4].startswith(("{", "[", "|", ">", MASK)) else m[0], value)
    return _AUTH.sub(lambda m: f"{m[1]}{m[2]}{MASK}", value)


def _userinfo(m: re.Match[str]) -> str:
    scheme, info = m[1], m[2]
    if ":" in info:
        return f"{scheme}://{info.split(':', 1)[0]}:{MASK}@"
    # a lone user of an SSH engine (ssh://deploy@host) is a name; anywhere else it is a token (https://ghp_…@)
    return m[0] if scheme.lower() == "ssh" else f"{scheme}://{MASK}@"


def data(obj: Any) -> Any:
    """A copy of a parsed object (a Kubernetes object, a `docker inspect`, a report) with its secrets masked."""
    if isinstance(obj, dict):
        secret = obj.get("kind") == "Secret"
        out: dict[Any, Any] = {}
        for k, v in obj.items():
            shown = text(k) if isinstance(k, str) else k  # a key can be a sentence too (an error, counted)
            if secret and k in ("data", "stringData") and isinstance(v, dict):
                out[shown] = {name: MASK for name in v}  # the names say what it holds; never the values
            elif isinstance(k, str) and secret_name(k) and _scalar(v):
                out[shown] = MASK
            else:
                out[shown] = data(v)
        named = obj.get("name")
        if isinstance(named, str) and secret_name(named) and _scalar(obj.get("value")):
            out["value"] = MASK  # an env entry: {name: API_TOKEN, value: …}
        return out
    if isinstance(obj, (list, tuple)):
        return [data(v) for v in obj]
    if isinstance(obj, str):
        return _string(obj)
    return obj


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and value not in ("", MASK)


def _string(value: str) -> str:
    """A string inside an object: a JSON document in it (kubectl's last-applied-configuration) is masked as
    an object, anything else as text."""
    if value.startswith("{") and value.rstrip().endswith("}"):
        try:
            return json.dumps(data(json.loads(value)), separators=(",", ":"))
        except ValueError:
            pass
    return text(value)


class MaskingFormatter(logging.Formatter):
    """aitui.log is written too: a library's line (a retried URL with ?token=…) masked as the screen is."""

    def format(self, record: logging.LogRecord) -> str:
        return text(super().format(record))
