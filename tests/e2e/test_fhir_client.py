"""Every shipped Questionnaire, as attunement hands it out, in a real FHIR client: the NLM's
LHC-Forms (npm ``lforms``) in headless Chromium, and the ``fhirpath`` package for the R4 rules.

``make test`` installs both with ``npm ci`` in tests/fhir_client (versions pinned by its lock
file). The page and LHC-Forms' built files are served from that folder through Playwright's
request routing; every other request is refused and counted, so the test makes no third-party
request. In one page, form after form: every item is shown and no "undefined" is; every question
is answered through the form's own controls (the risk item endorsed where the form has one); the
answers are exported with ``LForms.Util.getFormFHIRData("QuestionnaireResponse", "R4", ...)``;
then, in node with the ``fhirpath`` package, the R4 invariants of the response (qrs-1, qrs-2) and
of the form (que-*) hold and each coded answer's ``weight()`` is the number attunement scores it
as (their sum is the total where the total is a plain sum); and attunement reads the response
back (:func:`attunement.fhir.responses.read_response`) to the same answers and the same scores.
Licensed measures are shown without wording ("Item 3 (licensed wording not installed)"), and
CORE-10 once more in a clinic's wording (made up for the test: "Stand-in item 1" ...).
"""

from __future__ import annotations

import json
import mimetypes
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import DESKTOP
from playwright.sync_api import expect

from attunement.fhir.questionnaires import handed_out
from attunement.fhir.responses import read_response
from attunement.instruments import get_instrument, instrument_ids, score
from attunement.instruments.definition import Instrument, ItemSpec, option_ordinal
from attunement.instruments.licensed import Wording, stand_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FHIR_CLIENT = Path(__file__).resolve().parents[1] / "fhir_client"
LFORMS = FHIR_CLIENT / "node_modules" / "lforms" / "dist" / "lforms"
#: A made-up origin the page is served from; nothing is fetched from the network.
ORIGIN = "http://lhc-forms.test"
BASE = "http://127.0.0.1:8000/fhir"
TEXT_ANSWER = "Typed into LHC-Forms"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>attunement in LHC-Forms</title>
<link rel="stylesheet" href="/webcomponent/styles.css">
<script src="/webcomponent/assets/lib/zone.min.js"></script>
<script src="/webcomponent/runtime.js" type="module"></script>
<script src="/webcomponent/polyfills.js" type="module"></script>
<script src="/webcomponent/main.js" type="module"></script>
<script src="/fhir/R4/lformsFHIR.min.js" defer></script>
</head><body><div id="form"></div></body></html>"""
#: The ways a renderer shows a value it could not read.
BROKEN = ("undefined", "null", "NaN", "[object Object]")


class LocalFiles:
    """Answers the page's requests from LHC-Forms' built files; refuses and records any other."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, route: Any) -> None:
        url = route.request.url
        if not url.startswith(ORIGIN + "/"):
            self.refused.append(url)
            route.abort()
            return
        path = url[len(ORIGIN) :].split("?", 1)[0].split("#", 1)[0]
        if path == "/":
            route.fulfill(body=PAGE, content_type="text/html")
            return
        file = (LFORMS / path.lstrip("/")).resolve()
        if not file.is_file() or LFORMS.resolve() not in file.parents:
            self.refused.append(url)
            route.fulfill(status=404, body="")
            return
        kind = "text/javascript" if file.suffix == ".js" else mimetypes.guess_type(file.name)[0]
        route.fulfill(body=file.read_bytes(), content_type=kind or "application/octet-stream")


@pytest.fixture
def lforms_page(open_browser) -> Iterator[tuple[Any, LocalFiles]]:
    if not (LFORMS / "webcomponent" / "main.js").is_file():
        pytest.skip("LHC-Forms is not installed: make test runs npm ci in tests/fhir_client")
    context = open_browser(**DESKTOP)
    files = LocalFiles()
    context.route("**/*", files)
    page = context.new_page()
    page.goto(ORIGIN + "/")
    page.wait_for_function(
        "() => !!(window.LForms && LForms.Util && LForms.Util.getFormFHIRData"
        " && customElements.get('wc-lhc-form'))",
        timeout=60_000,
    )
    yield page, files


