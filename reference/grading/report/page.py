"""The student's report of a failing item, in three renderings: terminal text, Markdown, one HTML page.

All three show the same content, the smallest failing case first: the call in the student's own API,
the named mistake or where the errors lie, the inputs and upstream gradient, torch's array and the
student's in full (small cases) with '*' on the elements outside the tolerance, a map of where the
gradient is wrong, then the summary, notes and the grader's reports of the most informative cases.

* :func:`minimal_text` -- the block the CLI prints (and scoring.item_text puts first), with the paths of
  the reproduction script, heat-maps and page when they were written;
* :func:`item_markdown` / :func:`header_markdown` -- Gradescope's results.json with output_format "md":
  arrays, maps and reports in code fences longer than any run of backticks inside them;
* :func:`html_page` -- a self-contained page: heat-maps and the reproduction files inlined as data: URIs,
  every text through html.escape (student text is hostile), and a Content-Security-Policy that allows no
  script, no fetch and no frame, only inline styles and data: images;
* :func:`write_artifacts` -- writes the scripts, .npz files, PNGs and the page, recording their paths.
"""
from __future__ import annotations

import base64
import html
import os
import re

import numpy as np

from ...harness import tolerance_of
from ..sandbox import clean
from . import heatmap, reproduce
from .arrays import FULL, format_array
from .calls import describe

def _indent(text: str, by: str = "    ") -> str:
    """Every line of ``text`` indented."""
    return "\n".join(by + line for line in text.splitlines())


def heatmaps(found, png: bool = True) -> list[tuple[str, heatmap.Heatmap]]:
    """('smallest failing case' | 'typical failing case', its heat-map) for ``found``'s failing gradient.

    Made once per ``found`` (kept on it); ``png``: with the PNGs (when matplotlib is installed).
    """
    cached = getattr(found, "_heatmaps", None)
    if cached is not None and (cached[0] or not png):
        return cached[1]
    png = png and heatmap.have_matplotlib()
    maps = []
    if found.gradient != "error":
        for which, capture in (("smallest failing case", found.minimal), ("typical failing case", found.typical)):
            if capture is None or (which.startswith("typical") and capture.case.id == found.minimal.case.id):
                continue
            call = describe(found, capture)
            out = call.output(found.gradient)
            if out is None:
                continue
            names = found.mistakes if capture is found.minimal else _names(capture)
            maps.append((which, heatmap.render(capture.case, found.gradient, out.label, out.expected, out.got, names, png)))
    found._heatmaps = (png or not heatmap.have_matplotlib(), maps)
    return maps


def _names(capture) -> list[str]:
    """The catalogue names of a capture's diagnosis."""
    from .shrink import mistake_names

    return mistake_names(capture.result)


def _verdict(found) -> str:
    """'fails in dLdA -- probably: unflipped filter in dX' (or the op diagnosis, or the error)."""
    call = describe(found, found.minimal)
    if found.gradient == "error":
        return f"fails: {found.minimal.result.error}"
    label = call.output(found.gradient).label
    text = f"fails in {label}"
    if found.mistakes:
        text += " -- probably: " + " / ".join(found.mistakes)
    elif found.head:
        text += " -- " + found.head
    return text


def _failing_outputs(found, call):
    """(the outputs compared and wrong, the gradient kept first; those compared and right)."""
    checks = {c.name: c.ok for c in found.minimal.result.checks}
    ordered = sorted(call.outputs, key=lambda o: (o.name != found.gradient, o.name != "out"))
    return [o for o in ordered if checks.get(o.name) is False], [o for o in call.outputs if checks.get(o.name)]


