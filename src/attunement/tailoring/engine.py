"""The tailoring engine: a client profile becomes ranked, explained recommendations and cautions.

Pure: profile, rules, registry and the service's language in, plain data out; it never reads the
database (the web passes the clinic's setting, the CLI an option).

What the client stated comes first. A recommendation that answers a stated wish (who leads,
homework, kind of therapy, language ...) ranks above one inferred from questionnaire traits, and
when a rule set's ``conflicts`` names two recommendations that would contradict each other, only
the one the client's wish supports is listed; the other is kept, whole, in a named conflict with
a suggestion to talk it through. Every stated wish is also listed on its own (``wishes``), so a
wish no rule acts on is still shown. Within stated and within inferred, ranking uses only
verified ratings (today the 2011 task-force ratings): a rating still tagged unverified is shown
but does not move a recommendation, as the reference requires.

The kind of case matters too: a couple, a family, a group or a young person calls for practice
of its own (rules with a ``setting``, :mod:`attunement.tailoring.case`). ``tailor`` takes the case
as an optional ``case``; :func:`format_recommendations` gives those recommendations alone, for a
case page that has no profile to go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from attunement.evidence import Entry, Registry, load_registry
from attunement.evidence.models import Estimate, estimates_text
from attunement.profile.model import STATED, Profile, label
from attunement.tailoring.case import INDIVIDUAL, CaseContext, case_context
from attunement.tailoring.rules import CautionRule, Rule, RuleSet, all_hold, fill, load_rules

RANKING = (
    "The client's stated wishes come first, then what their answers suggest. Within each, ranked by "
    "the strength of the verified task-force rating of the cited entry (demonstrably effective, then "
    "probably effective, then promising or insufficient research, then unrated), then by fit (how "
    "directly the client's answers point to the rule), then by rule order."
)
#: The service's language when nobody set one (the clinic setting has the same default).
DEFAULT_SERVICE_LANGUAGE = "English"


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
    source: str = "inferred"
    unchecked: list[str] = field(default_factory=list)


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
    entry_name: str = ""
    support_name: str | None = None
    general: bool = False
    unchecked: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConflictFound:
    """Stated wishes and an inferred trait pulling different ways: both shown, the wishes followed."""

    id: str
    about: str
    wishes: list[Recommendation]
    trait: Recommendation
    talk: str


@dataclass(frozen=True)
class Wish:
    """One thing the client asked for, in their own answer."""

    dimension: str
    value: str
    said: str
    strength: str | None


@dataclass(frozen=True)
class TailoringResult:
    client_id: str | None
    recommendations: list[Recommendation]
    cautions: list[Caution]
    not_recorded: list[str]
    profile_notes: list[str]
    ranking: str = RANKING
    notes: list[str] = field(default_factory=list)
    wishes: list[Wish] = field(default_factory=list)
    conflicts: list[ConflictFound] = field(default_factory=list)
    service_language: str = DEFAULT_SERVICE_LANGUAGE


def tailor(
    profile: Profile,
    rules: RuleSet | None = None,
    registry: Registry | None = None,
    *,
    service_language: str = DEFAULT_SERVICE_LANGUAGE,
    case: CaseContext = INDIVIDUAL,
) -> TailoringResult:
    """Ranked recommendations, cautions, the client's wishes and any wish-versus-trait conflicts.

    ``case`` is the kind of case and the participant's place in it; by default today's single
    adult client, for whom the rules written for couples, families, groups and young people do
    not apply."""
    rules = rules or load_rules()
    registry = registry or load_registry()
    entries = registry.by_id()
    found: dict[str, tuple[tuple[int, int, int, int], Recommendation]] = {}
    for order, rule in enumerate(rules.recommendations):
        if not rule.fits_case(case) or not all_hold(rule.when, profile, service_language):
            continue
        entry = entries[rule.entry]
        estimates = _estimates(rule, entry)
        fit = rule.fit_for(profile)
        explanation = " ".join(
            [fill(rule.because, profile)]
            + [fill(d.text, profile) for d in rule.details if all_hold(d.when, profile, service_language)]
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
            evidence=estimates_text(estimates),
            fit=fit,
            based_on=sorted({c.dimension for c in rule.when if c.positive}),
            see_also=list(rule.see_also),
            citations=[registry.citations[c].render() for c in entry.citations],
            source=rule.source,
            unchecked=unchecked(entry, estimates),
        )
        stated_first = 0 if rule.source == "stated" else 1
        found[rule.id] = ((stated_first, -entry.strength, -fit, order), rec)

    conflicts: list[ConflictFound] = []
    for conflict in rules.conflicts:
        said = [found[w][1] for w in conflict.wishes if w in found]
        if conflict.trait in found and said and all_hold(conflict.when, profile, service_language):
            conflicts.append(
                ConflictFound(conflict.id, conflict.about, said, found[conflict.trait][1], conflict.talk)
            )
    dropped = {c.trait.id for c in conflicts}

    kept = sorted((key, rec) for rid, (key, rec) in found.items() if rid not in dropped)
    recommendations = [replace(rec, rank=i + 1) for i, (_, rec) in enumerate(kept)]
    ranks = {r.id: r for r in recommendations}
    conflicts = [replace(c, wishes=[ranks[w.id] for w in c.wishes]) for c in conflicts]

    applying = [(i, c) for i, c in enumerate(rules.cautions) if c.applies(profile, service_language)]
    applying.sort(key=lambda pair: (pair[1].general, pair[0]))  # this client's cautions first
    cautions = [_caution(c, profile, entries, service_language) for _, c in applying]

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
        wishes=wishes(profile),
        conflicts=conflicts,
        service_language=service_language,
    )


def format_recommendations(
    format: str, role: str | None = None, rules: RuleSet | None = None, registry: Registry | None = None
) -> list[Recommendation]:
    """The recommendations for a kind of case alone, ranked, as the pages render them.

    ``format`` is the case's format (``individual``, ``couple``, ``family`` or ``group``) and
    ``role`` the participant's role (``client``, ``partner``, ``parent``, ``caregiver``,
    ``young_person``, ``group_member``), or None for the case as a whole. Only rules written for a
    kind of case (with a ``setting`` in ``rules.json``) are listed, each tied to its registry entry
    and estimate, e.g. building a shared purpose for a couple, cohesion for a group, engagement
    for a young person; an individual adult client gets none (their recommendations come from
    their profile: :func:`tailor`, which takes the same case as ``case=``). An unknown format, or
    a role the format does not have (``instruments/roles.json``), is refused with the field named
    (:class:`~attunement.errors.InvalidInputError`).
    """
    rules = rules or load_rules()
    result = tailor(Profile(), rules, registry, case=case_context(format, role))
    for_cases = {r.id for r in rules.recommendations if r.setting is not None}
    kept = [r for r in result.recommendations if r.id in for_cases]
    return [replace(r, rank=i + 1) for i, r in enumerate(kept)]


def wishes(profile: Profile) -> list[Wish]:
    """Every wish the client stated, whatever else they answered (how to work first, then the
    therapist, language and culture)."""
    recorded = profile.observations()
    return [
        Wish(d, label(d, recorded[d].value), recorded[d].said(), recorded[d].strength)
        for d in STATED
        if d in recorded
    ]


def _said(profile: Profile, dimension: str) -> str:
    """What the client said about a dimension a condition found recorded."""
    observation = profile.get(dimension)
    if observation is None:
        raise ValueError(f"no {dimension} recorded, though a condition holding needs it")
    return observation.said()


def _caution(
    rule: CautionRule, profile: Profile, entries: dict[str, Entry], service_language: str
) -> Caution:
    entry = entries[rule.entry]
    support = entries[rule.support] if rule.support else None
    why = [fill(rule.because, profile)] if rule.because else []
    holding = [c for c in rule.when_any if c.holds(profile, service_language)]
    if holding:
        said = "; ".join(_said(profile, c.dimension) for c in holding)
        why.append(f"At intake {said}.")
    conditions = [c for c in [*rule.when, *holding] if c.positive]
    return Caution(
        id=rule.id,
        entry=rule.entry,
        title=rule.title,
        text=rule.text,
        explanation=" ".join(why) or None,
        listing=_listing(entry),
        support=rule.support,
        evidence=_support_text(support) if support else None,
        based_on=sorted({c.dimension for c in conditions}),
        entry_name=entry.name,
        support_name=support.name if support else None,
        general=rule.general,
        unchecked=unchecked(entry),
    )


def strength_label(entry: Entry) -> str:
    """The rating that ranks this entry, in words, with its task force."""
    rating = entry.verified_rating()
    if rating is None:
        return "no verified task-force rating"
    return f"{rating.label} ({rating.task_force} task force)"


def _estimates(rule: Rule, entry: Entry) -> list[Estimate]:
    """The estimates a recommendation shows: those its rule names, else the entry's headline."""
    if not rule.estimates:
        return entry.headline()
    named = {e.id: e for e in entry.estimates}
    return [named[e] for e in rule.estimates]


def unchecked(entry: Entry, estimates: list[Estimate] | None = None) -> list[str]:
    """What this entry shows that has not been checked against its source, in words, so that a
    page can carry one small mark with this as its explanation instead of a tag on every line
    (``estimates``: the ones shown, the entry's headline by default)."""
    found = [
        f"the {r.task_force} rating ({r.status.value})" for r in entry.ratings if not r.status.is_verified
    ]
    for estimate in entry.headline() if estimates is None else estimates:
        statuses = sorted({n.status.value for n in estimate.numbers() if not n.status.is_verified})
        if statuses:
            found.append(
                f"some {estimate.task_force or ''} figures for {estimate.label} ({', '.join(statuses)})"
            )
    found += [
        f'"{f.text}" ({f.status.value})'
        for f in entry.findings
        if f.status is not None and not f.status.is_verified
    ]
    return [" ".join(s.split()) for s in found]


def _listing(entry: Entry) -> str:
    """Why this practice counts as not working, with the status of that listing."""
    return "; ".join(f.render() for f in entry.findings) or entry.definition


def _support_text(entry: Entry) -> str:
    return f"{entry.name}: {entry.strength_text()}. {entry.headline_text()}"
