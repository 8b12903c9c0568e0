"""The UI in a real headless Chromium: clicking through, hostile strings, live updates, token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from archive import open_archive
from tests.ui import sample
from tests.ui.conftest import base_url, serving

pytestmark = pytest.mark.chromium
WAIT = 20


def assert_nothing_ran(browser: Any) -> None:
    """No alert, no script ran, no element injected by archive text."""
    try:
        text = browser.switch_to.alert.text
        raise AssertionError(f"an alert fired: {text!r}")
    except NoAlertPresentException:
        pass
    assert browser.execute_script("return window.__pwned === undefined")
    for selector in ("#injected", "#evil", "img", "main script"):
        assert not browser.find_elements(By.CSS_SELECTOR, selector), selector


def wait_for(browser: Any, css: str) -> Any:
    return WebDriverWait(browser, WAIT).until(lambda b: b.find_element(By.CSS_SELECTOR, css))


def screenshot(browser: Any, path: Path, key: str) -> None:
    """Save a screenshot of the page and check it shows something: not one blank colour, and
    the page's key element (`key`, a CSS selector) drawn in it with more than one colour."""
    from PIL import Image

    element = browser.find_element(By.CSS_SELECTOR, key)
    browser.execute_script("arguments[0].scrollIntoView({block: 'nearest'})", element)
    box = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return [r.left, r.top, r.right, r.bottom, window.devicePixelRatio];",
        element,
    )
    assert browser.save_screenshot(str(path)), path
    with Image.open(path) as shot:
        image = shot.convert("RGB")
    assert image.getcolors(maxcolors=16) is None, f"{path.name}: the page looks blank"
    scale = box[4]
    left, top = max(0, int(box[0] * scale)), max(0, int(box[1] * scale))
    right = min(image.width, int(box[2] * scale))
    bottom = min(image.height, int(box[3] * scale))
    assert right > left and bottom > top, f"{path.name}: {key} is not in view ({box})"
    colours = image.crop((left, top, right, bottom)).getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 1, f"{path.name}: {key} is drawn as one flat colour"


def test_click_runs_run_tree_node_agent_diff(
    sample_run: tuple[str, dict[str, str]], browser: Any, shots: Path
) -> None:
    url, ids = sample_run
    with serving(url) as server:
        browser.get(base_url(server) + "/")
        wait_for(browser, "table.runs")
        screenshot(browser, shots / "1-runs.png", "table.runs")
        browser.find_element(By.CSS_SELECTOR, f'table.runs a[href="/runs/{ids["run"]}"]').click()
        node = wait_for(browser, f'#tree a.node[data-id="{ids["child"]}"]')
        assert len(browser.find_elements(By.CSS_SELECTOR, "#tree a.node")) == 5
        assert browser.find_elements(By.CSS_SELECTOR, "#tree path.edge.best")
        assert browser.find_elements(
            By.CSS_SELECTOR, "#tree path.edge.cross"
        )  # the crossover child
        assert (
            "LLM said nothing"
            in browser.find_element(By.CSS_SELECTOR, '[data-section="failures"]').text
        )
        assert "expanding" in browser.find_element(By.CSS_SELECTOR, '[data-section="workers"]').text
        assert browser.find_elements(By.CSS_SELECTOR, "svg.chart polyline.best")
        screenshot(browser, shots / "2-run.png", "#tree")
        assert_nothing_ran(browser)
        node.click()
        wait_for(browser, "#diff-link")
        assert ids["child"] in browser.find_element(By.TAG_NAME, "h1").text
        body = browser.find_element(By.TAG_NAME, "main").text
        assert "the loop stops early <script>" in body  # shown as text, not run
        assert "demo__task-0" in body and "diagnose" in body and "test-model" in body
        screenshot(browser, shots / "3-agent.png", "main h1")
        assert_nothing_ran(browser)
        browser.find_element(By.ID, "diff-link").click()
        wait_for(browser, "table.diff")
        assert browser.find_elements(By.CSS_SELECTOR, "table.diff td.add span.k")  # highlighted
        assert "limit=20" in browser.find_element(By.CSS_SELECTOR, "table.diff").text
        screenshot(browser, shots / "4-diff.png", "table.diff")
        assert_nothing_ran(browser)


