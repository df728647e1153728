"""Course profiles: a course's conventions, not ours (TOML files in ``profiles/``).

A profile names its format, the dtypes graded, the dtype policy (``values`` or
``strict``, see reference.compare), whether conventions at non-differentiable
points are ``note`` (worth 0) or ``graded``, the weights of the forward output
and each gradient within a case, and the points per item under the course's
own names (``[items]``: ``Conv2d_stride1 = 10``; ``[hidden]``: items shown
after the due date; ``allow``: packages hand-in code may import beyond NumPy,
which the Gradescope bundle installs). A plain rubric (``[ops]``: points per registry op, the
format's items of each op sharing them) is a profile too.

Everything is validated before any grading starts; a bad profile raises
:class:`ProfileError` with one line naming the file, the key and what is wrong
(an unknown name comes with the closest known one).
"""
from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass, field

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..compare import DTYPE_POLICIES
from .formats import FORMATS, ITEMS, Item, items_for_op

HERE = os.path.dirname(os.path.abspath(__file__))
PROFILES = os.path.join(HERE, "profiles")
DEFAULT_PROFILE = {"native": "native", "cs231n": "cs231n-a2", "mytorch": "11785-hw2p1"}
DTYPES = ("float64", "float32")
# a package name with an optional version specifier (PEP 508 without markers or URLs)
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?( *(==|!=|<=|>=|<|>|~=) *[A-Za-z0-9.*+!-]+"
                          r"( *, *(==|!=|<=|>=|<|>|~=) *[A-Za-z0-9.*+!-]+)*)?$")


class ProfileError(ValueError):
    """A profile or rubric that cannot be used, with the reason in one line."""


def available() -> list[str]:
    return sorted(f[:-5] for f in os.listdir(PROFILES) if f.endswith(".toml"))


def resolve(name_or_path: str) -> str:
    """A profile's file: a path, or the name of a shipped profile."""
    if os.path.exists(name_or_path):
        return name_or_path
    shipped = os.path.join(PROFILES, f"{name_or_path}.toml")
    if os.path.exists(shipped) and os.sep not in name_or_path:
        return shipped
    close = difflib.get_close_matches(name_or_path, available(), n=1)
    raise ProfileError(f"no profile or rubric file {name_or_path!r}" + (f" (did you mean {close[0]!r}?)" if close else
                                                                          f"; shipped profiles: {', '.join(available())}"))


