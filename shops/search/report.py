"""Announcing a buyer's catalogue search, from the web pages and the products API alike.

Shops only announces (`shops.signals.search_performed`); whoever listens (the demand board's
search-miss log) decides what to keep. Only real searches are announced: words that parse to no
search terms (empty, or stop words only) filter nothing and are not a search.
"""
from django.utils.translation import get_language

from ..signals import search_performed
from .query import ProductSearch
from .terms import clean_query, parse_query

VIA_WEB, VIA_API = "web", "api"


def report_search(*, query: str, results: int, via: str, category: str = "", province: str = "", user=None,
                  language: str | None = None) -> None:
    """Send `search_performed` for one search that matched `results` products (before paging).

    `category` is a category slug (or ""), `user` the searcher if signed in (receivers decide whether
    to keep anything about them), `language` defaults to the active one.
    """
    words = clean_query(query)
    if not parse_query(words):
        return
    if user is not None and not user.is_authenticated:
        user = None
    search_performed.send(
        sender=ProductSearch, query=words, results=results, category=category or "",
        province=province or "", language=language or get_language() or "", user=user, via=via)
