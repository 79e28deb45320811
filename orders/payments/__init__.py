"""Card payments through Stripe, in modules that import one way only, top to bottom:

- webhooks (verify, store once, apply a Stripe event; its Celery task) and reconcile (ask Stripe about payments
  left open), both imported by orders.tasks;
- outcomes: the one module that decides what a succeeded payment means for its order (paid, revived after it
  expired, or refunded as a second payment); it calls orders.services;
- orders.services, which calls down into refunds and tasks (the Celery task that cancels open intents);
- cards (saved cards: SetupIntents, off-session charges with the buyer's consent), intents (start and confirm a
  payment; apply_intent records what Stripe says on the Payment row and announces a
  success, which outcomes receives: connected in OrdersConfig.ready), refunds, tasks, and holds (manual-capture
  authorisations: pre-orders, buying groups);
- gateway: the only module in the project that imports `stripe`; Decimal outside, minor units inside.

orders/tests/test_payments_package.py checks these arrows. This file imports nothing, so importing one submodule
does not load the others.
"""
