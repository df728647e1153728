"""A report a student can act on: the smallest failing case, heat-maps, a reproduction script, one page.

Each planted mistake is a faithful student slip appended to a copy of a tests/submissions hand-in (as
tests/test_grading.py plants them). For each family the minimal case is checked against a brute-force
search of the small configurations the format allows: it may have at most 2 spatial positions more
than the smallest configuration that exposes the same named mistake, and it must be found in under
5 s. The reproduction scripts are run as a student runs them (plain ``python``, NumPy and their code
only); the page is loaded in headless Chromium.
"""
from __future__ import annotations

import ast
import html
import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from reference.cases import Case
from reference.compare import mismatch_mask
from reference.grading.course_grids import item_grid
from reference.grading.engine import grade, plan
from reference.grading.formats import ITEMS
from reference.grading.profiles import Profile
from reference.grading.report import heatmap, page, reproduce, shrink
from reference.grading.report.arrays import differs, format_array
from reference.grading.sandbox import Limits, SandboxedHandIn
from reference.grading.scoring import item_text
from reference.harness import run_case

ROOT = Path(__file__).parent.parent
SUBMISSIONS = Path(__file__).parent / "submissions"
FAST = Limits(time=5.0, memory=2 << 30)

# family -> (hand-in, file, item, the slip appended to the file, names the report may give it)
PLANTED = {
    "unflipped filter": ("cs231n_bare_layers_numpy2", "layers.py", "conv_naive", '''
        def conv_backward_naive(dout, cache):
            x, w, b, conv_param = cache
            stride, pad = conv_param['stride'], conv_param['pad']
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            H_out, W_out = dout.shape[2:]
            x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            db = dout.sum(axis=(0, 2, 3))
            dw = np.zeros_like(w)
            for i in range(HH):
                for j in range(WW):
                    patch = x_pad[:, :, i:i + stride * H_out:stride, j:j + stride * W_out:stride]
                    dw[:, :, i, j] = np.einsum('nfhw,nchw->fc', dout, patch)
            # dx = full convolution of the zero-upsampled upstream gradient with the filter
            d_up = np.zeros((N, F, stride * (H_out - 1) + 1, stride * (W_out - 1) + 1))
            d_up[:, :, ::stride, ::stride] = dout
            d_full = np.pad(d_up, ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)))
            dx_pad = np.zeros(x_pad.shape)
            for i in range(d_up.shape[2] + HH - 1):
                for j in range(d_up.shape[3] + WW - 1):
                    dx_pad[:, :, i, j] = np.einsum('nfij,fcij->nc', d_full[:, :, i:i + HH, j:j + WW], w)  # w not flipped
            dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
            return dx, dw, db
        ''', ("unflipped filter in dX",)),
    "stride ignored": ("cs231n_bare_layers_numpy2", "layers.py", "conv_naive", '''
        def conv_backward_naive(dout, cache):
            x, w, b, conv_param = cache
            stride, pad = conv_param['stride'], conv_param['pad']
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            H_out, W_out = dout.shape[2:]
            x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            win = _windows(x_pad, HH, WW, stride)
            db = dout.sum(axis=(0, 2, 3))
            dw = np.einsum('nfhw,nchwij->fcij', dout, win, optimize=True)
            dwin = np.einsum('nfhw,fcij->nchwij', dout, w, optimize=True)
            dx_pad = np.zeros(x_pad.shape)
            for i in range(HH):
                for j in range(WW):
                    dx_pad[:, :, i:i + H_out, j:j + W_out] += dwin[..., i, j]  # the stride is missing here
            dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
            return dx, dw, db
        ''', ("stride ignored in dX (no zero-upsampling)",)),
    "padding cropped off by one": ("mytorch_flat_2023", "Conv1d.py", "Conv1d", '''
        def _backward_cropped_off_by_one(self, dLdZ):
            dLdZ_full = self.downsample1d.backward(dLdZ)
            dLdA_padded = self.conv1d_stride1.backward(dLdZ_full)
            p = self.padding
            width = dLdA_padded.shape[2]
            return dLdA_padded[:, :, p + 1:width - p + 1]
        Conv1d.backward = _backward_cropped_off_by_one
        ''', ("padding cropped off by one",)),
    "= for += in max pool": ("mytorch_flat_2023", "pool.py", "MaxPool2d_stride1", '''
        def _backward_assigning(self, dLdZ):
            batch_size, in_channels, output_height, output_width = dLdZ.shape
            dLdA = np.zeros(self.A_shape)
            for n in range(batch_size):
                for c in range(in_channels):
                    for i in range(output_height):
                        for j in range(output_width):
                            r = i + self.max_row[n, c, i, j]
                            s = j + self.max_col[n, c, i, j]
                            dLdA[n, c, r, s] = dLdZ[n, c, i, j]
            return dLdA
        MaxPool2d_stride1.backward = _backward_assigning
        ''', ("'=' instead of '+=' for overlapping windows", "overlapping windows not accumulated")),
    "batch averaged in dW": ("mytorch_flat_2023", "Conv2d.py", "Conv2d_stride1", '''
        _right_backward = Conv2d_stride1.backward
        def _backward_averaged(self, dLdZ):
            dLdA = _right_backward(self, dLdZ)
            self.dLdW = self.dLdW / dLdZ.shape[0]
            return dLdA
        Conv2d_stride1.backward = _backward_averaged
        ''', ("batch averaged in dW",)),
    "H and W swapped": ("cs231n_bare_layers_numpy2", "layers.py", "max_pool_naive", '''
        def max_pool_backward_naive(dout, cache):
            x_shape, pool_param, arg = cache
            N, C, H, W = x_shape
            pw, stride = pool_param['pool_width'], pool_param['stride']
            H_out, W_out = dout.shape[2:]
            dx = np.zeros(N * C * H * W)
            for n in range(N):
                for c in range(C):
                    for i in range(H_out):
                        for j in range(W_out):
                            r = i * stride + arg[n, c, i, j] // pw
                            s = j * stride + arg[n, c, i, j] % pw
                            dx[((n * C + c) * H + r) * W + s] += dout[n, c, i, j]
            return dx.reshape(N, C, W, H)
        ''', ("dX allocated as (N, C, W, H): H and W swapped",)),
    "transposed dW flipped": ("mytorch_flat_2023", "ConvTranspose.py", "ConvTranspose1d", '''
        _right_transposed = ConvTranspose1d.backward
        def _backward_flipped_dw(self, dLdZ):
            dLdA = _right_transposed(self, dLdZ)
            self.conv1d_stride1.dLdW = self.conv1d_stride1.dLdW[:, :, ::-1]
            return dLdA
        ConvTranspose1d.backward = _backward_flipped_dw
        ''', ()),
}
ACCEPTANCE = [f for f in PLANTED if f != "transposed dW flipped"]


