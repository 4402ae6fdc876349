"""From IR's ranked list to a decision: constraints, the Pareto frontier, and the recommended configuration.

Pure functions, shared by the ``PublishResults`` Lambda and the ``neo-recommender rank`` command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from neo_runtime.ranking import CompiledComparison, Recommendation, compare_compiled, overall_comparison, rank

if TYPE_CHECKING:
    from neo_runtime.ir_results import Baseline


@dataclass(frozen=True)
class Constraints:
    """Limits a recommendation must meet to be recommended; ``None`` or empty means no limit."""

    max_latency_ms: float | None = None
    min_invocations_per_minute: float | None = None
    allowed_instance_types: tuple[str, ...] = ()

    def violations(self, rec: Recommendation) -> list[str]:
        """The constraints ``rec`` breaks, as short sentences (a missing metric breaks its constraint)."""
        broken = []
        if self.max_latency_ms is not None:
            if rec.model_latency is None:
                broken.append(f"ModelLatency not reported (MaxModelLatencyMs {_number(self.max_latency_ms)})")
            elif rec.model_latency > self.max_latency_ms:
                broken.append(f"ModelLatency {rec.model_latency} ms > {_number(self.max_latency_ms)} ms")
        if self.min_invocations_per_minute is not None:
            limit = _number(self.min_invocations_per_minute)
            if rec.max_invocations is None:
                broken.append(f"MaxInvocations not reported (MinInvocationsPerMinute {limit})")
            elif rec.max_invocations < self.min_invocations_per_minute:
                broken.append(f"MaxInvocations {rec.max_invocations}/min < {limit}/min")
        if self.allowed_instance_types and rec.instance_type not in self.allowed_instance_types:
            broken.append(f"{rec.deployment} is not in AllowedInstanceTypes")
        return broken

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> Constraints:
        """The constraints of a manifest in its workflow form (``Manifest.to_dict()``)."""
        return cls(manifest.get("max_model_latency_ms"), manifest.get("min_invocations_per_minute"),
                   tuple(manifest.get("allowed_instance_types") or ()))

    def to_dict(self) -> dict[str, Any]:
        """The constraints that are set, under the manifest's field names."""
        values = {"MaxModelLatencyMs": self.max_latency_ms,
                  "MinInvocationsPerMinute": self.min_invocations_per_minute,
                  "AllowedInstanceTypes": list(self.allowed_instance_types) or None}
        return {name: value for name, value in values.items() if value is not None}

    @property
    def any(self) -> bool:
        """Whether any constraint is set."""
        return (self.max_latency_ms is not None or self.min_invocations_per_minute is not None
                or bool(self.allowed_instance_types))


@dataclass
class Decision:
    """The ranked recommendations and what to make of them."""

    ranked: list[Recommendation]
    constraints: Constraints
    recommended: Recommendation | None
    pareto: list[Recommendation] = field(default_factory=list)
    excluded: list[tuple[Recommendation, list[str]]] = field(default_factory=list)
    comparisons: list[CompiledComparison] = field(default_factory=list)
    #: Existing endpoints IR benchmarked (``EndpointPerformances``), shown beside the ranked rows.
    baselines: list[Baseline] = field(default_factory=list)

    def is_pareto(self, rec: Recommendation) -> bool:
        """Whether no other recommendation is both cheaper per inference and faster."""
        return any(rec is other for other in self.pareto)

    def rank_of(self, rec: Recommendation) -> int:
        """The 1-based rank of this very recommendation (by identity: equal rows keep their own ranks)."""
        for position, ranked in enumerate(self.ranked, start=1):
            if ranked is rec:
                return position
        raise ValueError("not a recommendation of this decision")

    def violations(self, rec: Recommendation) -> list[str]:
        """The constraints ``rec`` breaks."""
        for excluded, reasons in self.excluded:
            if excluded is rec:
                return reasons
        return []

    def recommended_pair(self) -> CompiledComparison | None:
        """The compiled/uncompiled pair the recommended configuration belongs to, if it was benchmarked both ways."""
        chosen = self.recommended
        return next((pair for pair in self.comparisons if chosen in (pair.compiled, pair.uncompiled)), None)

    def overall_comparison(self) -> str | None:
        """One line over every compiled/uncompiled pair, or None when there is no pair."""
        return overall_comparison(self.comparisons)

    def explanation(self, limit: int = 10) -> list[str]:
        """Sentences for people: what is recommended, and why others were not (at most ``limit`` exclusions)."""
        lines = []
        if self.recommended is not None:
            met = " that meets every constraint" if self.constraints.any else ""
            lines.append(f"Recommended: {self.recommended.label} ({self.recommended.variant}), "
                         f"the cheapest per inference{met}")
            position = self.rank_of(self.recommended)
            shown = [(rec, reasons) for rec, reasons in self.excluded if self.rank_of(rec) < position]
            prefix = "Cheaper but excluded: "
        elif self.excluded:
            lines.append("No recommendation meets the constraints:")
            shown, prefix = self.excluded, "- "
        elif self.ranked:
            return ["No recommendation reports CostPerInference, so none can be recommended."]
        else:
            return ["Inference Recommender returned no recommendations."]
        for rec, reasons in shown[:limit]:
            lines.append(f"{prefix}{rec.deployment} ({'compiled' if rec.compiled else 'uncompiled'}): "
                         f"{'; '.join(reasons)}")
        if len(shown) > limit:
            lines.append(f"{prefix}... and {len(shown) - limit} more")
        return lines


def pareto_frontier(recommendations: Iterable[Recommendation]) -> list[Recommendation]:
    """Recommendations no other one beats on both cost per inference and latency, cheapest first.

    One beats another when it is no worse on both and strictly better on at least one;
    recommendations missing either metric are never on the frontier.
    """
    candidates = [rec for rec in rank(recommendations)
                  if rec.cost_per_inference is not None and rec.model_latency is not None]
    frontier = []
    for rec in candidates:
        dominated = any(
            other is not rec
            and other.cost_per_inference <= rec.cost_per_inference  # type: ignore[operator]
            and other.model_latency <= rec.model_latency  # type: ignore[operator]
            and (other.cost_per_inference < rec.cost_per_inference  # type: ignore[operator]
                 or other.model_latency < rec.model_latency)  # type: ignore[operator]
            for other in candidates)
        if not dominated:
            frontier.append(rec)
    return frontier


def decide(recommendations: Iterable[Recommendation], constraints: Constraints | None = None,
           baselines: Iterable[Baseline] = ()) -> Decision:
    """Rank, apply the constraints, and pick the cheapest recommendation that meets them."""
    constraints = constraints or Constraints()
    ranked = rank(recommendations)
    excluded = [(rec, constraints.violations(rec)) for rec in ranked]
    excluded = [(rec, reasons) for rec, reasons in excluded if reasons]
    excluded_ids = {id(rec) for rec, _ in excluded}
    eligible = [rec for rec in ranked if id(rec) not in excluded_ids and rec.cost_per_inference is not None]
    return Decision(
        ranked=ranked,
        constraints=constraints,
        recommended=eligible[0] if eligible else None,
        pareto=pareto_frontier(ranked),
        excluded=excluded,
        comparisons=compare_compiled(ranked),
        baselines=list(baselines),
    )


def _number(value: float) -> str:
    return f"{value:g}"
