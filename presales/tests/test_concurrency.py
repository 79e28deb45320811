"""Races on PostgreSQL, one thread and one connection per buyer, released together: the last place of a group and
the last units of a pre-sale are taken exactly once, and a buyer holds one place however fast they click."""
import threading

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import ConflictError
from orders.models import Order
from presales import services
from presales.models import BuyingGroup, GroupMember, PreOrder, PreSale

from .factories import buyer_with_address, make_deal, make_presale, start

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("card_payments_on")]


def race(work, count: int) -> list:
    """Run work(i) in `count` threads released together; each thread uses and closes its own connection."""
    gate = threading.Barrier(count)
    results: list = []
    lock = threading.Lock()

    def run(i):
        try:
            gate.wait(timeout=30)
            outcome = work(i)
        except Exception as exc:  # every outcome is recorded; the test says which are allowed
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    # Eager Celery's apply_async leaves a process-wide flag behind when threads send at once (see orders' race).
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    return results


def test_two_buyers_race_for_the_last_place_and_exactly_one_wins(postgres):
    first = start(make_deal(size=2))
    group = first.group
    buyers = [buyer_with_address() for _ in range(2)]

    results = race(lambda i: services.join_group(group=group, buyer=buyers[i][0], address=buyers[i][1],
                                                 quantity=1), 2)
    won = [r for r in results if isinstance(r, GroupMember)]
    lost = [r for r in results if isinstance(r, ConflictError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].code == "group_full"
    group.refresh_from_db()
    assert group.places_taken == 2 == group.members.filter(status__in=GroupMember.LIVE).count()
    assert Order.objects.count() == 2  # the loser's order was rolled back with everything else


def test_ten_buyers_race_for_three_places(postgres):
    group = start(make_deal(size=4, stock=100)).group
    buyers = [buyer_with_address() for _ in range(10)]
    results = race(lambda i: services.join_group(group=group, buyer=buyers[i][0], address=buyers[i][1]), 10)
    assert sum(isinstance(r, GroupMember) for r in results) == 3
    assert all(r.code == "group_full" for r in results if not isinstance(r, GroupMember))
    group.refresh_from_db()
    assert group.places_taken == 4


def test_the_same_buyer_joining_twice_at_once_gets_one_place(postgres):
    group = start(make_deal(size=5)).group
    buyer, address = buyer_with_address()
    results = race(lambda i: services.join_group(group=group, buyer=buyer, address=address), 2)
    assert sum(isinstance(r, GroupMember) for r in results) == 1
    assert [r.code for r in results if isinstance(r, ConflictError)] == ["already_member"]
    assert group.members.filter(buyer=buyer).count() == 1


def test_a_join_racing_the_deadline_is_either_in_and_released_or_refused(postgres):
    first = start(make_deal(size=3))
    group = first.group
    BuyingGroup.objects.filter(pk=group.pk).update(expires_at=timezone.now() + timezone.timedelta(seconds=1))
    buyer, address = buyer_with_address()
    deadline = BuyingGroup.objects.get(pk=group.pk).expires_at

    def work(i):
        if i == 0:
            return services.join_group(group=group, buyer=buyer, address=address)
        while timezone.now() <= deadline:
            pass
        return services.expire_groups(now=deadline + timezone.timedelta(milliseconds=1))

    race(work, 2)
    services.expire_groups(now=deadline + timezone.timedelta(seconds=5))  # the sweeper's next run
    group.refresh_from_db()
    assert group.status == BuyingGroup.Status.FAILED
    # Whoever won, nobody is left holding a place in a failed group.
    assert not GroupMember.objects.filter(group=group, status__in=GroupMember.LIVE).exists()
    assert not Order.objects.filter(status=Order.Status.PENDING_PAYMENT).exists()


def test_twelve_buyers_race_for_the_last_five_presale_units(postgres):
    presale = make_presale(capacity=5)
    buyers = [buyer_with_address() for _ in range(12)]
    results = race(lambda i: services.place_preorder(buyer=buyers[i][0], presale=presale, address=buyers[i][1],
                                                     quantity=1, payment="cod"), 12)
    assert sum(isinstance(r, PreOrder) for r in results) == 5
    assert all(r.code == "sold_out" for r in results if not isinstance(r, PreOrder)), results
    assert PreSale.objects.get(pk=presale.pk).units_sold == 5
    assert Order.objects.count() == 5
