"""Demo standing orders: a weekly vegetable box of 三元朱村绿色蔬菜合作社 with two subscribers (one paying by cash on
delivery, one paused), and the farm's choice box of 老刘家大棚. Idempotent: a box is found by shop and title."""
from decimal import Decimal

from accounts.models import Address, User
from accounts.services import create_address
from shops.models import Shop

from . import services
from .models import Box, Subscription


def _box(shop: Shop, title: str, **kwargs) -> Box:
    box = Box.objects.filter(shop=shop, title=title).first()
    return box or services.create_box(shop=shop, actor=shop.owner, title=title, **kwargs)


def _subscribe(box: Box, username: str, pause: bool = False) -> None:
    buyer = User.objects.filter(username=username).first()
    if buyer is None or Subscription.objects.filter(box=box, buyer=buyer).exists():
        return
    address = Address.objects.filter(user=buyer).first() or create_address(
        user=buyer, name=buyer.get_full_name() or buyer.username, phone="13900139000", province="浙江省",
        city="杭州市", district="西湖区", line="文三路 90 号", postal_code="310012")
    subscription = services.subscribe(buyer=buyer, box=box, address=address)
    if pause:
        services.pause_subscription(subscription=subscription, actor=buyer)


def load(out) -> None:
    coop = Shop.objects.filter(name="三元朱村绿色蔬菜合作社").first()
    farm = Shop.objects.filter(name="老刘家大棚").first()
    if coop is None or farm is None:
        return
    products = {p.title: p for p in coop.products.filter(pricing="unit")}
    items = [(products[title], qty) for title, qty in (("寿光粉番茄", 2), ("圆茄子", 1), ("油豆角", 2))
             if title in products]
    veg = _box(coop, "每周时令菜箱", items=items, cutoff_weekday=0, delivery_weekday=3, capacity=30,
               description="每周一截单，周四送到：番茄、茄子、豆角。")
    tomatoes = farm.products.filter(pricing="unit").order_by("id").first()
    if tomatoes is not None:
        _box(farm, "老刘家隔周惊喜箱", kind=Box.Kind.FARM_CHOICE, items=[(tomatoes, 1)], price=Decimal("58.00"),
             frequency=Box.Frequency.FORTNIGHTLY, cutoff_weekday=2, delivery_weekday=5, capacity=12,
             description="隔周一箱，大棚里什么最好就装什么。")
    _subscribe(veg, "buyer")
    _subscribe(veg, "buyer2", pause=True)
    out.write(f"Demo standing orders: {Box.objects.count()} boxes, {Subscription.objects.count()} subscriptions.")
