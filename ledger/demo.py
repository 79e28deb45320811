"""Demo money, made through the real services: the orders of the demo agent's village farms that were delivered
and confirmed earn their farm money; one payout is paid, one waits for the bank.

Each sale is a cash-on-delivery order of buyer2 from a farm of the agent's village, accepted, packed from a lot,
handed over, received, shipped and delivered with its code (the agent collects the cash, which lands in the
station's drawer). Idempotent: nothing is made once the demo batches exist.
"""
from django.db.models import Count, Q

from accounts.models import User
from logistics import services as logistics_services
from logistics.models import Parcel
from orders import services as order_services
from orders.models import CartItem, Order
from shops.models import Product

from . import services
from .models import Payout, PayoutBatch

PAID, PENDING = "demo-paid", "demo-scheduled"


def _delivered_sale(buyer: User, agent: User, product: Product) -> None:
    cart = order_services.open_cart(user=buyer)
    order_services.add_to_cart(cart=cart, product=product, quantity=product.min_order)
    order = order_services.place_order(buyer=buyer, address=buyer.addresses.order_by("-is_default", "pk").first(),
                                       payment_method=Order.PaymentMethod.COD)
    part = order.shop_orders.select_related("shop__owner").get()
    owner = part.shop.owner
    order_services.accept_shop_order(shop_order=part, actor=owner)
    lot = product.lots.filter(phi_violation=False).order_by("-harvested_on", "-pk").first()
    logistics_services.pack_shop_order(shop_order=part, actor=owner, lots={part.lines.get().pk: lot})
    parcel = logistics_services.hand_over_shop_order(shop_order=part, actor=owner)
    logistics_services.receive_parcel(actor=agent, code=parcel.code)
    shipment = logistics_services.create_shipment(actor=agent, destination="杭州市", carrier="中通快递 ZTO Express")
    logistics_services.add_parcels_to_shipment(shipment=shipment, actor=agent, codes=[parcel.code])
    for kind in ("departed", "arrived", "out_for_delivery"):
        logistics_services.record_shipment_event(shipment=shipment, actor=agent, kind=kind)
    parcel = Parcel.objects.get(pk=parcel.pk)
    logistics_services.deliver_parcel(parcel=parcel, actor=agent, code=parcel.delivery_code, cash_collected=True)


def load(out) -> None:
    admin = User.objects.filter(username="admin", is_staff=True).first()
    agent = User.objects.filter(username="agent").first()
    buyer = User.objects.filter(username="buyer2").first()
    station = logistics_services.selectors.agent_station(agent) if agent else None
    if not (admin and agent and buyer and station and buyer.addresses.exists()):
        out.write("Ledger demo skipped: it needs the demo users, the agent's station and buyer2's address.")
        return
    if PayoutBatch.objects.filter(period__in=[PAID, PENDING]).exists():
        out.write("Demo money: the payouts are already there.")
        return
    if CartItem.objects.filter(cart__user=buyer).exists():
        out.write("Ledger demo skipped: buyer2's cart is not empty.")
        return
    product = (Product.objects.filter(shop__village__stations=station, is_active=True, shop__is_open=True,
                                      stock__gte=20)
               .annotate(lots_ok=Count("lots", filter=Q(lots__phi_violation=False))).filter(lots_ok__gt=0)
               .select_related("shop__owner").order_by("pk").first())
    if product is None:
        out.write("Ledger demo skipped: no product of the agent's village has a harvest lot.")
        return
    shop = product.shop
    services.set_payout_account(shop=shop, actor=shop.owner, holder=shop.owner.get_full_name() or shop.name,
                                bank="中国农业银行 栖霞支行", account_number="6228480402564890018")
    for _ in range(2):
        _delivered_sale(buyer, agent, product)
    _batch, _made = services.run_payouts(actor=admin, period=PAID)
    for payout in Payout.objects.filter(batch__period=PAID):
        services.mark_payout_paid(payout=payout, actor=admin, reference="ABC20261130001")
    _delivered_sale(buyer, agent, product)
    services.run_payouts(actor=admin, period=PENDING)
    out.write(f"Demo money: {shop.name} has a paid payout and one waiting for the bank; "
              f"see /seller/money/ as its owner and /staff/money/ as admin.")
