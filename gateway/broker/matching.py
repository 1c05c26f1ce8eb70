"""Ranking offers and allocating applications: pure functions over plain values.

Ranking (bidder's choice, the default): cheapest premium first, then instant decisions before
reviews, then the institution's record (higher is better), then the institution code for a stable
order. A center may instead allocate: round-robin over the eligible institutions, or the least
loaded one (fewest open applications); the bidder then sees just that one offer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from contracts.enums import DecisionMode


class AllocationPolicy(StrEnum):
    BIDDER_CHOICE = "bidder_choice"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


@dataclass(frozen=True)
class Candidate:
    institution_code: str
    premium_fen: int
    decision: DecisionMode
    record: int = 0  # the institution's track record score; higher ranks first


def rank_key(candidate: Candidate) -> tuple[int, int, int, str]:
    return (
        candidate.premium_fen,
        0 if candidate.decision is DecisionMode.INSTANT else 1,
        -candidate.record,
        candidate.institution_code,
    )


def rank(candidates: Sequence[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=rank_key)


def allocate(
    policy: AllocationPolicy,
    candidates: Sequence[Candidate],
    *,
    cursor: int = 0,
    loads: Mapping[str, int] | None = None,
) -> list[Candidate]:
    """The offers the bidder sees, best first. ``cursor`` is the center's round-robin counter."""
    ranked = rank(candidates)
    if not ranked or policy is AllocationPolicy.BIDDER_CHOICE:
        return ranked
    if policy is AllocationPolicy.ROUND_ROBIN:
        by_code = sorted(ranked, key=lambda c: c.institution_code)
        return [by_code[cursor % len(by_code)]]
    counts = loads or {}
    return [min(ranked, key=lambda c: (counts.get(c.institution_code, 0), rank_key(c)))]
