"""How long the client's form is on a phone, link by link (prints numbers; not a test).

    .venv/bin/python benchmarks/form_length.py [--links 4] [--json] [--write docs/web.md]

Starts ``attunement serve --demo`` on a throwaway SQLite file, creates a client through the
clinician's pages in headless Chromium, and then, for each of the client's first links, opens
the link on a phone-sized screen (390 x 844), counts the questions on the page (and checks the
count the page states), measures its height in screens, answers it and creates the next link, as
a clinic would. A last row shows the same first link with every intake question asked at once,
as a clinician may choose, for comparison. The measures are the demo clinic's default set
(PHQ-9, GAD-7, and the check-in from the second session on).

``--write FILE`` puts the table into FILE between the markers ``<!-- form-length:start -->``
and ``<!-- form-length:end -->``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from app_server import AppServer  # noqa: E402
from browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from attunement.store.demo import DEMO_LOGINS  # noqa: E402

START, END = "<!-- form-length:start -->", "<!-- form-length:end -->"


def _sign_in(page, base: str) -> None:
    login = next(login for login in DEMO_LOGINS if login.role == "clinician")
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(login.username)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/caseload$"))


def _new_link(page, intake: str) -> str:
    """A link for the client open in ``page``; ``next`` falls back to none once every part was asked."""
    choice = page.get_by_label("Intake questions")
    offered = choice.locator("option").evaluate_all("os => os.map(o => o.value)")
    choice.select_option(intake if intake in offered else "none")
    page.get_by_role("button", name="Create a link").click()
    return page.get_by_label("Client link").input_value()


def _measure(phone, link: str, base: str) -> dict:
    phone.goto(link if link.startswith("http") else base + link)
    questions = phone.locator("fieldset.question, div.question").count()
    stated = int(re.search(r"There (?:are (\d+) questions|is one question)", phone.content()).group(1) or 1)
    height = phone.evaluate("document.documentElement.scrollHeight")
    intake = phone.locator("section.questionnaire h2#title-intake_profile")
    return {
        "questions": questions,
        "stated": stated,
        "intake_questions": phone.locator("[id^=q-ip_], textarea[id^=ip_]").count(),
        "screens": round(height / PHONE["viewport"]["height"], 1),
        "intake_title": intake.inner_text() if intake.count() else "",
    }


def _answer(phone) -> None:
    """The first option of every question (the intake's skip option is last), then send."""
    phone.evaluate(
        "() => document.querySelectorAll('fieldset.question').forEach(f => {"
        " const r = f.querySelector('input[type=radio]'); if (r) r.checked = true; })"
    )
    with phone.expect_navigation():
        phone.get_by_role("button", name="Send my answers").click()


def measure(links: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        server = AppServer(f"sqlite:///{folder}/form-length.db")
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                clinician = browser.new_page(**DESKTOP)
                phone = browser.new_context(**PHONE).new_page()
                _sign_in(clinician, server.base_url)
                rows = []
                for reference, intake, count in (
                    ("Form length 1", "next", links),
                    ("Form length 2", "all", 1),
                ):
                    clinician.goto(f"{server.base_url}/clients/new")
                    clinician.get_by_label("Reference").fill(reference)
                    clinician.get_by_role("button", name="Create client").click()
                    clinician.wait_for_url(re.compile(r"/clients/[^/]+$"))
                    client_page = clinician.url
                    for number in range(1, count + 1):
                        link = _new_link(clinician, intake)
                        row = _measure(phone, link, server.base_url)
                        row["link"] = f"link {number}" + (
                            ", every intake question" if intake == "all" else ""
                        )
                        rows.append(row)
                        _answer(phone)
                        clinician.goto(client_page)
                browser.close()
        finally:
            server.stop()
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| link | questions | of them intake | phone screens (390 x 844) |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['link']} | {r['questions']} | {r['intake_questions']} | {r['screens']} |")
    return "\n".join(lines)


def write(path: Path, text: str) -> None:
    body = path.read_text(encoding="utf-8")
    if START not in body or END not in body:
        raise SystemExit(f"{path}: the markers {START} and {END} are missing")
    head, rest = body.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=4, help="how many of a client's first links to measure")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--write", type=Path, help="put the table into this Markdown file")
    args = parser.parse_args()
    rows = measure(args.links)
    wrong = [r["link"] for r in rows if r["stated"] != r["questions"]]
    if wrong:
        raise SystemExit(f"the page states a question count that is not what it shows: {wrong}")
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    if args.write:
        write(args.write, table(rows))


if __name__ == "__main__":
    main()
