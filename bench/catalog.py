"""Benchmark of the catalog: CSV import and product lookup, against bare ``sqlite3``.

Generates a catalog CSV of ``--rows`` products with valid GTINs in a temporary directory, then
measures in the same run:

- the import through ``import_catalog_csv`` into a fresh database, and a bare baseline doing
  the same work with the ``csv`` module, python-stdnum's check digit for every barcode (the
  one check no import may skip) and one ``executemany`` into an identical table in one
  transaction; also, for reference, a bare insert with no check at all; each best of
  ``--repeat`` runs;
- per-call lookup times (p50 and p99, microseconds) of ``ProductCatalog.get`` over
  ``--lookups`` random codes, and of a bare ``SELECT ... WHERE code = ?`` with the same codes.

Targets: our figures within 2x of the baseline. Prints a table, or one JSON object with
``--json``. Run: ``.venv/bin/python bench/catalog.py [--rows N] [--lookups N] [--json]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stdnum import ean

from kiosk.store.catalog_import import import_catalog_csv
from kiosk.store.db import open_database
from kiosk.store.products import ProductCatalog

TAX_CLASSES = ("standard", "reduced")
TARGET_RATIO = 2.0
"""Our time may be at most this many times the bare baseline's."""

_BASELINE_INSERT = "INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_BASELINE_SELECT = (
    "SELECT name, price_minor, tax_class, min_age, sold_by_weight, unit_price_per_kg_minor, "
    "department FROM products WHERE code = ?"
)
_DEPARTMENTS = ("Drinks", "Pantry", "Dairy", "Bakery", "Snacks", "Household", "Crème & Café")


def write_catalog(path: Path, rows: int, rng: random.Random) -> list[str]:
    """Write a valid catalog CSV of ``rows`` products; return their 14-digit codes."""
    codes: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["barcode", "name", "price", "tax_class", "min_age", "department"])
        for number in range(rows):
            body = f"40{number:010d}"
            barcode = body + ean.calc_check_digit(body)
            codes.append(barcode.zfill(14))
            age = rng.choice(("", "", "", "", "", "", "", "", "16", "18"))
            writer.writerow(
                [
                    barcode,
                    f"Product {number} {rng.choice(_DEPARTMENTS).lower()}",
                    f"{rng.randrange(10, 10_000) / 100:.2f}",
                    rng.choice(TAX_CLASSES),
                    age,
                    rng.choice(_DEPARTMENTS),
                ]
            )
    return codes


