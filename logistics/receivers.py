"""Listening to shops without shops knowing about logistics: the product and shop pages' ratings; and to the removal
of a review (from the admin), after which its products' stars are counted again and its shop's page refreshed."""
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from orders.models import OrderLine, ShopOrder
from shops.cache import shop_page_changed
from shops.signals import product_page, shop_page

from .models import Review
from .selectors import product_rating, product_review_page, shop_rating
from .services import count_product_ratings


@receiver(product_page, dispatch_uid="logistics.product_page_rating")
def load_product_rating(sender, product, reviews_page=None, **kwargs) -> None:
    """The product's average stars (`product.rating`, read by the product_rating tag), as stored on the product; and
    one page of its reviews (`product.reviews`, a Page; ?reviews_page=): one query when it has any."""
    product.rating = product_rating(product)
    product.reviews = product_review_page(product.pk, count=product.rating.count, number=reviews_page)


@receiver(shop_page, dispatch_uid="logistics.shop_page_rating")
def load_shop_rating(sender, shop, **kwargs) -> None:
    """The shop's average stars over its reviews (`shop.rating`, read by its page): one query."""
    shop.rating = shop_rating(shop)


@receiver(post_delete, sender=Review, dispatch_uid="logistics.recount_ratings_after_removal")
def recount_ratings_after_removal(sender, instance: Review, **kwargs) -> None:
    products = list(OrderLine.objects.filter(shop_order_id=instance.shop_order_id).values_list("product_id", flat=True))
    shop_id = ShopOrder.objects.filter(pk=instance.shop_order_id).values_list("shop_id", flat=True).first()

    def recount() -> None:
        count_product_ratings(products)
        if shop_id is not None:
            shop_page_changed(shop_id)

    transaction.on_commit(recount, robust=True)
