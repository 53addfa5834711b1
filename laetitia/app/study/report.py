"""`laetitia study report`: one HTML page with its figures embedded, and a JSON of the figures.

    written = write_report(Path("my-study"), Path("my-study/report.html"))
    written.html, written.json

The page holds the study's figures (`laetitia.app.study.analysis`) as PNG data URIs, so it is
one file that opens in any browser, and the numbers behind each figure in tables; the JSON
beside it (`REPORT.json`) holds the same numbers for a script. Figures:

- **learning curves**: per condition, the mean over participants of the rolling mean of the
  signal, with its 95% interval;
- **paired differences**: per figure of a session (steps to the participant's own threshold,
  the mean signal over the last steps, the signal of the agent's best guess), each
  participant's difference between a condition and the reference, and their mean with its
  bootstrap 95% interval;
- **order effects**: the mean signal over the last steps by position in the order, per
  condition, participant by participant;
- a table of the mixed-effects model (condition and position fixed, participant random).

A report holds the participants' figures: the study logs it with its exports, and a withdrawal
deletes it (`laetitia.app.study.withdraw`).
"""

from __future__ import annotations

import base64
import html
import io
import math
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from laetitia.app.study.analysis import (
    METRICS,
    PairedComparison,
    learning_curves,
    mixed_model,
    order_effects,
    paired,
    session_figures,
)
from laetitia.app.study.export import REPORT, ExportRecord, log_export
from laetitia.app.study.participants import all_participants, now, study_sessions
from laetitia.app.study.protocol import Study, read_study
from laetitia.errors import StudyError
from laetitia.files import check_output_file, file_sha256, write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FIGURES = ("learning_curves", "paired_differences", "order_effects")
"""The figures of the page, in order (the `data-figure` of each `<img>`)."""


@dataclass(frozen=True)
class Report:
    """What `write_report` wrote."""

    html: Path
    json: Path
    document: dict[str, Any]


def report_document(study: Study) -> dict[str, Any]:
    """Everything the report shows, as plain data (the JSON of the figures)."""
    sessions = study_sessions(study.folder)
    figures = session_figures(study, sessions)
    comparisons = paired(study, figures)
    records = all_participants(study.folder)
    return {
        "study": study.name,
        "generated": now(),
        "dry_run": any(r.simulated for r in records if r.enrolled),
        "conditions": [
            {"name": c.name, "agent": c.agent, "steps": c.steps, "prior": c.prior.policy}
            for c in study.conditions
        ],
        "participants": {
            "complete": sum(r.done() for r in records),
            "in_progress": sum(r.enrolled and not r.done() for r in records),
            "declined": sum(not r.enrolled for r in records),
        },
        "analysis": asdict(study.analysis),
        "metrics": METRICS,
        "sessions": [_finite(asdict(f)) for f in figures],
        "figures": {
            "learning_curves": learning_curves(study, sessions),
            "paired_differences": [_comparison(c) for c in comparisons],
            "order_effects": order_effects(figures),
        },
        "mixed_model": mixed_model(study, figures),
    }


def _finite(data: dict[str, Any]) -> dict[str, Any]:
    """NaN as None (JSON has no NaN)."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in data.items()
    }


def _comparison(comparison: PairedComparison) -> dict[str, Any]:
    low, high = comparison.interval95
    return _finite(
        {
            "metric": comparison.metric,
            "condition": comparison.condition,
            "reference": comparison.reference,
            "n": comparison.n,
            "mean_difference": comparison.mean_difference,
            "low": low,
            "high": high,
            "differences": comparison.differences,
        }
    )


def write_report(study_dir: Path | str, out: Path | str) -> Report:
    """Write the study's report: `out` (HTML) and `out` with the suffix .json.

    Raises:
        StudyError: If the study has no complete session to report on.
        ConfigError: If `out` cannot be written.
    """
    study = read_study(study_dir)
    out = check_output_file(out, "out")
    document = report_document(study)
    if not document["sessions"]:
        raise StudyError(
            f"{study.folder} has no complete session to report on yet; run participants first "
            "(`laetitia study run`)."
        )
    images = {
        "learning_curves": _png(_curves_figure(study, document)),
        "paired_differences": _png(_paired_figure(document)),
        "order_effects": _png(_order_figure(study, document)),
    }
    json_path = out.with_suffix(".json")
    write_json_atomic(json_path, document, indent=2, allow_nan=False)
    write_text_atomic(out, _page(study, document, images, json_path.name))
    log_export(
        study.folder,
        ExportRecord(
            export_id=secrets.token_hex(8),
            format=REPORT,
            path=str(out.resolve().parent),
            participants=tuple(sorted({s["participant"] for s in document["sessions"]})),
            written=(out.name, json_path.name),
            created=document["generated"],
            study=study.name,
            sha256={p.name: file_sha256(p) for p in (out, json_path)},
        ),
    )
    return Report(out, json_path, document)


# ---------------------------------------------------------------------------------------------
# Figures


def _figure(size: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def _png(figure: Figure) -> str:
    """A figure as a PNG data URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _curves_figure(study: Study, document: dict[str, Any]) -> Figure:
    fig = _figure((9, 4.5))
    ax = fig.subplots()
    for name, curve in document["figures"]["learning_curves"].items():
        mean, low, high = (np.array(curve[k], dtype=float) for k in ("mean", "low", "high"))
        steps = np.arange(1, mean.size + 1)
        (line,) = ax.plot(steps, mean, lw=2, label=f"{name} ({curve['sessions']} participants)")
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("step (one emoticon shown)")
    ax.set_ylabel(f"signal, rolling mean over {study.analysis.window} steps")
    ax.set_title("Learning curves: mean over participants, 95% interval")
    ax.legend(loc="lower right")
    return fig


