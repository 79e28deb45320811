from django.utils.functional import SimpleLazyObject

from . import selectors


def unread_count(request):
    """`notifications_unread`: the signed-in user's unread inbox count, counted only if a
    template actually shows it (and then once per request)."""
    user = getattr(request, "user", None)
    if user is None:
        return {"notifications_unread": 0}
    return {"notifications_unread": SimpleLazyObject(lambda: selectors.unread_count(user))}
