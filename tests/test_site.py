"""The course website (`make site`, site/build.py) builds and works offline.

The site is built once for the module, into a temporary folder, on the fast path: notebooks
rendered as stored, without executing them (`make site` executes the lessons; that path is
not run here). The build time is printed and must stay under BUILD_LIMIT_S.

Checked for every page:

1. statically, in the HTML: no <script src> or <link href> pointing to another host (http:,
   https: or protocol-relative //), no CSS in the build importing or loading a URL from
   another host, and every local script, stylesheet and icon a page names exists; the index
   links every lesson and every exercise, no link to a page of the site is broken (file and
   anchor), every lesson and exercise page starts with its Binder button (README.md's launch
   URL; the badge is in the build), and the exercise pages carry no nbgrader solution or
   hidden-test markers;
2. in Debian's Chromium (Playwright, as tests/test_browser.py launches it; skipped without a
   browser), served by a local HTTP server on 127.0.0.1 started by the test: the page has its
   title (the notebook's "# ..." heading), no request fails and no response has a status
   >= 400, every image is drawn (loaded, with a width), and on every page with math MathJax
   has typeset every formula (each .math element holds an <mjx-container>) and no raw TeX
   delimiter ($$, $, \\(, \\[) is left in the visible text outside code.

3. widgets (site/widget_html.py): a tiny notebook of this module's own (a tqdm.auto loop, an
   `interact` with a FloatSlider and an IntSlider drawing a matplotlib plot, and a widget
   type the site cannot draw) is executed and rendered by the site's Sphinx configuration
   the way `make site` does it (myst-nb's cache mode: jupyter-cache runs nbclient, which
   saves the widget state), twice, the second time from the cache. Its page shows the
   progress bar at its end (100%, tqdm's final text, never 0%), the sliders at their values
   with the plot their Output held and the caption, the note for the unknown widget, and no
   script, CDN or widget state; in Chromium the plot is drawn and the bar full. The HTML of
   single widgets (escaping, fallbacks) is checked without Sphinx.

Marked slow (the builds), the browser parts also browser: deselect with `-m "not browser"`.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BUILD_LIMIT_S = 120  # the fast build takes about 10-20 s on two shared cores
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
TIMEOUT_MS = 60_000
NOTEBOOKS = sorted(REPO.glob("lessons/*.ipynb")) + sorted(REPO.glob("exercises/*/*.ipynb"))
SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def _module(name: str, path: Path):
    """The Python file `path` as a module (without putting its folder on sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _launch_links():
    """binder/launch_links.py as a module."""
    return _module("launch_links", REPO / "binder" / "launch_links.py")


def _page_of(notebook: Path) -> str:
    """lessons/01_neuron.ipynb -> 'lessons/01_neuron.html' (the page's path in the site)."""
    return notebook.relative_to(REPO).with_suffix(".html").as_posix()


def _heading(notebook: Path) -> str:
    """The notebook's title: the text of its first '# ' heading."""
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise AssertionError(f"{notebook.relative_to(REPO)} has no '# ' title")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The website built by site/build.py (no execution) into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(REPO / "site" / "build.py"), "--out", str(out),
                           "--quiet"], cwd=REPO, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    print(f"site built in {seconds:.1f} s")
    assert done.returncode == 0, f"site/build.py failed:\n{done.stdout[-4000:]}\n{done.stderr}"
    assert seconds < BUILD_LIMIT_S, f"the fast site build took {seconds:.0f} s"
    html = out / "html"
    assert (html / "index.html").is_file()
    return html


def _pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if "_static" not in p.relative_to(site).parts)


