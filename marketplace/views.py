from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from shops.cache import cache_catalogue_page
from shops.views import home_context as catalogue_home_context
from shops.views import home_scopes


@cache_catalogue_page
def home(request):
    """The catalogue's front page: in season now, new arrivals, provinces, categories."""
    context = catalogue_home_context()
    response = render(request, "home.html", context)
    response.cache_scopes = home_scopes(context)
    return response


@require_POST
def set_language(request):
    """Django's language switch, remembered on the account so notifications use it too."""
    response = django_set_language(request)
    code = request.POST.get("language")
    if request.user.is_authenticated and code in dict(settings.LANGUAGES):
        request.user.language = code
        request.user.save(update_fields=["language"])
    return response