def plant(tmp: Path, family: str) -> Path:
    name, file, _, code, _ = PLANTED[family]
    dest = tmp / re.sub(r"\W+", "_", family)
    shutil.copytree(SUBMISSIONS / name, dest)
    target = next(dest.rglob(file))
    target.write_text(target.read_text() + "\n" + textwrap.dedent(code) + "\n")
    return dest


def one_item(fmt: str, item: str) -> Profile:
    return Profile.from_dict({"format": fmt, "dtypes": ["float64"], "items": {item: 1}}, "one-item")


_GRADED: dict = {}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """family -> (planted hand-in, its graded result with the minimal case), each graded once (every 3rd case)."""
    def get(family):
        if family not in _GRADED:
            folder = plant(tmp_path_factory.mktemp("planted"), family)
            name, _, item, _, _ = PLANTED[family]
            fmt = name.split("_")[0]
            cases = item_grid(fmt, ITEMS[fmt][item], plan(str(folder))[0].bindings[item], ("float64",))[::3]
            _GRADED[family] = folder, grade(str(folder), "auto", FAST, one_item(fmt, item), base_seed=7, cases=cases,
                                            minimal_cases=True)
        return _GRADED[family]
    return get


# --- brute force: the smallest configuration that exposes a mistake ---------------------------------------

