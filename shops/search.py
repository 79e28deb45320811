"""Search words for products, so that Chinese, pinyin and English queries all find them.

A product's `search_document` holds space-separated terms: jieba's segments of the title
(search mode, so 烟台红富士苹果 also yields 苹果), single Han characters for the title, the
pinyin of each segment (pingguo) and its initials, lower-cased English words, and the category
names. PostgreSQL indexes it as a `simple` tsvector; SQLite matches the same terms with LIKE.
"""
import re

import jieba
from pypinyin import Style, lazy_pinyin

jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise

_HAN = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[\w\u4e00-\u9fff]+", re.UNICODE)


def terms(text: str) -> list[str]:
    """Search terms for a piece of text, in order, without repeats."""
    out: list[str] = []
    seen: set[str] = set()

    def add(term: str) -> None:
        term = term.strip().lower()
        if term and term not in seen:
            seen.add(term)
            out.append(term)

    for chunk in _WORD.findall(text or ""):
        if _HAN.search(chunk):
            for word in jieba.cut_for_search(chunk):
                if not _WORD.fullmatch(word):
                    continue
                add(word)
                if _HAN.fullmatch(word):
                    add("".join(lazy_pinyin(word)))
                    if len(word) > 1:
                        add("".join(lazy_pinyin(word, style=Style.FIRST_LETTER)))
            # Every two-character window too, so a query such as 富士 matches inside a long word.
            for han in _HAN.findall(chunk):
                for i in range(len(han) - 1):
                    add(han[i:i + 2])
        else:
            add(chunk)
    return out


def build_document(*, title: str, description: str = "", extra: list[str] | tuple = ()) -> str:
    return " ".join(terms(" ".join([title, title, description[:500], *extra])))


def query_terms(query: str) -> list[str]:
    """The terms of a query that a document must all contain (pinyin runs together: 'ping guo' -> 'pingguo')."""
    query = (query or "").strip()[:100]
    if not query:
        return []
    if not _HAN.search(query) and re.fullmatch(r"[a-zA-Z ]+", query):
        words = query.lower().split()
        joined = "".join(words)
        # Spaced pinyin ('ping guo') is also tried joined; the caller decides how to combine.
        return words if len(words) == 1 else [*words, joined]
    found = []
    for chunk in _WORD.findall(query):
        if _HAN.search(chunk):
            found.extend(w for w in jieba.cut(chunk) if _WORD.fullmatch(w))
        else:
            found.append(chunk.lower())
    return found


def filter_by_query(queryset, query: str):
    """Products whose search document holds every query term (spaced pinyin may also match joined).

    Works on any database by matching whole terms inside the space-separated document.
    """
    from django.db.models import Q

    words = query_terms(query)
    if not words:
        return queryset
    if len(words) > 1 and re.fullmatch(r"[a-z]+", words[-1]) and words[-1] == "".join(words[:-1]):
        spaced, joined = words[:-1], words[-1]
        each = Q()
        for word in spaced:
            each &= Q(search_document__contains=word)
        return queryset.filter(each | Q(search_document__contains=joined))
    condition = Q()
    for word in words:
        condition &= Q(search_document__contains=word)
    return queryset.filter(condition)
