"""The tailoring engine: a client profile becomes ranked, explained recommendations and cautions.

Pure: profile, rules and registry in, plain data out. Ranking uses only ratings whose status is
verified (today the 2011 task-force ratings); a rating still tagged unverified is shown in the
evidence line but does not move a recommendation up or down, as the reference requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from attunement.evidence import Entry, Registry, load_registry
from attunement.profile.model import Profile
from attunement.tailoring.rules import RuleSet, all_hold, fill, load_rules

RANKING = (
    "Ranked by the strength of the verified task-force rating of the cited entry (demonstrably "
    "effective, then probably effective, then promising or insufficient research, then unrated), "
    "then by fit (how directly the client's answers point to the rule), then by rule order."
)


@dataclass(frozen=True)
class Recommendation:
    rank: int
    id: str
    entry: str
    entry_name: str
    title: str
    actions: list[str]
    explanation: str
    strength: int
    strength_label: str
    ratings: str
    evidence: str
    fit: int
    based_on: list[str]
    see_also: list[str]
    citations: list[str]


@dataclass(frozen=True)
class Caution:
    id: str
    entry: str
    title: str
    text: str
    explanation: str | None
    listing: str
    support: str | None
    evidence: str | None
    based_on: list[str]


@dataclass(frozen=True)
class TailoringResult:
    client_id: str | None
    recommendations: list[Recommendation]
    cautions: list[Caution]
    not_recorded: list[str]
    profile_notes: list[str]
    ranking: str = RANKING
    notes: list[str] = field(default_factory=list)


def tailor(
    profile: Profile, rules: RuleSet | None = None, registry: Registry | None = None
) -> TailoringResult:
    """Ranked recommendations and cautions for one client."""
    rules = rules or load_rules()
    registry = registry or load_registry()
    entries = registry.by_id()
    found: list[tuple[tuple[int, int, int], Recommendation]] = []
    for order, rule in enumerate(rules.recommendations):
        if not all_hold(rule.when, profile):
            continue
        entry = entries[rule.entry]
        fit = rule.fit_for(profile)
        explanation = " ".join(
            [fill(rule.because, profile)]
            + [fill(d.text, profile) for d in rule.details if all_hold(d.when, profile)]
        )
        rec = Recommendation(
            rank=0,
            id=rule.id,
            entry=entry.id,
            entry_name=entry.name,
            title=rule.title,
            actions=[fill(a, profile) for a in rule.actions],
            explanation=explanation,
            strength=entry.strength,
            strength_label=strength_label(entry),
            ratings=entry.strength_text(),
            evidence=entry.headline_text(),
            fit=fit,
            based_on=sorted({c.dimension for c in rule.when if c.one_of or c.strength or c.recorded is True}),
            see_also=list(rule.see_also),
            citations=[registry.citations[c].render() for c in entry.citations],
        )
        found.append(((-entry.strength, -fit, order), rec))
    found.sort(key=lambda pair: pair[0])
    recommendations = [_with_rank(rec, i + 1) for i, (_, rec) in enumerate(found)]

    cautions = [
        Caution(
            id=c.id,
            entry=c.entry,
            title=c.title,
            text=c.text,
            explanation=fill(c.because, profile) if c.because else None,
            listing=_listing(entries[c.entry]),
            support=c.support,
            evidence=_support_text(entries[c.support]) if c.support else None,
            based_on=sorted({d.dimension for d in c.when if d.one_of or d.strength or d.recorded is True}),
        )
        for c in rules.cautions
        if all_hold(c.when, profile)
    ]
    notes = []
    if not recommendations:
        notes.append("No tailoring rule applies: the profile records too little. Ask the intake questions.")
    return TailoringResult(
        client_id=profile.client_id,
        recommendations=recommendations,
        cautions=cautions,
        not_recorded=profile.missing(),
        profile_notes=list(profile.notes),
        notes=notes,
    )


def strength_label(entry: Entry) -> str:
    """The rating that ranks this entry, in words, with its task force."""
    rating = entry.verified_rating()
    if rating is None:
        return "no verified task-force rating"
    return f"{rating.label} ({rating.task_force} task force)"


def _listing(entry: Entry) -> str:
    """Why this practice counts as not working, with the status of that listing."""
    return "; ".join(f.render() for f in entry.findings) or entry.definition


def _support_text(entry: Entry) -> str:
    return f"{entry.name}: {entry.strength_text()}. {entry.headline_text()}"


def _with_rank(rec: Recommendation, rank: int) -> Recommendation:
    from dataclasses import replace

    return replace(rec, rank=rank)
