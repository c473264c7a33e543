"""The forecast model pages: which model raises the not-on-track and dropout alerts.

``/model`` tells clinicians and supervisors which model is in use, what it learnt from and how
well it did on held-out clients. ``/admin/models`` lets an administrator compare the bundled model
with the models fitted on the clinic's own history (``attunement fit --database``), activate one,
or go back to the bundled model. Activation never deletes a model: the one it replaces is retired.
Stored client summaries name the model they were computed with, so every page works them out
again with the newly active model.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from attunement.errors import InvalidInputError
from attunement.store.audit import record
from attunement.store.forecast_models import activate, use_bundled
from attunement.web.dependencies import Admin, AnyRole, CheckedForm, Db, number_in_path
from attunement.web.model_view import in_use_page, models_page
from attunement.web.pages import actor, redirect, render

router = APIRouter()
ModelNumber = Annotated[int, Depends(number_in_path("model_id"))]


@router.get("/model")
def model_page(request: Request, user: AnyRole, db: Db):
    return render(request, "model.html", in_use_page(db))


@router.get("/admin/models")
def admin_models(request: Request, admin: Admin, db: Db):
    return render(request, "admin_models.html", {**models_page(db), "problems": []})


@router.post("/admin/models/{model_id}/activate")
def activate_model(request: Request, form: CheckedForm, number: ModelNumber, admin: Admin, db: Db):
    try:
        row, before = activate(db, number)
    except InvalidInputError as exc:
        db.rollback()
        context = {**models_page(db), "problems": exc.problems, "form_key": "models"}
        return render(request, "admin_models.html", context, 400)
    replaced = "the bundled model" if before is None else f"model {before}"
    record(
        db, actor(admin), admin.role, "activate_forecast_model", detail=f"model {row.id} replaces {replaced}"
    )
    return redirect("/admin/models")


@router.post("/admin/models/bundled")
def bundled_model(request: Request, form: CheckedForm, admin: Admin, db: Db):
    before = use_bundled(db)
    replaced = "nothing (already in use)" if before is None else f"model {before}, retired"
    record(db, actor(admin), admin.role, "use_bundled_forecast_model", detail=f"replaces {replaced}")
    return redirect("/admin/models")
