"""Product search that works for Chinese, pinyin and English queries.

Documents. A product's `search_document` holds space-separated terms (`build_document`): jieba's
search-mode segments of the title (烟台红富士苹果 -> 烟台 富士 红富士 苹果), their pinyin (pingguo) and
initials (pg), every two-character window and every single character of the title, lower-cased
Latin words with their singular (apples -> apple), then the same for the description and the
category names. Title terms come first, so a term found early is a central one: that position is
the relevance score, cheap and the same on every database.

Queries (`parse_query`). A query becomes groups that must all match; each group is satisfied by
any of its alternatives (a Chinese word, or all of its characters). Latin words are singularised
and match as a term prefix from three letters (`appl` finds apples; `pg` matches only the term pg,
never pgy). Spaced pinyin also matches joined (`ping guo` -> pingguo).

PostgreSQL matches with `to_tsvector('simple', search_document) @@ to_tsquery(...)`, served by the
GIN index of migration 0003; other databases match whole terms with LIKE on the space-padded
document. Typos in Latin or pinyin words of four letters or more: a word no product on sale uses also
matches the close spellings the catalogue does use (one edit away: a letter dropped, doubled,
changed or two swapped: aple, appel -> apple), found on PostgreSQL with one index-served tsquery
of every such spelling, elsewhere by edit distance over the catalogue's vocabulary.
"""
import bisect
import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

import jieba
from django import forms
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.models import BooleanField, Case, Count, F, Func, IntegerField, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf, StrIndex
from django.db.models.lookups import Exact, LessThan
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from pypinyin import Style, lazy_pinyin

from .cache import catalogue_key

jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise

_HAN = re.compile(r"[\u4e00-\u9fff]+")
# Letters and digits, Han included, never underscores: PostgreSQL's text parser splits words there.
_WORD = re.compile(r"[^\W_]+")
_LATIN_WORD = re.compile(r"[a-z]+")
MAX_QUERY_LENGTH = 100
MAX_GROUPS = 8
FUZZY_MIN_LENGTH = 4
MAX_CORRECTIONS = 5
# Words a buyer types around what they want ("a box of apples"); they would otherwise have to match too.
STOP_WORDS = frozenset({"a", "an", "and", "the", "of", "for", "with", "in", "to", "from", "fresh"})


def normalise(text: str) -> str:
    """Full-width to half-width (Ａｐｐｌｅ -> apple), lower case, ü written v as in pinyin input."""
    return unicodedata.normalize("NFKC", text or "").lower().replace("ü", "v")


def singular(word: str) -> str:
    """The singular of a simple English plural; other words unchanged (pinyin never ends in s)."""
    if len(word) < 4 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"  # cherries -> cherry
    if word.endswith(("ches", "shes", "xes", "sses", "oes")):
        return word[:-2]  # peaches -> peach, tomatoes -> tomato
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# --- Documents -----------------------------------------------------------------------------

def terms(text: str, *, characters: bool = False) -> list[str]:
    """Search terms for a piece of text, in order, without repeats.

    `characters` adds each single Han character, for the title only: 梨 or 茶 must find 库尔勒香梨 and
    明前茶, but the description would make single characters match almost everything.
    """
    out: dict[str, None] = {}

    def add(term: str) -> None:
        if term:
            out.setdefault(term, None)

    def add_latin(word: str) -> None:
        add(word)
        add(singular(word))

    for chunk in _WORD.findall(normalise(text)):
        if not _HAN.search(chunk):
            add_latin(chunk)
            continue
        for word in jieba.cut_for_search(chunk):
            if not _WORD.fullmatch(word):
                continue
            if _HAN.fullmatch(word):
                add(word)
                add("".join(lazy_pinyin(word)))
                if len(word) > 1:
                    add("".join(lazy_pinyin(word, style=Style.FIRST_LETTER)))
            elif _HAN.search(word):
                add(word)
            else:
                add_latin(word)
        for han in _HAN.findall(chunk):
            # Every two-character window, so 富士 matches inside a longer word jieba kept whole.
            for i in range(len(han) - 1):
                add(han[i:i + 2])
            if characters:
                for char in han:
                    add(char)
    return list(out)


