"""The compare page in a real headless Chromium over a real server: tick runs, submit, see
`dgm compare`'s figure (a PNG the page loads) and its table; bad selections as a note."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from archive import open_archive
from tests.ui import compare_sample
from tests.ui.conftest import base_url, serving
from tests.ui.test_browser import wait_for


def build(tmp_path: Path) -> tuple[str, compare_sample.Sample]:
    url = str(tmp_path / "archive.db")
    with open_archive(url) as archive:
        return url, compare_sample.build(archive)


@pytest.mark.chromium
def test_tick_runs_and_compare_them(tmp_path: Path, browser: Any, shots: Path) -> None:
    url, s = build(tmp_path)
    with serving(url) as server:
        browser.get(base_url(server) + "/runs")
        browser.find_element(By.LINK_TEXT, "Compare runs").click()
        wait_for(browser, "form.compare-pick")
        for run_id in [*s.sweep, s.other]:
            browser.find_element(By.CSS_SELECTOR, f'input[name="runs"][value="{run_id}"]').click()
        browser.find_element(By.CSS_SELECTOR, "form.compare-pick button").click()
        table = wait_for(browser, "table.compare")
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) == 4
        (row,) = table.find_elements(By.XPATH, f'.//tr[td/a[@href="/runs/{s.sweep[0]}"]]')
        first = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        # seed 1's run: first 10, final best 5 (a 'min' problem, raw), held-out 5.5,
        # 4 evaluations to 95% of its gain, 4 children born, 3 valid, 1 duplicate
        assert first[2:6] == ["1", "10.000", "5.000", "5.500"]
        assert first[8] == "4" and first[10:] == ["4", "3", "1"]
        assert "min: lower is better" in browser.find_element(By.TAG_NAME, "main").text.lower()
        img = wait_for(browser, "img.compare-chart")
        loaded = "return arguments[0].complete && arguments[0].naturalWidth"
        assert browser.execute_script(loaded, img) > 1000  # the PNG arrived and decoded
        # the ticked runs stay ticked
        ticked = browser.find_elements(By.CSS_SELECTOR, 'input[name="runs"]:checked')
        assert len(ticked) == 4
        browser.save_screenshot(str(shots / "compare.png"))


def test_the_chart_is_a_png_and_a_bad_selection_is_a_note(tmp_path: Path) -> None:
    url, s = build(tmp_path)
    with serving(url) as server:
        base = base_url(server)
        runs = ",".join(r[:8] for r in s.sweep)
        with urllib.request.urlopen(f"{base}/compare/chart.png?runs={runs}") as r:
            assert r.headers["Content-Type"] == "image/png"
            assert r.read().startswith(b"\x89PNG")
        with urllib.request.urlopen(f"{base}/compare?runs={s.other}") as r:
            page = r.read().decode()
        assert "dgm compare needs two or more runs (got 1)" in page
        assert '<table class="grid compare"' not in page
        try:
            urllib.request.urlopen(f"{base}/compare/chart.png?runs={s.other}")
            raise AssertionError("one run drew a chart")
        except urllib.error.HTTPError as e:
            assert e.code == 400 and b"two or more runs" in e.read()
