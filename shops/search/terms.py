"""Search terms: what a product's document holds and what a buyer's query asks for.

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
"""
import re
import unicodedata
from dataclasses import dataclass

import jieba
from django.utils.html import strip_tags
from pypinyin import Style, lazy_pinyin

jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise

_HAN = re.compile(r"[\u4e00-\u9fff]+")
# Letters and digits, Han included, never underscores: PostgreSQL's text parser splits words there.
_WORD = re.compile(r"[^\W_]+")
LATIN_WORD = re.compile(r"[a-z]+")
MAX_QUERY_LENGTH = 100
MAX_GROUPS = 8
FUZZY_MIN_LENGTH = 4
# Words a buyer types around what they want ("a box of apples"); they would otherwise have to match too.
STOP_WORDS = frozenset({"a", "an", "and", "the", "of", "for", "with", "in", "to", "from", "fresh"})


def normalise(text: str) -> str:
    """Full-width to half-width (Ａｐｐｌｅ -> apple), lower case, ü written v as in pinyin input."""
    return unicodedata.normalize("NFKC", text or "").lower().replace("ü", "v")


def clean_query(query: str) -> str:
    """A query as it is reported and counted: normalised, single spaces, at most MAX_QUERY_LENGTH."""
    return " ".join(normalise(query).split())[:MAX_QUERY_LENGTH]


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
    fuzzy = tuple(dict.fromkeys(singular(w) for w in latin if LATIN_WORD.fullmatch(w)
                                and len(singular(w)) >= FUZZY_MIN_LENGTH))
    return ParsedQuery(plans=tuple(plans), fuzzy_words=fuzzy)