# Section marks in a document: neither a query term nor a tsvector lexeme (the parser skips them).
TITLE_END, EXTRA_START = "§", "¶"


def build_document(*, title: str, description: str = "", extra: list[str] | tuple = ()) -> str:
    """The search document: title terms § description terms ¶ extra words (the category names).

    Each section lists a term once; the title comes first, and ranking knows where it ends.
    """
    title_terms = terms(title, characters=True)
    in_title = set(title_terms)
    description_terms = [t for t in terms(strip_tags(description or "")[:500]) if t not in in_title]
    return " ".join([*title_terms, TITLE_END, *description_terms, EXTRA_START, *terms(" ".join(extra))])


# --- Queries -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool = False


# An alternative matches when all of its terms are in the document; a group when any alternative
# does; a plan when all of its groups do; a query when any of its plans does.
Alternative = tuple[Term, ...]
Group = tuple[Alternative, ...]
Plan = tuple[Group, ...]


@dataclass(frozen=True)
class ParsedQuery:
    plans: tuple[Plan, ...]
    fuzzy_words: tuple[str, ...]  # Latin or pinyin words long enough for typo tolerance

    def __bool__(self) -> bool:
        return bool(self.plans)


def _latin_group(word: str) -> Group:
    base = singular(word)
    return ((Term(base, prefix=len(base) >= 3 and not base.isdigit()),),)


def _han_group(word: str) -> Group:
    if len(word) < 3:
        return ((Term(word),),)
    # A longer word jieba did not split as the document did (龙井茶 vs 西湖龙井明前茶) still
    # matches through its characters, which the title holds one by one; exact matches rank first.
    return ((Term(word),), tuple(Term(char) for char in dict.fromkeys(word)))


def parse_query(query: str) -> ParsedQuery:
    text = normalise(query)[:MAX_QUERY_LENGTH]
    groups: list[Group] = []
    latin: list[str] = []
    han_seen = False
    for chunk in _WORD.findall(text):
        if _HAN.search(chunk):
            han_seen = True
            for word in jieba.cut(chunk):
                if not _WORD.fullmatch(word):
                    continue
                if _HAN.search(word):
                    groups.append(_han_group(word))
                elif word not in STOP_WORDS:
                    groups.append(_latin_group(word))
        elif chunk not in STOP_WORDS:
            latin.append(chunk)
            groups.append(_latin_group(chunk))
    groups = list(dict.fromkeys(groups))[:MAX_GROUPS]
    if not groups:
        return ParsedQuery(plans=(), fuzzy_words=())
    plans: list[Plan] = [tuple(groups)]
    joined = "".join(latin)
    if not han_seen and len(latin) > 1 and joined.isalpha() and len(joined) <= 40:
        # Pinyin typed with spaces: 'ping guo' must also find the document term 'pingguo'.
        plans.append(((((Term(joined, prefix=True),),)),))
    fuzzy = tuple(dict.fromkeys(singular(w) for w in latin if _LATIN_WORD.fullmatch(w)
                                and len(singular(w)) >= FUZZY_MIN_LENGTH))
    return ParsedQuery(plans=tuple(plans), fuzzy_words=fuzzy)


# --- Matching ------------------------------------------------------------------------------

