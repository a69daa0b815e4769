"""The debugger page in a real headless Chromium (Debian's, driven by Playwright) on a real run:
both graphs render with the right number of nodes, readable at a normal window size (1280x800), a
timeline click shows that step's state, and the screenshot for the README is saved to docs/ui.png."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "ui.png"
WINDOW = {"width": 1280, "height": 800}
# What keeps a graph from being read: a node outside its panel, two nodes (labels included) on each other.
LAYOUT_PROBLEMS = """(cy) => {
  const boxes = cy.nodes().map((n) => [n.id(), n.renderedBoundingBox({ includeOverlays: false })]);
  const problems = [];
  boxes.forEach(([a, p], i) => {
    if (p.x1 < 0 || p.y1 < 0 || p.x2 > cy.width() || p.y2 > cy.height()) problems.push(`${a} outside its panel`);
    boxes.slice(i + 1).forEach(([b, q]) => {
      if (p.x1 < q.x2 && q.x1 < p.x2 && p.y1 < q.y2 && q.y1 < p.y2) problems.push(`${a} on ${b}`);
    });
  });
  return problems;
}"""

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail(f"the browser tests need Debian's chromium at {CHROMIUM}: apt-get install -y chromium "
                    "(scripts/test.sh does it)", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need playwright: pip install -e '.[dev]'", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def served_run(tiny_run_config):
    """A real (tiny) self-play run, then the UI over it in a uvicorn thread."""
    import uvicorn

    from cosr.graphs.session import SelfPlayRun
    from cosr.ui import create_app

    with SelfPlayRun(tiny_run_config, log=lambda m: None) as run:
        for _ in run.events():
            pass
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(run.run_dir), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield run, f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


def test_page_shows_a_real_run(browser, served_run):
    run, url = served_run
    from cosr.graphs.selfplay import build_graph
    from cosr.store import TrajectoryStore

    expected_machine = len(build_graph().compile().get_graph().nodes)  # with __start__ and __end__
    store = TrajectoryStore(run.run_dir / "store.sqlite")
    trajectories = store.trajectories(run.run_id)
    store.close()
    page = browser.new_page(viewport=WINDOW)
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === '1'")
    page.wait_for_selector("#timeline tr.entry")
    assert page.evaluate("machine.nodes().length") == expected_machine
    assert page.evaluate("skills.nodes().length") == 3  # tests/data/math_skills.yaml
    assert page.evaluate("skills.edges().length") == 3
    assert page.locator("#timeline tr.entry").count() == len(trajectories)
    assert page.evaluate("frames.length") > 1  # mastery over time: one frame per Diagnostician step
    for graph in ("machine", "skills"):  # labels drawn at 11 px or more (a fitted circle drew them at ~4)
        assert page.evaluate(f"{graph}.zoom() * parseFloat({graph}.nodes()[0].style('font-size'))") >= 11, graph
        assert page.evaluate(f"({LAYOUT_PROBLEMS})({graph})") == [], graph

    wrong = next(t for t in trajectories if not t.verdict.correct)
    page.select_option("#f-verdict", wrong.verdict.status)
    assert page.locator("#timeline tr.entry").count() == sum(t.verdict.status == wrong.verdict.status
                                                              for t in trajectories)
    page.locator(f'#timeline tr.entry[data-id="{wrong.id}"]').click()
    page.wait_for_selector(f'#step[data-id="{wrong.id}"]')
    inspector = page.inner_text("#inspector")
    assert wrong.task.prompt.splitlines()[0] in inspector
    assert wrong.attempt.raw_output.strip()[:20] in inspector
    assert f"{wrong.verdict.status}:" in inspector
    assert page.evaluate("machine.$('node.ran').map(n => n.id())") == ["verifier"]
    assert page.evaluate("machine.$('node.next').map(n => n.id())") == ["teacher"]  # graded help runs between the Verifier and the Recorder

    page.evaluate("document.getElementById('slider').value = 0; showFrame()")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.select_option("#f-verdict", "")
    page.evaluate("document.getElementById('slider').value = frames.length - 1; showFrame()")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 20_000
