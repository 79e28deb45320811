"""One buyer query applied to product querysets: `ProductSearch.filter` narrows, `rank` orders.

Relevance is whole numbers: each query word (or its correction) scores 10 in a product's title and
1 elsewhere in its document, and a product whose category (or a parent) is named by the query
gets CATEGORY_BONUS, so 苹果 puts apples before apple-blossom honey.
"""
from django.core.cache import cache
from django.db.models import Case, IntegerField, QuerySet, Value, When

from ..models import Category
from .matching import filter_plans, term_score
from .terms import ParsedQuery, Term, parse_query, terms
from .typos import corrections_for, with_corrections

CATEGORY_BONUS = 10  # as much as a title match: an apple of any title outranks apple-blossom honey
CATEGORY_TERMS_TIMEOUT = 10 * 60


def category_terms() -> dict[int, frozenset[str]]:
    """Each category's search terms, its parents' included (苹果 pingguo apples apple 水果 fruit ...).

    Kept ten minutes: categories change with a release, not with every price."""
    found = cache.get("search:category-terms")
    if found is None:
        rows = {pk: (parent, f"{zh} {en}") for pk, parent, zh, en in
                Category.objects.values_list("pk", "parent_id", "name_zh", "name_en")}
        found = {}
        for pk in rows:
            words, current, seen = [], pk, set()
            while current in rows and current not in seen:
                seen.add(current)
                words.append(rows[current][1])
                current = rows[current][0]
            found[pk] = frozenset(terms(" ".join(words)))
        cache.set("search:category-terms", found, timeout=CATEGORY_TERMS_TIMEOUT)
    return found


def _categories_matching(words: list[Term]) -> list[int]:
    """Categories whose names (or their parents') hold one of the query's terms."""
    matching = []
    for pk, names in category_terms().items():
        if any(t.text in names or (t.prefix and any(n.startswith(t.text) for n in names)) for t in words):
            matching.append(pk)
    return matching


class ProductSearch:
    """One buyer query applied to product querysets: `filter` narrows, `rank` orders by relevance.

    Typo tolerance looks words up once per instance, whatever the row count: on PostgreSQL one
    short transaction per query with Latin or pinyin words of four letters or more (an EXISTS per
    word, one more query for a word no product uses), elsewhere the vocabulary (one query per
    catalogue version).
    """

    MAX_FUZZY_WORDS = 3

    def __init__(self, query: str):
        self.query = (query or "").strip()
        self.parsed = parse_query(self.query)
        self._corrections: dict[str, list[str]] | None = None

    def __bool__(self) -> bool:
        return bool(self.parsed)

    @property
    def corrections(self) -> dict[str, list[str]]:
        if self._corrections is None:
            self._corrections = corrections_for(self.parsed.fuzzy_words[:self.MAX_FUZZY_WORDS])
        return self._corrections

    @property
    def effective(self) -> ParsedQuery:
        return with_corrections(self.parsed, self.corrections)

    def filter(self, queryset: QuerySet) -> QuerySet:
        if not self.parsed:
            return queryset
        return filter_plans(queryset, self.effective.plans)

    def rank(self, queryset: QuerySet) -> QuerySet:
        """Annotate `search_rank` (higher is better) and order by it, newest first among equals."""
        if not self.parsed:
            return queryset
        # Each group's words and their corrections; a word's characters (a fallback) do not score.
        scored = list(dict.fromkeys(
            alt[0] for plan in self.effective.plans for group in plan for alt in group if len(alt) == 1))
        # Whole numbers: PostgreSQL adds integers much faster than numerics, on every match.
        parts = [term_score(term) for term in scored]
        # A product of the kind asked for (its category is named so) before one that only mentions it:
        # 苹果 puts apples before apple-blossom honey. One integer test per row.
        categories = _categories_matching(scored)
        if categories:
            parts.append(Case(When(category_id__in=categories, then=Value(CATEGORY_BONUS)),
                              default=Value(0), output_field=IntegerField()))
        score = parts[0] if parts else Value(0, output_field=IntegerField())
        for part in parts[1:]:
            score = score + part
        return queryset.annotate(search_rank=score).order_by("-search_rank", "-created_at", "-id")

    def apply(self, queryset: QuerySet) -> QuerySet:
        return self.rank(self.filter(queryset))


def filter_by_query(queryset, query: str):
    """Products matching a buyer's query (Chinese, pinyin or English), most relevant first.

    The queryset comes back unchanged for an empty query.
    """
    return ProductSearch(query).apply(queryset)
