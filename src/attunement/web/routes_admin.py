"""The administrator's pages: users, teams, the questionnaires a client link offers, the audit log,
and the export of all data.

An administrator manages accounts and settings and sees no client data. The one exception is
"Export all data" (a service leaving, or keeping its own archive): a deliberate act that asks for
the reason and the administrator's password again, is written in the audit log (who, when, why,
how many rows; no client data), and hands over a zip file of every table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments import load_instruments
from attunement.instruments.licensed import importable
from attunement.instruments.measure_sets import not_offered, offerable_measures, service_types
from attunement.store.accounts import (
    FAILURE_WINDOW,
    PASSWORD_LINK_DAYS,
    Throttled,
    all_teams,
    all_users,
    change_role,
    clear_sign_in_waits,
    clinician_named,
    confirm_password,
    create_team,
    create_user,
    find_user,
    password_link,
    recent_failures,
    reset_password,
    set_active,
    set_email,
)
from attunement.store.audit import recent, record, source_address
from attunement.store.clients import reassign_clients
from attunement.store.clock import now
from attunement.store.licensed_wording import all_uploads, import_wording, licensed_instruments
from attunement.store.models import ROLES, User
from attunement.store.service_export import TABLES, count_text, extra_files, write_zip
from attunement.store.settings import (
    ALWAYS_OFFERED,
    CRISIS_DEFAULT,
    check_language,
    check_zone,
    clinic_zone,
    get_setting,
    offered_instruments,
    set_service_language,
    set_setting,
)
from attunement.web.clinician_change import Done
from attunement.web.dependencies import Admin, CheckedForm, Db, number_in_path
from attunement.web.form_values import entered, whole_number
from attunement.web.pages import Form, NotFound, actor, redirect, render
from attunement.web.security import base_url

router = APIRouter()
#: The crisis text a client sees is kept short enough to read in one go.
MAX_CRISIS = 1000
#: The reason for an export of all data is kept in the audit log, whose detail holds 400 characters.
MAX_EXPORT_REASON = 300
#: Bytes of the export's zip held in memory before it goes to a temporary file.
ZIP_IN_MEMORY = 32 * 1024 * 1024
#: The user of an address under /admin/users/ (checked before the role, like any parsing).
UserNumber = Annotated[int, Depends(number_in_path("user_id"))]


def _admin_page(request: Request, db: Session, *, status: int = 200, **extra):
    context = {
        "users": all_users(db),
        "teams": all_teams(db),
        "failures": recent_failures(db),
        "failure_minutes": int(FAILURE_WINDOW.total_seconds() // 60),
        "roles": ROLES,
        "export_tables": list(TABLES),
        "max_reason": MAX_EXPORT_REASON,
        "problems": [],
        "values": {},
        **extra,
    }
    return render(request, "admin.html", context, status)


@router.get("/admin")
def admin_home(request: Request, admin: Admin, db: Db):
    return _admin_page(request, db)


@router.post("/admin/users")
def add_user(request: Request, form: CheckedForm, admin: Admin, db: Db):
    team = form.get("team_id", "")
    try:
        team_id = whole_number(team, "team", required=False)
    except InvalidInputError:
        problem = FieldProblem("team", team[:40], "a team")
        return _admin_page(
            request, db, status=400, problems=[problem], values=entered(form), form_key="admin"
        )
    try:
        user = create_user(
            db,
            form.get("username", ""),
            None,  # the owner sets it through the link: no administrator ever knows it
            form.get("role", ""),
            display_name=form.get("display_name", ""),
            team_id=team_id,
            email=form.get("email", ""),
        )
    except InvalidInputError as exc:
        return _admin_page(
            request, db, status=400, problems=exc.problems, values=entered(form), form_key="admin"
        )
    token = password_link(db, user, admin)
    record(db, actor(admin), admin.role, "create_user", detail=f"user {user.id} ({user.role})")
    return _password_link_page(request, user, token, new=True)


def user_change(request: Request, db: Session, admin: User, number: int, form: Form, change: Callable):
    """An administrator's change to one user, in the request's transaction: the user from the
    path (404 when none), ``change(db, admin, user, form)`` returning a :class:`Done`; wrong input
    rolls everything back and shows the admin page with the problems, that user's row open with
    what was entered."""
    user = find_user(db, number)
    if user is None:
        raise NotFound()
    try:
        done = change(db, admin, user, form)
    except InvalidInputError as exc:
        db.rollback()
        return _admin_page(
            request,
            db,
            status=400,
            problems=exc.problems,
            values=entered(form),
            form_key="admin_user",
            form_row=user.id,
        )
    record(db, actor(admin), admin.role, done.action, detail=done.detail)
    return done.response or redirect("/admin#users")


def _not_yourself(admin: User, user: User, what: str) -> None:
    if user.id == admin.id:
        raise InvalidInputError("user", [FieldProblem("user", user.username, what)])


@router.post("/admin/users/{user_id}/reset")
def reset(request: Request, form: CheckedForm, number: UserNumber, admin: Admin, db: Db):
    """A new set-your-password link for a user; their current password stops working."""

    def change(db, admin, user, form):
        _not_yourself(admin, user, "another user: change your own password on your account page")
        token = reset_password(db, user, admin)
        return Done("reset_password", f"user {user.id}", _password_link_page(request, user, token, new=False))

    return user_change(request, db, admin, number, form, change)


def _password_link_page(request: Request, user: User, token: str, *, new: bool):
    base = base_url(request)
    return render(
        request,
        "password_link.html",
        {"person": user, "url": f"{base}/set-password/{token}", "days": PASSWORD_LINK_DAYS, "new": new},
    )


@router.post("/admin/users/{user_id}/unlock")
def unlock(request: Request, form: CheckedForm, number: UserNumber, admin: Admin, db: Db):
    """Forget a user's failed sign-ins, so they need not wait (after a colleague mistyped, or
    someone guessed at their user name)."""

    def change(db, admin, user, form):
        cleared = clear_sign_in_waits(db, user)
        return Done("clear_sign_in_waits", f"user {user.id}: {cleared} failed attempts")

    return user_change(request, db, admin, number, form, change)


@router.post("/admin/users/{user_id}/role")
def set_role(request: Request, form: CheckedForm, number: UserNumber, admin: Admin, db: Db):
    """A user's role and team; the user is signed out so the new access applies at once."""

    def change(db, admin, user, form):
        _not_yourself(admin, user, "another user: your own role stays admin")
        team_id = whole_number(form.get("team_id", ""), "team", required=False)
        before = f"{user.role}/{user.team_id}"
        change_role(db, user, form.get("role", "").strip(), team_id)
        return Done("change_role", f"user {user.id}: {before} -> {user.role}/{user.team_id}")

    return user_change(request, db, admin, number, form, change)


