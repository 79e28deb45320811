"""Parsed queries as SQL: which products match, and how much each query term scores.

PostgreSQL matches with `to_tsvector('simple', search_document) @@ to_tsquery(...)`, served by the
GIN index of migration 0003; other databases match whole terms with LIKE on the space-padded
document. A term scores 10 in the title, 1 elsewhere in the document (its position there, compared
with the title mark), 0 when absent.
"""
from django.db import connection
from django.db.models import BooleanField, Case, F, Func, IntegerField, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf, StrIndex
from django.db.models.lookups import Exact, LessThan

from .terms import TITLE_END, Group, Plan, Term


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


class _TsMatch(Func):
    """to_tsvector('simple', document) @@ to_tsquery('simple', query): the expression the GIN index holds."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    arg_joiner = ") @@ to_tsquery('simple'::regconfig, "
    arity = 2
    output_field = BooleanField()


def tsquery_term(term: Term) -> str:
    quoted = "'" + term.text.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + (":*" if term.prefix else "")


def _tsquery_group(group: Group) -> str:
    return "(" + " | ".join("(" + " & ".join(tsquery_term(t) for t in alt) + ")" for alt in group) + ")"


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


def filter_plans(queryset: QuerySet, plans: tuple[Plan, ...]) -> QuerySet:
    """The products whose documents match any of the plans."""
    if is_postgres():
        return queryset.filter(_TsMatch(F("search_document"), Value(_tsquery(plans))))
    return queryset.alias(**{_PADDED: _padded()}).filter(_like_plans(plans))


class _TermScore(Func):
    """10 when the term is in the title, 1 when it is elsewhere in the document, 0 when absent.

    On PostgreSQL three LIKE tests on the document, each stopping at its first hit: the term before
    the title mark (the common case of a ranked match: one test), absent, or after the mark.
    Ranking runs this on every match, so it avoids STRPOS, which counts characters up to the term
    in a multi-byte document. Documents written before the title mark existed count as all title.
    Elsewhere (SQLite) the positions are compared.
    """

    output_field = IntegerField()

    def __init__(self, term: Term):
        super().__init__(F("search_document"), output_field=IntegerField())
        self.term = term

    def as_sql(self, compiler, connection, **extra):
        document, params = compiler.compile(self.get_source_expressions()[0])
        text = _like_escape(self.term.text)
        mark = f"% {TITLE_END} %"
        sql = (f"CASE WHEN {document} LIKE %s THEN 10 WHEN {document} NOT LIKE %s THEN 0 "
               f"WHEN {document} LIKE %s THEN 1 ELSE 10 END")
        return sql, (*params, f"%{text}%{mark}", *params, f"%{text}%", *params, mark)

    def as_sqlite(self, compiler, connection, **extra):
        document = self.get_source_expressions()[0]  # resolved by now
        position = StrIndex(document, Value(self.term.text))
        # Documents written before the title mark existed count as all title.
        title_end = Coalesce(NullIf(StrIndex(document, Value(f" {TITLE_END} ")), Value(0)),
                             Value(1_000_000))
        fallback = Case(When(Exact(position, Value(0)), then=Value(0)),
                        When(LessThan(position, title_end), then=Value(10)),
                        default=Value(1), output_field=IntegerField())
        return compiler.compile(fallback)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def term_score(term: Term):
    """The term's score for each row, as an integer expression."""
    return _TermScore(term)