class _Assets(html.parser.HTMLParser):
    """The src of every <script>, the href of every <link> and of every <a> in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.links: list[str] = []
        self.anchors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script" and "src" in values:
            self.scripts.append(values["src"])
        elif tag == "link" and "href" in values:
            self.links.append(values["href"])
        elif tag == "a" and "href" in values:
            self.anchors.append(values["href"])


def _assets(page: Path) -> _Assets:
    parser = _Assets()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _is_remote(url: str) -> bool:
    return url.startswith("//") or urlsplit(url).scheme not in ("", "file")


# --- 1. the HTML -------------------------------------------------------------------------------


def test_every_notebook_has_a_page_linked_from_the_index(site: Path) -> None:
    pages = set(_pages(site))
    missing = [_page_of(nb) for nb in NOTEBOOKS if _page_of(nb) not in pages]
    assert not missing, f"notebooks without a page: {missing}"
    assert not any(p.startswith("solutions/") for p in pages), "a page was built from solutions/"
    linked = {urlsplit(href).path for href in _assets(site / "index.html").anchors}
    unlinked = [_page_of(nb) for nb in NOTEBOOKS if _page_of(nb) not in linked]
    assert not unlinked, f"the index does not link {unlinked}"


def test_pages_load_nothing_from_another_host(site: Path) -> None:
    problems = []
    for name in _pages(site):
        page = site / name
        assets = _assets(page)
        for url in assets.scripts + assets.links:
            if _is_remote(url):
                problems.append(f"{name}: {url}")
                continue
            path = urlsplit(url).path
            if path and not (page.parent / path).resolve().is_file():
                problems.append(f"{name}: {url} is not in the build")
    for css in site.rglob("*.css"):
        for url in re.findall(r"""(?:url\(|@import\s+)\s*['"]?([^'")\s;]+)""",
                              css.read_text(encoding="utf-8", errors="replace")):
            if _is_remote(url):
                problems.append(f"{css.relative_to(site)}: {url}")
    assert not problems, "\n".join(problems)


def test_no_internal_link_is_broken(site: Path) -> None:
    """Every <a href> to a page of the site names a file of the build (and an anchor of it)."""
    problems = []
    ids: dict[Path, set[str]] = {}
    for name in _pages(site):
        page = site / name
        for href in _assets(page).anchors:
            if _is_remote(href) or href.startswith("mailto:"):
                continue
            parts = urlsplit(href)
            target = (page.parent / parts.path).resolve() if parts.path else page.resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{name}: {href} (no such file in the build)")
            elif parts.fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(re.findall(r'\bid="([^"]+)"',
                                                 target.read_text(encoding="utf-8")))
                if parts.fragment not in ids[target]:
                    problems.append(f"{name}: {href} (no id {parts.fragment!r} there)")
    assert not problems, "\n".join(problems[:20])


def test_every_notebook_page_has_its_binder_button(site: Path) -> None:
    """The same launch URL as README.md's table, at the top of the page, its badge shipped."""
    links = _launch_links()
    prefix = links.binder_prefix((REPO / "README.md").read_text(encoding="utf-8"))
    for notebook in NOTEBOOKS:
        relative = notebook.relative_to(REPO).as_posix()
        page = site / _page_of(notebook)
        anchors = _assets(page).anchors
        url = links.launch_url(prefix, relative)
        assert url in [h.replace("&amp;", "&") for h in anchors], f"{page.name}: no {url}"
        text = page.read_text(encoding="utf-8")
        badge = re.search(r'class="binder-launch"><a href="[^"]+"><img src="([^"]+)"', text)
        assert badge, f"{page.name}: no Binder badge"
        assert (page.parent / badge[1]).resolve().is_file(), badge[1]
        assert text.index("binder-launch") < text.index('class="cell'), \
            f"{page.name}: the Binder button is not at the top"


def test_math_is_shipped_and_pages_have_math_markup(site: Path) -> None:
    for notebook in NOTEBOOKS:
        text = (site / _page_of(notebook)).read_text(encoding="utf-8")
        assert 'class="math' in text, f"{_page_of(notebook)} has no math"
        assert "_static/mathjax/tex-chtml.js" in text, f"{_page_of(notebook)} loads no MathJax"
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_exercise_pages_have_no_solutions(site: Path) -> None:
    for page in sorted((site / "exercises").rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        found = [marker for marker in SOLUTION_MARKERS if marker in text]
        assert not found, f"{page.relative_to(site)} shows {found}"


# --- 2. in a browser ---------------------------------------------------------------------------


def _chromium() -> str:
    """Debian's Chromium, installed with apt-get if it is missing and we are root; else skip."""
    for candidate in (os.environ.get("NNCOURSE_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("no Chromium at /usr/bin/chromium, and it cannot be installed here (needs "
                    "root and apt-get): run `apt-get install -y chromium` as root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"Chromium could not be installed ({' '.join(command)} failed):\n"
                        f"{done.stderr[-2000:]}")
    if not Path("/usr/bin/chromium").is_file():
        pytest.skip("apt-get installed the chromium package but /usr/bin/chromium is missing")
    return "/usr/bin/chromium"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _serve(folder: Path) -> Iterator[str]:
    """A static HTTP server for `folder` on 127.0.0.1 (a free port); yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The site served on 127.0.0.1; yields its base URL."""
    with _serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package")
    executable = _chromium()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Typeset state of a page, once MathJax (if the page loads it) has finished.
_MATH_STATE = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
    await document.fonts.ready;  // the web fonts MathJax's output asked for
    const math = [...document.querySelectorAll('.math')];
    const prose = document.querySelector('div.body') || document.body;
    const copy = prose.cloneNode(true);
    copy.querySelectorAll('pre, code, .highlight, mjx-container, script, style')
        .forEach(el => el.remove());
    return {
        mathjax: !!(window.MathJax && MathJax.startup),
        math: math.length,
        untypeset: math.filter(el => !el.querySelector('mjx-container'))
                       .map(el => el.textContent.slice(0, 80)),
        errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
        text: document.body.innerText,
        prose: copy.textContent,
        h1: (document.querySelector('div.body h1') || {innerText: ''}).innerText,
        undrawn: [...document.images].filter(img => !img.complete || img.naturalWidth === 0)
                                     .map(img => img.getAttribute('src')),
        images: document.images.length,
    };
}"""


def _watch(page, bad: list[str], requested: list[str]) -> None:
    """Collect into `bad` failed requests, responses >= 400 and page errors; all URLs asked."""

    def on_response(response) -> None:
        if response.status >= 400:
            bad.append(f"HTTP {response.status} {response.url}")

    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: bad.append(
        f"request failed: {request.url} ({request.failure})"))
    page.on("response", on_response)
    page.on("pageerror", lambda error: bad.append(f"page error: {error}"))


@pytest.mark.browser
def test_every_page_in_a_browser(site: Path, server: str, browser) -> None:
    headings = {_page_of(nb): _heading(nb) for nb in NOTEBOOKS}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    failures: list[str] = []
    started = time.perf_counter()
    try:
        for name in _pages(site):
            page = context.new_page()
            bad: list[str] = []
            requested: list[str] = []
            _watch(page, bad, requested)
            page.goto(f"{server}/{name}", wait_until="load")
            state = page.evaluate(_MATH_STATE)
            title = page.title()
            page.close()

            problems = list(bad)
            remote = [url for url in requested
                      if not url.startswith((server + "/", "data:", "blob:", "about:"))]
            if remote:
                problems.append(f"requests to another host: {remote}")
            if not title.strip():
                problems.append("no <title>")
            if name in headings:
                if headings[name] not in title:
                    problems.append(f"title {title!r} lacks {headings[name]!r}")
                if headings[name] not in state["h1"]:
                    problems.append(f"h1 {state['h1']!r} is not {headings[name]!r}")
                if not state["math"]:
                    problems.append("no math on the page")
            if state["math"]:
                if not state["mathjax"]:
                    problems.append("math but no MathJax")
                if state["untypeset"]:
                    problems.append(f"{len(state['untypeset'])} of {state['math']} formulas "
                                    f"not typeset, e.g. {state['untypeset'][:3]}")
                if state["errors"]:
                    problems.append(f"{state['errors']} MathJax errors")
            if state["undrawn"]:
                problems.append(f"images not drawn: {state['undrawn'][:3]}")
            if name in headings and not state["images"]:
                problems.append("no image (not even the Binder badge)")
            if "$$" in state["text"]:
                problems.append("raw $$ in the visible text")
            raw = re.findall(r".{0,30}(?:\$|\\\(|\\\[).{0,30}", state["prose"])
            if raw:
                problems.append(f"raw TeX in the text: {raw[:3]}")
            failures += [f"{name}: {problem}" for problem in problems]
    finally:
        context.close()
    print(f"{len(_pages(site))} pages checked in Chromium in {time.perf_counter() - started:.1f} s")
    assert not failures, "\n".join(failures)


# --- 3. widgets, drawn from their saved state ------------------------------------------------

WIDGET_CELLS = [
    "import time\n"
    "from tqdm.auto import tqdm\n"
    "\n"
    "for step in tqdm(range(5), desc='steps'):\n"
    "    time.sleep(0.01)",
    "%matplotlib inline\n"
    "import matplotlib.pyplot as plt\n"
    "from ipywidgets import FloatSlider, IntSlider, interact\n"
    "\n"
    "def show_line(slope=1.0, points=3):\n"
    "    fig, ax = plt.subplots(figsize=(3, 2))\n"
    "    ax.plot(range(points), [slope * x for x in range(points)])\n"
    "    plt.show()\n"
    "\n"
    "interact(show_line,\n"
    "         slope=FloatSlider(value=1.5, min=0.0, max=3.0, step=0.25, description='slope'),\n"
    "         points=IntSlider(value=4, min=2, max=9, description='points'));",
    "from ipywidgets import ColorPicker\n"
    "\n"
    "ColorPicker(value='red', description='colour')  # a type the site does not draw",
]


def _widget_html():
    """site/widget_html.py as a module."""
    return _module("widget_html", REPO / "site" / "widget_html.py")


def _page_body(page: str) -> str:
    """The page's content: what lies between the body's start and the bottom links."""
    start, end = page.index('<div class="body"'), page.index('<div class="related bottom"')
    return page[start:end]


def _build_once_more_if_it_hung(command: list[str], env: dict[str, str],
                                run: str) -> subprocess.CompletedProcess[str]:
    """Run one sphinx build of the widget page. A second try only when the first one's kernel
    hung (a cell or the whole build past its time limit): stop 17's CI saw one such hang on a
    loaded machine; 30 runs since, three at once or beside the grading tests, did not. Any other
    failure is returned as it is; a hang is written to test-artifacts/site/widget-hangs.log, so
    none goes unseen."""
    for attempt in (1, 2):
        started = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                                  timeout=300)
        except subprocess.TimeoutExpired as hung:
            done = subprocess.CompletedProcess(command, -9, _text(hung.stdout), _text(hung.stderr))
        took = time.perf_counter() - started
        print(f"widget page built ({run}, try {attempt}) in {took:.1f} s: {done.returncode}")
        timed_out = done.returncode == -9 or "timed out" in done.stdout + done.stderr
        if not timed_out or attempt == 2:
            return done
        log = REPO / "test-artifacts" / "site" / "widget-hangs.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as out:
            out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {run} build hung after {took:.0f} s"
                      f" (load {os.getloadavg()[0]:.1f}):\n{done.stdout[-3000:]}\n"
                      f"{done.stderr[-3000:]}\n\n")
    raise AssertionError("unreachable")


def _text(output: bytes | str | None) -> str:
    """A TimeoutExpired's captured output as text."""
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""


@pytest.fixture(scope="module")
def widget_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny notebook with widgets, executed and rendered with the site's configuration as
    `make site` does (NNCOURSE_SITE_EXECUTE=cache), twice into two folders: the first build
    executes it (jupyter-cache, with nbclient, which saves the widget state), the second takes
    it from the cache. Yields the two HTML folders."""
    import nbformat

    root = tmp_path_factory.mktemp("widget_site")
    src = root / "src"
    src.mkdir()
    (src / "index.md").write_text("# Widgets\n\n```{toctree}\nwidgets\n```\n", encoding="utf-8")
    notebook = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        # jupyter-cache reads this: a stuck cell fails in two minutes and is named, instead of
        # waiting out the site's 15-minute limit.
        "execution": {"timeout": 120}})
    notebook.cells = [nbformat.v4.new_markdown_cell("# Widgets, drawn from their saved state")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in WIDGET_CELLS]
    nbformat.write(notebook, src / "widgets.ipynb")
    env = dict(os.environ, NNCOURSE_SITE_EXECUTE="cache",
               NNCOURSE_SITE_CACHE=str(root / "jupyter_cache"), OMP_NUM_THREADS="1")
    folders = []
    for run in ("executed", "cached"):
        html = root / f"html_{run}"
        command = [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-c", str(REPO / "site"),
                   "-d", str(root / f"doctrees_{run}"), "--fail-on-warning", "--keep-going",
                   str(src), str(html)]
        done = _build_once_more_if_it_hung(command, env, run)
        assert done.returncode == 0, f"sphinx failed ({run}):\n{done.stdout[-4000:]}\n" \
                                     f"{done.stderr[-4000:]}"
        folders.append(html)
    return folders[0], folders[1]


def test_widgets_are_drawn_from_their_saved_state(widget_site: tuple[Path, Path]) -> None:
    executed, cached = widget_site
    page = (executed / "widgets.html").read_text(encoding="utf-8")
    # The tqdm bar at its end: full, green, tqdm's final text; never its first "0%" text.
    bar = re.search(r'<div class="nbw-progress([^"]*)" role="progressbar" aria-valuemin="0" '
                    r'aria-valuemax="5" aria-valuenow="5"[^>]*>'
                    r'<div class="nbw-progress-fill" style="width: 100%"', page)
    assert bar, "no progress bar at 5 of 5"
    assert "nbw-style-success" in bar[1]
    assert "steps:\u2007100%" in page and "5/5" in page
    assert not re.search(r"(?<![\d.])0%|(?<!\d)0/5", page), "the bar's first text (0%) is shown"
    # interact: the sliders at their values, then the plot its Output held, then the caption.
    assert re.search(r'<span class="nbw-label">slope</span><input type="range" [^>]*disabled'
                     r'[^>]*value="1.5"[^>]*><span class="nbw-readout">1.50</span>', page)
    assert re.search(r'<span class="nbw-label">points</span><input type="range" [^>]*'
                     r'value="4"[^>]*><span class="nbw-readout">4</span>', page)
    plot = re.search(r'<div class="nbw-output-widget"><img class="nbw-image" '
                     r'src="data:image/png;base64,([^"]+)"', page)
    assert plot, "no plot from the Output widget"
    assert base64.b64decode(plot[1]).startswith(b"\x89PNG\r\n\x1a\n")
    captions = [m.start() for m in re.finditer('class="nbw-caption"', page)]
    assert len(captions) == 1, "one caption, under interact (none under the progress bar)"
    assert plot.start() < captions[0] and bar.start() < plot.start()
    # The widget it cannot draw: the note, once. No text fallback of a widget is left.
    assert page.count(_widget_html().NOTE) == 1
    assert "interactive(children" not in page and "HBox(children" not in page
    # Nothing from a CDN, no widget script nor the state blob, no script from another host.
    assets = _assets(executed / "widgets.html")
    assert not [url for url in assets.scripts + assets.links if _is_remote(url)]
    for text in ("jsdelivr", "unpkg", "cdnjs", "widget-state+json", "widget-view+json",
                 "require.js", "embed-amd"):
        assert text not in page, f"the page names {text}"
    assert (executed / "_static" / "widgets.css").is_file()
    # Rebuilt from jupyter-cache: the same widgets (the same model ids, the same state).
    again = (cached / "widgets.html").read_text(encoding="utf-8")
    assert _page_body(again) == _page_body(page)


def test_widget_html_escapes_and_falls_back() -> None:
    """site/widget_html.py alone: text is escaped (not an HTML widget's value), an unknown or
    missing model is a placeholder in a container and None (the note) on its own."""
    widgets = _widget_html()

    def model(name: str, **state: object) -> dict:
        return {"model_name": name, "model_module": "@jupyter-widgets/controls",
                "state": {"_model_name": name, **state}}

    models = {
        "box": model("HBoxModel", children=["IPY_MODEL_label", "IPY_MODEL_html",
                                            "IPY_MODEL_pick", "IPY_MODEL_odd", "IPY_MODEL_gone"]),
        "label": model("LabelModel", value="<script>alert(1)</script>", description='a "b" & <c>'),
        "html": model("HTMLModel", value="<b>bold</b>"),
        "pick": model("DropdownModel", _options_labels=["x<y", "z"], index=1, description="pick"),
        "odd": model("ColorPickerModel", value="red"),
        "bar": model("FloatProgressModel", value=3.0, min=0.0, max=4.0, bar_style="danger"),
        "lr": model("FloatLogSliderModel", value=0.01, base=10.0, min=-3.0, max=0.0,
                    readout_format=".3g", description="lr"),
        "out": model("OutputModel", outputs=[
            {"output_type": "stream", "name": "stdout", "text": "1 < 2\n"},
            {"output_type": "display_data", "data": {"text/plain": "<Figure>"}, "metadata": {}}]),
    }
    drawn = widgets.render_view("box", models)
    assert "<script>" not in drawn and "&lt;script&gt;alert(1)&lt;/script&gt;" in drawn
    assert "a &quot;b&quot; &amp; &lt;c&gt;" in drawn
    assert "<b>bold</b>" in drawn  # the HTML widget's value is HTML
    assert "<option>x&lt;y</option><option selected>z</option>" in drawn
    assert drawn.count('class="nbw-unknown"') == 2  # the ColorPicker and the unsaved model
    assert "nbw-caption" in drawn  # a dropdown is a control
    bar = widgets.render_view("bar", models)
    assert "width: 75%" in bar and "nbw-style-danger" in bar and "nbw-caption" not in bar
    lr = widgets.render_view("lr", models)
    assert 'value="-2"' in lr and '<span class="nbw-readout">0.01</span>' in lr
    out = widgets.render_view("out", models)
    assert "1 &lt; 2" in out and "&lt;Figure&gt;" in out and "nbw-caption" not in out
    assert widgets.render_view("odd", models) is None
    assert widgets.render_view("gone", models) is None and widgets.render_view("box", {}) is None


# What the widget page looks like once loaded: bar widths, the plot, the sliders.
_WIDGET_STATE = """() => {
    const plots = [...document.querySelectorAll('.nbw-output-widget img')];
    return {
        bars: [...document.querySelectorAll('.nbw-progress')].map(bar => ({
            track: bar.clientWidth,
            fill: bar.querySelector('.nbw-progress-fill').getBoundingClientRect().width})),
        plots: plots.length,
        undrawn: plots.filter(img => !img.complete || img.naturalWidth === 0).length,
        sliders: [...document.querySelectorAll('input.nbw-range')]
            .map(input => [input.valueAsNumber, input.disabled]),
        captions: [...document.querySelectorAll('.nbw-caption')].map(p => p.innerText),
    };
}"""


@pytest.mark.browser
def test_widget_page_in_a_browser(widget_site: tuple[Path, Path], browser) -> None:
    with _serve(widget_site[0]) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = context.new_page()
            bad: list[str] = []
            requested: list[str] = []
            _watch(page, bad, requested)
            page.goto(f"{base}/widgets.html", wait_until="load")
            state = page.evaluate(_WIDGET_STATE)
        finally:
            context.close()
    assert not bad, bad
    remote = [url for url in requested if not url.startswith((base + "/", "data:", "about:"))]
    assert not remote, f"requests to another host: {remote}"
    assert len(state["bars"]) == 1 and state["bars"][0]["track"] > 50, state["bars"]
    assert abs(state["bars"][0]["fill"] - state["bars"][0]["track"]) <= 1, "the bar is not full"
    assert state["plots"] == 1 and not state["undrawn"], "the plot is not drawn"
    assert state["sliders"] == [[1.5, True], [4, True]]
    assert len(state["captions"]) == 1 and "JupyterLab" in state["captions"][0]
