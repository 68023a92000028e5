"""Card payments on Stripe Terminal, server-driven, with crash recovery (payment issue)."""
