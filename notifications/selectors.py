"""Reads of the outbox, scoped to the requesting user: nobody sees another person's messages."""
from django.db.models import F, QuerySet

from .models import Notification


def inbox_for(user) -> QuerySet[Notification]:
    """The user's in-site messages, unread first, newest first within each group."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user, channel=Notification.Channel.INBOX).order_by(
        F("read_at").desc(nulls_first=True), "-created_at", "-id"
    )


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(
        recipient=user, channel=Notification.Channel.INBOX, read_at__isnull=True
    ).count()
