"""Listening to shops without shops knowing about logistics: the product page's rating."""
from django.dispatch import receiver

from shops.signals import product_page

from .selectors import product_ratings, product_review_page


@receiver(product_page, dispatch_uid="logistics.product_page_rating")
def load_product_rating(sender, product, reviews_page=None, **kwargs) -> None:
    """The product's average stars (`product.rating`, read by the product_rating tag): one query; and one page
    of its reviews (`product.reviews`, a Page; ?reviews_page=): one more query when it has any."""
    product.rating = product_ratings([product.pk])[product.pk]
    product.reviews = product_review_page(product.pk, count=product.rating.count, number=reviews_page)