class _TsMatch(Func):
    """to_tsvector('simple', document) @@ to_tsquery('simple', query): the expression the GIN index holds."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    arg_joiner = ") @@ to_tsquery('simple'::regconfig, "
    arity = 2
    output_field = BooleanField()


def _tsquery_term(term: Term) -> str:
    quoted = "'" + term.text.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + (":*" if term.prefix else "")


def _tsquery_group(group: Group) -> str:
    return "(" + " | ".join("(" + " & ".join(_tsquery_term(t) for t in alt) + ")" for alt in group) + ")"


def _tsquery(plans) -> str:
    return " | ".join("(" + " & ".join(_tsquery_group(g) for g in plan) + ")" for plan in plans)


_PADDED = "_search_padded"


def _padded():
    return Concat(Value(" "), F("search_document"), Value(" "), output_field=TextField())


def _term_pattern(term: Term) -> str:
    # Whole terms only: ' pg ' never matches inside ' pgy '; a prefix term may run on.
    return f" {term.text}" + ("" if term.prefix else " ")


def _like_plans(plans) -> Q:
    condition = Q()
    for plan in plans:
        each_plan = Q()
        for group in plan:
            each_group = Q()
            for alt in group:
                each_alt = Q()
                for term in alt:
                    each_alt &= Q(**{f"{_PADDED}__contains": _term_pattern(term)})
                each_group |= each_alt
            each_plan &= each_group
        condition |= each_plan
    return condition


class _TermScore(Func):
    """10 when the term is in the title, 1 when it is elsewhere in the document, 0 when absent.

    Arguments: the term's position in the document (0 when absent) and where the title ends.
    PostgreSQL's simple CASE over width_bucket (1: in the title, 2: after it, 0: absent) computes
    the position once per row; ranking touches every match, so that counts. A plain substring
    position: the filter has already matched whole terms.
    """

    template = "CASE width_bucket(%(expressions)s, 1) WHEN 1 THEN 10 WHEN 2 THEN 1 ELSE 0 END"
    arg_joiner = ", 1, "
    arity = 2
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        position, title_end = self.get_source_expressions()
        fallback = Case(When(Exact(position, Value(0)), then=Value(0)),
                        When(LessThan(position, title_end), then=Value(10)),
                        default=Value(1), output_field=IntegerField())
        return compiler.compile(fallback)


def _term_score(term: Term):
    # Documents written before the title mark existed count as all title.
    title_end = Coalesce(NullIf(StrIndex(F("search_document"), Value(f" {TITLE_END} ")), Value(0)),
                         Value(1_000_000))
    return _TermScore(StrIndex(F("search_document"), Value(term.text)), title_end)


CATEGORY_BONUS = 10  # as much as a title match: an apple of any title outranks apple-blossom honey
CATEGORY_TERMS_TIMEOUT = 10 * 60


def category_terms() -> dict[int, frozenset[str]]:
    """Each category's search terms, its parents' included (苹果 pingguo apples apple 水果 fruit ...).

    Kept ten minutes: categories change with a release, not with every price."""
    from .models import Category

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


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap counts once), giving up above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def edits1(word: str) -> set[str]:
    """Every word one edit from `word`: a letter dropped, swapped with the next, changed or added."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changes = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return (deletes | swaps | changes | inserts) - {word}


def vocabulary() -> dict[str, int]:
    """Latin and pinyin terms of the products on sale, with the number of products using each;
    kept per catalogue version (the typo fallback off PostgreSQL)."""
    from .models import Product

    key = catalogue_key("search-vocabulary")
    words = cache.get(key)
    if words is None:
        counts: dict[str, int] = {}
        for document in Product.objects.filter(is_active=True).values_list("search_document", flat=True).iterator():
            for word in set(document.split()):
                if len(word) >= 3 and _LATIN_WORD.fullmatch(word):
                    counts[word] = counts.get(word, 0) + 1
        words = dict(sorted(counts.items()))
        cache.set(key, words, timeout=3600)
    return words


def _likeliest(counts: dict[str, int]) -> list[str]:
    """The spellings most products use; one used by a fifth as many products as the best is noise."""
    if not counts:
        return []
    best = max(counts.values())
    ranked = sorted((w for w, n in counts.items() if n * 5 >= best), key=lambda w: (-counts[w], w))
    return ranked[:MAX_CORRECTIONS]


