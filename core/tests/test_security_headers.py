"""Security headers on every page (finding 5): a Content-Security-Policy without 'unsafe-inline', which the
templates can live with because they have no inline script, style or event handler; Referrer-Policy and
Permissions-Policy; and `|safe` / `mark_safe` only where an allowlist says why the text is already safe."""
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
SKIP_DIRS = {".venv", "staticfiles", "node_modules", ".git", "media", "private_media"}
PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/api/docs/", "/api/v1/categories/", "/no/such/page/",
         "/api/v1/no-such-thing/", "/admin/login/"]


def project_files(pattern: str):
    for path in BASE_DIR.rglob(pattern):
        if not SKIP_DIRS & set(path.relative_to(BASE_DIR).parts):
            yield path


def csp_of(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in policy.split(";")) if d}


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_strict_content_security_policy(client, path):
    response = client.get(path)
    policy = csp_of(response)
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive] and "'unsafe-eval'" not in policy[directive]
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=(self)" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_card_payment_origins_are_allowed_only_when_card_payment_is_on(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    assert "stripe" not in client.get("/")["Content-Security-Policy"]
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_JS_URL = "http://127.0.0.1:8420/js.stripe.com/v3/"
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420"
    policy = csp_of(client.get("/"))
    assert "http://127.0.0.1:8420" in policy["script-src"] and "http://127.0.0.1:8420" in policy["frame-src"]
    assert "http://127.0.0.1:8420" in policy["connect-src"]


@pytest.mark.django_db
def test_api_docs_page_has_no_inline_script(client):
    html = client.get("/api/docs/").content.decode()
    assert "<script>" not in html and "<style" not in html
    assert client.get("/api/docs/?script=").status_code == 200


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "on...= event handler"),
    (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
]


def test_templates_have_no_inline_script_style_or_handlers():
    found = []
    for path in project_files("*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(BASE_DIR)}:{line}: {what}")
    assert not found, "Move these to static/js or static/css (CSP forbids them):\n" + "\n".join(found)


def test_python_writes_no_style_attributes():
    """HTML built in Python (format_html in admin displays, template tags) is held to the same policy."""
    attribute = re.compile(r"""\sstyle\s*=\s*\\?["']""", re.IGNORECASE)
    found = [f"{path.relative_to(BASE_DIR)}:{text.count(chr(10), 0, match.start()) + 1}"
             for path in project_files("*.py") if "tests" not in path.relative_to(BASE_DIR).parts
             for text in [path.read_text(encoding="utf-8")] for match in attribute.finditer(text)]
    assert not found, "Use a class from a static stylesheet (admin: css/admin.css via Media):\n" + "\n".join(found)


# Every `|safe` in a template and every `mark_safe(` in Python (path pattern, start of the expression), with the
# reason the text is already safe. A new one fails this test until it is added here with its reason; prefer
# `format_html`, `|rich_text` or escaping.
SAFE_ALLOWLIST = {
    ("templates/includes/*.html", "field.help_text|safe"):
        "help texts are written by developers (Django's password rules are HTML lists), never by users",
    ("shops/templatetags/catalogue.py", "mark_safe(sanitise_description(text))"):
        "nh3 has just cleaned the description with the allowlist of sanitise_description",
    ("shops/templatetags/catalogue.py", "mark_safe(linebreaks(text, autoescape=True))"):
        "linebreaks escapes the text before adding <p> and <br>",
    ("shops/templatetags/pictures.py", "mark_safe(picture_html("):
        "picture_html escapes the alt text, sizes, variant paths and placeholder URI; the rest is markup and MEDIA_URL",
    ("shops/templatetags/catalogue.py", "mark_safe(grid.html("):
        "shops.tiles.render_tile escapes titles, units, shop and place names and labels; URLs come from integer ids",
    ("marketplace/templatetags/shell.py", "mark_safe(_render("):
        "the output of rendering a template of ours, which autoescapes",
    ("marketplace/templatetags/shell.py", "mark_safe(html.replace(_NEXT, escape("):
        "a rendered frame of ours, with the request's path and the CSRF token put in escaped",
    ("shops/search/forms.py", 'mark_safe("".join(  # noqa: S308 - every value escaped here'):
        "options_html escapes every option's value and label; the counts are integers",
    ("shops/search/forms.py", 'mark_safe("".join(markup))'):
        "_PlainInput escapes the name, the value and every attribute's value; the attribute names are our own",
    ("shops/templatetags/catalogue.py", 'mark_safe("".join(chips))'):
        "category_chips escapes each URL and name; the counts are localised integers",
    ("logistics/qr.py", "mark_safe(svg)"):
        "segno writes the SVG; the data is a parcel code or our own URL, escaped by segno",
    ("monitoring/charts.py", "mark_safe("):
        "the SVG chart escapes every dynamic text (sensor names, units) before assembling it",
    ("demand/charts.py", "mark_safe("):
        "the SVG chart escapes every dynamic text before assembling it",
}
SAFE_USES = [
    ("*.html", re.compile(r"\{\{[^}]*\|\s*safe\b[^}]*\}\}"), re.compile(r"\{\{\s*([^}]*?)\s*\}\}")),
    ("*.py", re.compile(r"\bmark_safe\([^\n]*"), None),
]


def _occurrences():
    for glob, pattern, inner in SAFE_USES:
        for path in project_files(glob):
            if "tests" in path.relative_to(BASE_DIR).parts:
                continue
            text = path.read_text(encoding="utf-8")
            for match in pattern.finditer(text):
                snippet = match.group(0)
                if inner is not None:
                    snippet = re.sub(r"\s+", "", inner.match(snippet).group(1))
                elif snippet.startswith("mark_safe") and "import" in text[max(0, match.start() - 40):match.start()]:
                    continue
                yield str(path.relative_to(BASE_DIR)), snippet


def test_every_safe_and_mark_safe_is_allowlisted_with_a_reason():
    unexplained = []
    for where, snippet in _occurrences():
        if not any(fnmatch(where, path) and snippet.startswith(prefix) for path, prefix in SAFE_ALLOWLIST):
            unexplained.append(f"{where}: {snippet}")
    assert not unexplained, "Not known to be safe (add to SAFE_ALLOWLIST with a reason, or escape):\n" + "\n".join(
        unexplained)


def test_the_allowlist_has_no_stale_entries():
    seen = set(_occurrences())
    stale = [key for key in SAFE_ALLOWLIST if not any(fnmatch(w, key[0]) and s.startswith(key[1]) for w, s in seen)]
    assert not stale, f"Remove from SAFE_ALLOWLIST, no longer used: {stale}"
