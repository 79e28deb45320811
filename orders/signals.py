"""Carry an anonymous cart over when its visitor signs in."""
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import services


@receiver(user_logged_in, dispatch_uid="orders.merge_cart_at_sign_in")
def merge_cart_at_sign_in(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is None:
        return
    # The token is session data, so it survives the session key change that sign-in makes.
    token = session.pop(services.CART_SESSION_KEY, None)
    if token:
        services.merge_carts(user=user, token=token)