def close_words(word: str, words: dict[str, int]) -> list[str]:
    """Vocabulary words at the smallest edit distance (one, or two from six letters) of a word the
    vocabulary lacks, most used first."""
    ordered = list(words)
    index = bisect.bisect_left(ordered, word)
    if index < len(ordered) and ordered[index].startswith(word):
        return []  # the word, or a longer term starting with it, exists: no typo
    budget = 1 if len(word) < 6 else 2
    by_distance: dict[int, dict[str, int]] = {}
    for candidate, n in words.items():
        distance = _edit_distance(word, candidate, budget)
        if distance <= budget:
            by_distance.setdefault(distance, {})[candidate] = n
    return _likeliest(by_distance[min(by_distance)]) if by_distance else []


_CANDIDATE_DOCUMENTS = 200


def _postgres_corrections(words) -> dict[str, list[str]]:
    """For each word no product uses, the spellings one edit away that products use, most frequent first.

    Per word: one EXISTS for the word itself (as a prefix), and for an unknown word one tsquery of
    every spelling one edit away, whose first 200 documents say which spellings exist. The GIN
    index must answer both: a planner that overestimates a few hundred OR'd lexemes, or hopes to
    meet an unknown word early, would compute every row's tsvector instead. So this transaction
    turns sequential and plain index scans off, leaving the bitmap scan of the search index.
    """
    from django.db import transaction

    match = ("SELECT search_document FROM shops_product WHERE "
             "to_tsvector('simple'::regconfig, search_document) @@ to_tsquery('simple'::regconfig, %s) LIMIT %s")
    found: dict[str, list[str]] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)")
        for word in words:
            cursor.execute(match, [_tsquery_term(Term(word, prefix=True)), 1])
            if cursor.fetchone():
                continue
            variants = edits1(word)
            cursor.execute(match, [" | ".join(_tsquery_term(Term(v)) for v in sorted(variants)), _CANDIDATE_DOCUMENTS])
            counts: dict[str, int] = {}
            for (document,) in cursor.fetchall():
                for term in set(document.split()) & variants:
                    counts[term] = counts.get(term, 0) + 1
            if counts:
                found[word] = _likeliest(counts)
    return found


CORRECTIONS_TIMEOUT = 60 * 60


def _corrections_key(word: str) -> str:
    return "search:corrections:" + hashlib.sha256(word.encode()).hexdigest()[:32]


def corrections_for(words) -> dict[str, list[str]]:
    """Close spellings the catalogue uses, for each query word it does not know (typo tolerance).

    Kept an hour per word: the word itself always stays an alternative, so a stale answer can
    only miss a new spelling for a while, never an exact match.
    """
    if not words:
        return {}
    cached = cache.get_many([_corrections_key(w) for w in words])
    found = {w: cached[_corrections_key(w)] for w in words if _corrections_key(w) in cached}
    missing = [w for w in words if w not in found]
    if missing:
        if _is_postgres():
            fresh = _postgres_corrections(missing)
        else:
            known = vocabulary()
            fresh = {w: close_words(w, known) for w in missing}
        fresh = {w: fresh.get(w, []) for w in missing}
        cache.set_many({_corrections_key(w): c for w, c in fresh.items()}, timeout=CORRECTIONS_TIMEOUT)
        found.update(fresh)
    return {w: c for w, c in found.items() if c}


def _with_corrections(parsed: ParsedQuery, corrections: dict[str, list[str]]) -> ParsedQuery:
    """Each corrected word's group also matches its close spellings."""
    if not corrections:
        return parsed
    plans = []
    for plan in parsed.plans:
        groups = []
        for group in plan:
            extra = tuple((Term(c),) for alt in group for t in alt for c in corrections.get(t.text, ()))
            groups.append(group + extra)
        plans.append(tuple(groups))
    return ParsedQuery(plans=tuple(plans), fuzzy_words=parsed.fuzzy_words)


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
        return _with_corrections(self.parsed, self.corrections)

    def filter(self, queryset: QuerySet) -> QuerySet:
        if not self.parsed:
            return queryset
        plans = self.effective.plans
        if _is_postgres():
            return queryset.filter(_TsMatch(F("search_document"), Value(_tsquery(plans))))
        return queryset.alias(**{_PADDED: _padded()}).filter(_like_plans(plans))

    def rank(self, queryset: QuerySet) -> QuerySet:
        """Annotate `search_rank` (higher is better) and order by it, newest first among equals."""
        if not self.parsed:
            return queryset
        # Each group's words and their corrections; a word's characters (a fallback) do not score.
        scored = list(dict.fromkeys(
            alt[0] for plan in self.effective.plans for group in plan for alt in group if len(alt) == 1))
        # Whole numbers: PostgreSQL adds integers much faster than numerics, on every match.
        parts = [_term_score(term) for term in scored]
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


