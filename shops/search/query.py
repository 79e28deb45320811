"""One buyer query applied to product querysets: `ProductSearch.filter` narrows, `rank` orders.

Relevance is whole numbers: each query word (or its correction) scores 10 in a product's title and
1 elsewhere in its document, and a product whose category (or a parent) is named by the query
gets CATEGORY_BONUS, so 苹果 puts apples before apple-blossom honey.

A ranked page is read in two steps (`RankedQuerySet`): the ids of its rows, ranked and cut in the
product table alone (its narrow rows are what the sort handles, however many match), then those
rows with their shop, village, category and photos. Joining first would carry every match's
joined row through the sort.
"""
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.db.models.query import ModelIterable

from ..cache import held
from ..models import Category
from .matching import filter_plans, term_score
from .terms import ParsedQuery, Term, parse_query, terms
from .typos import corrections_for, with_corrections

CATEGORY_BONUS = 10  # as much as a title match: an apple of any title outranks apple-blossom honey


def _load_category_terms() -> dict[int, frozenset[str]]:
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
    return found


def category_terms() -> dict[int, frozenset[str]]:
    """Each category's search terms, its parents' included (苹果 pingguo apples apple 水果 fruit ...).

    Held by each process until the catalogue's structure changes (a category edit bumps it): no cache
    round trip per search."""
    return held("category-terms", _load_category_terms)


def _categories_matching(words: list[Term]) -> list[int]:
    """Categories whose names (or their parents') hold one of the query's terms."""
    matching = []
    for pk, names in category_terms().items():
        if any(t.text in names or (t.prefix and any(n.startswith(t.text) for n in names)) for t in words):
            matching.append(pk)
    return matching


RANK_ORDER = ("-search_rank", "-created_at", "-id")


class RankedQuerySet(QuerySet):
    """A ranked search whose slices (pages) are read in two steps: ranked ids, then the rows.

    Only while it is still ordered by relevance: a later `order_by` (the API's `?ordering=`) makes it
    an ordinary queryset again. Unsliced, counted or read as values, it is an ordinary queryset too.
    """

    def _ranks_first(self) -> bool:
        return (self._result_cache is None and self.query.is_sliced and self._iterable_class is ModelIterable
                and tuple(self.query.order_by) == RANK_ORDER)

    def _fetch_all(self):
        if not self._ranks_first():
            return super()._fetch_all()
        ranked = list(self.prefetch_related(None).values_list("pk", "search_rank"))
        rows = self.model._base_manager.using(self.db).filter(pk__in=[pk for pk, _rank in ranked]).order_by()
        rows.query.select_related = self.query.select_related
        by_pk = {row.pk: row for row in rows}
        self._result_cache = []
        for pk, rank in ranked:
            row = by_pk.get(pk)
            if row is not None:  # withdrawn between the two reads
                row.search_rank = rank
                self._result_cache.append(row)
        if self._prefetch_related_lookups:
            self._prefetch_related_objects()


def ranked(queryset: QuerySet) -> RankedQuerySet:
    """The same queryset, read in two steps when sliced (see RankedQuerySet)."""
    clone = queryset._chain()
    clone.__class__ = RankedQuerySet  # the same state; only how a slice is read differs
    return clone


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
        return ranked(queryset.annotate(search_rank=score).order_by(*RANK_ORDER))

    def apply(self, queryset: QuerySet) -> QuerySet:
        return self.rank(self.filter(queryset))


def filter_by_query(queryset, query: str):
    """Products matching a buyer's query (Chinese, pinyin or English), most relevant first.

    The queryset comes back unchanged for an empty query.
    """
    return ProductSearch(query).apply(queryset)
