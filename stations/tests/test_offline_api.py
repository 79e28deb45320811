"""POST /api/v1/agent/actions/: the agent's queued actions, each applied exactly once."""
import threading
import uuid

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import BuyerFactory
from ledger import services as ledger_services
from logistics.models import Parcel, Shipment, StationAction, TrackingEvent
from logistics.tests.factories import StationFactory, agent_at, departed, handed_over, received
from orders.models import Order, Payment, ShopOrder

URL = "/api/v1/agent/actions/"
P, S = Parcel.Status, Shipment.Status


@pytest.fixture(autouse=True)
def _card_payments_on(settings):
    # Card orders are marked paid as the webhook would; no call reaches Stripe here.
    settings.STRIPE_SECRET_KEY = "sk_test_x"


@pytest.fixture
def station(db):
    return StationFactory()


@pytest.fixture
def agent(station):
    return agent_at(station)


@pytest.fixture
def client_of(db):
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def action(action_kind: str, **args) -> dict:
    return {"id": str(uuid.uuid4()), "kind": action_kind, "args": args}


def send(client, actions) -> list[dict]:
    response = client.post(URL, {"actions": actions}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def snapshot() -> tuple:
    """Everything an action can change, to prove a replay changes nothing."""
    return (sorted(Parcel.objects.values_list("pk", "status", "shipment_id")),
            TrackingEvent.objects.count(), Payment.objects.count(),
            sorted(ShopOrder.objects.values_list("pk", "status")), sorted(Shipment.objects.values_list("pk", "status")),
            StationAction.objects.count())


def test_the_url_is_the_one_the_api_contract_names():
    assert reverse("api-agent-actions") == URL


def test_each_kind_is_applied_through_the_station_services(station, agent, client_of):
    to_receive = handed_over(station)
    shipment, (to_deliver, cash_parcel) = departed(station, agent, count=2)
    cod_shipment, (cod_parcel,) = departed(station, agent, payment_method=Order.PaymentMethod.COD)
    loaded = received(station, agent)
    from logistics import services as logistics_services

    open_shipment = logistics_services.create_shipment(actor=agent, destination="杭州市", carrier="顺丰速运")
    logistics_services.add_parcels_to_shipment(shipment=open_shipment, actor=agent, codes=[loaded.code])
    drawer_before = ledger_services.drawer_balance(station)
    batch = [
        action("receive", parcel=to_receive.code.lower()),
        action("deliver", parcel=to_deliver.code, delivery_code=to_deliver.delivery_code, cash_collected=False),
        action("collect_cash", parcel=cod_parcel.code),
        action("shipment_event", shipment=open_shipment.pk, kind="departed"),
    ]
    results = send(client_of(agent), batch)

    assert [r["status"] for r in results] == ["applied"] * 4, results
    assert [r["id"] for r in results] == [a["id"] for a in batch]
    assert results[0]["detail"] == f"Parcel {to_receive.code} received."
    assert Parcel.objects.get(pk=to_receive.pk).status == P.RECEIVED
    assert TrackingEvent.objects.filter(parcel=to_receive, kind="received", actor=agent).count() == 1
    assert Parcel.objects.get(pk=to_deliver.pk).status == P.DELIVERED
    assert ShopOrder.objects.get(pk=to_deliver.shop_order_id).status == ShopOrder.Status.COMPLETED
    cash = Payment.objects.get(order=cod_parcel.shop_order.order, provider=Payment.Provider.CASH)
    assert cash.collected_by == agent and results[2]["detail"] == f"¥{cash.amount} in cash recorded."
    # The cash lands in the station's drawer, as when the agent records it online.
    assert ledger_services.drawer_balance(station) == drawer_before + cash.amount
    assert Shipment.objects.get(pk=open_shipment.pk).status == S.DEPARTED
    assert Parcel.objects.get(pk=loaded.pk).status == P.IN_TRANSIT
    assert Parcel.objects.get(pk=cash_parcel.pk).status == P.IN_TRANSIT  # untouched
    records = StationAction.objects.filter(agent=agent).order_by("id")
    assert [(r.client_id, r.kind, r.status) for r in records] == [(a["id"], a["kind"], "applied") for a in batch]


def test_a_repeated_id_is_answered_duplicate_and_changes_nothing(station, agent, client_of):
    parcel = handed_over(station)
    receive = action("receive", parcel=parcel.code)
    client = client_of(agent)
    assert send(client, [receive])[0]["status"] == "applied"
    before = snapshot()

    (again,) = send(client, [receive])
    assert again == {"id": receive["id"], "status": "duplicate",
                     "detail": f"Already applied: Parcel {parcel.code} received."}
    assert snapshot() == before
    # The same id twice in one batch: the second one is the duplicate.
    other = handed_over(station)
    twice = action("receive", parcel=other.code)
    assert [r["status"] for r in send(client, [twice, twice])] == ["applied", "duplicate"]
    assert TrackingEvent.objects.filter(parcel=other, kind="received").count() == 1


def test_replaying_a_whole_batch_changes_nothing(station, agent, client_of):
    parcels = [handed_over(station) for _ in range(3)]
    _shipment, (out,) = departed(station, agent)
    batch = [action("receive", parcel=p.code) for p in parcels]
    batch.append(action("deliver", parcel=out.code, delivery_code=out.delivery_code))
    batch.append(action("deliver", parcel=out.code, delivery_code="000000"))  # refused: already delivered
    client = client_of(agent)
    first = send(client, batch)
    assert [r["status"] for r in first] == ["applied"] * 4 + ["rejected"]
    before = snapshot()

    second = send(client, batch)
    assert [r["status"] for r in second] == ["duplicate"] * 4 + ["rejected"]
    assert second[4] == first[4]  # a refusal is answered the same way
    assert snapshot() == before


def test_conflicts_are_refused_per_action_and_the_others_still_apply(station, agent, client_of):
    elsewhere = StationFactory()
    theirs = received(elsewhere, agent_at(elsewhere))  # already received at another station
    mine = handed_over(station)
    already = received(station, agent)
    _shipment, (out,) = departed(station, agent)
    wrong = "000000" if out.delivery_code != "000000" else "111111"
    batch = [
        action("receive", parcel=theirs.code),
        action("receive", parcel=mine.code),
        action("receive", parcel=already.code),
        action("deliver", parcel=out.code, delivery_code=wrong),
        action("deliver", parcel=out.code, delivery_code=out.delivery_code),
    ]
    results = send(client_of(agent), batch)

    assert [r["status"] for r in results] == ["rejected", "applied", "rejected", "rejected", "applied"]
    assert results[0]["detail"] == f"No parcel {theirs.code} is expected at your station."
    assert "already received" in results[2]["detail"]
    assert "delivery code is wrong" in results[3]["detail"]
    assert Parcel.objects.get(pk=theirs.pk).status == P.RECEIVED
    assert not TrackingEvent.objects.filter(parcel=theirs, actor=agent).exists()
    assert Parcel.objects.get(pk=mine.pk).status == P.RECEIVED
    assert Parcel.objects.get(pk=out.pk).status == P.DELIVERED
    refused = StationAction.objects.get(client_id=batch[3]["id"])
    assert (refused.status, refused.detail) == ("rejected", results[3]["detail"])
    assert refused.args == {"parcel": out.code}  # the buyer's code is not kept


def test_only_agents_may_send_actions(station, agent, client_of):
    parcel = handed_over(station)
    batch = {"actions": [action("receive", parcel=parcel.code)]}
    assert client_of(BuyerFactory()).post(URL, batch, format="json").status_code == 403
    assert APIClient().post(URL, batch, format="json").status_code in (401, 403)
    assert Parcel.objects.get(pk=parcel.pk).status == P.EXPECTED
    assert not StationAction.objects.exists()


@pytest.mark.parametrize("body", [
    {}, {"actions": "receive"}, {"actions": {"id": "x"}}, [1, 2], "actions",
    {"actions": [action("receive", parcel="P")] * 101},
])
def test_a_malformed_envelope_is_a_400(agent, client_of, body):
    response = client_of(agent).post(URL, body, format="json")
    assert response.status_code == 400
    assert "actions" in response.json() or "detail" in response.json()


def test_broken_json_is_a_400(agent, client_of):
    response = client_of(agent).post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_malformed_actions_are_refused_one_by_one_never_a_500(station, agent, client_of):
    good = handed_over(station)
    valid_id = str(uuid.uuid4())
    batch = [
        "receive",
        {"kind": "receive", "args": {"parcel": good.code}},
        {"id": 42, "kind": "receive", "args": {}},
        {"id": "has spaces", "kind": "receive", "args": {}},
        {"id": valid_id, "kind": "teleport", "args": {}},
        action("receive"),
        action("receive", parcel=["P1"]),
        {"id": str(uuid.uuid4()), "kind": "receive", "args": "P123"},
        action("receive", parcel="PXXXXXXXXX"),
        action("deliver", parcel=good.code, delivery_code="12", cash_collected="yes"),
        action("collect_cash", parcel=good.code),
        action("shipment_event", shipment="abc", kind="departed"),
        action("shipment_event", shipment=999999, kind="departed"),
        action("receive", parcel=good.code),
    ]
    results = send(client_of(agent), batch)
    assert [r["status"] for r in results] == ["rejected"] * 13 + ["applied"]
    assert all(r["detail"] for r in results)
    assert results[0]["id"] is None and results[2]["id"] is None and results[3]["id"] == "has spaces"
    assert "Unknown kind" in results[4]["detail"]
    assert results[5]["detail"] == "“parcel” is missing."
    assert "not a valid parcel code" in results[8]["detail"]
    assert "No shipment abc" in results[11]["detail"]
    # Refusals with a usable id are recorded, so a replay gets the same answer.
    assert send(client_of(agent), [batch[4]]) == [results[4]]
    assert Parcel.objects.get(pk=good.pk).status == P.RECEIVED


def test_another_agents_ids_are_their_own(station, agent, client_of):
    colleague = agent_at(station)
    first, second = handed_over(station), handed_over(station)
    shared_id = str(uuid.uuid4())
    assert send(client_of(agent), [{"id": shared_id, "kind": "receive", "args": {"parcel": first.code}}])[0][
        "status"] == "applied"
    assert send(client_of(colleague), [{"id": shared_id, "kind": "receive", "args": {"parcel": second.code}}])[0][
        "status"] == "applied"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_same_action_posted_twice_at_once_is_applied_once(postgres):
    station = StationFactory()
    agent = agent_at(station)
    _shipment, (out,) = departed(station, agent, payment_method=Order.PaymentMethod.COD)
    batch = {"actions": [action("deliver", parcel=out.code, delivery_code=out.delivery_code, cash_collected=True)]}
    gate = threading.Barrier(2)
    answers: list = []
    lock = threading.Lock()

    def post():
        client = APIClient()
        client.force_authenticate(agent)
        try:
            gate.wait(timeout=30)
            response = client.post(URL, batch, format="json")
            outcome = (response.status_code, response.json()["results"][0]["status"])
        except Exception as exc:  # every outcome is recorded; the assertions say which are allowed
            outcome = exc
        finally:
            connection.close()
        with lock:
            answers.append(outcome)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    assert sorted(answers) == [(200, "applied"), (200, "duplicate")], answers
    assert TrackingEvent.objects.filter(parcel=out, kind="delivered").count() == 1
    assert Payment.objects.filter(order=out.shop_order.order, provider=Payment.Provider.CASH).count() == 1
    assert StationAction.objects.filter(agent=agent).count() == 1
    assert ledger_services.drawer_balance(station) == Payment.objects.get(order=out.shop_order.order).amount
