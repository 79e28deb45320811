"""Telling staff when the ledger does not reconcile (the daily task and `check_ledger --alert`)."""
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from notifications.services import notify

from . import reconcile


@transaction.atomic
def check_and_alert() -> list[str]:
    problems = reconcile.check()
    if problems:
        listed = "\n".join(problems[:20])
        day = timezone.localdate().isoformat()
        for person in User.objects.filter(is_staff=True, is_active=True):
            notify(recipient=person, kind="ledger_check_failed", link="/admin/ledger/journalentry/",
                   dedupe_key=f"ledger_check:{day}:{person.pk}",
                   subject=lambda: _("The ledger does not reconcile"),
                   body=lambda: _("manage.py check_ledger found %(count)d problem(s):") % {"count": len(problems)}
                   + "\n" + listed)
    return problems