def _cs231n_conv(p):
    for h in range(1, p + 1):
        if p % h:
            continue
        w = p // h
        for hh in range(1, 4):
            for ww in range(1, 4):
                for s in (1, 2, 3):
                    for pad in (0, 1, 2):
                        if all(n + 2 * pad >= k and (n + 2 * pad - k) % s == 0 for n, k in ((h, hh), (w, ww))):
                            yield Case("conv2d", {"x": (1, 1, h, w), "w": (1, 1, hh, ww), "b": (1,)},
                                       {"stride": s, "padding": pad, "dilation": 1, "groups": 1}, "float64",
                                       f"bf-{h}x{w}-k{hh}x{ww}-s{s}-p{pad}")


def _mytorch_conv1d(p):
    for k in range(1, 4):
        for s in (1, 2, 3):
            for pad in (0, 1, 2):
                if p + 2 * pad >= k:
                    yield Case("conv1d", {"x": (1, 1, p), "w": (1, 1, k), "b": None},
                               {"stride": s, "padding": pad, "dilation": 1, "groups": 1}, "float64", f"bf-{p}-k{k}-s{s}-p{pad}")


def _pool(p, strides, contract):
    for h in range(1, p + 1):
        if p % h:
            continue
        w = p // h
        for k in range(1, min(h, w) + 1):
            for s in strides:
                if contract and ((h - k) % s or (w - k) % s):
                    continue
                for kind in ("normal", "integers", "ties"):
                    yield Case("max_pool2d", {"x": (1, 1, h, w)}, {"kernel_size": (k, k), "stride": s, "padding": 0,
                                                                   "ceil_mode": False, "dilation": 1},
                               "float64", f"bf-{h}x{w}-k{k}-s{s}-{kind}", inputs=kind)