# --- Not found -----------------------------------------------------------------------------

def _clean_logged_query(query: str) -> str:
    return " ".join(normalise(query).split())[:MAX_QUERY_LENGTH]


def record_empty_search(query: str, category: str = "", province: str = "") -> None:
    """Count a search that found nothing: only the words, the category and the province filter, never who
    searched. Kept per day in demand.SearchLog, which the seller insights read.

    A failed write loses one count, never the buyer's page.
    """
    from demand.services import record_search_miss  # demand builds on shops, so it is imported late

    try:
        record_search_miss(query=_clean_logged_query(query), category=category or "", province=province or "")
    except DatabaseError:
        logging.getLogger(__name__).exception("Could not count a search that found nothing")


def empty_search_count(query: str, category: str = "") -> int:
    from demand.selectors import search_miss_count

    return search_miss_count(_clean_logged_query(query), category or "")


def empty_searches() -> list[tuple[str, str, int]]:
    """(query, category slug, count) of the recent searches that found nothing, most counted first."""
    from demand.selectors import recent_search_misses

    return recent_search_misses()


# --- Catalogue filters and facets ----------------------------------------------------------

class CategoryTree:
    """All categories from one query (the table is small), with parents, children and descendants."""

    def __init__(self, categories):
        self.all = list(categories)
        self.by_id = {c.pk: c for c in self.all}
        self.by_slug = {c.slug: c for c in self.all}
        self.children: dict[int | None, list] = {}
        for category in self.all:
            self.children.setdefault(category.parent_id, []).append(category)

    @classmethod
    def load(cls) -> "CategoryTree":
        from .models import Category

        return cls(Category.objects.order_by("position", "slug"))

    @property
    def roots(self) -> list:
        return self.children.get(None, [])

    def descendant_ids(self, category) -> list[int]:
        ids, stack = [], [category]
        while stack:
            current = stack.pop()
            ids.append(current.pk)
            stack.extend(self.children.get(current.pk, []))
        return ids

    def ancestors(self, category) -> list:
        """The category's parents, root first (for breadcrumbs)."""
        chain, current = [], self.by_id.get(category.parent_id)
        while current is not None and current not in chain:
            chain.insert(0, current)
            current = self.by_id.get(current.parent_id)
        return chain

    def root_of(self, category_id: int):
        current = self.by_id.get(category_id)
        while current is not None and current.parent_id in self.by_id:
            current = self.by_id[current.parent_id]
        return current

    def choices(self) -> list[tuple[str, str]]:
        out = []
        for root in self.roots:
            out.append((root.slug, root.name))
            out.extend((child.slug, f"— {child.name}") for child in self.children.get(root.pk, []))
        return out


SORT_RELEVANCE, SORT_NEWEST, SORT_PRICE_UP, SORT_PRICE_DOWN = "relevance", "newest", "price", "-price"
SORT_CHOICES = [
    (SORT_RELEVANCE, _("Best match")),
    (SORT_NEWEST, _("Newest")),
    (SORT_PRICE_UP, _("Price: low to high")),
    (SORT_PRICE_DOWN, _("Price: high to low")),
]
PRICE_LIMIT = Decimal("100000")


