"""The visitors' page frame, rendered once per language and current tab: each page still gets its own way back
after a language switch, a working CSRF token and the right tab marked; signed-in users get their own frame."""
import re

import pytest
from django.test import Client

from accounts.tests.factories import BuyerFactory
from marketplace.templatetags import shell

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_frames():
    shell._frames.clear()
    yield
    shell._frames.clear()


def language_form(body: str) -> tuple[str, str]:
    form = re.search(r'<form action="/i18n/setlang/".*?</form>', body, re.S).group(0)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]*)"', form).group(1)
    back = re.search(r'name="next" type="hidden" value="([^"]*)"', form).group(1)
    return token, back


def current_tab(body: str) -> list[str]:
    bar = re.search(r'<nav class="tabbar".*?</nav>', body, re.S).group(0)
    return re.findall(r'href="([^"]+)" aria-current="page"', bar)


def test_each_page_gets_its_own_way_back_and_tab_from_the_shared_frame(client):
    first = client.get("/c/fruit/", {"sort": "newest"}).content.decode()
    second = client.get("/search/", {"q": '<b>"梨"</b>'}).content.decode()
    assert len(shell._frames) == 3  # the header for each of the two tabs, one footer
    assert language_form(first)[1] == "/c/fruit/?sort=newest"
    back = language_form(second)[1]
    assert "<b>" not in back and back.startswith("/search/?q=")
    assert current_tab(first) == [] and current_tab(second) == ["/search/"]
    assert current_tab(client.get("/").content.decode()) == ["/"]
    assert "\x00" not in first + second


def test_the_language_form_of_a_framed_page_passes_the_csrf_check():
    browser = Client(enforce_csrf_checks=True)
    browser.get("/search/", {"q": "苹果"})  # the frame is made on this page
    body = browser.get("/c/fruit/").content.decode()
    token, back = language_form(body)
    assert token and token != shell._TOKEN
    response = browser.post("/i18n/setlang/", {"csrfmiddlewaretoken": token, "language": "zh-hans", "next": back})
    assert response.status_code == 302 and response["Location"] == "/c/fruit/"


def test_each_language_has_its_own_frame(client):
    english = client.get("/search/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get("/search/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Skip to content" in english and "Skip to content" not in chinese
    assert 'lang="zh-hans"' in english and 'lang="en"' in chinese  # the button offers the other language


def test_a_signed_in_user_gets_their_own_frame_after_visitors(client):
    client.get("/search/")
    client.force_login(BuyerFactory())
    body = client.get("/search/").content.decode()
    assert "Sign out" in body and ">Sign in<" not in body
    assert language_form(body)[1] == "/search/"
