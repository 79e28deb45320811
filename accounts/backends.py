"""Django's username-and-password check behind the sign-in guard of accounts.signin."""
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from core.net import client_ip

from . import signin


class GuardedModelBackend(ModelBackend):
    """ModelBackend, refusing attempts the per-username back-off or the per-address cap holds back.

    A refusal raises PermissionDenied, which stops `authenticate()`, and flags the request the way django-axes
    flags its own lockout (`axes_locked_out`): axes then neither counts the attempt against the address nor lets
    the view answer; its middleware answers with `signin.lockout_response` (429, Retry-After).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or password is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        name = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD, "")
        address = client_ip(request)
        refused = signin.refusal(name or "", address)
        if refused is not None:
            request.signin_refusal = refused
            request.axes_locked_out = True
            raise PermissionDenied(refused.message)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            signin.record_failure(name or "", address)
        else:
            signin.record_success(user, address)
        return user