class CatalogueFilterForm(forms.Form):
    """The search and category pages' GET form; an invalid field shows its error and is ignored."""

    q = forms.CharField(label=_("Search for"), max_length=MAX_QUERY_LENGTH, required=False,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("apples, 苹果, pingguo")}))
    category = forms.ChoiceField(label=_("Category"), required=False)
    province = forms.CharField(label=_("Province"), max_length=30, required=False)
    min_price = forms.DecimalField(label=_("Lowest price (¥)"), min_value=0, max_value=PRICE_LIMIT,
                                   decimal_places=2, required=False,
                                   widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))
    max_price = forms.DecimalField(label=_("Highest price (¥)"), min_value=0, max_value=PRICE_LIMIT,
                                   decimal_places=2, required=False,
                                   widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))
    in_stock = forms.BooleanField(label=_("In stock"), required=False)
    certified = forms.BooleanField(label=_("Certified (organic, green food or geographical indication)"),
                                   required=False)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    def __init__(self, data, *, tree: CategoryTree, fixed_category=None):
        super().__init__(data)
        self.tree = tree
        self.fixed_category = fixed_category
        if fixed_category is not None:
            del self.fields["category"]
        else:
            self.fields["category"].choices = [("", _("All categories")), *tree.choices()]

    def clean(self):
        data = super().clean()
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", _("The highest price must not be below the lowest."))
        return data

    def value(self, name: str, default=None):
        """A field's cleaned value, or the default when it was empty or invalid."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        value = self.cleaned_data.get(name)
        return default if value in (None, "") else value

    @property
    def selected_category(self):
        if self.fixed_category is not None:
            return self.fixed_category
        return self.tree.by_slug.get(self.value("category", ""))

    @property
    def chosen_sort(self) -> str:
        sort = self.value("sort", "")
        if not sort or (sort == SORT_RELEVANCE and not self.value("q")):
            return SORT_RELEVANCE if self.value("q") else SORT_NEWEST
        return sort


def filter_products(queryset: QuerySet, *, category_ids=None, province: str = "", min_price=None,
                    max_price=None, in_stock: bool = False, certified: bool = False) -> QuerySet:
    if category_ids is not None:
        queryset = queryset.filter(category_id__in=category_ids)
    if province:
        queryset = queryset.filter(shop__village__province=province)
    if min_price is not None:
        queryset = queryset.filter(price__gte=min_price)
    if max_price is not None:
        queryset = queryset.filter(price__lte=max_price)
    if in_stock:
        queryset = queryset.filter(stock__gte=F("min_order"))
    if certified:
        queryset = queryset.filter(Q(organic=True) | Q(green_food=True) | Q(geographical_indication=True))
    return queryset


FACET_COUNT_LIMIT = 2000  # above this many results, facet counts would cost more than the page


@dataclass
class CatalogueResults:
    """A listing's products (filtered, searched, sorted) and, once counted, its facets."""

    form: CatalogueFilterForm
    base: QuerySet  # the public products, before any filter
    search: ProductSearch
    products: QuerySet  # ready for the paginator
    category_counts: dict = field(default_factory=dict)  # category id -> products, descendants included
    province_counts: dict = field(default_factory=dict)  # province -> products
    counted: bool = False
    category_options: list = field(default_factory=list)  # (slug, label, count or None, selected)
    province_options: list = field(default_factory=list)  # (province, count or None, selected)

    def _filtered(self, *, category: bool, province: bool) -> QuerySet:
        form = self.form
        ids = None
        if category and form.selected_category is not None:
            ids = form.tree.descendant_ids(form.selected_category)
        elif form.fixed_category is not None:
            ids = form.tree.descendant_ids(form.fixed_category)  # the category page never leaves its category
        queryset = filter_products(
            _plain(self.base), category_ids=ids, province=form.value("province", "") if province else "",
            min_price=form.value("min_price"), max_price=form.value("max_price"),
            in_stock=bool(form.value("in_stock", False)), certified=bool(form.value("certified", False)))
        return self.search.filter(queryset)

    def count_facets(self, total: int) -> None:
        """Count products per category and per province, each with every other filter applied.

        One GROUP BY query when neither facet is chosen, two when one is; none above
        FACET_COUNT_LIMIT results, where the options are listed without counts (one small query).
        """
        form = self.form
        category_chosen = form.fixed_category is None and form.selected_category is not None
        province_chosen = bool(form.value("province", ""))
        by_category: dict = {}
        if total <= FACET_COUNT_LIMIT:
            self.counted = True
            if not category_chosen and not province_chosen:
                rows = (self._filtered(category=True, province=True)
                        .values_list("category_id", "shop__village__province").annotate(n=Count("id")))
                for category_id, province, n in rows:
                    by_category[category_id] = by_category.get(category_id, 0) + n
                    self.province_counts[province] = self.province_counts.get(province, 0) + n
            else:
                rows = self._filtered(category=False, province=True).values_list("category_id").annotate(n=Count("id"))
                by_category = dict(rows)
                rows = (self._filtered(category=True, province=False)
                        .values_list("shop__village__province").annotate(n=Count("id")))
                self.province_counts = dict(rows)
        else:
            from .models import Village

            provinces = (Village.objects.filter(shops__is_open=True).values_list("province", flat=True)
                         .distinct().order_by("province"))
            self.province_counts = dict.fromkeys(provinces)
        for category_id, n in by_category.items():
            node = form.tree.by_id.get(category_id)
            while node is not None:
                self.category_counts[node.pk] = self.category_counts.get(node.pk, 0) + n
                node = form.tree.by_id.get(node.parent_id)
        self._options()

    def _options(self) -> None:
        form = self.form
        chosen_category = form.data.get("category", "")
        if form.fixed_category is None:
            self.category_options = [
                (slug, label, self.count_or_none(self.category_counts.get(form.tree.by_slug[slug].pk)),
                 slug == chosen_category)
                for slug, label in form.tree.choices()]
        chosen = form.value("province", "")
        names = sorted({*self.province_counts, *([chosen] if chosen else [])} - {None, ""})
        self.province_options = [(name, self.count_or_none(self.province_counts.get(name)), name == chosen)
                                 for name in names]

    def count_or_none(self, n):
        """A facet count for display: None when the facets were too many to count."""
        return (n or 0) if self.counted else None


