"""The category tree of the catalogue pages: all categories from one query, walked in memory, and
kept in each process until the catalogue's structure changes (`CategoryTree.current`)."""
from django.utils.functional import cached_property

from ..cache import held
from ..models import Category


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
        return cls(Category.objects.order_by("position", "slug"))

    @classmethod
    def current(cls) -> "CategoryTree":
        """The tree held by this process for the current catalogue version (read-only: shared by requests)."""
        return held("category-tree", cls.load)

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

    @cached_property
    def choice_slugs(self) -> frozenset[str]:
        """The slugs a buyer may filter by: those of `choices()`."""
        return frozenset(slug for slug, _label in self.choices())

    def choices(self) -> list[tuple[str, str]]:
        out = []
        for root in self.roots:
            out.append((root.slug, root.name))
            out.extend((child.slug, f"— {child.name}") for child in self.children.get(root.pk, []))
        return out

