from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("villages", api.VillageViewSet, basename="village")
router.register("shops", api.ShopViewSet, basename="shop")
router.register("categories", api.CategoryViewSet, basename="category")
router.register("products", api.ProductViewSet, basename="product")
router.register("lots", api.HarvestLotViewSet, basename="lot")

urlpatterns = router.urls
