"""The reference back office, ``kiosk hq``: it takes the kiosks' event batches and stores them
once each, serves the catalog feed and the customers' e-receipt pages (docs/SYNC.md).

A shop can run it as it is (SQLite for one shop, PostgreSQL for a chain) or read it as the
worked example of the protocol in ``kiosk.wire`` when it writes its own.
"""
