"""Listening to shops without shops knowing about logistics: the product page's rating."""
from django.dispatch import receiver

from shops.signals import product_page

from .selectors import product_ratings


@receiver(product_page, dispatch_uid="logistics.product_page_rating")
def load_product_rating(sender, product, **kwargs) -> None:
    """The product's average stars (`product.rating`, read by the product_rating tag): one query."""
    product.rating = product_ratings([product.pk])[product.pk]
