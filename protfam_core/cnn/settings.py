"""The chain's settings: one object from the model cards plus the user's overrides, handed to every stage.

The frame search (E-value cut, candidates per query, sensitive fallback), the per-protein rule, the domain rule and
the fast rule are decided here once. `FamilyClassifier`, the fast path and every stage tool that searches
(`prep-msa place`, `classify-cnn predict`) take them from `ChainSettings.from_cards`, so that the pipe of the stage
tools cannot search or call differently from the one-shot classifier, and the `#` provenance line names exactly what
was used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from protfam_core.cnn.rule import CallingRule, DomainRule, FastRule
from protfam_core.frames.frameset import FALLBACK_EVALUE, SearchSettings

UNCALIBRATED_THRESHOLD = 0.5  # the protein threshold of a card without one (a CNN that was never calibrated)


@dataclass(frozen=True)
class ChainSettings:
    """Every decision of the chain's calls: `search` (stage 1), `protein` and `domain` (stage 4) and `fast` (the fast
    path's rule, None without it)."""

    search: SearchSettings
    protein: CallingRule
    domain: DomainRule
    fast: FastRule | None = None

    @classmethod
    def from_cards(
        cls,
        cnn: Mapping[str, Any],
        fast: Mapping[str, Any] | None = None,
        *,
        threshold: float | None = None,
        evalue: float | None = None,
        max_candidates: int | None = None,
        fallback_evalue: float | None = None,
        source: str = "the CNN's model card",
    ) -> ChainSettings:
        """The settings a CNN card (and a fast bundle's card) hold, each replaced by the user's value where given.
        `threshold` sets the protein and the domain threshold alike; a card without a domain threshold uses its
        protein threshold, one without a domain E-value cut has none."""
        protein = CallingRule.from_card(
            cnn,
            {"threshold_": UNCALIBRATED_THRESHOLD, "fallback_evalue_": FALLBACK_EVALUE},
            source,
            threshold_=threshold,
            fallback_evalue_=fallback_evalue,
        )
        domain = DomainRule.from_card(
            cnn, {"threshold_": protein.threshold_, "evalue_": float("inf")}, source, threshold_=threshold
        )
        defaults = SearchSettings()
        search = SearchSettings(
            defaults.evalue if evalue is None else evalue,
            defaults.max_candidates if max_candidates is None else max_candidates,
            protein.fallback_evalue_,
        )
        fast_rule = FastRule.from_card(fast, {}, "the fast bundle's model card") if fast is not None else None
        return cls(search, protein, domain, fast_rule)

    def with_fallback(self, fallback_evalue: float | None) -> SearchSettings:
        """The search with another fallback E-value cut (calibration weighs several), or this one's for None."""
        return self.search if fallback_evalue is None else replace(self.search, fallback_evalue=fallback_evalue)

    def provenance(self, domains: bool = False) -> list[str]:
        """The settings' fields of the `#` line: the rule used (the domain rule for domain calls, whose one search is
        the sensitive one, so no fallback), the search where the user changed it, and the fast rule where it is on."""
        rule = self.domain if domains else self.protein
        fields = [f"{key}={getattr(rule, attr):.6g}" for attr, (key, _) in rule.CARD_KEYS.items()]
        defaults = SearchSettings()
        if self.search.evalue != defaults.evalue:
            fields.append(f"evalue={self.search.evalue:.6g}")
        if self.search.max_candidates != defaults.max_candidates:
            fields.append(f"max_candidates={self.search.max_candidates}")
        if self.fast is not None:
            fast = self.fast
            fields += [f"fast_top_k={fast.top_k_}", f"fast_threshold={fast.threshold_:.6g}",
                       f"fast_evalue={fast.evalue_:.6g}"]  # fmt: skip
        return fields