@router.post("/admin/users/{user_id}/reassign")
def reassign(request: Request, form: CheckedForm, number: UserNumber, admin: Admin, db: Db):
    """All of a clinician's clients to another clinician (the administrator sees no client, only
    how many moved)."""

    def change(db, admin, user, form):
        if user.role != "clinician":
            raise InvalidInputError("reassign", [FieldProblem("user", user.username, "a clinician")])
        target = find_user(db, whole_number(form.get("to", ""), "to"))
        if target is None:
            raise InvalidInputError("reassign", [FieldProblem("to", form.get("to", "")[:40], "a clinician")])
        moved = reassign_clients(db, user, target, admin)
        return Done("reassign_clients", f"{moved} clients from user {user.id} to user {target.id}")

    return user_change(request, db, admin, number, form, change)


@router.post("/admin/users/{user_id}/active")
def switch_active(request: Request, form: CheckedForm, number: UserNumber, admin: Admin, db: Db):
    def change(db, admin, user, form):
        _not_yourself(admin, user, "another user: you cannot switch yourself off")
        set_active(user, form.get("active") == "yes")
        return Done("set_user_active", f"user {user.id} {user.active}")

    return user_change(request, db, admin, number, form, change)


@router.post("/admin/users/{user_id}/email")
def change_email(request: Request, form: CheckedForm, number: UserNumber, admin: Admin, db: Db):
    """Where a user's safety notices are e-mailed (empty: in the app only)."""

    def change(db, admin, user, form):
        set_email(user, form.get("email", ""))
        return Done("set_user_email", f"user {user.id}")

    return user_change(request, db, admin, number, form, change)


