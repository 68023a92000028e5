"""Receipts: the renderings of a paid sale or a refund, and the print-job queue.

The model is :mod:`kiosk.core.receipt` (pure); :mod:`kiosk.receipts.text_render` lays it out in
fixed-width columns (the one layout every rendering shares), :mod:`kiosk.receipts.escpos_render`
turns that layout into ESC/POS bytes for a thermal printer and :mod:`kiosk.receipts.preview`
into a PNG. Reading a sale from the database into the model is :mod:`kiosk.store.receipts`.
"""