def _every_item(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _every_item(item.get("item", []))


def _chosen(instrument: Instrument, position: int, spec: ItemSpec) -> float | str:
    """The answer given to one item: the highest for a critical item (a risk answer), else one
    that varies from item to item; text for a free-text item."""
    if spec.type in ("string", "text"):
        return TEXT_ANSWER
    critical = {c.item for c in instrument.scoring.critical_items}
    if spec.allowed is not None:
        values = spec.allowed
        return max(values) if spec.link_id in critical else values[(position * 3 + 1) % len(values)]
    low, high = spec.low, spec.high
    steps = int(high - low)
    value = low + (position * 3 + 1) % (steps + 1)
    return value + 0.5 if spec.type == "decimal" and value < high else value


def _fill(page: Any, form: dict[str, Any], instrument: Instrument) -> dict[str, float | str]:
    """Answer every question through the form's own controls; the answers given, by linkId."""
    given: dict[str, float | str] = {}
    items = {i["linkId"]: i for i in _every_item(form["item"])}
    for position, spec in enumerate(instrument.items.values()):
        value = _chosen(instrument, position, spec)
        field = page.locator(f"lhc-item :is(input, textarea)[id^='{spec.link_id}/']").first
        if spec.type == "choice":
            options = items[spec.link_id]["answerOption"]
            index = [option_ordinal(o) for o in options].index(float(value))
            field.click()
            # The answer list is one element shared by every field: wait until it is this one's.
            expect(field).to_have_attribute("aria-expanded", "true")
            page.locator(f"#lhc-tools-searchResults li[autocomprawlistindex='{index}']").click()
            expect(field).to_have_attribute("aria-expanded", "false")
            expect(field).not_to_have_value("")
        else:
            typed = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            field.fill(typed)
            field.press("Tab")
            expect(field).to_have_value(typed)
        given[spec.link_id] = value
    return given


def _render(page: Any, form: dict[str, Any]) -> tuple[list[str], str]:
    """Show the form; the linkIds LHC-Forms shows an item for, and the form's text."""
    page.evaluate(
        "q => { const box = document.getElementById('form'); box.innerHTML = '';"
        " return LForms.Util.addFormToPage(q, box, {}); }",
        form,
    )
    page.wait_for_function(
        "n => document.querySelectorAll('#form lhc-item[id^=\"item-\"]').length >= n",
        arg=len(list(_every_item(form["item"]))),
        timeout=30_000,
    )
    shown = page.evaluate(
        "() => [...document.querySelectorAll('#form lhc-item[id^=\"item-\"]')]"
        ".map(e => e.id.slice(5).split('/')[0])"
    )
    return shown, page.locator("#form").inner_text()


def _check_with_fhirpath(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fhirpath package's verdicts (tests/fhir_client/check.js), one per response."""
    done = subprocess.run(
        ["node", str(FHIR_CLIENT / "check.js")],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=FHIR_CLIENT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _cases() -> list[tuple[str, Wording | None]]:
    made_up = Wording(stand_in("core10"), "Made-up licence statement for the test.")
    return [(i, None) for i in instrument_ids()] + [("core10", made_up)]


def test_every_questionnaire_renders_in_lhc_forms_and_its_answers_come_back_as_scored(lforms_page, artifacts):
    page, files = lforms_page
    exported: list[tuple[str, dict[str, Any], dict[str, float | str], dict[str, Any]]] = []
    for instrument_id, wording in _cases():
        instrument = get_instrument(instrument_id)
        form = handed_out(instrument_id, base=BASE, wording=wording)
        shown, text = _render(page, form)
        where = f"{instrument_id}{' (clinic wording)' if wording else ''}"
        assert shown == [i["linkId"] for i in _every_item(form["item"])], where
        assert not [word for word in BROKEN if word in text.split() or f"{word} " in text], (where, text)
        if not instrument.licence.item_text_shipped:
            first = "Stand-in item 1" if wording else "Item 1 (licensed wording not installed)"
            assert first in text, where
        given = _fill(page, form, instrument)
        filled = page.locator("#form").inner_text()
        assert not [word for word in BROKEN if word in filled.split()], (where, filled)
        assert "requires a value" not in filled, (where, filled)
        if instrument_id in ("core10", "phq9"):
            page.screenshot(path=artifacts / f"lhc-forms-{where.replace(' ', '-')}.png", full_page=True)
        response = page.evaluate(
            "() => LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4',"
            " document.getElementById('form'))"
        )
        exported.append((where, form, given, response))
    assert files.refused == [], "every request is answered from the local files"

    pairs = [{"questionnaire": f, "response": r} for _, f, _, r in exported]
    (artifacts / "lhc-forms-responses.json").write_text(json.dumps(pairs, indent=1), encoding="utf-8")
    verdicts = _check_with_fhirpath(pairs)
    for (where, _form, given, response), verdict in zip(exported, verdicts, strict=True):
        instrument = get_instrument(where.split(" ")[0])
        assert all(verdict["invariants"].values()), (where, verdict["invariants"])
        numbers = {k: float(v) for k, v in given.items() if not isinstance(v, str)}
        coded = {k: v for k, v in numbers.items() if instrument.items[k].type == "choice"}
        assert {k: float(v) for k, v in verdict["weights"].items()} == coded, where
        expected = score(instrument, numbers)
        scoring = instrument.scoring
        if scoring.method == "sum" and not scoring.reverse and set(coded) == set(scoring.items):
            assert verdict["total"] == pytest.approx(expected.total), where

        read = read_response(response)
        assert read.instrument == instrument.id, where
        assert read.answers == pytest.approx(numbers), where
        texts = [v for v in given.values() if isinstance(v, str)]
        assert read.comment == (texts[0] if texts else None), where
        again = score(instrument, read.answers)
        assert (again.total, again.band, again.subscales, again.composites) == (
            expected.total,
            expected.band,
            expected.subscales,
            expected.composites,
        ), where
        assert [f.item for f in again.flags] == [f.item for f in expected.flags], where
        if instrument.scoring.critical_items:
            assert again.critical, f"{where}: the risk answer given in LHC-Forms is read as one"


#: The R4B model classes attunement checks Questionnaires and responses with, by the R4 element
#: path they stand for.
R4B_MODELS = {
    "Questionnaire": ("questionnaire", "Questionnaire"),
    "Questionnaire.item": ("questionnaire", "QuestionnaireItem"),
    "Questionnaire.item.answerOption": ("questionnaire", "QuestionnaireItemAnswerOption"),
    "Questionnaire.item.enableWhen": ("questionnaire", "QuestionnaireItemEnableWhen"),
    "Questionnaire.item.initial": ("questionnaire", "QuestionnaireItemInitial"),
    "QuestionnaireResponse": ("questionnaireresponse", "QuestionnaireResponse"),
    "QuestionnaireResponse.item": ("questionnaireresponse", "QuestionnaireResponseItem"),
    "QuestionnaireResponse.item.answer": ("questionnaireresponse", "QuestionnaireResponseItemAnswer"),
}


@pytest.mark.parametrize("path", list(R4B_MODELS))
def test_the_r4b_models_attunement_checks_with_have_exactly_the_r4_elements(path):
    """What docs/fhir.md says: R4 JSON checked with R4B models is R4, for these resources. The R4
    element list is the one the fhirpath package ships for its R4 model."""
    import importlib

    context = FHIR_CLIENT / "node_modules" / "fhirpath" / "fhir-context" / "r4"
    if not context.is_dir():
        pytest.skip("fhirpath is not installed: make test runs npm ci in tests/fhir_client")
    known = {
        **json.loads((context / "path2Type.json").read_text(encoding="utf-8")),
        **json.loads((context / "pathsDefinedElsewhere.json").read_text(encoding="utf-8")),
    }
    r4 = {p[len(path) + 1 :] for p in known if p.startswith(path + ".") and "." not in p[len(path) + 1 :]}
    module, name = R4B_MODELS[path]
    model = getattr(importlib.import_module(f"fhir.resources.R4B.{module}"), name)
    r4b = {
        field.alias or key
        for key, field in model.model_fields.items()
        if not key.endswith("__ext") and key not in ("fhir_comments", "resource_type")
    }
    assert r4b == r4, (sorted(r4b - r4), sorted(r4 - r4b))
