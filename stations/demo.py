"""Demo farmers without smartphones, listed by the demo `agent` at the station of 国路夼村 (Guoluku).

Two elderly farmers with a basic phone (a mobile number, no password): registered by the agent with a photographed
consent form, each with a small shop and two products listed by the agent on their behalf (recorded in their
activity log as the agent's work). Idempotent: a farmer is found by their mobile number, a shop by owner and name,
a product by shop and title. Runs after logistics' demo (the station and the agent) in load_demo.
"""
from decimal import Decimal

from accounts.models import User
from logistics.demo import AGENT_VILLAGE
from logistics.selectors import agent_station
from shops import images
from shops import services as shop_services
from shops.demo import PHOTO_SIZE, VILLAGES
from shops.demo_photos import demo_photo
from shops.models import Category, Product, Shop, Village

from . import services
from .models import AssistedFarmer

# name, mobile number, shop, [(title, category slug, unit, kg per unit, price, stock, description)]
FARMERS = [
    ("王德福", "13905350101", "王大爷家的苹果园", [
        ("老树红富士 5kg", "apples", Product.Unit.BOX, "5", "45.00", 40, "三十年老果树，不打蜡，脆甜。"),
        ("自家土鸡蛋 30枚", "eggs", Product.Unit.BOX, "1.8", "48.00", 20, "散养母鸡，每天现捡。"),
    ]),
    ("李桂英", "13905350102", "桂英婶的菜园", [
        ("栖霞大白菜", "leafy-greens", Product.Unit.KG, "1", "3.50", 200, "霜打过的白菜，炖汤最甜。"),
        ("手工地瓜干 500g", "vegetables", Product.Unit.PIECE, "0.5", "18.00", 60, "自家地瓜，蒸熟晒干，无添加。"),
    ]),
]


def _village() -> Village | None:
    province, county, name = VILLAGES[AGENT_VILLAGE]
    return Village.objects.filter(province=province, county=county, name=name).first()


def _farmer(agent: User, village: Village, name: str, phone: str, seed: int) -> AssistedFarmer:
    record = AssistedFarmer.objects.filter(farmer__phone=phone).select_related("farmer").first()
    if record is None:
        record = services.register_farmer(agent=agent, name=name, phone=phone, village=village,
                                          id_photo=demo_photo("id card", seed, size=PHOTO_SIZE),
                                          consent_paper=demo_photo("consent form", seed, size=PHOTO_SIZE))
    return record


def _listed_for(record: AssistedFarmer, agent: User, shop_name: str, items: list, seed: int) -> int:
    farmer = record.farmer
    shop = Shop.objects.filter(owner=farmer, name=shop_name).first()
    if shop is None:
        shop = shop_services.create_shop(owner=farmer, name=shop_name, village=record.village,
                                         description="由村服务站代为经营。")
        services.record_activity(owner=farmer, actor=agent, method="POST", path="/seller/open-shop/",
                                 view_name="shops:seller_shop_create", label=shop.name)
    categories = {c.slug: c for c in Category.objects.filter(slug__in=[i[1] for i in items])}
    made = 0
    for n, (title, category, unit, weight, price, stock, description) in enumerate(items):
        if Product.objects.filter(shop=shop, title=title).exists() or category not in categories:
            continue
        product = shop_services.create_product(
            shop=shop, actor=farmer, category=categories[category], title=title, description=description,
            unit=unit, unit_weight_kg=Decimal(weight), price=Decimal(price), stock=stock, origin="山东烟台栖霞")
        images.add_product_image(product=product, actor=farmer, alt_text=title,
                                 upload=demo_photo(f"{category} {title}", seed * 10 + n, size=PHOTO_SIZE))
        services.record_activity(owner=farmer, actor=agent, method="POST",
                                 path=f"/seller/shops/{shop.slug}/products/new/",
                                 view_name="shops:seller_product_create", label=title)
        made += 1
    return made


def load(out) -> None:
    agent = User.objects.filter(username="agent").first()
    village = _village()
    if agent is None or village is None or agent_station(agent) is None:
        out.write("Stations demo skipped: it needs the demo agent and their station.")
        return
    products = 0
    for seed, (name, phone, shop_name, items) in enumerate(FARMERS, start=1):
        record = _farmer(agent, village, name, phone, 900 + seed)
        products += _listed_for(record, agent, shop_name, items, 900 + seed)
    out.write(f"Demo stations: {len(FARMERS)} farmers without smartphones at the agent's station "
              f"(sign in with a code sent to 13905350101 or 13905350102), {products} products listed for them.")
