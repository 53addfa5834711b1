"""The study report: one HTML page that renders in a browser, and the JSON of its figures."""

import json
from pathlib import Path

import numpy as np
import pytest
from browser_tools import chromium

from laetitia.cli import main


@pytest.fixture
def report(dry_run_copy) -> tuple[Path, dict]:
    out = dry_run_copy / "report.html"
    assert main(["study", "report", str(dry_run_copy), "--out", str(out)]) == 0
    return out, json.loads(out.with_suffix(".json").read_text())


def test_the_paired_comparison_is_the_mean_of_the_per_session_figures(report):
    _, document = report
    sessions = document["sessions"]
    assert len(sessions) == 12 and {s["condition"] for s in sessions} == {"climb", "bayes"}
    comparisons = document["figures"]["paired_differences"]
    assert {c["metric"] for c in comparisons} == {
        "steps_to_threshold",
        "last_mean",
        "best_signal",
    }
    for comparison in comparisons:
        metric = comparison["metric"]
        by = {(s["participant"], s["condition"]): s[metric] for s in sessions}
        expected = {
            p: by[(p, "bayes")] - by[(p, "climb")]
            for p in {s["participant"] for s in sessions}
            if by[(p, "bayes")] is not None and by[(p, "climb")] is not None
        }
        assert comparison["differences"] == pytest.approx(expected)
        assert comparison["n"] == len(expected) >= 5
        mean = np.mean(list(expected.values()))
        assert comparison["mean_difference"] == pytest.approx(mean)
        assert comparison["low"] <= mean <= comparison["high"]


def test_the_report_holds_learning_curves_a_mixed_model_and_order_effects(report):
    _, document = report
    curves = document["figures"]["learning_curves"]
    assert set(curves) == {"climb", "bayes"} and curves["bayes"]["sessions"] == 6
    for curve in curves.values():
        assert len(curve["mean"]) == 10
        for low, mean, high in zip(curve["low"], curve["mean"], curve["high"], strict=True):
            assert low is None or low <= mean <= high
    model = document["mixed_model"]
    assert model["fitted"] and model["participants"] == 6
    assert set(model["fixed_effects"]) == {"intercept", "condition bayes", "position 2"}
    order = document["figures"]["order_effects"]
    # Latin square: each condition met first by three participants and second by three.
    assert {c: {p: e["last_mean"]["n"] for p, e in by.items()} for c, by in order.items()} == {
        "climb": {"1": 3, "2": 3},
        "bayes": {"1": 3, "2": 3},
    }
    assert document["dry_run"] and document["participants"]["complete"] == 6


def test_the_report_renders_in_headless_chromium_with_its_figures(report):
    out, document = report
    with chromium() as browser:  # skips, or fails under LAETITIA_REQUIRE_BROWSER=1, without it
        browser.get(out.resolve().as_uri())
        images = browser.execute_script(
            "return [...document.images].map(i => [i.dataset.figure, i.complete, "
            "i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width])"
        )
        table = browser.find_element("css selector", "table[data-table=paired]").text
        title = browser.title
    assert [i[0] for i in images] == ["learning_curves", "paired_differences", "order_effects"]
    for _, complete, width, height, shown in images:
        assert complete and width > 300 and height > 200 and shown > 100  # decoded and drawn
    assert title == "Study tiny"
    for comparison in document["figures"]["paired_differences"]:
        assert f"{comparison['mean_difference']:.3f}" in table
