"""Signals other apps may listen to without shops importing them (arrows point one way)."""
from django.dispatch import Signal

# Sent inside the writing transaction whenever a lot is recorded or changed
# (what="recorded" | "input_applied", lot=..., and details). The trace log listens.
lot_event = Signal()

# Sent after every catalogue search a buyer makes, on the search and category pages (cache hits
# included) and in the products API alike (`shops.search.report_search`), with sender=ProductSearch
# and: query (normalised words), results (how many products matched, before paging), category (a
# category slug or ""), province (or ""), language, user (None when anonymous) and via ("web" or
# "api"). Outside any transaction; a receiver must not break the buyer's page. The demand board
# counts the searches that found nothing.
search_performed = Signal()

# Sent by the product page before it renders, with sender=Product, product=the Product shown and
# reviews_page=the ?reviews_page= asked for (None or any string: a receiver copes with a bad one).
# A higher app whose include shows something on that page (pre-sales, group offers, ratings) loads it
# here in its own queries and sets it on the product (its template tags read that attribute), so the
# page's queries are made by its view, none by its templates.
product_page = Signal()

# Sent by a shop's page before it renders, with sender=Shop and shop=the Shop shown: as `product_page`, for what
# higher apps show on it (the stars of the shop's reviews), set on the shop.
shop_page = Signal()
