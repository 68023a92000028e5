"""Pure domain: money, barcodes, catalog model, cart, tax and the checkout state machine.

Nothing here does I/O, starts threads or reads a clock: time is passed in.
"""
