"""Reads scoped to the requesting user: the one place that says whose rows a user may see."""
from django.db.models import QuerySet

from .models import Address, User


def addresses_for(user: User) -> QuerySet[Address]:
    if not user.is_authenticated:
        return Address.objects.none()
    return Address.objects.filter(user=user)
