import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# What is loaded by now (Django, the apps and their modules) lives as long as the worker: out of the cycle
# collector's reach, a full collection walks only what requests made (about 400,000 objects less; one took
# 110 ms on a catalogue worker, a stall in the middle of some visitor's request).
gc.freeze()
