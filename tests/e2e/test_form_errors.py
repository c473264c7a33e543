"""A form's error box on a phone: each problem links to its field, and following the link puts
the keyboard focus in that field, which still holds what was typed."""

from __future__ import annotations

from app_server import AppServer
from test_client_journey import sign_in


def test_the_error_box_link_moves_focus_to_the_field(server: AppServer, open_browser):
    page = open_browser(viewport={"width": 390, "height": 844}).new_page()
    sign_in(page, server)
    page.goto(f"{server.base_url}/clients/new")
    page.get_by_label("Reference").fill("Error check 1")
    page.get_by_role("button", name="Create client").click()
    page.goto(f"{server.base_url}/clients/new")
    page.get_by_label("Reference").fill("Error check 1")
    page.get_by_role("button", name="Create client").click()
    box = page.locator("#problems")
    assert "Reference: you already have a client called “Error check 1”." in box.inner_text()
    box.get_by_role("link", name="Reference").click()
    assert page.evaluate("document.activeElement.id") == "label"
    assert page.get_by_label("Reference").input_value() == "Error check 1"
    assert page.get_by_label("Reference").get_attribute("aria-invalid") == "true"
