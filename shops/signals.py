from django.dispatch import Signal

# Sent inside the writing transaction whenever a lot is recorded or changed
# (what="recorded" | "input_applied", lot=..., and details). The trace log listens.
lot_event = Signal()
