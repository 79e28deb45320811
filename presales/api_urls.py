from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
# The more specific prefixes first, so "orders", "offers" and "memberships" are never read as an id or a code.
router.register("presales/orders", api.PreOrderViewSet, basename="preorder")
router.register("presales", api.PreSaleViewSet, basename="presale")
router.register("groups/offers", api.GroupDealViewSet, basename="group-offer")
router.register("groups/memberships", api.MembershipViewSet, basename="group-membership")
router.register("groups", api.GroupViewSet, basename="group")

urlpatterns = [*router.urls]
