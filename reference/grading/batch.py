"""Grade a course's worth of hand-ins: exports, archives, progress, resume, shards, statistics, merge.

``python -m reference.grade --folder FOLDER --out OUT`` (reference.grading.cli) hands the work to
:func:`grade_folder`, which

* reads what FOLDER holds (:func:`collect`): a Gradescope "Export Submissions" folder
  (``submission_metadata.yml`` plus one folder per submission: rows are named by student and only
  each student's active submission is graded), or a folder of hand-ins — sub-folders, ``.py`` files
  and ``.zip`` / ``.tar.gz`` / ``.tgz`` / ``.tar`` archives. FOLDER may itself be such an archive.
  Archives are unpacked into a temporary folder by :func:`unpack`, which refuses absolute paths,
  ``..``, links, devices, more than :data:`MAX_FILES` files and more than :data:`MAX_BYTES` bytes
  (counted while writing, so a zip bomb is stopped whatever its headers claim);
* grades each hand-in in its own ``python -m reference.grade ENTRY --report OUT/NAME/results.json``
  process, ``jobs`` at a time, with a progress bar (tqdm: ETA and the running mean score) when
  stdout is a terminal;
* with ``resume``, skips hand-ins whose ``results.json`` is complete (not marked incomplete);
* with ``shard=(i, n)``, grades only the hand-ins whose name hashes to slice ``i`` of ``n``
  (:func:`in_shard`: stable under re-runs and when hand-ins are added);
* writes OUT/summary.csv (one row per hand-in, graded or not), OUT/summary.md (score
  distribution, per-item pass rates, the most common diagnoses per item, what could not be graded,
  the slowest hand-ins), OUT/scores.png (a histogram, when matplotlib is installed) and
  OUT/summary.json (everything :func:`merge` needs to join shards into one summary).

Bad input never stops a run: an empty folder, an unreadable hand-in, a corrupt archive, a zip bomb
or two hand-ins with the same name are each one line of the summary, and every other hand-in is graded.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import os
import re
import shutil
import stat
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from .sandbox import clean
import contextlib

MAX_BYTES = 256 << 20  # bytes one hand-in archive may unpack to
MAX_FILES = 10_000  # files (and folders) one hand-in archive may hold
EXPORT_MAX_BYTES = 8 << 30  # the same for a whole export given as an archive
EXPORT_MAX_FILES = 500_000
ARCHIVES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".tar", ".zip")
METADATA = "submission_metadata.yml"
SUMMARY_VERSION = 1
BASE_COLUMNS = ["submission", "student", "sid", "email", "score", "max_score", "seconds"]
JUNK = ("__MACOSX", ".DS_Store", "Thumbs.db")


class BatchError(ValueError):
    """A folder run that cannot start (no such folder, a bad --shard, an unreadable output): one line."""


class UnpackError(ValueError):
    """An archive that is refused (unsafe, too large) or cannot be read, with the reason."""


# --- archives --------------------------------------------------------------------------------------

def archive_suffix(name: str) -> str:
    """The archive suffix of ``name`` ('.tar.gz', '.zip', ...) or '' when it is not an archive."""
    lower = name.lower()
    return next((s for s in ARCHIVES if lower.endswith(s)), "")


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n} bytes"


def _safe_name(name: str) -> str | None:
    """The member's path relative to the archive root, None for junk (``__MACOSX``, ``._*``, folders only).

    Raises UnpackError for an absolute path, a drive letter or a ``..`` component.
    """
    shown = clean(name, 200)
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UnpackError(f"refused: {shown!r} is an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnpackError(f"refused: {shown!r} points outside the archive (..)")
    if any("\x00" in p for p in parts):
        raise UnpackError(f"refused: {shown!r} has a NUL byte in its name")
    if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._") or parts[-1] in JUNK:
        return None
    return "/".join(parts)


class _Budget:
    """Bytes and files written so far, against the limits."""

    def __init__(self, archive: str, max_bytes: int, max_files: int):
        self.archive, self.max_bytes, self.max_files = archive, max_bytes, max_files
        self.bytes = self.files = 0

    def file(self) -> None:
        self.files += 1
        if self.files > self.max_files:
            raise UnpackError(f"refused: holds more than {self.max_files} files")

    def grow(self, n: int) -> None:
        self.bytes += n
        if self.bytes > self.max_bytes:
            raise UnpackError(f"refused: unpacks to more than {_mib(self.max_bytes)} (a zip bomb?)")


def _target(dest: str, rel: str) -> str:
    path = os.path.join(dest, *rel.split("/"))
    real_dest = os.path.realpath(dest)
    if not os.path.realpath(path).startswith(real_dest + os.sep):
        raise UnpackError(f"refused: {clean(rel, 200)!r} points outside the archive")
    return path


def _write(src, path: str, budget: _Budget) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.islink(path) or os.path.isdir(path):
        raise UnpackError(f"refused: {clean(os.path.basename(path), 200)!r} appears twice, as a file and a folder")
    with open(path, "wb") as out:
        while True:
            chunk = src.read(1 << 20)
            if not chunk:
                break
            budget.grow(len(chunk))
            out.write(chunk)
    os.chmod(path, 0o644)


def _unzip(path: str, dest: str, budget: _Budget) -> None:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > budget.max_files:
            raise UnpackError(f"refused: holds {len(infos)} entries (more than {budget.max_files})")
        declared = sum(i.file_size for i in infos)
        if declared > budget.max_bytes:
            raise UnpackError(f"refused: would unpack to {_mib(declared)}, more than {_mib(budget.max_bytes)} "
                              "(a zip bomb?)")
        for info in infos:
            rel = _safe_name(info.filename)
            mode = info.external_attr >> 16
            if rel is None:
                continue
            if stat.S_ISLNK(mode):
                raise UnpackError(f"refused: {clean(rel, 200)!r} is a symbolic link")
            budget.file()
            if info.is_dir():
                os.makedirs(_target(dest, rel), exist_ok=True)
                continue
            with zf.open(info) as src:
                _write(src, _target(dest, rel), budget)


def _untar(path: str, dest: str, budget: _Budget) -> None:
    with tarfile.open(path, "r:*") as tf:
        for member in tf:  # streamed: a huge member list is stopped by the file budget
            rel = _safe_name(member.name)
            if rel is None:
                continue
            if member.issym() or member.islnk():
                raise UnpackError(f"refused: {clean(rel, 200)!r} is a link")
            if not (member.isdir() or member.isfile()):
                raise UnpackError(f"refused: {clean(rel, 200)!r} is a device, FIFO or other special file")
            budget.file()
            if member.isdir():
                os.makedirs(_target(dest, rel), exist_ok=True)
                continue
            if member.size > budget.max_bytes:
                raise UnpackError(f"refused: {clean(rel, 200)!r} alone is {_mib(member.size)}, more than "
                                  f"{_mib(budget.max_bytes)} (a zip bomb?)")
            src = tf.extractfile(member)
            _write(src, _target(dest, rel), budget)


def unpack(archive: str, dest: str, max_bytes: int = MAX_BYTES, max_files: int = MAX_FILES) -> str:
    """Unpack ``archive`` (.zip or a tar, compressed or not) into the new folder ``dest``, safely.

    Returns the hand-in's root: ``dest``, or the one folder the archive holds. Raises UnpackError
    (and leaves nothing in ``dest``) for an unsafe member, a link, too many files or bytes, or a
    corrupt archive.
    """
    os.makedirs(dest)
    budget = _Budget(archive, max_bytes, max_files)
    try:
        if archive_suffix(archive) == ".zip":
            _unzip(archive, dest, budget)
        else:
            _untar(archive, dest, budget)
    except UnpackError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, EOFError, RuntimeError, NotImplementedError,
            ValueError, OSError, UnicodeError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise UnpackError(f"corrupt or unreadable archive ({clean(detail, 200)})") from None
    except Exception as exc:  # zlib.error, lzma.LZMAError and the like: still a corrupt archive
        shutil.rmtree(dest, ignore_errors=True)
        raise UnpackError(f"corrupt or unreadable archive ({type(exc).__name__}: {clean(exc, 200)})") from None
    inside = [e for e in os.listdir(dest) if e not in JUNK]
    if len(inside) == 1 and os.path.isdir(os.path.join(dest, inside[0])):
        return os.path.join(dest, inside[0])
    return dest


# --- what a folder holds ---------------------------------------------------------------------------

@dataclass
class Entry:
    """One hand-in of a folder run: its row (and results folder) name, what is graded, who handed it in."""

    name: str
    path: str  # a folder, a .py file, or an archive (see ``archive``)
    archive: bool = False
    student: str = ""
    sid: str = ""
    email: str = ""
    note: str = ""  # said in the summary row (e.g. a name clash)
    problem: str = ""  # why it cannot be graded (unreadable): a row with no score

    @property
    def label(self) -> str:
        return self.student or self.name


@dataclass
class Collected:
    kind: str  # "Gradescope export" or "folder"
    root: str
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # folder-wide lines of the summary


def _yaml_loader():
    """A safe YAML loader that reads tags it does not know (Gradescope's Ruby ones) as plain values."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def anything(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", anything)
    Loader.add_multi_constructor("tag:yaml.org,2002:", anything)
    return Loader


def read_metadata(path: str) -> dict:
    """Gradescope's submission_metadata.yml: {folder name: {':submitters': [...], ':created_at': ..., ...}}."""
    import yaml

    with open(path, encoding="utf-8", errors="replace") as f:
        data = yaml.load(f, Loader=_yaml_loader())  # noqa: S506 (a SafeLoader subclass)
    if not isinstance(data, dict):
        raise ValueError("it is not a mapping of submission folders")
    return data


def _field(record, key):
    if not isinstance(record, dict):
        return None
    return record.get(f":{key}", record.get(key))


def _when(value) -> float:
    """A sortable time from a metadata ``:created_at`` (datetime or text); 0 when unknown."""
    if isinstance(value, datetime.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)).timestamp()
    try:
        return _when(datetime.datetime.fromisoformat(str(value).strip().replace(" -", "-").replace(" +", "+")))
    except ValueError:
        return 0.0


