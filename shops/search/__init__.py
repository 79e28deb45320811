"""Product search that works for Chinese, pinyin and English queries, and the catalogue listings built on it.

    terms       text to search terms: jieba segments, pinyin and initials, singulars; documents and queries
    matching    parsed queries as SQL (tsquery on PostgreSQL, whole-term LIKE elsewhere) and term scores
    typos       close spellings the catalogue uses, for query words it does not know
    query       ProductSearch: one query's filter and relevance ranking (category bonus included)
    categories  CategoryTree: every category from one query, walked in memory
    forms       CatalogueFilterForm: the catalogue pages' GET form
    listing     a catalogue listing: filters, sort, facet counts, links that drop a filter
    report      report_search: announce a search (shops.signals.search_performed), web and API alike

Callers import from `shops.search`; the names below are its public face.
"""
from .categories import CategoryTree
from .forms import (
    PRICE_LIMIT,
    SORT_CHOICES,
    SORT_NEWEST,
    SORT_PRICE_DOWN,
    SORT_PRICE_UP,
    SORT_RELEVANCE,
    CatalogueFilterForm,
)
from .listing import CatalogueResults, catalogue_results, filter_products, removal_links
from .query import CATEGORY_BONUS, ProductSearch, category_terms, filter_by_query
from .report import VIA_API, VIA_WEB, report_search
from .terms import (
    EXTRA_START,
    MAX_QUERY_LENGTH,
    TITLE_END,
    ParsedQuery,
    Term,
    build_document,
    clean_query,
    normalise,
    parse_query,
    singular,
    terms,
)
from .typos import close_words, corrections_for, edits1, vocabulary

__all__ = [
    "CATEGORY_BONUS", "EXTRA_START", "MAX_QUERY_LENGTH", "PRICE_LIMIT", "SORT_CHOICES",
    "SORT_NEWEST", "SORT_PRICE_DOWN", "SORT_PRICE_UP", "SORT_RELEVANCE", "TITLE_END", "VIA_API", "VIA_WEB",
    "CatalogueFilterForm", "CatalogueResults", "CategoryTree", "ParsedQuery", "ProductSearch", "Term",
    "build_document", "catalogue_results", "category_terms", "clean_query", "close_words", "corrections_for",
    "edits1", "filter_by_query", "filter_products", "normalise", "parse_query", "removal_links", "report_search",
    "singular", "terms", "vocabulary",
]
