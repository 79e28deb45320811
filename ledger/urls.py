from django.urls import path

from . import views

app_name = "ledger"

urlpatterns = [
    path("seller/money/", views.balance, name="balance"),
    path("seller/money/entries/", views.entries, name="entries"),
    path("seller/money/payouts/", views.payouts, name="payouts"),
    path("seller/money/payouts/<int:pk>/", views.payout, name="payout"),
    path("seller/money/payouts/<int:pk>/statement.csv", views.payout_csv, name="payout_csv"),
    path("seller/money/<slug:slug>/payout-account/", views.payout_account, name="payout_account"),
    path("agent/cash/", views.agent_cash, name="agent_cash"),
    path("staff/money/", views.staff_money, name="staff"),
]
