from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("boxes", api.BoxViewSet, basename="box")
router.register("subscriptions", api.SubscriptionViewSet, basename="subscription")

urlpatterns = [*router.urls]
