"""The inbox page. Thin: selectors read, services write."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services

PAGE_SIZE = 20


@login_required
@require_GET
def inbox(request):
    page = Paginator(selectors.inbox_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page, "notifications": page.object_list})


@login_required
@require_GET
def open_notification(request, pk: int):
    """Following a message marks it read and goes where it points (or back to the inbox)."""
    notification = get_object_or_404(selectors.inbox_for(request.user), pk=pk)
    services.mark_read(notification=notification, user=request.user)
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()):
        return redirect(link)
    return redirect("notifications:inbox")


@login_required
@require_POST
def read_all(request):
    count = services.mark_all_read(user=request.user)
    if count:
        messages.success(request, _("All messages are marked as read."))
    return redirect("notifications:inbox")
