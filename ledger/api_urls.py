"""Money to the farmers under /api/v1/ (paths fixed by API.md)."""
from django.urls import path

from . import api

urlpatterns = [
    path("seller/balance/", api.BalanceView.as_view(), name="api-seller-balance"),
    path("seller/ledger/", api.EntryList.as_view(), name="api-seller-ledger"),
    path("seller/payouts/", api.PayoutList.as_view(), name="api-seller-payouts"),
    path("seller/payouts/<int:pk>/", api.PayoutDetail.as_view(), name="api-seller-payout"),
    path("seller/payouts/<int:pk>/statement.csv", api.PayoutStatementCsv.as_view(), name="api-seller-payout-csv"),
    path("shops/<slug:slug>/payout-account/", api.PayoutAccountView.as_view(), name="api-payout-account"),
    path("payouts/run/", api.PayoutRunView.as_view(), name="api-payouts-run"),
    path("payouts/batches/<int:pk>/export.csv", api.BatchExportCsv.as_view(), name="api-payout-batch-csv"),
    path("payouts/<int:pk>/mark-paid/", api.MarkPaidView.as_view(), name="api-payout-mark-paid"),
    path("payouts/<int:pk>/mark-failed/", api.MarkFailedView.as_view(), name="api-payout-mark-failed"),
    path("ledger/adjustments/", api.AdjustmentView.as_view(), name="api-ledger-adjustments"),
    path("agent/cash/", api.AgentCashView.as_view(), name="api-agent-cash"),
    path("agent/cash/remittances/", api.RemittanceCreate.as_view(), name="api-agent-cash-remittances"),
    path("agent/cash/remittances/<int:pk>/confirm/", api.RemittanceConfirm.as_view(),
         name="api-agent-cash-remittance-confirm"),
]
