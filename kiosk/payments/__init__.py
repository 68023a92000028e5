"""Card payments with crash recovery: a provider-neutral seam (`provider`, `registry`), the
write-ahead tables, and one package per provider (`kiosk.payments.stripe`)."""