def _plain(queryset: QuerySet) -> QuerySet:
    return queryset.select_related(None).prefetch_related(None).order_by()


def catalogue_results(queryset: QuerySet, form: CatalogueFilterForm) -> CatalogueResults:
    """Apply the form's valid filters, the search and the sort; the facets are counted afterwards
    (`count_facets`), once the paginator knows how many products matched."""
    search = ProductSearch(form.value("q", ""))
    category = form.selected_category
    products = search.filter(filter_products(
        queryset, category_ids=form.tree.descendant_ids(category) if category is not None else None,
        province=form.value("province", ""), min_price=form.value("min_price"), max_price=form.value("max_price"),
        in_stock=bool(form.value("in_stock", False)), certified=bool(form.value("certified", False))))
    sort = form.chosen_sort
    if sort == SORT_RELEVANCE and search:
        products = search.rank(products)
    elif sort == SORT_PRICE_UP:
        products = products.order_by("price", "-id")
    elif sort == SORT_PRICE_DOWN:
        products = products.order_by("-price", "-id")
    else:
        products = products.order_by("-created_at", "-id")
    return CatalogueResults(form=form, base=queryset, search=search, products=products)


def removal_links(params, form: CatalogueFilterForm) -> list[tuple[str, str]]:
    """(label, query string) that drop one active filter each: what an empty result page suggests."""
    labels = {
        "category": lambda: _("Category: %(name)s") % {"name": form.selected_category.name},
        "province": lambda: _("Province: %(name)s") % {"name": form.value("province")},
        "min_price": lambda: _("Price from ¥%(amount)s") % {"amount": form.value("min_price")},
        "max_price": lambda: _("Price up to ¥%(amount)s") % {"amount": form.value("max_price")},
        "in_stock": lambda: _("In stock only"),
        "certified": lambda: _("Certified only"),
    }
    links = []
    for name, label in labels.items():
        if name not in form.fields or form.value(name) in (None, "", False):
            continue
        if name == "category" and form.selected_category is None:
            continue
        remaining = params.copy()
        remaining.pop(name, None)
        remaining.pop("page", None)
        links.append((label(), "?" + remaining.urlencode()))
    return links
