"""Register Farmgate's webhook with a local Stripe-compatible server (localstripe), for the card-payment demo.

localstripe has no dashboard: POST /_config/webhooks/<id> with the endpoint URL and the signing secret is
how it learns where to send events. Stripe itself is configured in its dashboard instead.
"""
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse


class Command(BaseCommand):
    help = "Register SITE_URL/stripe/webhook/ with the local Stripe server at STRIPE_API_BASE."

    def add_arguments(self, parser):
        parser.add_argument("--id", default="farmgate", help="Webhook id on the local server.")
        parser.add_argument("--url", default="", help="Endpoint URL (default: SITE_URL/stripe/webhook/).")

    def handle(self, *args, **options):
        base = settings.STRIPE_API_BASE.rstrip("/")
        if urllib.parse.urlparse(base).hostname in ("api.stripe.com", None):
            raise CommandError("STRIPE_API_BASE points at Stripe itself; register webhooks in its dashboard. "
                               "Set STRIPE_API_BASE=http://127.0.0.1:8420 for the local server.")
        if not settings.STRIPE_WEBHOOK_SECRET:
            raise CommandError("Set STRIPE_WEBHOOK_SECRET first: the local server signs events with it.")
        url = options["url"] or settings.SITE_URL + reverse("stripe-webhook")
        data = urllib.parse.urlencode({"url": url, "secret": settings.STRIPE_WEBHOOK_SECRET}).encode()
        endpoint = f"{base}/_config/webhooks/{urllib.parse.quote(options['id'], safe='')}"
        try:
            with urllib.request.urlopen(endpoint, data=data, timeout=10):  # noqa: S310 (http(s) URL from settings)
                pass
        except (urllib.error.URLError, OSError) as exc:
            raise CommandError(f"Could not reach {endpoint}: {exc}")
        self.stdout.write(self.style.SUCCESS(f"Webhook {options['id']!r} now sends events to {url}"))