def _submitters(record) -> list[dict]:
    people = _field(record, "submitters") or []
    out = []
    for p in people if isinstance(people, list) else []:
        out.append({k: clean(_field(p, k) or "", 200) for k in ("name", "sid", "email")})
    return out


def _export_root(folder: str) -> str | None:
    """The folder holding submission_metadata.yml: ``folder`` or its one sub-folder (an unzipped export)."""
    if os.path.isfile(os.path.join(folder, METADATA)):
        return folder
    subs = [e for e in _listing(folder) if os.path.isdir(os.path.join(folder, e))]
    if len(subs) == 1 and os.path.isfile(os.path.join(folder, subs[0], METADATA)):
        return os.path.join(folder, subs[0])
    return None


def _listing(folder: str) -> list[str]:
    return sorted(e for e in os.listdir(folder) if not e.startswith((".", "__")) and e not in JUNK)


def _readable(path: str) -> str:
    """Why ``path`` cannot be read ('' when it can)."""
    if os.path.islink(path) and not os.path.exists(path):
        return "unreadable: a broken symbolic link"
    try:
        if os.path.isdir(path):
            os.listdir(path)
            if not os.access(path, os.R_OK | os.X_OK):
                raise PermissionError(13, "Permission denied")
        else:
            with open(path, "rb") as f:
                f.read(1)
    except OSError as exc:
        return f"unreadable: {exc.strerror or type(exc).__name__}"
    return ""


