"""Problems with a form, said to the person who filled it in.

The core's :class:`~attunement.errors.FieldProblem` names its field by the internal name and says
what was expected, in the terse form the command line and the JSON output keep. A web page shows
each problem as a sentence that starts with the field's label as the form shows it ("Reference",
not ``label``), says what was wrong and what to do, and links to the field. The labels of each
form are kept here, next to the templates that show them (:data:`FORMS`); a field no form lists
keeps its own name, with its first letter capitalised.

A form shown once per row (a user on the admin page, a note of a client) has ids that end in the
row's number: its :class:`Field` ids hold ``{}``, filled in with the row the problem is about.
The questions of a questionnaire come from its definition, not from this table:
:func:`question_fields` names each by the words the person answering reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from markupsafe import Markup, escape

from attunement.errors import FieldProblem
from attunement.instruments.licensed import UNKNOWN_FIELD
from attunement.store.accounts import MIN_PASSWORD_LENGTH

#: The longest part of what was typed that a message quotes.
QUOTED = 60


@dataclass(frozen=True)
class Field:
    """How a form shows one field: the ``id`` of its input (``{}`` for the row's number, on a
    form shown once per row) and its label; ``choice`` for a field the person picks (a list, a
    choice of buttons) rather than types."""

    id: str
    label: str
    choice: bool = False


def _text(id: str, label: str) -> Field:
    return Field(id, label)


def _pick(id: str, label: str) -> Field:
    return Field(id, label, choice=True)


_PLAN = {"date": _text("plan-date", "Date"), "time": _text("plan-time", "Time")}
_RATING = {"session": _pick("rating-session", "Session"), "approach": _pick("approach", "Way of working")}
#: Every change to a client's episode names the episode it was made on (a hidden field): a page
#: left open while the episode changed is said as such, with no field to link to.
_EPISODE = {"episode": _pick("", "Episode")}
_WHY = _text("move-why", "Why")

#: Each form's fields, by the name the core's problems give them.
FORMS: dict[str, dict[str, Field]] = {
    "new_client": {"label": _text("label", "Reference"), "client_group": _text("client_group", "Group")},
    "new_case": {"label": _text("label", "Reference"), "format": _pick("format", "Who is seen together?")},
    # The case page: one page, several forms; the anchor of the form sent names its fields.
    "people-h": {
        "role": _pick("role", "Role"),
        "label": _text("new-label", "Reference for a new client"),
        "existing": _pick("existing", "Or one of your clients"),
        "joined_on": _text("joined-on", "Joined on"),
    },
    "leave-h": {
        "member": _pick("member", "Who"),
        "left_on": _text("left-on", "Left on"),
        "reason": _text("left-reason", "Why"),
    },
    "therapists-h": {
        "username": _text("username", "Add a co-therapist (their user name)"),
        "therapist": _pick("therapist", "Stops treating this case"),
    },
    "links-h": {"session": _pick("links-session", "For")},
    "caregiver-h": {**_EPISODE, "caregiver": _pick("caregiver-h", "Caregiver's reports")},
    "admin": {
        "username": _text("username", "User name"),
        "display name": _text("display_name", "Name shown"),
        "e-mail": _text("email", "E-mail for safety notices"),
        "role": _pick("role", "Role"),
        "team": _pick("team_id", "Team"),
        "name": _text("team-name", "New team name"),
    },
    "admin_export": {
        "reason": _text("export-reason", "Why the data is exported"),
        "password": _text("export-password", "Your password"),
    },
    "settings": {
        "service type": _pick("service-type", "The service your clinic offers"),
        "offered measures": _pick("offered-measures", "Measures clinicians may put on a client's link"),
        "link_valid_days": _text("days", "Links expire after (days)"),
        "time zone": _text("timezone", "The clinic's time zone"),
        "service language": _text("service-language", "The language the service works in"),
        "duty clinician": _text("duty", "Duty clinician"),
    },
    "account": {
        "current password": _text("current", "Current password"),
        "password": _text("password", "New password"),
        "password again": _text("again", "The same again"),
    },
    "set_password": {
        "password": _text("password", "New password"),
        "password again": _text("again", "The same again"),
    },
    # The client page: one page, several forms; the anchor of the form sent names its fields.
    "sessions-h": {**_EPISODE, **_PLAN, **_RATING, "rating": _pick("rating-session", "Session")},
    "plan-h": {**_EPISODE, **_PLAN},
    "alerts": {
        **_EPISODE,
        "alerts": _pick("alert-list", "The alerts this record is about"),
        "what to record": _pick("alert-list", "What to record"),
        "what was done": _text("alert-action", "What was done"),
        "why no action is needed": _text("alert-reason", "Why no action is needed"),
    },
    "measures-h": {**_EPISODE, "measures": _pick("measure-list", "Measures on the next links")},
    "episode-h": {
        **_EPISODE,
        "reason for ending": _pick("end-reason", "Reason"),
        "end date": _text("end-date", "End date"),
        "start date": _text("new-date", "Start date"),
        "safety alert": _pick("alerts-h", "Safety alert"),
    },
    "messages-h": {**_EPISODE, "link": _pick("messages-h", "Messages to the client")},
    "contact-h": {
        "e-mail": _text("contact-email", "E-mail"),
        "mobile": _text("contact-mobile", "Mobile number"),
        "consent": _pick("contact-consent", "Has the client agreed to be contacted this way?"),
    },
    "link-h": {
        **_EPISODE,
        "session": _pick("link-session", "For"),
        "intake": _pick("link-intake", "Intake questions"),
        "send by e-mail": _pick("", "Send it by e-mail"),
        "send by text message": _pick("", "Send it by text message"),
    },
    "schedule-h": {
        **_EPISODE,
        "schedule": _pick("", "When should links be sent?"),
        "every how many days": _text("schedule-days", "Every how many days"),
        "send by": _pick("", "Send by"),
    },
    # The administrator's forms on each user's row; "{}" is the user's number.
    "admin_user": {
        "user": _pick("user-{}", "User"),
        "role": _pick("role-{}", "Role"),
        "team": _pick("team-{}", "Team"),
        "to": _pick("to-{}", "Move all their clients to"),
        "e-mail": _text("email-{}", "E-mail for safety notices"),
    },
    "wording": {
        "instrument": _pick("wording-instrument", "Measure"),
        "questionnaire file": _pick("wording-file", "Questionnaire file"),
        "questionnaire": _pick("wording-file", "Questionnaire file"),
        "licence statement": _text("wording-licence", "Licence statement"),
        "supplied by": _text("wording-by", "Supplied by"),
    },
    "models": {"model": _pick("models-h", "Model")},
    # Supervision, on the client page: a new note, a change to one's own note ("{}" is the
    # note's number), the flag, another therapist.
    "note-h": {"note": _text("supervision-note", "Note"), "what": _pick("", "What to do with the note")},
    "correct-note": {
        "note": _text("correct-{}", "Corrected note"),
        "why": _text("withdraw-{}", "Why withdraw it"),
        "what": _pick("", "What to do with the note"),
    },
    "flag-h": {"flag": _pick("flag-h", "Flag for supervision"), "why": _text("flag-why", "Why")},
    "move-h": {"new therapist": _pick("move-to", "New therapist"), "why": _WHY},
}

_Say = Callable[[str], str]

#: What was expected, said as what went wrong and what to do (given the value as quoted).
SENTENCES: dict[tuple[str, str], _Say] = {
    ("label", "a reference not already in your caseload"): lambda v: (
        f"you already have a client called {v}. Choose another reference."
    ),
    ("label", "a short reference of 1 to 80 characters"): lambda v: (
        "write a short reference of 1 to 80 characters, such as initials and a number."
    ),
    ("username", "a user name nobody else has"): lambda v: (
        f"someone already has the user name {v}. Choose another user name."
    ),
    ("username", "1 to 80 letters, digits, '.', '-' or '_'"): lambda v: (
        f"{v} cannot be a user name. Use 1 to 80 letters, digits, full stops, hyphens or underscores, "
        "with no spaces."
        if v
        else "write a user name of letters, digits, full stops, hyphens or underscores."
    ),
    ("name", "a name no other team has"): lambda v: (
        f"there is already a team called {v}. Choose another name."
    ),
    ("team", "a team for a supervisor"): lambda v: "a supervisor needs a team. Choose their team.",
    ("team", "an existing team"): lambda v: "that team no longer exists. Choose a team from the list.",
    ("team", "a team"): lambda v: "that is not one of the teams. Choose a team from the list.",
    ("password again", "the same password typed twice"): lambda v: (
        "the two new passwords are not the same. Type the new password again in both fields."
    ),
    ("current password", "your current password"): lambda v: (
        "that is not your current password. Type the password you sign in with now."
    ),
    ("password", f"at least {MIN_PASSWORD_LENGTH}"): lambda v: (
        f"the new password has {v[1:-1] or 'no characters'}. Use at least {MIN_PASSWORD_LENGTH} characters."
    ),
    ("consent", "yes or no: whether the client agrees to be contacted"): lambda v: (
        "choose Yes if the client agreed to be contacted this way, or No."
    ),
    (
        "send by e-mail",
        "a client who agreed to be contacted and has an e-mail address: record them under Contact first",
    ): lambda v: (
        "this client has no e-mail address on record or has not agreed to be contacted. "
        "Record their address and consent under Contact first, or give them the link yourself."
    ),
    (
        "send by text message",
        "a client who agreed to be contacted and has a mobile number: record them under Contact first",
    ): lambda v: (
        "this client has no mobile number on record or has not agreed to be contacted. "
        "Record their mobile number and consent under Contact first, or give them the link yourself."
    ),
    ("send by text message", "a clinic with a text-message gateway"): lambda v: (
        "text messages are not set up on this server. Send the link by e-mail or give it to the "
        "client yourself; your administrator can set up the clinic's text-message gateway."
    ),
    ("date", "the date of the next session"): lambda v: "choose the date of the next session.",
    ("link_valid_days", "a whole number of days from 1 to 60"): lambda v: (
        f"{v} is not a number of days the links can last. Enter a whole number from 1 to 60."
        if v
        else "enter how many days a link lasts: a whole number from 1 to 60."
    ),
    ("duty clinician", "the user name of a clinician, or nothing"): lambda v: (
        f"no clinician has the user name {v}. Enter the user name of a clinician, or leave it empty."
    ),
    ("user", "another user: change your own password on your account page"): lambda v: (
        "you cannot make a password link for yourself. Change your own password on your account page."
    ),
    ("user", "another user: your own role stays admin"): lambda v: (
        "your own role stays admin. Ask another administrator if it must change."
    ),
    ("user", "another user: you cannot switch yourself off"): lambda v: (
        "you cannot switch yourself off. Ask another administrator to do it."
    ),
    ("user", "a clinician"): lambda v: f"{v} is not a clinician, so has no clients to move.",
    ("to", "a clinician"): lambda v: "choose a clinician from the list.",
    ("to", "an active clinician"): lambda v: f"{v} is switched off. Choose an active clinician.",
    ("to", "another clinician"): lambda v: "choose a clinician other than the one whose clients move.",
    ("alerts", "one or more of this episode's current alerts, ticked"): lambda v: (
        "tick at least one of the current alerts above, then save again."
    ),
    ("what was done", "what was done, or what happened next"): lambda v: (
        "write what was done, or what happened next."
    ),
    ("why no action is needed", "a short reason"): lambda v: "write a short reason why no action is needed.",
    ("model", "a stored model"): lambda v: (
        "that model is no longer stored. Choose one of the models listed on this page."
    ),
    ("*", UNKNOWN_FIELD): lambda v: (
        "FHIR R4 has no field of this name here. Check its spelling, or remove it."
    ),
    ("note", "a changed text"): lambda v: (
        "the corrected note is the same as before. Change its text, or leave it."
    ),
    ("flag", "a client not flagged already"): lambda v: (
        "someone has flagged this client meanwhile. The page now shows the flag."
    ),
    ("flag", "a client who is flagged"): lambda v: (
        "someone has cleared the flag meanwhile. The page now shows it cleared."
    ),
    ("new therapist", "an active clinician of the client's team"): lambda v: (
        "choose an active clinician of the client's team from the list."
    ),
    (
        "safety alert",
        "a recorded action for the open safety alert first: record what was done, then start the new episode",
    ): lambda v: (
        "the open safety alert needs a record of what was done first. Record it under Alerts, "
        "then start the new episode."
    ),
    # Any question of a questionnaire left unanswered.
    ("*", "an answer (please choose one)"): lambda v: "please choose an answer.",
}

#: The start of what an episode's out-of-date problem expects (the number follows).
_OUT_OF_DATE = "the client's current episode ("


@dataclass(frozen=True)
class Said:
    """One problem as a page shows it: the field's id (None when the page has no such field to
    link to), its label and the sentence that follows the label."""

    id: str | None
    label: str
    message: str
    #: The id of the message on the page, for the field's ``aria-describedby``.
    message_id: str = ""


def _quoted(value: object) -> str:
    text = " ".join(str(value).split())
    return f"“{text[:QUOTED]}{'…' if len(text) > QUOTED else ''}”" if text else ""


def say(problem: FieldProblem, fields: dict[str, Field] | None = None) -> Said:
    """One problem as a sentence for the person who filled in the form."""
    field = (fields or {}).get(problem.field)
    label = field.label if field else problem.field[:1].upper() + problem.field[1:]
    value = "" if problem.value is None else _quoted(problem.value)
    special = SENTENCES.get((problem.field, problem.expected)) or SENTENCES.get(("*", problem.expected))
    if special is not None:
        return Said(field.id if field and field.id else None, label, special(value))
    if problem.field == "episode" and problem.expected.startswith(_OUT_OF_DATE):
        return Said(
            None,
            label,
            "this page was out of date: the client's episode changed meanwhile. "
            "The page now shows the current episode; please check it and try again.",
        )
    expected = problem.expected.rstrip(".")
    verb = "choose" if field and field.choice else "enter"
    if value:
        message = f"{value} cannot be used here. Please {verb} {expected}."
    else:
        message = f"please {verb} {expected}."
    return Said(field.id if field and field.id else None, label, message)


class Problems:
    """A form's problems as the page shows them: the list for the box at the top, and the
    attributes that tie each field to its message."""

    def __init__(
        self,
        problems: Iterable[FieldProblem],
        form: str = "",
        row: object = "",
        questionnaires: Iterable = (),
    ):
        fields = {**FORMS.get(form, {}), **question_fields(questionnaires)}
        # A per-row field links to its row's input, or nowhere when the row is not known.
        fields = {
            name: replace(f, id=f.id.replace("{}", str(row)) if row != "" else "") if "{}" in f.id else f
            for name, f in fields.items()
        }
        self.items = [replace(say(p, fields), message_id=f"problem-{n}") for n, p in enumerate(problems, 1)]

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def attrs(self, id: str, *described_by: str) -> Markup:
        """``aria-invalid`` and ``aria-describedby`` for the field ``id`` (its hints kept)."""
        messages = [s.message_id for s in self.items if s.id == id]
        ids = [*messages, *(d for d in described_by if d)]
        out = ' aria-invalid="true"' if messages else ""
        if ids:
            out += f' aria-describedby="{escape(" ".join(dict.fromkeys(ids)))}"'
        return Markup(out)


def explain(
    problems: Iterable[FieldProblem] | Problems | None,
    form: str = "",
    row: object = "",
    questionnaires: Iterable = (),
) -> Problems:
    """The problems of ``form`` (a name in :data:`FORMS`), with ``row`` the number of the row a
    per-row form is about, and the questions of the ``questionnaires`` the form shows."""
    if isinstance(problems, Problems):
        return problems
    return Problems(problems or (), form, row, questionnaires)


def question_fields(forms: Iterable) -> dict[str, Field]:
    """The fields of questionnaire forms (:class:`attunement.web.questionnaires.Form`), by the
    name their problems give: each question is named as the person answering reads it, and links
    to its group of answers (or its box, for a question answered in words)."""
    return {
        q.label: Field(q.field if q.kind == "text" else f"q-{q.field}", q.label, choice=q.kind != "text")
        for form in forms
        for q in form.questions
    }