def _mytorch_conv2d(p):
    for n in (1, 2):
        for h in range(1, p + 1):
            if p % h:
                continue
            for k in range(1, min(h, p // h) + 1):
                yield Case("conv2d", {"x": (n, 1, h, p // h), "w": (1, 1, k, k), "b": (1,)},
                           {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}, "float64", f"bf-n{n}-{h}x{p // h}-k{k}")


BRUTE = {
    "unflipped filter": _cs231n_conv, "stride ignored": _cs231n_conv, "padding cropped off by one": _mytorch_conv1d,
    "= for += in max pool": lambda p: _pool(p, (1,), False), "batch averaged in dW": _mytorch_conv2d,
    "H and W swapped": lambda p: _pool(p, (1, 2), True),
}


def smallest_exposing(folder: Path, family: str, up_to: int) -> int | None:
    """The fewest spatial positions of a configuration (valid for the format) that the diagnosis names as the mistake."""
    name, _, item, _, names = PLANTED[family]
    the_plan, profile = plan(str(folder), "auto", one_item(name.split("_")[0], item))
    handin = SandboxedHandIn(the_plan, FAST)
    try:
        view = handin.view(item, ITEMS[the_plan.format][item].op)
        for positions in range(1, up_to + 1):
            for case in BRUTE[family](positions):
                for seed in (0, 1, 2):
                    r = run_case(case, view, seed, dtype_policy=profile.dtype_policy)
                    if not r.ok and any(n in r.diagnosis for n in names):
                        return positions
    finally:
        handin.close()
    return None


@pytest.mark.parametrize("family", ACCEPTANCE)
def test_the_minimal_case_is_small_fast_named_and_its_heat_map_shows_the_mistake(graded, family):
    folder, g = graded(family)
    s = g.scores[0]
    found = s.minimal
    assert found is not None, (s.notes, s.reports[:1])
    names = PLANTED[family][4]
    assert any(n in found.mistakes or n == found.head for n in names), (found.mistakes, found.head)
    assert found.seconds < 5.0, found.seconds
    assert found.minimal.case.shapes["x"][0] <= 2 and found.minimal.case.shapes["x"][1] == 1  # one channel; one sample
    smallest = smallest_exposing(folder, family, found.spatial)
    assert smallest is not None, f"the brute force does not reach the minimal case {found.minimal.case.id}"
    assert found.spatial <= smallest + 2, (found.minimal.case.id, found.spatial, smallest)
    print(f"{family}: {found.minimal.case.id}: {found.spatial} spatial positions (smallest exposing: {smallest}), "
          f"{found.seconds:.2f} s, {found.evaluations} cases run")
    # the heat-maps: the mistake in the title, every wrong element of the minimal case marked in the map
    maps = page.heatmaps(found)
    assert maps and maps[0][0] == "smallest failing case"
    title, text = maps[0][1].title, maps[0][1].text
    assert any(n in title for n in names), title
    cells = [line for line in text.splitlines() if re.fullmatch(r"\s+[.\d?|\- ]+", line)]
    assert sum(ch.isdigit() or ch == "?" for line in cells for ch in line) == wrong_elements(found), text
    if heatmap.have_matplotlib():
        from matplotlib.image import imread

        for _, hm in maps:
            picture = imread(io.BytesIO(hm.png))
            reddish = (picture[..., 0] > 0.5) & (picture[..., 1] < 0.4)  # the colour of the largest errors
            assert picture.ndim == 3 and reddish.any(), hm.title


def wrong_elements(found) -> int:
    """Elements of torch's failing gradient the student's gets wrong, index by index (all it lacks count as wrong)."""
    expected, got = found.minimal.expected[found.gradient], np.asarray(found.minimal.got[found.gradient])
    common = tuple(slice(0, min(a, b)) for a, b in zip(got.shape, expected.shape))
    return int(mismatch_mask(got[common], expected[common]).sum()) + expected.size - expected[common].size


def test_the_report_shows_the_minimal_case_first_with_its_arrays_marked(graded):
    _, g = graded("unflipped filter")
    text = item_text(g.scores[0])
    assert text.index("smallest failing case") < text.index("summary:") < text.index("FAILED")
    assert "out, cache = conv_forward_naive(x, w, b, {'stride': 1, 'pad': 0})" in text
    assert "dx, dw, db = conv_backward_naive(dout, cache)" in text
    assert "fails in dx -- probably: unflipped filter in dX" in text
    block = text[text.index("dx expected (torch):"):text.index("right:")]
    marked = re.findall(r"\d\*", block)
    assert len(marked) == 2 * wrong_elements(g.scores[0].minimal)  # in torch's array and in the student's


# --- reproduction without the grader -----------------------------------------------------------------------

@pytest.mark.parametrize("family, label", [("padding cropped off by one", "dLdA"), ("unflipped filter", "dx"),
                                           ("transposed dW flipped", "dLdW")])
def test_the_reproduction_script_runs_on_the_students_code_alone(graded, tmp_path, family, label):
    folder, g = graded(family)
    found = g.scores[0].minimal
    script, data = reproduce.write(found, str(tmp_path / "repro"))
    source = Path(script).read_text()
    imported = {a.name.split(".")[0] for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import) for a in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"os", "sys", "inspect", "numpy", "importlib", "types", *student_modules(found)}, imported
    assert repr(str(folder)) in source  # the hand-in's path is written in
    assert set(np.load(data)) >= {f"expected_{label}"}
    planted = subprocess.run([sys.executable, "-B", Path(script).name], cwd=Path(script).parent, capture_output=True,
                             text=True, timeout=60)
    assert planted.returncode == 1, planted.stdout[-1500:] + planted.stderr[-1500:]
    assert planted.stdout.strip().splitlines()[-1] == f"result: MISMATCH in {label}", planted.stdout[-1500:]
    assert f"{label}: MISMATCH at" in planted.stdout and "*" in planted.stdout
    correct = tmp_path / "correct"
    shutil.copytree(SUBMISSIONS / PLANTED[family][0], correct)
    fixed = subprocess.run([sys.executable, "-B", Path(script).name, str(correct)], cwd=Path(script).parent,
                           capture_output=True, text=True, timeout=60)
    assert fixed.returncode == 0, fixed.stdout[-1500:] + fixed.stderr[-1500:]
    assert fixed.stdout.strip().splitlines()[-1] == "result: matches"


def student_modules(found) -> set:
    stem = Path(found.binding.file).stem
    return {stem, "cs231n", "mytorch"}


# --- the CLI, results.json and the page ------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """The CLI on a planted cs231n hand-in: --html, --repro-dir and --report."""
    tmp = tmp_path_factory.mktemp("cli")
    folder = plant(tmp, "H and W swapped")
    out = tmp / "out"
    out.mkdir()
    run = subprocess.run([sys.executable, "-m", "reference.grade", str(folder), "--item", "max_pool_naive", "--seed", "5",
                          "--html", str(out / "report.html"), "--repro-dir", str(out / "repro"),
                          "--report", str(out / "results.json"), "--time-limit", "5"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    return run, out


def test_the_terminal_shows_the_minimal_case_first_the_mistake_and_the_files(cli_run):
    run, out = cli_run
    assert run.returncode == 0, run.stderr[-2000:]
    text = run.stdout
    assert text.index("smallest failing case") < text.index("summary:") < text.index("FAILED")
    assert "out, cache = max_pool_forward_naive(x, {'pool_height': 1, 'pool_width': 1, 'stride': 1})  # x: (1, 1, 1, 2)" \
        in text, text[:3000]
    assert "probably: dX allocated as (N, C, W, H): H and W swapped" in text
    script = out / "repro" / "reproduce_max_pool_naive.py"
    assert f"reproduce without the grader: python {script}" in text and script.exists()
    assert f"page: {out / 'report.html'}" in text
    assert (out / "repro" / "reproduce_max_pool_naive.npz").exists()
    if heatmap.have_matplotlib():
        assert f"heat-map: {out / 'repro' / 'heatmap_max_pool_naive.png'}" in text


def test_results_json_carries_the_same_report_in_markdown(cli_run):
    _, out = cli_run
    data = json.loads((out / "results.json").read_text())
    test = data["tests"][0]
    assert data["output_format"] == test["output_format"] == "md"
    assert {"name", "number", "score", "max_score", "status", "output", "visibility"} <= set(test)
    assert data["output"].startswith("graded as cs231n:") and "\n```text\n" in data["output"]
    md = test["output"]
    assert md.index("### Smallest failing case") < md.index("summary: ") < md.index("### Reports")
    assert "```python\nout, cache = max_pool_forward_naive(x, {'pool_height': 1" in md
    assert "dx yours (* = outside the tolerance; shape (1, 1, 2, 1), expected (1, 1, 1, 2)):" in md  # arrays in a block
    assert "### Reproduce it without the grader" in md and "def format_array(a, bad=None):" in md


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.images, self.links, self.meta = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs)
        if tag == "a" and "download" in attrs:
            self.links.append(attrs)
        if tag == "meta":
            self.meta.append(attrs)


def test_the_page_is_self_contained_with_images_and_downloads_inlined(cli_run):
    _, out = cli_run
    text = (out / "report.html").read_text()
    parsed = _Page()
    parsed.feed(text)
    assert "script" not in parsed.tags
    assert any(m.get("http-equiv") == "Content-Security-Policy" and "default-src 'none'" in m["content"] for m in parsed.meta)
    if heatmap.have_matplotlib():
        assert len(parsed.images) == 2 and all(i["src"].startswith("data:image/png;base64,") for i in parsed.images)
    downloads = {a["download"]: a["href"] for a in parsed.links}
    assert set(downloads) == {"reproduce_max_pool_naive.py", "reproduce_max_pool_naive.npz"}
    import base64

    script = base64.b64decode(downloads["reproduce_max_pool_naive.py"].split(",", 1)[1]).decode()
    assert script == (out / "repro" / "reproduce_max_pool_naive.py").read_text()
    assert "H and W swapped" in text and "<mark>" in text


HOSTILE = "<script>document.title='owned'</script><img src=x onerror=alert(1)> ``` **bold**"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A graded cs231n hand-in whose relu_backward raises an exception carrying markup, and its page."""
    tmp = tmp_path_factory.mktemp("hostile")
    folder = tmp / "hostile"
    shutil.copytree(SUBMISSIONS / "cs231n_bare_layers_numpy2", folder)
    with open(folder / "layers.py", "a") as f:
        f.write(f"\ndef relu_backward(dout, cache):\n    raise ValueError({HOSTILE!r})\n")
    cases = item_grid("cs231n", ITEMS["cs231n"]["relu"], None, ("float64",))[::10]
    g = grade(str(folder), "auto", FAST, one_item("cs231n", "relu"), base_seed=3, cases=cases, minimal_cases=True)
    path = tmp / "page.html"
    page.write_artifacts(g, str(tmp / "repro"), str(path))
    return g, path


def test_student_text_is_escaped_in_the_page_and_fenced_in_markdown(hostile):
    g, path = hostile
    s = g.scores[0]
    assert s.minimal is not None and s.minimal.gradient == "error"
    text = path.read_text()
    assert "<script>document" not in text and "<img src=x" not in text
    assert html.escape("<img src=x onerror=alert(1)>") in text
    md = page.item_markdown(s)
    prose = re.sub(r"^(`{3,})\w*\n.*?\n\1$", "", md, flags=re.S | re.M)
    assert "<img" in md and not re.search(r"(?<!\\)<", prose), prose  # outside code blocks every '<' is escaped
    blocks = re.findall(r"^(`{3,})\w*\n(.*?)\n\1$", md, flags=re.S | re.M)
    assert any("```" in body and len(ticks) > 3 for ticks, body in blocks)  # the fence outlasts the student's backticks
    assert page.fence("a ``` b `````` c").startswith("```````\n")


# --- the browser --------------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium")
MEASURE = ("<script>window.addEventListener('load', () => { for (const i of document.images) "
           "{ i.setAttribute('data-natural-width', i.naturalWidth); i.setAttribute('data-complete', i.complete); } "
           "document.body.setAttribute('data-measured', 'yes'); });</script>")


def chromium(tmp_path, url, *extra):
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                           "--virtual-time-budget=5000", *extra, url], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (scripts/setup.sh installs it with apt-get as root)")
def test_the_page_renders_in_a_browser_with_its_images_decoded(cli_run, hostile, tmp_path):
    _, out = cli_run
    screenshot = tmp_path / "report.png"
    shot = chromium(tmp_path, (out / "report.html").as_uri(), f"--screenshot={screenshot}", "--window-size=1200,2000",
                    "--enable-logging=stderr", "--v=0")
    assert screenshot.exists() and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    console = [line for line in shot.stderr.splitlines() if "CONSOLE" in line or "Content Security Policy" in line]
    assert not console, console  # no script errors, nothing refused by the policy
    print(f"screenshot of the page: {screenshot}")
    # the page's images decode: measured by a script in a copy of the page whose policy allows that one script
    measured = tmp_path / "measured.html"
    text = (out / "report.html").read_text().replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';")
    measured.write_text(text.replace("</body>", MEASURE + "</body>"))
    dom = chromium(tmp_path, measured.as_uri(), "--dump-dom")
    assert 'data-measured="yes"' in dom.stdout, dom.stderr[-2000:]
    widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom.stdout)]
    if heatmap.have_matplotlib():
        assert len(widths) == 2 and min(widths) > 100, widths
    # the hostile page: the student's markup stays text (no script ran, no image element made of it)
    _, hostile_page = hostile
    dom = chromium(tmp_path, hostile_page.as_uri(), "--dump-dom")
    assert "<title>Grading report: hostile</title>" in dom.stdout and "owned" not in dom.stdout.split("</title>")[0]
    assert '<img src="x"' not in dom.stdout and "&lt;img src=x onerror=alert(1)&gt;" in dom.stdout


# --- pieces ---------------------------------------------------------------------------------------------------

def test_a_stride_phase_pattern_is_in_the_title_and_the_text_map_without_matplotlib(monkeypatch):
    case = Case("conv2d", {"x": (1, 1, 4, 6), "w": (1, 1, 2, 2), "b": None},
                {"stride": 2, "padding": 1, "dilation": 1, "groups": 1}, "float64", "phases")
    expected = np.random.default_rng(0).standard_normal((1, 1, 4, 6))
    got = expected.copy()
    got[..., ::2, ::2] += 1.0  # wrong only where i % 2 == 0 and j % 2 == 0
    monkeypatch.setattr(heatmap, "have_matplotlib", lambda: False)
    hm = heatmap.render(case, "x", "dx", expected, got)
    assert hm.png is None
    assert "only at stride phase(s) [(0, 0)] of (2, 2)" in hm.title and hm.pattern in hm.title
    rows = [line for line in hm.text.splitlines() if re.fullmatch(r"\s+[.\d?|\- ]+", line)]
    assert rows[0].split() == ["-", "-", "-", "|", "-", "-", "|", "-", "-", "-"]  # the padding border, 1 wide
    assert rows[1].split() == ["-", "9", ".", "|", "9", ".", "|", "9", ".", "-"]  # stride phases separated
    assert sum(ch.isdigit() for line in rows for ch in line) == 6


def test_shrinking_moves_stay_inside_each_formats_rules():
    """Every configuration the search may try keeps the course grid's rules for its item."""
    checks = {
        ("cs231n", "conv_naive"): lambda c: all((n + 2 * c.config["padding"] - k) % c.config["stride"] == 0
                                                for n, k in zip(c.shapes["x"][2:], c.shapes["w"][2:]))
        and isinstance(c.config["stride"], int) and c.shapes["b"] is not None,
        ("cs231n", "max_pool_naive"): lambda c: all((n - k) % c.config["stride"] == 0
                                                    for n, k in zip(c.shapes["x"][2:], c.config["kernel_size"])),
        ("mytorch", "Conv1d_stride1"): lambda c: c.config["stride"] == 1 and c.config["padding"] == 0,
        ("mytorch", "Conv2d"): lambda c: len(set(c.shapes["w"][2:])) == 1,
        ("mytorch", "ConvTranspose1d"): lambda c: c.config["padding"] == c.shapes["w"][2] - 1
        and (c.shapes["x"][2] - 1) * c.config["stride"] + 1 >= c.shapes["w"][2],
        ("mytorch", "MaxPool2d_stride1"): lambda c: c.config["stride"] == 1 and len(set(c.config["kernel_size"])) == 1,
    }
    for (fmt, name), rule in checks.items():
        item = ITEMS[fmt][name]
        space = shrink.Space(fmt, name, item.op, ())
        tried = 0
        for case in item_grid(fmt, item, None, ("float64",))[::7]:
            assert rule(case), case.id
            for moved in shrink.moves(space, shrink.knobs_of(case)):
                for fixed in shrink.repairs(space, moved):
                    candidate = shrink.case_of(item.op, fixed)
                    assert rule(candidate), (name, case.id, candidate.id)
                    tried += 1
        assert tried > 50, (name, tried)


def test_the_scripts_tolerance_and_printing_are_the_graders():
    rng = np.random.default_rng(1)
    for _ in range(200):
        expected = rng.standard_normal(12) * 10.0 ** rng.integers(-3, 4)
        got = expected + rng.choice([0, 1e-13, 1e-9, 1.0], 12) * rng.standard_normal(12)
        got[rng.integers(0, 12)] = rng.choice([np.inf, np.nan, got[0]])
        assert np.array_equal(differs(got, expected, 1e-10, 1e-12), mismatch_mask(got, expected))
    text = format_array(np.array([[1.0, -2.5], [0.25, 3.0]]), np.array([[False, True], [False, False]]))
    assert text == "[[   1  -2.5*]\n [0.25     3]]"
