"""Cost per inference vs model latency, as a PNG or SVG chart (``neo-recommender chart``).

matplotlib is an optional extra (``pip install 'neo-recommender[chart]'``); it is imported only
here, never by the Lambda code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neo_runtime.decision import Decision

#: File types the chart can be written as (from the output's suffix).
CHART_SUFFIXES = (".png", ".svg")
INSTALL_HINT = "install the chart extra: pip install 'neo-recommender[chart]' (it brings matplotlib)"

_COMPILED, _UNCOMPILED = "#d95f02", "#1b9e77"


class ChartUnavailable(RuntimeError):
    """matplotlib is not installed, or the output type is not supported."""


def nothing_to_plot(decision: Decision) -> str | None:
    """Why the decision has no point to plot (a message for the CLI's error), or None when it has one.

    A point needs both CostPerInference and ModelLatency. An existing endpoint's baseline
    (``EndpointPerformances``) has no cost, so a job that returned only a baseline is named as such.
    """
    rows = decision.ranked
    if any(rec.cost_per_inference is not None and rec.model_latency is not None for rec in rows):
        return None
    if not rows and decision.baselines:
        names = ", ".join(baseline.label for baseline in decision.baselines)
        return (f"nothing to plot: the job returned no recommendations, only the baseline of {names}, which IR "
                "reports without a cost; no chart written")
    if not rows:
        return "nothing to plot: the job returned no recommendations; no chart written"
    return (f"nothing to plot: none of the {len(rows)} recommendation(s) reports both CostPerInference and "
            "ModelLatency; no chart written")


def write_chart(decision: Decision, output: Path, title: str) -> Path:
    """Draw the decision's recommendations and write them to ``output`` (.png or .svg); returns the path.

    Compiled and uncompiled recommendations get different markers and colours, each compiled one
    is joined to its uncompiled twin, the Pareto frontier is drawn as a step line, the
    recommended point is ringed, every point is labelled with its instance type (or serverless
    configuration), and an existing endpoint IR benchmarked is a vertical line at its latency.
    """
    if output.suffix.lower() not in CHART_SUFFIXES:
        raise ChartUnavailable(f"{output.name}: the chart is written as .png or .svg")
    try:
        import matplotlib  # noqa: PLC0415 - optional dependency, loaded on demand

        matplotlib.use("Agg")
        from matplotlib import pyplot  # noqa: PLC0415
    except ImportError as error:
        raise ChartUnavailable(f"matplotlib is not installed; {INSTALL_HINT}") from error

    points = [rec for rec in decision.ranked if rec.cost_per_inference is not None and rec.model_latency is not None]
    figure, axes = pyplot.subplots(figsize=(10, 6.5), dpi=110)
    try:
        _draw(axes, decision, points)
        axes.set_title(title)
        axes.set_xlabel("Model latency (ms)")
        axes.set_ylabel("Cost per inference (USD)")
        axes.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        axes.grid(True, alpha=0.3)
        if points:
            axes.legend(loc="best", fontsize="small")
        else:
            axes.text(0.5, 0.5, "no recommendation has both cost and latency", ha="center",
                      transform=axes.transAxes)
        figure.tight_layout()
        output.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(output, format=output.suffix.lower().lstrip("."))
    finally:
        pyplot.close(figure)
    return output


def _draw(axes: Any, decision: Decision, points: list[Any]) -> None:
    joined = [(c.uncompiled, c.compiled) for c in decision.comparisons
              if c.uncompiled in points and c.compiled in points]
    for index, pair in enumerate(joined):
        axes.plot([rec.model_latency for rec in pair], [rec.cost_per_inference for rec in pair],
                  linestyle=":", color="grey", linewidth=1, zorder=1,
                  label="same instance, uncompiled vs compiled" if index == 0 else None)
    for compiled, colour, marker, label in ((False, _UNCOMPILED, "o", "uncompiled"),
                                            (True, _COMPILED, "^", "Neo-compiled")):
        chosen = [rec for rec in points if rec.compiled is compiled]
        if not chosen:
            continue
        meets = [rec for rec in chosen if not decision.violations(rec)]
        breaks = [rec for rec in chosen if decision.violations(rec)]
        if meets:
            axes.scatter([r.model_latency for r in meets], [r.cost_per_inference for r in meets], c=colour,
                         marker=marker, s=60, label=label, zorder=3)
        if breaks:
            axes.scatter([r.model_latency for r in breaks], [r.cost_per_inference for r in breaks],
                         facecolors="none", edgecolors=colour, marker=marker, s=60,
                         label=f"{label}, outside constraints", zorder=3)
    frontier = sorted((rec for rec in decision.pareto if rec in points), key=lambda rec: rec.model_latency)
    if len({(rec.model_latency, rec.cost_per_inference) for rec in frontier}) > 1:
        axes.step([rec.model_latency for rec in frontier], [rec.cost_per_inference for rec in frontier],
                  where="post", color="black", linewidth=1.2, alpha=0.6, label="Pareto frontier", zorder=2)
    if decision.recommended is not None and decision.recommended in points:
        best = decision.recommended
        axes.scatter([best.model_latency], [best.cost_per_inference], s=320, facecolors="none",
                     edgecolors="crimson", linewidths=2, label="recommended", zorder=4)
    for baseline in decision.baselines[:5]:  # an existing endpoint has a latency but no cost: a vertical line
        if baseline.model_latency is not None:
            axes.axvline(baseline.model_latency, color="slategrey", linestyle="-.", linewidth=1,
                         label=f"{baseline.label}: {baseline.model_latency} ms")
    if decision.constraints.max_latency_ms is not None:
        axes.axvline(decision.constraints.max_latency_ms, color="crimson", linestyle="--", linewidth=1,
                     label=f"MaxModelLatencyMs {decision.constraints.max_latency_ms:g}")
    for rec in points[:60]:  # labels beyond the cheapest 60 would only overlap
        count = f" x{rec.initial_instance_count}" if rec.initial_instance_count not in (None, 1) else ""
        axes.annotate(rec.deployment + count, (rec.model_latency, rec.cost_per_inference),
                      textcoords="offset points", xytext=(5, 4), fontsize=7)
