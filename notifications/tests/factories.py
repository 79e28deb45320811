import factory
from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from notifications.models import Notification


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(BuyerFactory)
    channel = Notification.Channel.INBOX
    kind = "order_paid"
    subject = factory.Sequence(lambda n: f"Order FG{n:05d} is paid")
    body = "The farm has your order and will pack it soon."
    link = "/orders/"
    next_attempt_at = factory.LazyFunction(timezone.now)