def _plain_entries(folder: str, problems: list[str]) -> list[Entry]:
    """Sub-folders, .py files and archives of ``folder``; other files are named as skipped."""
    entries = []
    for e in _listing(folder):
        path = os.path.join(folder, e)
        suffix = archive_suffix(e)
        if os.path.isdir(path) or e.endswith(".py"):
            entries.append(Entry(e, path))
        elif suffix:
            entries.append(Entry(e[: -len(suffix)], path, archive=True))
        elif os.path.islink(path) and not os.path.exists(path):
            entries.append(Entry(e, path, problem="unreadable: a broken symbolic link"))
        elif e != METADATA:
            problems.append(f"{clean(e, 200)}: not a hand-in (a folder, a .py file or a .zip/.tar.gz archive); skipped")
    for entry in entries:
        entry.problem = entry.problem or _readable(entry.path)
    return _unclash(entries, problems)


def _unclash(entries: list[Entry], problems: list[str]) -> list[Entry]:
    """Two entries with one name (alice/ and alice.zip): each graded under its file's own name, and said."""
    by_name: dict[str, list[Entry]] = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry)
    for name, same in by_name.items():
        if len(same) < 2:
            continue
        files = [os.path.basename(e.path) + ("/" if os.path.isdir(e.path) else "") for e in same]
        for e in same:
            if e.archive or len({x.name for x in same}) == 1 and e is not same[0]:
                e.name = os.path.basename(e.path)
            e.note = f"two hand-ins are named {name} ({', '.join(files)}): each graded under its file name"
        problems.append(f"{clean(name, 200)}: {len(same)} hand-ins have this name ({', '.join(files)}); each is graded "
                        f"under its own file name ({', '.join(e.name for e in same)}) - keep the right one")
    names = Counter(e.name for e in entries)
    for e in entries:  # what is still clashing (alice.zip beside a folder called alice.zip) gets a counter
        if names[e.name] > 1:
            e.name = f"{e.name}~{sum(1 for x in entries[:entries.index(e)] if x.name == e.name) + 1}"
    return sorted(entries, key=lambda e: e.name)


