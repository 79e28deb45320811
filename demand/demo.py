"""Demo demand: requests from the demo buyers in several cities, offers from the demo farms, and a few
weeks of searches that found nothing (for the seller insights).

Idempotent: a request is found by its buyer and words, an offer by request and product; the search
log is written only when it is empty. Everything goes through the services (dates, own products and
the buyer's notification are the real ones).
"""
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from shops.models import Category, Product

from . import services
from .models import DemandPost, Offer, SearchLog

U = Product.Unit

# buyer, category slug, words, quantity, unit, province, city, days from today, price per unit or None, note
POSTS = [
    ("buyer", "apples", "红富士苹果 果径80mm以上", 30, U.BOX, "上海市", "上海市", 20, "85.00",
     "公司年货，每箱 5 kg，希望一次发齐。"),
    ("buyer", "green-tea", "明前龙井 250g", 10, U.BOX, "上海市", "上海市", 30, "600.00", ""),
    ("buyer", "eggs", "散养土鸡蛋", 20, U.DOZEN, "江苏省", "南京市", 12, None, "每周送一次，可长期合作。"),
    ("buyer2", "vegetables", "Cherry tomatoes", 50, U.KG, "浙江省", "杭州市", 14, "12.00",
     "For a small restaurant; sweet varieties preferred."),
    ("buyer2", "berries", "Yunnan blueberries", 40, U.BOX, "北京市", "北京市", 25, "70.00", ""),
    ("buyer2", "honey", "", 24, U.BOTTLE, "广东省", "广州市", 40, None, "任何单一花种的蜂蜜都可以。"),
]

# farmer, request words, product title, price, quantity, note
OFFERS = [
    ("farmer", "红富士苹果 果径80mm以上", "Fuji apples", "78.00", 30, "5 kg 一箱，80–85 mm，下周可发。"),
    ("farmer2", "明前龙井 250g", "西湖龙井 明前特级 250g", "588.00", 10, "今年头采。"),
    ("farmer3", "Yunnan blueberries", "Yunnan blueberries, 4 × 125 g", "69.00", 40, "Cold chain to Beijing."),
]

# words, category slug, province filter, searches on each of the last days
SEARCHES = [
    ("阿克苏苹果", "apples", "", [3, 1, 2, 4, 2]),
    ("aksu apple", "apples", "", [1, 0, 2]),
    ("榴莲", "fruit", "", [5, 3, 6, 2, 4, 3, 1]),
    ("碧螺春", "green-tea", "浙江省", [2, 2, 1]),
    ("枇杷蜜", "honey", "", [1, 2]),
    ("芦笋", "vegetables", "山东省", [2, 1, 3, 1]),
    ("松茸", "mushrooms", "云南省", [4, 2, 2]),
]


def _posts(out) -> int:
    made = 0
    categories = {c.slug: c for c in Category.objects.all()}
    today = timezone.localdate()
    for username, slug, words, quantity, unit, province, city, days, price, note in POSTS:
        buyer = User.objects.filter(username=username, role=User.Role.BUYER).first()
        if buyer is None or DemandPost.objects.filter(buyer=buyer, words=words, category__slug=slug).exists():
            continue
        services.create_post(buyer=buyer, category=categories.get(slug), words=words, quantity=quantity, unit=unit,
                             province=province, city=city, needed_by=today + timedelta(days=days),
                             max_price=Decimal(price) if price else None, note=note)
        made += 1
    return made


def _offers() -> int:
    made = 0
    for username, words, title, price, quantity, note in OFFERS:
        farmer = User.objects.filter(username=username, role=User.Role.FARMER).first()
        post = DemandPost.objects.filter(words=words, status=DemandPost.Status.OPEN).first()
        product = Product.objects.filter(title=title, shop__owner=farmer, is_active=True).first() if farmer else None
        if post is None or product is None or Offer.objects.filter(post=post, product=product).exists():
            continue
        services.make_offer(post=post, farmer=farmer, product=product, price=Decimal(price), quantity=quantity,
                            note=note)
        made += 1
    return made


def _searches() -> int:
    if SearchLog.objects.exists():
        return 0
    today = timezone.localdate()
    rows = [SearchLog(day=today - timedelta(days=index * 3), query=services.normalise_query(words), category=slug,
                      province=province, count=count)
            for words, slug, province, counts in SEARCHES for index, count in enumerate(counts) if count]
    SearchLog.objects.bulk_create(rows)
    return len(rows)


def load(out) -> None:
    posts, offers, searches = _posts(out), _offers(), _searches()
    out.write(f"Demand board: {posts} new requests, {offers} new offers, {searches} search log rows.")