def test_hostile_strings_do_not_execute(
    sample_run: tuple[str, dict[str, str]], browser: Any, shots: Path
) -> None:
    url, ids = sample_run
    pages = {
        "agent": f"/agents/{ids['child']}",
        "rejected": f"/agents/{ids['bad']}",
        "diff": f"/agents/{ids['child']}/diff",
        "diff-any": f"/agents/{ids['cross']}/diff?against={ids['seed'][:6]}",
        "evaluation": f"/agents/{ids['child']}/evals/1",
        "call": f"/calls/{ids['call']}",
        "run": f"/runs/{ids['run']}",
    }
    with serving(url) as server:
        for name, path in pages.items():
            browser.get(base_url(server) + path)
            wait_for(browser, "main h1")
            assert_nothing_ran(browser)
            text = browser.find_element(By.TAG_NAME, "main").text
            assert "<script>" in text or name in ("run", "rejected"), name  # visible as text
            screenshot(browser, shots / f"hostile-{name}.png", "main h1")
        # The evaluation page renders the trajectory as a conversation, with the test output and patch.
        browser.get(base_url(server) + f"/agents/{ids['child']}/evals/1")
        roles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".conversation .msg .role")]
        assert roles[:3] == ["SYSTEM", "USER", "ASSISTANT"]
        assert "bash" in browser.find_element(By.CSS_SELECTOR, ".msg .call").text
        assert "+new <script>" in browser.find_element(By.CSS_SELECTOR, "pre.patch").text
        assert "pytest output" in browser.find_element(By.CSS_SELECTOR, "pre.log").text
        # A javascript: URL stays text: no link on the page points anywhere but this server.
        for a in browser.find_elements(By.CSS_SELECTOR, "a[href]"):
            assert a.get_attribute("href").startswith(base_url(server)), a.get_attribute("href")


def test_running_run_updates_by_itself(
    sample_run: tuple[str, dict[str, str]], browser: Any, shots: Path
) -> None:
    url, ids = sample_run
    with serving(url) as server:
        browser.get(base_url(server) + f"/runs/{ids['run']}")
        wait_for(browser, f'#tree a.node[data-id="{ids["cross"]}"]')
        summary = browser.find_element(By.CSS_SELECTOR, '[data-section="summary"]')
        assert "4 evaluated of 5" in summary.text
        browser.execute_script("window.__same_page = 1")
        with open_archive(url, create=False) as writer:  # the run goes on
            new = writer.add_agent(
                ids["run"], {**sample.SEED, "agent/new.py": b"x = 1\n"}, parent_id=ids["cross"]
            )
            writer.set_agent_score(new, "full", 1.0)
            writer.set_agent_status(new, "evaluated")
            writer.append_event(
                ids["run"],
                "expansion_failed",
                {"iteration": 9, "parent": new, "reason": "quota hit"},
            )
        wait_for(browser, f'#tree a.node[data-id="{new}"]')
        WebDriverWait(browser, WAIT).until(
            lambda b: (
                "5 evaluated of 6"
                in b.find_element(By.CSS_SELECTOR, '[data-section="summary"]').text
            )
        )
        assert (
            "quota hit" in browser.find_element(By.CSS_SELECTOR, '[data-section="failures"]').text
        )
        assert browser.execute_script("return window.__same_page") == 1  # no reload happened
        screenshot(browser, shots / "live-run.png", "#tree")


def toggle(browser: Any, agent_id: str) -> None:
    """Click a node's +/- (by position: an SVG circle is not a form control to selenium)."""
    circle = browser.find_element(By.CSS_SELECTOR, f'#tree g.toggle[data-id="{agent_id}"] circle')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", circle)
    ActionChains(browser).move_to_element(circle).click().perform()