@router.post("/admin/teams")
def add_team(request: Request, form: CheckedForm, admin: Admin, db: Db):
    try:
        team = create_team(db, form.get("name", ""))
    except InvalidInputError as exc:
        return _admin_page(
            request, db, status=400, problems=exc.problems, values=entered(form), form_key="admin"
        )
    record(db, actor(admin), admin.role, "create_team", detail=f"team {team.id}")
    return redirect("/admin#teams")


@router.get("/admin/instruments")
def instruments_page(request: Request, admin: Admin, db: Db):
    return _instruments_page(request, db)


def _instruments_page(
    request: Request,
    db: Session,
    status: int = 200,
    problems=(),
    wording_problems=(),
    wording=None,
    values=None,
):
    licensed = licensed_instruments(db)
    return render(
        request,
        "admin_instruments.html",
        {
            "instruments": list(load_instruments().values()),
            "names": {i.id: i.short_name for i in load_instruments().values()},
            "link_instruments": offerable_measures(licensed),
            "not_offered": not_offered(licensed),
            "importable": importable(),
            "uploads": all_uploads(db),
            "licensed": licensed,
            "wording_problems": list(wording_problems),
            "wording": wording or {},
            "zone": clinic_zone(db),
            "service_types": service_types(),
            "service_type": get_setting(db, "service_type"),
            "always": ALWAYS_OFFERED,
            "offered": offered_instruments(db),
            "progress": get_setting(db, "client_progress_chart") == "yes",
            "valid_days": get_setting(db, "link_valid_days"),
            "timezone": get_setting(db, "timezone"),
            "duty_clinician": get_setting(db, "duty_clinician"),
            "crisis_text": get_setting(db, "crisis_text"),
            "service_language": get_setting(db, "service_language"),
            "problems": list(problems),
            "values": values or {},
            "form_key": "settings",
        },
        status,
    )


@router.post("/admin/instruments")
def save_instruments(request: Request, form: CheckedForm, admin: Admin, db: Db):
    chosen = form.getlist("offer")
    days = form.get("link_valid_days", "").strip()
    problems = []
    if not (days.isascii() and days.isdigit() and len(days) <= 2) or not 1 <= int(days) <= 60:
        problems.append(FieldProblem("link_valid_days", days, "a whole number of days from 1 to 60"))
    zone = form.get("timezone", "").strip() or "UTC"
    try:
        zone = check_zone(zone).key
    except InvalidInputError as exc:
        problems.extend(exc.problems)
    try:
        language = check_language(form.get("service_language", ""))
    except InvalidInputError as exc:
        problems.extend(exc.problems)
    duty = form.get("duty_clinician", "").strip().lower()
    if duty and clinician_named(db, duty) is None:
        problems.append(FieldProblem("duty clinician", duty, "the user name of a clinician, or nothing"))
    crisis = "\n".join(" ".join(line.split()) for line in form.get("crisis_text", "").splitlines())
    crisis = crisis.strip()[:MAX_CRISIS] or CRISIS_DEFAULT
    service = form.get("service_type", "").strip() or get_setting(db, "service_type")
    kinds = service_types()
    if service not in {k.key for k in kinds}:
        problems.append(
            FieldProblem("service type", service[:40], "one of: " + "; ".join(k.label for k in kinds))
        )
    offerable = offerable_measures(licensed_instruments(db))
    unknown = [c for c in chosen if c not in offerable]
    if unknown:
        problems.append(
            FieldProblem("offered measures", str(unknown[0])[:40], "measures from the list on this page")
        )
    if problems:
        return _instruments_page(request, db, 400, problems, values=entered(form, offer=chosen))
    offered = [i for i in offerable if i in chosen or i in ALWAYS_OFFERED]
    set_setting(db, "link_instruments", ",".join(offered))
    set_setting(db, "service_type", service)
    set_setting(db, "client_progress_chart", "yes" if form.get("client_progress_chart") else "no")
    set_setting(db, "link_valid_days", str(int(days)))
    set_setting(db, "timezone", zone)
    set_setting(db, "duty_clinician", duty)
    set_setting(db, "crisis_text", crisis)
    set_service_language(db, language)
    record(db, actor(admin), admin.role, "change_settings", detail=f"{service}: {','.join(offered)}")
    return redirect("/admin/instruments")