def _array_lines(label: str, expected, got, tolerance=None) -> list[str]:
    """The expected and the student's array, in full when small, '*' on the wrong elements (outside ``tolerance``:
    the case's, reference.harness.tolerance_of)."""
    diff, bad, compared, note = heatmap.difference(expected, got, tolerance)
    expected = np.asarray(expected)
    lines = []
    if got is None:
        return [f"{label}: missing (your code gave none)", f"{label} expected (torch):", _indent(format_array(expected))]
    got = np.asarray(got, dtype=np.float64)
    same = got.shape == expected.shape
    if expected.size <= FULL and got.size <= FULL:
        lines += [f"{label} expected (torch):", _indent(format_array(expected, bad)),
                  f"{label} yours (* = outside the tolerance{'' if same else f'; shape {got.shape}, expected {expected.shape}'}):",
                  _indent(format_array(got, bad if same else _own_mask(expected, got, tolerance)))]
    else:
        lines.append(f"{label}: {expected.size} elements (too many to print), {int(bad.sum())} wrong; the first wrong ones:")
        for index in list(zip(*np.nonzero(bad)))[:5]:
            where = tuple(int(i) for i in index)
            mine = compared[where] if compared is not None else float("nan")
            lines.append(f"    at {where}: expected {expected[where]:.6g}, yours {mine:.6g}")
    if note:
        lines.append(f"({note})")
    return lines


def _own_mask(expected: np.ndarray, got: np.ndarray, tolerance=None) -> np.ndarray | None:
    """The wrong elements of a ``got`` shaped unlike ``expected`` (same rank): index by index, and all beyond it."""
    if got.ndim != expected.ndim:
        return None
    from ...compare import mismatch_mask

    mask = np.ones(got.shape, dtype=bool)
    common = tuple(slice(0, min(a, b)) for a, b in zip(got.shape, expected.shape))
    mask[common] = mismatch_mask(got[common], expected[common], tolerance)
    return mask


def minimal_lines(found) -> list[str]:
    """The smallest failing case as text lines (no file paths)."""
    m = found.minimal
    call = describe(found, m)
    shrunk = "" if m.case.id == found.start.id else f", shrunk from the grid case {found.start.id}"
    lines = [f"smallest failing case (found in {found.seconds:.1f} s, {found.evaluations} cases run{shrunk}):"]
    lines += ["    " + line for line in call.lines]
    lines.append("  " + _verdict(found))
    maps = heatmaps(found, png=False)
    located = maps[0][1].pattern if maps else ""
    if located and not located.startswith("probably:"):
        lines.append(f"  where: {located}")
    elif located and ";" in located:
        lines.append(f"  where: {located.split(';', 1)[1].strip()}")
    if not found.complete:
        lines.append("  (the search stopped at its time budget: a smaller failing case may exist)")
    for label, _, a in call.inputs + [call.upstream]:
        if a is not None and np.size(a) <= FULL:
            lines += [f"  {label} =", _indent(format_array(a), "      ")]
        elif a is not None:
            lines.append(f"  {label}: shape {np.shape(a)} (in the reproduction data)")
    failing, right = _failing_outputs(found, call)
    for o in failing:
        lines += ["  " + line for line in _array_lines(o.label, o.expected, o.got, tolerance_of(found.minimal.case))]
    if right:
        lines.append("  right: " + ", ".join(o.label for o in right))
    if maps:
        lines.append("  where it is wrong:")
        lines += [_indent(maps[0][1].text, "    ")]
    return lines


def _file_lines(score) -> list[str]:
    """Where the reproduction script, its data, the heat-maps and the page were written (or how to get them)."""
    files = score.files
    lines = []
    if files.get("script"):
        lines.append(f"  reproduce without the grader: python {files['script']}  (data: {files.get('data', '')})")
    for key in ("heatmap", "heatmap_typical"):
        if files.get(key):
            lines.append(f"  heat-map{' (typical case)' if key.endswith('typical') else ''}: {files[key]}")
    if files.get("page"):
        lines.append(f"  page: {files['page']}")
    if not files.get("script"):
        lines.append("  (give --repro-dir DIR, --html PAGE or --report FILE to get a script that reruns this case without the grader)")
    return lines


def minimal_text(score) -> str:
    """The terminal block of an item's smallest failing case, with the paths of what was written."""
    found = score.minimal
    if found is None:
        return ""
    return clean("\n".join(minimal_lines(found) + _file_lines(score)), 200_000)


# --- Markdown (Gradescope) ---------------------------------------------------------------------------

