"""Pure domain: money, barcodes, catalog model and files, cart, tax, the receipt model and the
checkout state machine.

Nothing here does I/O, starts threads or reads a clock: time is passed in.
"""
