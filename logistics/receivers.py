"""Listening to shops without shops knowing about logistics: the product page's rating; and to the removal of a
review (from the admin), after which its products' stars are counted again."""
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from orders.models import OrderLine
from shops.signals import product_page

from .models import Review
from .selectors import product_rating, product_review_page
from .services import count_product_ratings


@receiver(product_page, dispatch_uid="logistics.product_page_rating")
def load_product_rating(sender, product, reviews_page=None, **kwargs) -> None:
    """The product's average stars (`product.rating`, read by the product_rating tag), as stored on the product; and
    one page of its reviews (`product.reviews`, a Page; ?reviews_page=): one query when it has any."""
    product.rating = product_rating(product)
    product.reviews = product_review_page(product.pk, count=product.rating.count, number=reviews_page)


@receiver(post_delete, sender=Review, dispatch_uid="logistics.recount_ratings_after_removal")
def recount_ratings_after_removal(sender, instance: Review, **kwargs) -> None:
    products = list(OrderLine.objects.filter(shop_order_id=instance.shop_order_id).values_list("product_id", flat=True))
    transaction.on_commit(lambda: count_product_ratings(products), robust=True)
