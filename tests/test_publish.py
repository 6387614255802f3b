"""The static site and the slides: built offline from the stored notebooks, links that resolve,
and, in headless Chromium, typeset formulas (no raw TeX left) and figures on every page."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from course_utils.classroom import colab, nav, publish

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed "
                                    "(.ci/run installs it)")
NOTEBOOKS = nav.notebook_paths()
LINK = re.compile(r'(?:href|src)="([^"#?:]+)(?:[#?][^"]*)?"')


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    publish.build("site", out)
    return out


@pytest.fixture(scope="module")
def slides(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    publish.build("slides", out)
    return out


def test_prepare_drops_colab_and_progress_and_links_pages():
    nb = nbformat.read(nav.notebook_paths()[4], as_version=4)
    bar = nbformat.v4.new_output("display_data", data={
        publish.WIDGET: {"model_id": "x"}, "text/plain": "epoch 1/4:   0%|          | 0/80"})
    tqdm_text = nbformat.v4.new_output("stream", name="stderr", text="  0%|          | 0/80")
    kept = nbformat.v4.new_output("stream", name="stdout", text="after 4 epochs")
    nb.cells.append(nbformat.v4.new_code_cell("1", outputs=[bar, tqdm_text, kept]))
    out = publish.prepare(nb)
    text = "\n".join(c.source for c in out.cells)
    assert colab.CELL_MARK not in text and "colab-badge" not in text
    assert ".ipynb)" not in text and "(03-transposed-convolution.html)" in text
    assert out.cells[-1].outputs == [kept]
    kinds = [c.metadata.get("slideshow", {}).get("slide_type")
             for c in publish.prepare(nb, slides=True).cells]
    assert kinds[0] == "slide" and "subslide" in kinds and "-" in kinds


def test_alt_texts_come_from_the_output_then_the_cell_then_a_placeholder():
    png = {"image/png": "iVBOR"}
    fig = lambda alt=None: nbformat.v4.new_output(  # noqa: E731
        "display_data", data=png, metadata={"image/png": {"alt": alt}} if alt else {})
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("a", outputs=[fig("own"), fig()], metadata={"alt": "cell"}),
        nbformat.v4.new_code_cell("b", outputs=[fig(), fig()], metadata={"alt": ["one", "two"]}),
        nbformat.v4.new_markdown_cell("text"),
        nbformat.v4.new_code_cell("c", outputs=[nbformat.v4.new_output("stream", text="x"),
                                                fig()]),
    ])
    assert publish.alt_texts(nb) == ["own", "cell", "one", "two", publish.NO_ALT]


def test_add_alt_texts_replaces_the_placeholder_of_each_figure_in_order():
    body = ('<p>x</p><img alt="No description" class="" src="data:image/png;base64,AAA">'
            '<img src="data:image/jpeg;base64,BBB" width=3><img src="logo.svg">')
    out = publish.add_alt_texts(body, ['a "quoted" <b>', "second"])
    assert out.count("alt=") == 2 and "No description" not in out
    assert '<img alt="a &quot;quoted&quot; &lt;b&gt;" class="" src="data:image/png' in out
    assert '<img alt="second" src="data:image/jpeg;base64,BBB" width=3>' in out
    with pytest.raises(ValueError, match="2 figures on the page, 1 alt texts"):
        publish.add_alt_texts(body, ["a"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_stored_figure_has_its_own_alt_text(path):
    """Alt text is written by someone who looked at the figure: never the placeholder, never a
    marker left from drafting, and not too short to say what the figure shows."""
    texts = publish.alt_texts(nbformat.read(path, as_version=4))
    for k, text in enumerate(texts):
        assert text != publish.NO_ALT, f"figure {k + 1} of {path.name} has no alt text"
        assert not re.search(r"\b(ALT|FIGURE-ALT|TODO|TEXT)-?\b", text), (path.name, k, text)
        assert len(text.split()) >= 8, (path.name, k, text)


@pytest.mark.parametrize("kind", ["site", "slides"])
def test_every_page_is_built_and_every_local_link_resolves(kind, site, slides):
    out = {"site": site, "slides": slides}[kind]
    pages = sorted(out.glob("*.html"))
    assert [p.stem for p in pages] == sorted([p.stem for p in NOTEBOOKS] + ["index"])
    for page in pages:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            assert (page.parent / html.unescape(target)).exists(), (page.name, target)
        assert "https://cdn" not in page.read_text(encoding="utf-8"), "a script from the web"


def _dom(page: Path, tmp_path: Path) -> str:
    """The page's DOM after its scripts ran (MathJax typesetting), from headless Chromium."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=30000", "--dump-dom", page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=True).stdout


def _visible_text(dom: str) -> str:
    dom = re.sub(r"<script\b.*?</script>", " ", dom, flags=re.S | re.I)
    dom = re.sub(r"<style\b.*?</style>", " ", dom, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


@needs_chromium
@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_site_page_typesets_every_formula_and_shows_its_figures(name, site, tmp_path):
    source = (nav.NOTEBOOKS / f"{name}.ipynb").read_text()
    dom = _dom(site / f"{name}.html", tmp_path)
    text = _visible_text(dom)
    assert "$$" not in text, "raw display maths left in the page"
    if "$" in "".join(c.source for c in nbformat.reads(source, as_version=4).cells
                      if c.cell_type == "markdown"):
        assert 'class="MathJax' in dom, "no formula was typeset"
    if '"image/png"' in source:
        assert "data:image/png;base64," in dom
    shown = re.findall(r'<img\b[^>]*src="data:image/(?:png|jpeg);base64,[^>]*>', dom)
    alts = [html.unescape(m.group(1)) for tag in shown
            if (m := re.search(r'\balt="([^"]*)"', tag))]
    nb = nbformat.reads(source, as_version=4)
    assert alts == publish.alt_texts(nb), "each figure on the page carries its notebook's alt"


@needs_chromium
def test_slides_load_reveal_and_typeset(slides, tmp_path):
    dom = _dom(slides / "07-losses.html", tmp_path)
    assert 'class="reveal' in dom and "slides" in dom
    assert dom.count("<section") > 10, "the notebook is split into slides"
    assert 'class="MathJax' in dom and "$$" not in _visible_text(dom)


@needs_chromium
def test_screenshots_of_a_page_and_a_slide(site, slides, tmp_path):
    """Saved under build/screenshots/ for a person to look at; here: they are real images."""
    shots = publish.BUILD / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for url, png in (((site / "07-losses.html").as_uri(), shots / "site-07-losses.png"),
                     ((slides / "07-losses.html").as_uri() + "#/3", shots / "slide-07-losses.png")):
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--no-first-run", "--disable-background-networking",
                        f"--user-data-dir={tmp_path / 'p'}", "--hide-scrollbars",
                        "--window-size=1280,800", "--virtual-time-budget=30000",
                        f"--screenshot={png}", url], capture_output=True, timeout=180,
                       check=True)
        assert png.stat().st_size > 20_000, png