def test_tree_expands_and_collapses_hidden_subtrees(
    tmp_path: Path, browser: Any, shots: Path
) -> None:
    url = str(tmp_path / "big.db")
    with open_archive(url) as archive:
        run = archive.create_run("wide")
        seed = archive.add_agent(run, sample.SEED)
        kids = [
            archive.add_agent(run, {"k.py": f"k = {i}\n".encode()}, parent_id=seed)
            for i in range(170)
        ]
        for i, k in enumerate(kids):
            archive.set_agent_score(k, "full", i / 170)
    with serving(url) as server:
        browser.get(base_url(server) + f"/runs/{run}")
        wait_for(browser, "#tree a.node")
        before = len(browser.find_elements(By.CSS_SELECTOR, "#tree a.node"))
        screenshot(browser, shots / "tree-collapsed.png", "#tree")
        assert before < 171  # collapsed: not every agent is drawn
        toggle(browser, seed)
        WebDriverWait(browser, WAIT).until(
            lambda b: len(b.find_elements(By.CSS_SELECTOR, "#tree a.node")) > before
        )
        screenshot(browser, shots / "tree-expanded.png", "#tree")
        toggle(browser, seed)
        WebDriverWait(browser, WAIT).until(
            lambda b: len(b.find_elements(By.CSS_SELECTOR, "#tree a.node")) == 1
        )


def test_token_is_required_off_loopback(
    sample_run: tuple[str, dict[str, str]], browser: Any
) -> None:
    url, ids = sample_run
    with serving(url, host="0.0.0.0") as server:
        assert server.token
        base = base_url(server)
        browser.get(base + f"/runs/{ids['run']}")
        assert "token is required" in browser.find_element(By.TAG_NAME, "body").text
        browser.get(base + f"/runs/{ids['run']}?token=wrong")
        assert "token is required" in browser.find_element(By.TAG_NAME, "body").text
        browser.get(base + f"/runs/{ids['run']}?token={server.token}")
        wait_for(browser, f'#tree a.node[data-id="{ids["child"]}"]')
        assert "token" not in browser.current_url  # the token left the address bar for a cookie
        browser.get(base + f"/agents/{ids['child']}")  # the cookie carries on
        wait_for(browser, "#diff-link")


def test_runs_page_updates_by_itself(sample_run: tuple[str, dict[str, str]], browser: Any) -> None:
    url, _ = sample_run
    with serving(url) as server:
        browser.get(base_url(server) + "/runs")
        wait_for(browser, "table.runs")
        with open_archive(url, create=False) as writer:
            new_run = writer.create_run("second-run")
        wait_for(browser, f'table.runs a[href="/runs/{new_run}"]')
        assert "second-run" in browser.find_element(By.CSS_SELECTOR, "table.runs").text


def test_tree_pans_and_zooms(sample_run: tuple[str, dict[str, str]], browser: Any) -> None:
    url, ids = sample_run
    with serving(url) as server:
        browser.get(base_url(server) + f"/runs/{ids['run']}")
        wait_for(browser, "#tree a.node")
        g = browser.find_element(By.CSS_SELECTOR, "#tree svg > g")
        before = g.get_attribute("transform")
        browser.execute_script(
            "arguments[0].dispatchEvent(new WheelEvent('wheel', {deltaY: -300, clientX: 200, clientY: 100, bubbles: true}))",
            browser.find_element(By.CSS_SELECTOR, "#tree svg"),
        )
        zoomed = g.get_attribute("transform")
        assert zoomed != before and "scale(" in zoomed
        svg = browser.find_element(By.CSS_SELECTOR, "#tree svg")
        ActionChains(browser).move_to_element_with_offset(
            svg, 10, 10
        ).click_and_hold().move_by_offset(80, 40).release().perform()
        assert g.get_attribute("transform") != zoomed
        assert "/runs/" in browser.current_url  # a drag does not open a node