@router.post("/admin/instruments/wording")
def upload_wording(request: Request, form: CheckedForm, admin: Admin, db: Db):
    """An administrator uploads the clinic's licensed wording of a measure (a FHIR Questionnaire
    file): stored only when it matches the shipped scoring; otherwise every difference is listed."""
    raw = form.upload("questionnaire")
    try:
        import_wording(
            db,
            raw,
            form.get("licence_statement", ""),
            form.get("supplied_by", ""),
            instrument_id=form.get("instrument", "").strip() or None,
            actor=actor(admin),
            role=admin.role,
            user=admin,
        )
    except InvalidInputError as exc:
        db.rollback()
        return _instruments_page(request, db, 400, wording_problems=exc.problems, wording=entered(form))
    return redirect("/admin/instruments#wording")


@router.get("/admin/audit")
def audit_page(request: Request, admin: Admin, db: Db):
    return render(request, "admin_audit.html", {"events": recent(db)})


@router.post("/admin/export")
def export_all(request: Request, form: CheckedForm, admin: Admin, db: Db):
    """Every table the service holds, as a zip of CSV files, after the administrator has said why
    and given their password again; the audit entry (who, when, why and how many rows) is
    committed before the file is sent."""
    import tempfile

    reason = " ".join(form.get("reason", "").split())
    password = form.get("password", "")
    problems = []
    if not reason or len(reason) > MAX_EXPORT_REASON:
        problems.append(
            FieldProblem(
                "reason", reason[:40], f"why the data is exported, in 1 to {MAX_EXPORT_REASON} characters"
            )
        )
    try:
        confirmed = bool(password) and confirm_password(db, admin, password, source_address.get())
    except Throttled as exc:
        problems.append(
            FieldProblem(
                "password", "", f"your password, after waiting {exc.seconds} s (too many wrong ones)"
            )
        )
        confirmed = True  # said above; not counted as another wrong one
    if not confirmed:
        problems.append(FieldProblem("password", "", "your own password, as you sign in with it"))
    if problems:
        return _admin_page(
            request, db, status=400, problems=problems, values={"reason": reason}, form_key="admin_export"
        )
    spooled = tempfile.SpooledTemporaryFile(max_size=ZIP_IN_MEMORY)  # noqa: SIM115 (closed by the response)
    rows = write_zip(db, spooled, extra=extra_files(base_url(request)))
    record(db, actor(admin), admin.role, "export_all", detail=f"{count_text(rows)}; reason: {reason}")
    spooled.seek(0)

    def chunks():
        with spooled:
            while block := spooled.read(64 * 1024):
                yield block

    name = f"attunement-export-{now():%Y%m%d-%H%M}.zip"
    return StreamingResponse(
        chunks(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