def products_table_sql(folder: Path) -> str:
    """The products table exactly as our schema creates it, so both sides write the same table."""
    db = open_database(folder / "schema-source.db")
    (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'products'").fetchone()
    db.close()
    return str(sql)


def baseline_import(
    csv_path: Path, db_path: Path, stamp: str, table_sql: str, *, check_digits: bool
) -> float:
    """Import with bare sqlite3 and the csv module; return seconds.

    With ``check_digits`` it does the one check no catalog import may skip: each barcode's
    check digit, through python-stdnum as ours does (a bad one raises). Without, it checks
    nothing: the floor of what writing the rows costs.
    """
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(table_sql)
    started = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        next(reader)
        records: Iterable[list[str]] = reader
        if check_digits:
            records = (row for row in reader if _valid_check_digit(row[0]))
        rows = [
            (
                barcode.zfill(14),
                name,
                int(price.replace(".", "")),
                tax_class,
                int(age) if age else None,
                0,
                None,
                department or None,
                "csv",
                stamp,
            )
            for barcode, name, price, tax_class, age, department in records
        ]
    conn.execute("BEGIN")
    conn.executemany(_BASELINE_INSERT, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _valid_check_digit(barcode: str) -> bool:
    if ean.calc_check_digit(barcode[:-1]) != barcode[-1]:
        raise ValueError(f"bad check digit in {barcode}")
    return True


def our_import(csv_path: Path, db_path: Path, now: datetime) -> float:
    """Import through ``import_catalog_csv`` into a fresh database; return seconds."""
    db = open_database(db_path)
    started = time.perf_counter()
    import_catalog_csv(
        db, csv_path, tax_classes=TAX_CLASSES, currency="EUR", catalog_source="csv", now=now
    )
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def lookup_times(lookup: Callable[[str], Any], codes: list[str]) -> list[int]:
    """Time each lookup with ``perf_counter_ns``; return nanoseconds per call."""
    clock = time.perf_counter_ns
    times = []
    for code in codes:
        started = clock()
        lookup(code)
        times.append(clock() - started)
    return times


def percentile_us(times_ns: list[int], fraction: float) -> float:
    """Return the ``fraction`` quantile of ``times_ns`` in microseconds."""
    ordered = sorted(times_ns)
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return ordered[index] / 1000


def run(rows: int, lookups: int, seed: int, repeat: int = 3) -> dict[str, Any]:
    """Run the whole benchmark and return every figure, baseline and ratio."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        folder = Path(tmp)
        csv_path = folder / "catalog.csv"
        codes = write_catalog(csv_path, rows, rng)
        # Best of ``repeat`` fresh imports each, alternating, so a busy machine hurts less.
        import_runs: list[float] = []
        baseline_runs: list[float] = []
        bare_runs: list[float] = []
        stamp = "2026-11-26T12:00:00.000000Z"
        table = products_table_sql(folder)
        for attempt in range(repeat):
            ours_db = folder / f"ours-{attempt}.db"
            base_db = folder / f"baseline-{attempt}.db"
            import_runs.append(our_import(csv_path, ours_db, now))
            baseline_runs.append(
                baseline_import(csv_path, base_db, stamp, table, check_digits=True)
            )
            bare_runs.append(
                baseline_import(
                    csv_path, folder / f"bare-{attempt}.db", stamp, table, check_digits=False
                )
            )
        import_s, baseline_import_s = min(import_runs), min(baseline_runs)
        bare_import_s = min(bare_runs)

        # Mostly hits, a few misses, like a real shop's scans of unknown items.
        sample = [rng.choice(codes) for _ in range(lookups)]
        for index in range(0, lookups, 20):
            sample[index] = "99" + sample[index][2:]
        db = open_database(ours_db)
        catalog = ProductCatalog(db, tax_classes=TAX_CLASSES)
        bare = sqlite3.connect(base_db)

        def bare_get(code: str) -> Any:
            return bare.execute(_BASELINE_SELECT, (code,)).fetchone()

        ours_ns: list[int] = []
        base_ns: list[int] = []
        lookup_times(catalog.get, sample[:1000])  # warm both caches
        lookup_times(bare_get, sample[:1000])
        # Alternate blocks so that drift in the machine's speed hits both sides alike.
        for start in range(0, lookups, 1000):
            block = sample[start : start + 1000]
            ours_ns += lookup_times(catalog.get, block)
            base_ns += lookup_times(bare_get, block)
        found = sum(1 for code in sample if catalog.get(code) is not None)
        bare.close()
        db.close()

    figures: dict[str, Any] = {
        "rows": rows,
        "lookups": lookups,
        "lookups_found": found,
        "repeat": repeat,
        "import_s": import_s,
        "baseline_import_s": baseline_import_s,
        "import_ratio": import_s / baseline_import_s,
        "bare_insert_s": bare_import_s,
        "bare_insert_ratio": import_s / bare_import_s,
        "lookup_p50_us": percentile_us(ours_ns, 0.50),
        "baseline_lookup_p50_us": percentile_us(base_ns, 0.50),
        "lookup_p99_us": percentile_us(ours_ns, 0.99),
        "baseline_lookup_p99_us": percentile_us(base_ns, 0.99),
        "lookup_mean_us": statistics.fmean(ours_ns) / 1000,
        "baseline_lookup_mean_us": statistics.fmean(base_ns) / 1000,
    }
    figures["lookup_p50_ratio"] = figures["lookup_p50_us"] / figures["baseline_lookup_p50_us"]
    figures["lookup_p99_ratio"] = figures["lookup_p99_us"] / figures["baseline_lookup_p99_us"]
    figures["lookup_mean_ratio"] = (
        figures["lookup_mean_us"] / figures["baseline_lookup_mean_us"]
    )
    figures["target_ratio"] = TARGET_RATIO
    figures["import_within_target"] = figures["import_ratio"] <= TARGET_RATIO
    figures["lookup_p99_within_target"] = figures["lookup_p99_ratio"] <= TARGET_RATIO
    return figures


def print_table(figures: dict[str, Any]) -> None:
    """Print the figures as a readable table: figure, ours, baseline, ratio."""
    print(f"catalog benchmark: {figures['rows']} rows, {figures['lookups']} lookups")
    print(f"{'figure':<22}{'ours':>12}{'baseline':>12}{'ratio':>8}")
    lines = [
        ("import (s)", "import_s", "baseline_import_s", "import_ratio"),
        ("lookup p50 (us)", "lookup_p50_us", "baseline_lookup_p50_us", "lookup_p50_ratio"),
        ("lookup p99 (us)", "lookup_p99_us", "baseline_lookup_p99_us", "lookup_p99_ratio"),
        ("lookup mean (us)", "lookup_mean_us", "baseline_lookup_mean_us", "lookup_mean_ratio"),
    ]
    for label, ours, base, ratio in lines:
        print(f"{label:<22}{figures[ours]:>12.3f}{figures[base]:>12.3f}{figures[ratio]:>8.2f}")
        if ours == "import_s":
            bare, bare_ratio = figures["bare_insert_s"], figures["bare_insert_ratio"]
            label = "  vs bare insert (s)"
            print(f"{label:<22}{figures[ours]:>12.3f}{bare:>12.3f}{bare_ratio:>8.2f}")
    verdict = {True: "met", False: "MISSED"}
    import_verdict = verdict[figures["import_within_target"]]
    lookup_verdict = verdict[figures["lookup_p99_within_target"]]
    print(
        f"targets (<= {figures['target_ratio']}x): import {import_verdict}, "
        f"lookup p99 {lookup_verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the benchmark and print the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000, help="products in the CSV")
    parser.add_argument("--lookups", type=int, default=20_000, help="timed lookups")
    parser.add_argument("--repeat", type=int, default=3, help="imports timed, best kept")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if min(args.rows, args.lookups, args.repeat) < 1:
        parser.error("--rows, --lookups and --repeat must be at least 1")
    figures = run(args.rows, args.lookups, args.seed, args.repeat)
    if args.json:
        print(json.dumps(figures))
    else:
        print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
