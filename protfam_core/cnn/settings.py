"""The chain's settings: one object from the model cards plus the user's overrides, handed to every stage.

The frame search's cuts (whole-sequence and domain E-values, sensitive fallback), the CNN threshold of the calls and
the fast rule are decided here once. `FamilyClassifier`, the fast path and every stage tool that searches
(`prep-msa place`, `classify-cnn predict`) take them from `ChainSettings.from_cards`, so that the pipe of the stage
tools cannot search or call differently from the one-shot classifier, and the `#` provenance line names exactly what
was used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from protfam_core.cnn.rule import CallRule, FastRule
from protfam_core.frames.frameset import SearchSettings

UNCALIBRATED_THRESHOLD = 0.5  # the CNN threshold of a card without one (a CNN that was never calibrated)


@dataclass(frozen=True)
class ChainSettings:
    """Every decision of the chain's calls: `rule` (stage 1's cuts and stage 4's threshold, per domain and per
    protein alike) and `fast` (the fast path's rule, None without it)."""

    rule: CallRule
    fast: FastRule | None = None

    @property
    def search(self) -> SearchSettings:
        return self.rule.search

    @classmethod
    def from_cards(
        cls,
        cnn: Mapping[str, Any],
        fast: Mapping[str, Any] | None = None,
        *,
        threshold: float | None = None,
        evalue: float | None = None,
        domain_evalue: float | None = None,
        fallback_evalue: float | None = None,
        source: str = "the CNN's model card",
    ) -> ChainSettings:
        """The settings a CNN card (and a fast bundle's card) hold, each replaced by the user's value where given; a
        card without a cut keeps every hit (the search's defaults)."""
        search = SearchSettings()
        defaults = {"threshold_": UNCALIBRATED_THRESHOLD, "evalue_": search.evalue,
                    "domain_evalue_": search.domain_evalue, "fallback_evalue_": search.fallback_evalue}  # fmt: skip
        rule = CallRule.from_card(
            cnn,
            defaults,
            source,
            threshold_=threshold,
            evalue_=evalue,
            domain_evalue_=domain_evalue,
            fallback_evalue_=fallback_evalue,
        )
        fast_rule = FastRule.from_card(fast, {}, "the fast bundle's model card") if fast is not None else None
        return cls(rule, fast_rule)

    def provenance(self) -> list[str]:
        """The settings' fields of the `#` line: the rule used, and the fast rule where it is on."""
        rule = self.rule
        fields = [f"{key}={getattr(rule, attr):.6g}" for attr, (key, _) in rule.CARD_KEYS.items()]
        if self.fast is not None:
            fast = self.fast
            fields += [f"fast_top_k={fast.top_k_}", f"fast_threshold={fast.threshold_:.6g}",
                       f"fast_evalue={fast.evalue_:.6g}"]  # fmt: skip
        return fields