@dataclass
class Profile:
    name: str
    format: str | None  # None: a plain [ops] rubric, for any format
    title: str = ""
    dtypes: tuple[str, ...] = DTYPES
    dtype_policy: str = "strict"
    conventions: str = "graded"
    weights: dict[str, float] = field(default_factory=dict)
    points: dict[str, float] = field(default_factory=dict)  # item (or op, for a plain rubric) -> points
    hidden: frozenset = frozenset()
    by_op: bool = False  # points are per registry op ([ops])
    source: str = ""  # the file it came from, when not a shipped profile
    explicit: frozenset = frozenset()  # the keys the file gave (a plain rubric takes the rest from the format's profile)
    allow: tuple[str, ...] = ()  # packages hand-in code may import beyond NumPy (installed by the Gradescope bundle)

    def completed_for(self, fmt: str) -> "Profile":
        """A plain [ops] rubric with the dtypes, dtype policy and conventions of ``fmt``'s course profile
        where it does not state them (a rubric changes points, not the course's conventions)."""
        if not self.by_op:
            return self
        from dataclasses import replace

        base = default_for(fmt)
        return replace(self, **{k: getattr(base, k) for k in ("dtypes", "dtype_policy", "conventions") if k not in self.explicit})

    def weight(self, name: str) -> float:
        return self.weights.get(name, self.weights.get("other", 1.0))

    def items(self, fmt: str) -> list[tuple[Item, float]]:
        """The graded items of format ``fmt`` with their points."""
        if not self.by_op:
            return [(ITEMS[fmt][name], points) for name, points in self.points.items()]
        graded = []
        for op, points in self.points.items():
            items = items_for_op(fmt, op)
            graded += [(i, points / len(items)) for i in items]
        return graded

    def ops_missing_in(self, fmt: str) -> list[str]:
        return [op for op in self.points if self.by_op and not items_for_op(fmt, op)]

    @classmethod
    def load(cls, name_or_path: str) -> "Profile":
        path = resolve(name_or_path)
        where = os.path.basename(path)
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except OSError as exc:
            raise ProfileError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProfileError(f"{where} is not valid TOML: {exc}") from None
        profile = cls.from_dict(data, os.path.splitext(where)[0], where)
        if os.path.dirname(os.path.abspath(path)) != PROFILES:
            profile.source = os.path.abspath(path)
        return profile

    @classmethod
    def from_dict(cls, data: dict, name: str, where: str = "profile") -> "Profile":
        known = {"title", "format", "dtypes", "dtype_policy", "conventions", "weights", "items", "ops", "hidden", "allow"}
        for key in data:
            if key not in known:
                raise ProfileError(f"{where}: unknown key {key!r}{_closest(key, known)}")
        fmt = data.get("format")
        if fmt is not None and fmt not in FORMATS:
            raise ProfileError(f"{where}: format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        if ("items" in data) == ("ops" in data):
            raise ProfileError(f"{where} needs exactly one of an [items] table (points per course item) or an [ops] table "
                               "(points per op)")
        if "items" in data and fmt is None:
            raise ProfileError(f"{where}: an [items] table needs a format")
        by_op = "ops" in data
        table = data["ops" if by_op else "items"]
        names = ITEMS["native"] if by_op else ITEMS[fmt]
        points = _numbers(table, f"{where} [{'ops' if by_op else 'items'}]", names, positive=False)
        if not points:
            raise ProfileError(f"{where}: the [{'ops' if by_op else 'items'}] table is empty")
        if sum(points.values()) <= 0:
            raise ProfileError(f"{where}: the points add up to 0; give at least one item positive points")
        weights = _numbers(data.get("weights", {}), f"{where} [weights]", None, positive=False)
        if weights and sum(weights.values()) <= 0:
            raise ProfileError(f"{where}: the [weights] add up to 0")
        dtypes, policy, conventions = _conventions(data, where)
        hidden = data.get("hidden", [])
        if not isinstance(hidden, list) or any(h not in points for h in hidden):
            bad = [h for h in hidden if h not in points] if isinstance(hidden, list) else hidden
            raise ProfileError(f"{where}: hidden must list graded items; {bad!r} is not one")
        title = data.get("title", name)
        if not isinstance(title, str):
            raise ProfileError(f"{where}: title must be a string")
        allow = data.get("allow", [])
        if not (isinstance(allow, list) and all(isinstance(a, str) and _REQUIREMENT.match(a) for a in allow)):
            raise ProfileError(f"{where}: allow must be a list of package requirements such as \"scipy\" or "
                               f"\"scipy>=1.10\", not {allow!r}")
        if any(re.split(r"[<>=!~\[ ]", a, maxsplit=1)[0].lower() == "torch" for a in allow):
            raise ProfileError(f"{where}: allow may not list torch (hand-ins are graded without it)")
        return cls(name, fmt, title, tuple(dtypes), policy, conventions, weights, points, frozenset(hidden), by_op,
                   explicit=frozenset(data), allow=tuple(allow))


def _conventions(data: dict, where: str) -> tuple[list, str, str]:
    """The dtypes graded, the dtype policy and the conventions setting, validated."""
    dtypes = data.get("dtypes", list(DTYPES))
    if not (isinstance(dtypes, list) and dtypes and all(d in DTYPES for d in dtypes)):
        raise ProfileError(f"{where}: dtypes must be a non-empty list of {', '.join(DTYPES)}, not {dtypes!r}")
    policy = data.get("dtype_policy", "strict")
    if policy not in DTYPE_POLICIES:
        raise ProfileError(f"{where}: dtype_policy must be one of {', '.join(DTYPE_POLICIES)}, not {policy!r}")
    conventions = data.get("conventions", "graded")
    if conventions not in ("note", "graded"):
        raise ProfileError(f"{where}: conventions must be 'note' or 'graded', not {conventions!r}")
    return dtypes, policy, conventions


def _closest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _numbers(table, where: str, names, positive: bool) -> dict[str, float]:
    if not isinstance(table, dict):
        raise ProfileError(f"{where} must be a table of name = number")
    out = {}
    for key, value in table.items():
        if names is not None and key not in names:
            raise ProfileError(f"{where}: unknown name {key!r}{_closest(key, names)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProfileError(f"{where}: {key} must be a number, not {value!r}")
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            raise ProfileError(f"{where}: {key} = {value!r} must be a finite number >= 0")
        out[key] = float(value)
    return out


def default_for(fmt: str) -> Profile:
    return Profile.load(DEFAULT_PROFILE[fmt])