def _keep_active(entries: list, groups: dict, meta: dict, problems: list[str]) -> None:
    """Of one student's (or group's) several submissions keep the active one: flagged "active", else the latest."""
    by_key = {e.name: e for e in entries}
    for keys in groups.values():
        if len(keys) < 2:
            continue
        records = {k: meta[k] for k in keys}
        flagged = [k for k in keys if _field(records[k], "active") is True]
        active = flagged[0] if flagged else max(keys, key=lambda k: (_when(_field(records[k], "created_at")), k))
        for k in keys:
            if k != active and k in by_key:
                entries.remove(by_key[k])
                problems.append(f"{clean(k, 200)} ({by_key[k].student}): not the active submission ({active} is); "
                                "not graded")


def _export_entries(root: str, problems: list[str]) -> list[Entry]:
    """One entry per active submission listed in submission_metadata.yml, named by its folder, rows by student."""
    try:
        meta = read_metadata(os.path.join(root, METADATA))
    except Exception as exc:  # yaml.YAMLError, OSError, ValueError: say it and grade the folders as plain ones
        problems.append(f"{METADATA}: cannot be read ({type(exc).__name__}: {clean(exc, 200)}); the folders are "
                        "graded without student names")
        return _plain_entries(root, problems)
    on_disk = {}
    for e in _listing(root):
        suffix = archive_suffix(e)
        on_disk.setdefault(e[: -len(suffix)] if suffix else e, []).append(e)
    groups: dict[tuple, list[str]] = {}
    entries = []
    for key, record in meta.items():
        key = str(key)
        people = _submitters(record)
        if "/" in key or key in ("", ".", ".."):
            problems.append(f"{METADATA}: {clean(key, 200)!r} is not a folder name; skipped")
            continue
        who = "; ".join(p["name"] or p["email"] or p["sid"] for p in people) or key
        identity = tuple(sorted(p["sid"] or p["email"] or p["name"] for p in people)) or (key,)
        groups.setdefault(identity, []).append(key)
        files = on_disk.pop(key, [])
        if not files:
            problems.append(f"{clean(key, 200)} ({who}): listed in {METADATA} but not in the export; not graded")
            continue
        chosen = sorted(files, key=lambda f: (archive_suffix(f) != "", f))[0]
        if len(files) > 1:
            problems.append(f"{clean(key, 200)} ({who}): {len(files)} entries ({', '.join(files)}); graded {chosen}")
        path = os.path.join(root, chosen)
        entry = Entry(key, path, archive=bool(archive_suffix(chosen)) and not os.path.isdir(path),
                      student=who, sid="; ".join(p["sid"] for p in people), email="; ".join(p["email"] for p in people))
        if os.path.isdir(path):  # Gradescope unpacks uploads, but a folder holding only one archive is that archive
            inside = _listing(path)
            if len(inside) == 1 and archive_suffix(inside[0]) and os.path.isfile(os.path.join(path, inside[0])):
                entry.path, entry.archive = os.path.join(path, inside[0]), True
        entry.problem = _readable(entry.path)
        entries.append(entry)
    _keep_active(entries, groups, meta, problems)
    for name, files in sorted(on_disk.items()):
        for f in files:
            path = os.path.join(root, f)
            if f == METADATA or not (os.path.isdir(path) or f.endswith(".py") or archive_suffix(f)):
                continue
            entries.append(Entry(name, path, archive=bool(archive_suffix(f)), note=f"not listed in {METADATA}",
                                 problem=_readable(path)))
    return _unclash(entries, problems)


def collect(folder: str) -> Collected:
    """The hand-ins of ``folder`` (a Gradescope export or a plain folder), and what is wrong with it."""
    root = _export_root(folder)
    problems: list[str] = []
    if root is not None:
        found = Collected("Gradescope export", root, _export_entries(root, problems), problems)
    else:
        found = Collected("folder", folder, _plain_entries(folder, problems), problems)
    if not found.entries:
        problems.append(f"no hand-ins found in {clean(folder, 300)} (no sub-folders, .py files or archives)")
    return found


# --- shards -----------------------------------------------------------------------------------------