def fence(text: str, info: str = "") -> str:
    """``text`` in a code fence longer than any run of backticks in it (so it cannot close early)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


_MD_SPECIAL = re.compile(r"([\\`*\[\]<>&#|~!{}()+])")


def md_inline(text: str) -> str:
    """Text safe as Markdown prose: punctuation that could start markup backslash-escaped, '_' only between
    non-word characters (snake_case names stay readable)."""
    text = _MD_SPECIAL.sub(r"\\\1", clean(text, 20000))
    return re.sub(r"(?<!\w)_|_(?!\w)", r"\\_", text)


def item_markdown(score) -> str:
    """The Markdown of one item for Gradescope: the counts, the smallest failing case, summary, notes, reports."""
    parts = [f"**{score.passed} of {score.cases} cases right**"]
    if score.problem:
        parts.append(fence(clean(score.problem), "text"))
    found = score.minimal
    if found is not None:
        call = describe(found, found.minimal)
        parts.append("### Smallest failing case")
        parts.append(fence("\n".join(call.lines), "python"))
        parts.append(md_inline(_verdict(found)))
        text = "\n".join(line[2:] if line.startswith("  ") else line for line in minimal_lines(found)[len(call.lines) + 2:])
        if text.strip():
            parts.append(fence(text, "text"))
        script_name, _ = reproduce.file_names(found)
        parts.append("### Reproduce it without the grader")
        parts.append(md_inline(f"Save this as {script_name} and run: python {script_name} YOUR-HAND-IN-FOLDER "
                               "(NumPy and your own code only; it ends with 'result: matches' once your layer is right)"))
        parts.append(fence(reproduce.script_text(found), "python"))
    if score.summary:
        parts.append("\n".join(f"- {md_inline('summary: ' + line)}" for line in score.summary))
    if score.notes:
        parts.append("\n".join(f"- {md_inline('note: ' + n)}" for n in score.notes))
    if score.reports:
        parts.append("### Reports of the most informative failing cases")
        parts += [fence(clean(r, 20000), "text") for r in score.reports]
    return "\n\n".join(parts)


def header_markdown(text: str) -> str:
    """The grading header as Markdown: its first line as prose (the summary's note), the rest in a code fence."""
    lines = clean(text, 20000).splitlines()
    if not lines:
        return ""
    rest = "\n".join(lines[1:])
    return md_inline(lines[0]) + ("\n\n" + fence(rest, "text") if rest else "")


# --- HTML --------------------------------------------------------------------------------------------

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #1a202c; }
pre { background: #f7fafc; border: 1px solid #e2e8f0; padding: .6em; overflow-x: auto; font-size: 13px; }
pre.header { white-space: pre-wrap; }
table.scores { border-collapse: collapse; } table.scores td, table.scores th { border: 1px solid #cbd5e0; padding: .25em .7em; }
table.scores td.num { text-align: right; } tr.failed td { background: #fff5f5; }
section.item { border-top: 2px solid #e2e8f0; margin-top: 1.5em; }
mark { background: #fed7d7; color: #9b2c2c; font-weight: bold; }
.verdict { font-weight: bold; color: #9b2c2c; } figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #e2e8f0; }
.downloads a { margin-right: 1.2em; }
"""


def _h(text) -> str:
    """Text safe in HTML (control characters removed, &, <, >, quotes escaped)."""
    return html.escape(clean(text, 200_000), quote=True)


def _marked(text: str) -> str:
    """Escaped array text with the '*'-marked elements highlighted."""
    return re.sub(r"([-+.\w]+\*)", r"<mark>\1</mark>", _h(text))


def _data_uri(kind: str, payload: bytes) -> str:
    """A data: URI of ``payload`` (base64)."""
    return f"data:{kind};base64,{base64.b64encode(payload).decode('ascii')}"


def _item_html(score, number: int) -> str:
    """The page's section of one item."""
    status = "passed" if score.cases and score.passed == score.cases else "failed"
    out = [f'<section class="item" id="item-{number}"><h2>{_h(score.name)}: {score.score:.2f} / {score.max_score:g}</h2>',
           f"<p>{score.passed} of {score.cases} cases right ({status})</p>"]
    if score.problem:
        out.append(f'<p class="verdict">{_h(score.problem)}</p>')
    found = score.minimal
    if found is not None:
        call = describe(found, found.minimal)
        out.append("<h3>Smallest failing case</h3>")
        out.append(f"<pre>{_h(chr(10).join(call.lines))}</pre>")
        out.append(f'<p class="verdict">{_h(_verdict(found))}</p>')
        body = "\n".join(line[2:] if line.startswith("  ") else line for line in minimal_lines(found)[len(call.lines) + 2:])
        out.append(f'<pre class="arrays">{_marked(body)}</pre>')
        for which, hm in heatmaps(found):
            if hm.png is not None:
                out.append(f'<figure><img alt="{_h(hm.title)}" src="{_data_uri("image/png", hm.png)}">'
                           f"<figcaption>{_h(which)}: {_h(hm.title)}</figcaption></figure>")
        script_name, data_name = reproduce.file_names(found)
        links = [f'<a download="{_h(script_name)}" href="{_data_uri("text/x-python", reproduce.script_text(found).encode())}">'
                 f"{_h(script_name)}</a>",
                 f'<a download="{_h(data_name)}" href="{_data_uri("application/octet-stream", reproduce.npz_bytes(found))}">'
                 f"{_h(data_name)}</a>"]
        where = f" (also written to {_h(os.path.dirname(score.files['script']))})" if score.files.get("script") else ""
        out.append(f'<p class="downloads">Reproduce it without the grader: save the script and run '
                   f'<code>python {_h(script_name)} YOUR-HAND-IN-FOLDER</code> (the .npz holds the same arrays, '
                   f'for your own tests): {" ".join(links)}{where}</p>')
    if score.summary:
        out.append("<ul>" + "".join(f"<li>summary: {_h(line)}</li>" for line in score.summary) + "</ul>")
    if score.notes:
        out.append("<ul>" + "".join(f"<li>note: {_h(n)}</li>" for n in score.notes) + "</ul>")
    if score.reports:
        out.append("<details><summary>Reports of the most informative failing cases</summary>"
                   + "".join(f"<pre>{_h(r)}</pre>" for r in score.reports) + "</details>")
    out.append("</section>")
    return "\n".join(out)


def html_page(graded, title: str = "") -> str:
    """One self-contained page for a graded hand-in (see the module docstring)."""
    scores = graded.scores
    total, top = sum(s.score for s in scores), sum(s.max_score for s in scores)
    rows = []
    for number, s in enumerate(scores, 1):
        failed = not (s.cases and s.passed == s.cases)
        rows.append(f'<tr class="{"failed" if failed else "passed"}"><td><a href="#item-{number}">{_h(s.name)}</a></td>'
                    f'<td class="num">{s.cases}</td><td class="num">{s.passed}</td><td class="num">{s.score:.2f}</td>'
                    f'<td class="num">{s.max_score:g}</td></tr>')
    name = title or os.path.basename(str(graded.plan.target).rstrip("/"))
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>Grading report: {_h(name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Grading report: {_h(name)}</h1>",
        f"<p><strong>{total:.2f} / {top:g}</strong></p>",
        f'<pre class="header">{_h(graded.header)}</pre>',
        '<table class="scores"><thead><tr><th>item</th><th>cases</th><th>right</th><th>score</th><th>max</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>",
        *[_item_html(s, number) for number, s in enumerate(scores, 1) if s.minimal is not None or s.problem
          or s.reports or s.notes or not (s.cases and s.passed == s.cases)],
        "</body></html>", ""])


def write_artifacts(graded, repro_dir: str | None = None, html_path: str | None = None) -> None:
    """Write each failing item's reproduction script, data and heat-maps into ``repro_dir`` and the page to
    ``html_path`` (either may be None); record the paths in each ItemScore's ``files``."""
    for s in graded.scores:
        found = s.minimal
        if found is None:
            continue
        if repro_dir:
            script, data = reproduce.write(found, repro_dir)
            s.files.update(script=os.path.abspath(script), data=os.path.abspath(data))
            for which, hm in heatmaps(found):
                if hm.png is None:
                    continue
                key = "heatmap" if which.startswith("smallest") else "heatmap_typical"
                path = os.path.join(repro_dir, f"heatmap_{reproduce.safe_name(found.item)}"
                                               f"{'' if key == 'heatmap' else '_typical'}.png")
                with open(path, "wb") as f:
                    f.write(hm.png)
                s.files[key] = os.path.abspath(path)
        if html_path:
            s.files["page"] = os.path.abspath(html_path)
    if html_path:
        text = html_page(graded)
        folder = os.path.dirname(os.path.abspath(html_path))
        tmp = os.path.join(folder, f".{os.path.basename(html_path)}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, html_path)