def _paired_figure(document: dict[str, Any]) -> Figure:
    comparisons = document["figures"]["paired_differences"]
    fig = _figure((4 * len(METRICS), 4.2))
    axes = np.atleast_1d(fig.subplots(1, len(METRICS)))
    for ax, metric in zip(axes, METRICS, strict=True):
        mine = [c for c in comparisons if c["metric"] == metric]
        for x, comparison in enumerate(mine):
            values = list(comparison["differences"].values())
            jitter = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
            ax.scatter(x + np.asarray(jitter), values, s=18, alpha=0.7, color="tab:blue")
            if comparison["mean_difference"] is not None:
                mean = comparison["mean_difference"]
                low = comparison["low"] if comparison["low"] is not None else mean
                high = comparison["high"] if comparison["high"] is not None else mean
                ax.errorbar(
                    x + 0.3,
                    mean,
                    yerr=[[mean - low], [high - mean]],
                    fmt="D",
                    color="black",
                    capsize=4,
                )
        ax.axhline(0.0, color="0.5", lw=1, ls="--")
        ax.set_xticks(range(len(mine)), [f"{c['condition']}\n- {c['reference']}" for c in mine])
        ax.set_xlim(-0.6, max(len(mine) - 0.4, 0.6))
        ax.set_title(METRICS[metric], fontsize=10)
    fig.suptitle("Paired differences by participant; mean with bootstrap 95% interval")
    return fig


def _order_figure(study: Study, document: dict[str, Any]) -> Figure:
    fig = _figure((9, 4.2))
    ax = fig.subplots()
    sessions = document["sessions"]
    for offset, condition in enumerate(c.name for c in study.conditions):
        mine = [s for s in sessions if s["condition"] == condition and s["last_mean"] is not None]
        x = np.array([s["position"] for s in mine], dtype=float) + 0.08 * offset
        (dots,) = ax.plot(x, [s["last_mean"] for s in mine], "o", alpha=0.6, label=condition)
        means = document["figures"]["order_effects"].get(condition, {})
        positions = sorted(means, key=int)
        ax.plot(
            [int(p) + 0.08 * offset for p in positions],
            [means[p]["last_mean"]["mean"] for p in positions],
            "-",
            lw=2,
            color=dots.get_color(),
        )
    ax.set_xticks(range(1, len(study.conditions) + 1))
    ax.set_xlabel("position in the participant's order")
    ax.set_ylabel(f"mean signal over the last {study.analysis.last_steps} steps")
    ax.set_title("Order effects: each session by its position, the mean line per condition")
    ax.legend()
    return fig


# ---------------------------------------------------------------------------------------------
# The page


STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f2f2f2; } td.name { text-align: left; }
figure { margin: 1.5em 0; } img { max-width: 100%; }
.note { color: #666; }
"""


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _p(value: float) -> str:
    """A p-value as a table shows it."""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _table(header: list[str], rows: list[list[Any]], kind: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="name">{html.escape(str(v))}</td>' if i == 0 else f"<td>{_number(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table data-table="{kind}"><tr>{head}</tr>{body}</table>'


def _figure_tag(name: str, uri: str, caption: str) -> str:
    return (
        f'<figure><img data-figure="{name}" alt="{html.escape(caption)}" src="{uri}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _page(study: Study, document: dict[str, Any], images: dict[str, str], json_name: str) -> str:
    sessions: list[dict[str, Any]] = document["sessions"]
    people = document["participants"]
    dry = " (a dry run: simulated participants)" if document["dry_run"] else ""
    conditions = ", ".join(
        f"{c['name']} ({c['agent']}, {c['steps']} steps, prior {c['prior']})"
        for c in document["conditions"]
    )
    session_rows = [
        [
            s["participant"],
            s["condition"],
            s["position"],
            s["steps"],
            s["steps_to_threshold"] if s["reached"] else f"not reached ({s['steps_to_threshold']})",
            s["threshold_level"],
            s["last_mean"],
            s["best_signal"],
            s["best_signal_is"],
        ]
        for s in sessions
    ]
    paired_rows = [
        [
            f"{c['condition']} - {c['reference']}",
            METRICS[c["metric"]],
            c["n"],
            c["mean_difference"],
            c["low"],
            c["high"],
        ]
        for c in document["figures"]["paired_differences"]
    ]
    model = document["mixed_model"]
    if model["fitted"]:
        model_rows = [
            [name, e["estimate"], e["se"], e["interval95"][0], e["interval95"][1], _p(e["p"])]
            for name, e in model["fixed_effects"].items()
        ]
        model_html = _table(
            ["fixed effect", "estimate", "se", "95% low", "95% high", "p"], model_rows, "mixed"
        ) + (
            f"<p>Participant variance {_number(model['participant_variance'], 4)}, residual "
            f"variance {_number(model['residual_variance'], 4)}; converged: "
            f"{model['converged']}. Reference: {html.escape(model['reference'])}."
            + "".join(f"<br>statsmodels: {html.escape(w)}" for w in model["warnings"])
            + "</p>"
        )
    else:
        model_html = f"<p>Not fitted: {html.escape(model['why'])}.</p>"
    order_rows = [
        [
            condition,
            position,
            entry["last_mean"]["mean"],
            entry["last_mean"]["n"],
            entry["steps_to_threshold"]["mean"],
        ]
        for condition, positions in document["figures"]["order_effects"].items()
        for position, entry in sorted(positions.items(), key=lambda p: int(p[0]))
    ]
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>Study {html.escape(study.name)}'
        f"</title><style>{STYLE}</style></head><body>",
        f"<h1>Study {html.escape(study.name)}{html.escape(dry)}</h1>",
        f"<p>Conditions: {html.escape(conditions)}. Orders: {html.escape(study.order)}. "
        f"Participants: {people['complete']} complete, {people['in_progress']} in progress, "
        f"{people['declined']} declined. Generated {html.escape(document['generated'])}.</p>",
        "<h2>Learning curves</h2>",
        _figure_tag(
            "learning_curves",
            images["learning_curves"],
            "Per condition, the mean over participants of the rolling mean of the signal, with "
            "its 95% Student-t interval.",
        ),
        "<h2>Paired comparison</h2>",
        "<p>Each condition against the first, participant by participant (the difference of "
        "their figures); the mean difference with its bootstrap 95% interval (participants "
        "resampled). Only participants with both sessions complete count.</p>",
        _table(
            ["comparison", "figure", "n", "mean difference", "95% low", "95% high"],
            paired_rows,
            "paired",
        ),
        _figure_tag(
            "paired_differences",
            images["paired_differences"],
            "Each dot is one participant's difference; the diamond is the mean with its "
            "bootstrap 95% interval.",
        ),
        "<h2>Mixed-effects model</h2>",
        f"<p>statsmodels MixedLM of the {html.escape(model['outcome'])}: condition and position "
        f"in the order as fixed effects, the participant as a random intercept "
        f"({model['participants']} participants, {model['sessions']} sessions).</p>",
        model_html,
        "<h2>Order effects</h2>",
        _figure_tag(
            "order_effects",
            images["order_effects"],
            "The mean signal over the last steps of each session by its position in the "
            "participant's order; the line joins each condition's means.",
        ),
        _table(
            ["condition", "position", "last mean", "n", "steps to threshold"], order_rows, "order"
        ),
        "<h2>Sessions</h2>",
        _table(
            [
                "participant",
                "condition",
                "position",
                "steps",
                "steps to threshold",
                "own threshold",
                "last mean",
                "best-guess signal",
                "best is",
            ],
            session_rows,
            "sessions",
        ),
        f'<p class="note">The numbers of every figure are in {html.escape(json_name)}, beside '
        "this page.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
