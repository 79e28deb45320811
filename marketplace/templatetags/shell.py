"""The page frame's header (brand, language, menu, tab bar) and footer, around every page's content.

A visitor who is not signed in gets the same frame on every page but for three things: the language,
the tab marked current, and two values of the request, the page to come back to after switching
language and the CSRF token of that form. So each process renders the visitors' frame once per
language and current tab, with stand-ins for those two values, and fills them in on each page: about
a quarter of an uncached catalogue page's render otherwise. Signed-in users, whose menu and counts are
their own, get theirs rendered every time.
"""
import threading

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()

_NEXT = "\x00next\x00"
_TOKEN = "\x00csrf\x00"  # noqa: S105 - a stand-in, not a secret
_frames: dict[tuple, str] = {}
_lock = threading.Lock()
_visitor_tabs: frozenset[str] | None = None


def _tab_paths() -> frozenset[str]:
    """The paths a visitor's tab bar links to (the only ones that mark a tab current)."""
    global _visitor_tabs
    if _visitor_tabs is None:
        _visitor_tabs = frozenset(reverse(name) for name in ("home", "shops:search", "orders:cart", "orders:orders",
                                                             "accounts:login"))
    return _visitor_tabs


def _visitor(context) -> bool:
    user = context.get("user")
    return context.get("request") is not None and user is not None and not user.is_authenticated


def _render(context, name: str, **values) -> str:
    with context.push(**values):
        return context.template.engine.get_template(name).render(context)


def _frame(context, name: str, key: tuple) -> str:
    key = (name, get_language(), *key)
    html = _frames.get(key)
    if html is None:
        html = _render(context, name, next_path=_NEXT, csrf_token=_TOKEN)
        with _lock:
            _frames[key] = html
    return html


def _fill(html: str, context) -> str:
    request = context["request"]
    # The token is escaped as the csrf_token tag escapes it; the path as {{ }} would.
    return mark_safe(html.replace(_NEXT, escape(request.get_full_path()))  # noqa: S308 - both values escaped
                     .replace(_TOKEN, escape(str(context.get("csrf_token", "")))))


@register.simple_tag(takes_context=True)
def shell_header(context) -> str:
    if not _visitor(context):
        request = context.get("request")
        return mark_safe(_render(context, "includes/shell_header.html",  # noqa: S308 - a rendered template
                                 next_path=request.get_full_path() if request is not None else ""))
    path = context["request"].path
    return _fill(_frame(context, "includes/shell_header.html", (path if path in _tab_paths() else "",)), context)


@register.simple_tag(takes_context=True)
def shell_footer(context) -> str:
    if not _visitor(context):
        return mark_safe(_render(context, "includes/shell_footer.html"))  # noqa: S308 - a rendered template
    return _fill(_frame(context, "includes/shell_footer.html", ()), context)