def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' (1 <= I <= N) as (I, N); ValueError with the reason otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m:
        raise ValueError(f"--shard must be I/N (e.g. 1/4), not {text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if not 1 <= i <= n:
        raise ValueError(f"--shard {text}: I must be between 1 and N")
    return i, n


def in_shard(name: str, shard: tuple[int, int] | None) -> bool:
    """Whether hand-in ``name`` belongs to slice I of N: by a hash of its name (stable across runs and machines)."""
    if shard is None:
        return True
    i, n = shard
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % n == i - 1


# --- rows -------------------------------------------------------------------------------------------

def diagnoses_of(test: dict) -> list[str]:
    """The named diagnoses of one results.json test: its ``extra_data.diagnoses``, which the grader writes from
    the typed findings and failures of the cases it reports (reference.grading.scoring.case_diagnoses); none
    for a test without them (results.json from elsewhere)."""
    extra = test.get("extra_data")
    if isinstance(extra, dict) and isinstance(extra.get("diagnoses"), list):
        return sorted({clean(d, 120) for d in extra["diagnoses"] if str(d).strip()})
    return []


def _results(dest: str) -> dict | None:
    """The hand-in's results.json when it is complete (a score, a list of tests, not marked incomplete)."""
    try:
        with open(os.path.join(dest, "results.json")) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("incomplete") or not isinstance(data.get("tests"), list) \
            or not isinstance(data.get("score"), (int, float)):
        return None
    return data


def _log_tail(dest: str) -> str:
    try:
        with open(os.path.join(dest, "grading-log.txt"), errors="replace") as f:
            lines = [line.strip() for line in f.read()[-4000:].splitlines() if line.strip()]
    except OSError:
        return ""
    return clean(lines[-1], 200) if lines else ""


def _row(entry: Entry, out: str, dest: str, code: int | None, seconds: float | None, status: str) -> dict:
    """One summary row for ``entry``, from its results.json (or why there is none)."""
    row = {"submission": entry.name, "student": entry.student, "sid": entry.sid, "email": entry.email,
           "score": "", "max_score": "", "seconds": "" if seconds is None else round(seconds, 1),
           "note": entry.note, "status": status, "dest": os.path.relpath(dest, out), "tests": {}}
    if status == "not graded":
        row["note"] = "; ".join(x for x in (f"not graded: {entry.problem}", entry.note) if x)
        return row
    data = _results(dest)
    if data is None:
        try:
            with open(os.path.join(dest, "results.json")) as f:
                incomplete = bool(json.load(f).get("incomplete"))
        except (OSError, ValueError, AttributeError):
            incomplete = False
        why = "INCOMPLETE: grading was interrupted" if incomplete else \
            f"grading failed (exit code {code}): no readable results.json"
        tail = _log_tail(dest)
        row.update(status="failed", note="; ".join(x for x in (why + (f" ({tail})" if tail and not incomplete else ""),
                                                              entry.note) if x))
        return row
    output = str(data.get("output") or "").splitlines()
    first = clean(output[0] if output else "", 200)
    if code == 3:  # the hand-in could not be loaded: say why rather than how it was read
        why = next((line.strip(" *`") for line in output if "could not load" in line or "import error" in line), first)
        first = "could not be loaded: " + clean(why, 200)
    row.update(score=data["score"], max_score=data.get("max_score", sum(float(t.get("max_score") or 0)
                                                                        for t in data["tests"])),
               note="; ".join(x for x in (first, entry.note) if x))
    for t in data["tests"]:
        name = clean(t.get("name", f"test {t.get('number', '?')}"), 200)
        row["tests"][name] = {"score": t.get("score", 0), "max_score": t.get("max_score", 0),
                              "status": t.get("status", ""), "diagnoses": diagnoses_of(t)}
    return row


def _fraction(row: dict) -> float | None:
    try:
        top = float(row["max_score"])
        return float(row["score"]) / top if top > 0 else None
    except (TypeError, ValueError):
        return None


# --- the run -----------------------------------------------------------------------------------------

class _Progress:
    """A tqdm bar with ETA and the running mean score when stdout is a terminal; plain lines otherwise."""

    def __init__(self, total: int, enabled: bool):
        self.bar = None
        if enabled and total:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="hand-in", file=sys.stdout, dynamic_ncols=True, smoothing=0.1)
            except ImportError:
                self.bar = None
        self.fractions: list[float] = []

    def done(self, row: dict, line: str, quiet: bool = False) -> None:
        f = _fraction(row)
        if f is not None:
            self.fractions.append(f)
        if self.bar is not None:
            if not quiet:
                self.bar.write(line)
            if self.fractions:
                self.bar.set_postfix_str(f"mean {100 * statistics.fmean(self.fractions):.1f}%", refresh=False)
            self.bar.update(1)
        elif not quiet:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _line(row: dict) -> str:
    """The line a finished hand-in prints: who, score, seconds, the first words of the note."""
    label = clean(row["student"] or row["submission"], 32)
    if row["score"] == "":
        return f"{label:<32} {'-':>7}   {'':<6} {'':>7}  {row['note'][:90]}"
    return f"{label:<32} {row['score']:>7} / {row['max_score']!s:<6} {row['seconds']!s:>6}s  {row['note'][:60]}"


