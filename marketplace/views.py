from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache


def home(request):
    return render(request, "home.html")


@never_cache
def health(request):
    """Load balancers poll this: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors: the failure may be in one of them.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
