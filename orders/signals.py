"""Carry an anonymous cart over when its visitor signs in, and keep what changed so they can undo it."""
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import services

# What a sign-in merge changed, kept in the session for the cart and checkout pages and their Undo button.
CART_MERGE_SESSION_KEY = "orders_cart_merge"


@receiver(user_logged_in, dispatch_uid="orders.merge_cart_at_sign_in")
def merge_cart_at_sign_in(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is None:
        return
    # The token is session data, so it survives the session key change that sign-in makes.
    token = session.pop(services.CART_SESSION_KEY, None)
    session.pop(CART_MERGE_SESSION_KEY, None)
    if not token:
        return
    merge = services.merge_carts(user=user, token=token)
    if merge is not None and merge.changed:
        session[CART_MERGE_SESSION_KEY] = {
            "before": [[pk, quantity] for pk, quantity in merge.before.items()],
            "added": [list(line) for line in merge.added],
            "raised": [list(line) for line in merge.raised],
        }