def grade_folder(folder: str, out: str, jobs: int, passthrough: list[str], shard: tuple[int, int] | None = None,
                 resume: bool = False, env: dict | None = None, progress: bool | None = None) -> dict:
    """Grade every hand-in of ``folder`` (in ``shard``) into ``out``; write the summaries; return summary.json's dict.

    ``passthrough``: options for each hand-in's ``python -m reference.grade`` process; ``env``: its
    environment (default: this one; the CLI gives each its share of the cores, reference.threads);
    ``progress``: the bar (default: when stdout is a terminal).
    """
    if not os.path.exists(folder):
        raise BatchError(f"--folder {folder}: no such folder")
    scratch = tempfile.mkdtemp(prefix="gradcheck-handins-")
    try:
        source = folder
        if os.path.isfile(folder):
            if not archive_suffix(folder):
                raise BatchError(f"--folder {folder}: not a folder or a .zip/.tar.gz archive")
            try:
                source = unpack(folder, os.path.join(scratch, "export"), EXPORT_MAX_BYTES, EXPORT_MAX_FILES)
            except UnpackError as exc:
                raise BatchError(f"--folder {folder}: {exc}") from None
        try:
            found = collect(source)
        except OSError as exc:
            raise BatchError(f"--folder {folder}: {exc.strerror or exc}") from None
        entries = [e for e in found.entries if in_shard(e.name, shard)]
        rows, interrupted = _run(entries, out, jobs, passthrough, resume, dict(os.environ) if env is None else env,
                                 scratch, sys.stdout.isatty() if progress is None else progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    run = {"folder": os.path.abspath(folder), "kind": found.kind, "shard": f"{shard[0]}/{shard[1]}" if shard else None,
           "hand_ins": len(entries), "resumed": sum(r["status"] == "resumed" for r in rows),
           "options": passthrough, "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "interrupted": interrupted}
    summary = {"version": SUMMARY_VERSION, "runs": [run], "rows": rows, "problems": found.problems}
    write_summary(out, summary)
    return summary


def _run(entries: list[Entry], out: str, jobs: int, passthrough: list[str], resume: bool, env: dict,
         scratch: str, progress: bool) -> list[dict]:
    bar = _Progress(len(entries), progress)
    rows, queue, running = [], [], {}
    interrupted = False
    try:
        for entry in entries:
            dest = os.path.join(out, entry.name)
            if entry.problem:
                rows.append(_row(entry, out, dest, None, None, "not graded"))
                bar.done(rows[-1], _line(rows[-1]))
            elif resume and _results(dest) is not None:
                seconds, code = _previous(dest)
                rows.append(_row(entry, out, dest, code, seconds, "resumed"))
                bar.done(rows[-1], _line(rows[-1]), quiet=True)
            else:
                queue.append(entry)
        while queue or running:
            while queue and len(running) < jobs:
                entry = queue.pop(0)
                dest = os.path.join(out, entry.name)
                started = _start(entry, dest, scratch, passthrough, env)
                if isinstance(started, str):
                    entry.problem = started
                    rows.append(_row(entry, out, dest, None, None, "not graded"))
                    bar.done(rows[-1], _line(rows[-1]))
                    continue
                running[started[0]] = (entry, dest, time.perf_counter(), started[1])
            time.sleep(0.05)
            for proc in [p for p in running if p.poll() is not None]:
                entry, dest, start, log = running.pop(proc)
                log.close()
                seconds = time.perf_counter() - start
                _sidecar(dest, entry, proc.returncode, seconds)
                rows.append(_row(entry, out, dest, proc.returncode, seconds, "graded"))
                bar.done(rows[-1], _line(rows[-1]))
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (a job's time limit): summarise what is done
        interrupted = True
    finally:
        for proc, (_, _, _, log) in running.items():  # interrupted: stop what still runs
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, 15)
            proc.wait()
            log.close()
        bar.close()
    return sorted(rows, key=lambda r: r["submission"]), interrupted


def _start(entry: Entry, dest: str, scratch: str, passthrough: list[str], env: dict):
    """Unpack (an archive) and launch one hand-in's grading: (process, log) or why it cannot be graded."""
    target = entry.path
    if entry.archive:
        try:
            target = unpack(entry.path, os.path.join(scratch, "hand-ins", entry.name))
        except UnpackError as exc:
            return str(exc)
    try:
        os.makedirs(dest, exist_ok=True)
        for stale in ("results.json", "grading.json"):
            if os.path.lexists(os.path.join(dest, stale)):
                os.unlink(os.path.join(dest, stale))
        log = open(os.path.join(dest, "grading-log.txt"), "w")  # noqa: SIM115 - the grading process's output, closed when it ends
    except OSError as exc:
        return f"cannot write its results folder {dest}: {exc.strerror or exc}"
    cmd = [sys.executable, "-m", "reference.grade", target, "--report", os.path.join(dest, "results.json"),
           "--html", os.path.join(dest, "report.html"), *passthrough]  # each hand-in's own page and reproduction files
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return proc, log


def _sidecar(dest: str, entry: Entry, code: int, seconds: float) -> None:
    """dest/grading.json: the wall time and exit code of the hand-in's grading (read back by --resume)."""
    try:
        with open(os.path.join(dest, "grading.json"), "w") as f:
            json.dump({"seconds": round(seconds, 2), "exit_code": code, "entry": entry.path, "student": entry.student}, f)
    except OSError:
        pass


def _previous(dest: str) -> tuple[float | None, int | None]:
    """(wall seconds, exit code) of an earlier grading of ``dest`` (its grading.json, else results.json's time)."""
    try:
        with open(os.path.join(dest, "grading.json")) as f:
            data = json.load(f)
        return float(data["seconds"]), int(data["exit_code"])
    except (OSError, ValueError, KeyError, TypeError):
        return (_results(dest) or {}).get("execution_time"), None


# --- summaries ---------------------------------------------------------------------------------------

def _items(rows: list[dict]) -> list[str]:
    seen = {}
    for r in rows:
        for name in r["tests"]:
            seen.setdefault(name, None)
    return list(seen)


def write_summary(out: str, summary: dict) -> None:
    """OUT/summary.csv, summary.md, summary.json and (with matplotlib) scores.png from a summary dict."""
    rows = summary["rows"]
    items = _items(rows)
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, [*BASE_COLUMNS, *items, "note"], restval="", extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            text = {k: _spreadsheet_safe(r[k]) for k in ("submission", "student", "sid", "email", "note")}
            writer.writerow({**r, **text, **{name: t["score"] for name, t in r["tests"].items()}})
    png = _histogram_png(out, rows)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(markdown(summary, png))
    tmp = os.path.join(out, ".summary.json.tmp")
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=1, default=str)
    os.replace(tmp, os.path.join(out, "summary.json"))


def _spreadsheet_safe(value) -> str:
    """Text that a spreadsheet will not run as a formula (a student's name is theirs to choose)."""
    value = str(value)
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


BINS = [(i * 10, i * 10 + 10) for i in range(10)]  # [0, 10) ... [90, 100), then 100 alone


def _bin_counts(fractions: list[float]) -> list[tuple[str, int]]:
    counts = [(f"{lo}-{hi - 1}%", sum(lo <= 100 * x < hi for x in fractions)) for lo, hi in BINS]
    return counts + [("100%", sum(x >= 1 for x in fractions))]


def _histogram_png(out: str, rows: list[dict]) -> str:
    """Write OUT/scores.png (matplotlib) and return its name, or '' without matplotlib or scores."""
    fractions = [f for f in map(_fraction, rows) if f is not None]
    path = os.path.join(out, "scores.png")
    if os.path.exists(path):
        os.unlink(path)
    if not fractions:
        return ""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError:
        return ""
    counts = _bin_counts(fractions)
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    ax.bar(range(len(counts)), [c for _, c in counts], color="#3b6ea5")
    ax.set_xticks(range(len(counts)), [label for label, _ in counts], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("hand-ins")
    ax.set_title(f"Score distribution ({len(fractions)} hand-ins, mean {100 * statistics.fmean(fractions):.1f}%)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return "scores.png"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(summary: dict, png: str = "") -> str:
    """summary.md: scores, their distribution, per-item pass rates and diagnoses, what was not graded,
    then what depends on the run (the slowest hand-ins, the runs themselves)."""
    rows, problems = summary["rows"], summary["problems"]
    graded = [r for r in rows if _fraction(r) is not None]
    fractions = [_fraction(r) for r in graded]
    not_graded = [r for r in rows if r not in graded]
    lines = ["# Grading summary", ""]
    lines.append(f"{len(rows)} hand-in{'s' * (len(rows) != 1)}: {len(graded)} graded, {len(not_graded)} not graded"
                 + (f"; {len(problems)} other problem{'s' * (len(problems) != 1)} (below)" if problems else "") + ".")
    if fractions:
        lines.append(f"Mean score {_pct(statistics.fmean(fractions))}, median {_pct(statistics.median(fractions))}, "
                     f"lowest {_pct(min(fractions))}, highest {_pct(max(fractions))}; "
                     f"{sum(f >= 1 for f in fractions)} with full marks.")
        lines += ["", "## Score distribution", ""]
        if png:
            lines += [f"![score distribution]({png})", ""]
        counts = _bin_counts(fractions)
        top = max(c for _, c in counts) or 1
        lines += ["```text"] + [f"{label:>7} | {'#' * round(40 * c / top):<40} {c}" for label, c in counts] + ["```"]
        items = _items(graded)
        lines += ["", "## Items", "", "| item | points | mean score | full marks |", "|---|---:|---:|---:|"]
        for name in items:
            tests = [r["tests"][name] for r in graded if name in r["tests"]]
            top_points = max(float(t["max_score"] or 0) for t in tests)
            mean = statistics.fmean(float(t["score"] or 0) for t in tests)
            full = sum(t["status"] == "passed" for t in tests)
            lines.append(f"| {_cell(name)} | {top_points:g} | {mean:.2f} | {full} of {len(tests)} "
                         f"({_pct(full / len(tests))}) |")
        lines += ["", "## Most common diagnoses", "",
                  "Per item, the mistakes named in the hand-ins' reports, by the number of hand-ins they were named in.", ""]
        table = []
        for name in items:
            counts = Counter(d for r in graded if name in r["tests"] for d in r["tests"][name]["diagnoses"])
            table += [f"| {_cell(name)} | {_cell(d)} | {n} |" for d, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
        lines += ["| item | diagnosis | hand-ins |", "|---|---|---:|"] + table if table else ["No mistake was named."]
    if not_graded or problems:
        lines += ["", "## Not graded and other problems", ""]
        for r in not_graded:
            who = f" ({_cell(r['student'])})" if r["student"] else ""
            lines.append(f"- `{_cell(r['submission'])}`{who}: {_cell(r['note'])}")
        lines += [f"- {_cell(p)}" for p in problems]
    timed = sorted((r for r in graded if isinstance(r.get("seconds"), (int, float))), key=lambda r: -r["seconds"])[:5]
    lines += ["", "## Slowest hand-ins", ""]
    lines += ["| hand-in | seconds |", "|---|---:|"] + [f"| {_cell(r['student'] or r['submission'])} | {r['seconds']} |"
                                                        for r in timed] if timed else ["None timed."]
    lines += ["", "## Runs", ""]
    for run in summary.get("runs", []):
        lines.append(f"- {run.get('kind', 'folder')} {run.get('folder', '?')}"
                     + (f", shard {run['shard']}" if run.get("shard") else "")
                     + f": {run.get('hand_ins', '?')} hand-ins ({run.get('resumed', 0)} from an earlier run), "
                     + (f"interrupted {run.get('finished', '?')} (rerun with --resume)" if run.get("interrupted")
                        else f"finished {run.get('finished', '?')}"))
    return "\n".join(lines) + "\n"


# --- merge -------------------------------------------------------------------------------------------

def merge(outs: list[str], dest: str) -> dict:
    """Join the summaries of several folder runs (shards) into ``dest``'s summary files; return the summary."""
    rows, problems, runs, where = {}, [], [], {}
    for out in outs:
        path = os.path.join(out, "summary.json")
        try:
            with open(path) as f:
                part = json.load(f)
            if part.get("version") != SUMMARY_VERSION or not isinstance(part.get("rows"), list):
                raise ValueError(f"not a summary of version {SUMMARY_VERSION}")
        except (OSError, ValueError) as exc:
            raise BatchError(f"{out}: no readable summary.json ({getattr(exc, 'strerror', None) or exc}); "
                             "is it the --out of a --folder run?") from None
        runs += part.get("runs", [])
        for p in part.get("problems", []):
            if p not in problems:
                problems.append(p)
        for row in part["rows"]:
            name = row["submission"]
            row = {**row, "dest": os.path.relpath(os.path.join(out, row.get("dest", name)), dest)}
            if name in rows:
                line = f"{name}: in both {where[name]} and {out}; kept the one from {where[name]}"
                if line not in problems:
                    problems.append(line)
                continue
            rows[name], where[name] = row, out
    summary = {"version": SUMMARY_VERSION, "runs": runs, "rows": sorted(rows.values(), key=lambda r: r["submission"]),
               "problems": problems}
    os.makedirs(dest, exist_ok=True)
    write_summary(dest, summary)
    return summary


def merge_main(argv: list[str], prog: str = "python -m reference.grade merge") -> int:
    """``merge OUT1 OUT2 ... --out ALL``: one summary.csv / summary.md / summary.json of several folder runs."""
    p = argparse.ArgumentParser(prog=prog, description="Join the outputs of several --folder runs (e.g. --shard "
                                                       "slices) into one summary.")
    p.add_argument("outputs", nargs="+", help="the --out folders of the runs")
    p.add_argument("--out", required=True, help="where the joined summary goes")
    args = p.parse_args(argv)
    try:
        if os.path.exists(args.out) and not os.path.isdir(args.out):
            raise BatchError(f"--out {args.out} is a file; give a folder")
        summary = merge(args.outputs, args.out)
    except BatchError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: error: --out {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    graded = sum(_fraction(r) is not None for r in summary["rows"])
    print(f"joined {len(args.outputs)} outputs: {len(summary['rows'])} hand-ins ({graded} graded); "
          f"results in {args.out}/ (summary.csv, summary.md)")
    return 0
