"""Typo tolerance: close spellings the catalogue uses, for query words it does not know.

Typos in Latin or pinyin words of four letters or more: a word no product on sale uses also
matches the close spellings the catalogue does use (one edit away: a letter dropped, doubled,
changed or two swapped: aple, appel -> apple), found on PostgreSQL with one index-served tsquery
of every such spelling, elsewhere by edit distance over the catalogue's vocabulary.
"""
import bisect
import hashlib

from django.core.cache import cache
from django.db import connection, transaction

from ..cache import catalogue_key
from ..models import Product
from .matching import is_postgres, tsquery_term
from .terms import LATIN_WORD, ParsedQuery, Term

MAX_CORRECTIONS = 5


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
    key = catalogue_key("search-vocabulary")
    words = cache.get(key)
    if words is None:
        counts: dict[str, int] = {}
        for document in Product.objects.filter(is_active=True).values_list("search_document", flat=True).iterator():
            for word in set(document.split()):
                if len(word) >= 3 and LATIN_WORD.fullmatch(word):
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
    match = ("SELECT search_document FROM shops_product WHERE "
             "to_tsvector('simple'::regconfig, search_document) @@ to_tsquery('simple'::regconfig, %s) LIMIT %s")
    found: dict[str, list[str]] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)")
        for word in words:
            cursor.execute(match, [tsquery_term(Term(word, prefix=True)), 1])
            if cursor.fetchone():
                continue
            variants = edits1(word)
            cursor.execute(match, [" | ".join(tsquery_term(Term(v)) for v in sorted(variants)), _CANDIDATE_DOCUMENTS])
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
        if is_postgres():
            fresh = _postgres_corrections(missing)
        else:
            known = vocabulary()
            fresh = {w: close_words(w, known) for w in missing}
        fresh = {w: fresh.get(w, []) for w in missing}
        cache.set_many({_corrections_key(w): c for w, c in fresh.items()}, timeout=CORRECTIONS_TIMEOUT)
        found.update(fresh)
    return {w: c for w, c in found.items() if c}


def with_corrections(parsed: ParsedQuery, corrections: dict[str, list[str]]) -> ParsedQuery:
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
