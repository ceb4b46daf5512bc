"""Reports over a year of sales (1,000,000 sale lines from bench/data.py): the time of each report,
against a plain full scan of the sale lines (SELECT count(*), sum(total)) measured in the same run;
and the xlsx export of ~100,000 sale lines: its time and the peak RSS of the process that writes it,
against the peak RSS of the same process doing no export.

Each report is timed three ways: "full", every row of every list computed as a list (what the
xlsx/csv download holds: 100,000 product rows); "download", the complete xlsx file as the API streams
it (the report's figures, then its long lists read and written as the file goes out; first byte and
last byte); and as the JSON API and the admin page ask for it (the first 100 rows of each per-product
list). Peak RSS is the child's own high-water mark (VmHWM: ru_maxrss would carry over the parent's
from before exec).

    python bench/bench_reports.py [--repeat 3]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, save, setup_django, table  # noqa: E402


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(min(times) * 1000, 1)


def timed_download(repeat, report, sheets):
    """(ms to the first byte, ms to the last) of the report's xlsx file, best of `repeat`: the figures,
    then the streamed file written to nowhere, as the API's StreamingHttpResponse sends it."""
    from pos.reports.exports import xlsx_chunks

    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        first = None
        for chunk in xlsx_chunks(sheets(report())):
            if first is None and chunk:
                first = time.perf_counter() - started
        took = (round(first * 1000, 1), round((time.perf_counter() - started) * 1000, 1))
        best = took if best is None or took[1] < best[1] else best
    return best


def full_scan():
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT count(*), sum(total) FROM sales_saleitem")
        return c.fetchone()


def export_period(target_lines):
    """The last N days holding about `target_lines` sale lines."""
    from pos.reports.queries import resolve_period, sale_lines, shop_today

    today = shop_today()
    year = resolve_period("year")
    per_day = sale_lines(year.since, year.until).count() / 365 or 1
    days = max(1, round(target_lines / per_day))
    return resolve_period("custom", start=(today - timedelta(days=days - 1)).isoformat(), end=today.isoformat())


def child(mode, lines):
    """Run in a fresh process: write the export (or not) and print seconds and rows."""
    setup_django()
    from pos.reports.exports import ledger_sheet, xlsx_chunks
    from pos.reports.queries import sale_lines

    period = export_period(lines)
    rows = sale_lines(period.since, period.until).count()
    started = time.perf_counter()
    first_byte = first_rows = 0.0
    if mode == "export":  # what the export endpoint streams, written to a file as a client would
        with tempfile.NamedTemporaryFile(suffix=".xlsx") as fh:
            for n, chunk in enumerate(xlsx_chunks([ledger_sheet(period)])):
                if n == 0:
                    first_byte = time.perf_counter() - started
                if n == 2:  # the first chunk holding sale lines
                    first_rows = time.perf_counter() - started
                fh.write(chunk)
    peak_kb = peak_rss_kb()
    print(f"{first_byte:.3f} {first_rows:.3f} {time.perf_counter() - started:.3f} {rows} {peak_kb}")


def peak_rss_kb():
    """This process's peak resident set since it started (exec), in kB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def measure_child(mode, lines):
    """Seconds, rows and the child's own peak RSS in MB."""
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--lines", str(lines)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[-5]), float(out[-4]), float(out[-3]), int(out[-2]), int(out[-1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--child", choices=["idle", "export"])
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.lines)
    setup_django()
    from pos.reports import exports, queries
    from pos.sales.models import SaleItem

    lines = SaleItem.objects.count()
    baseline = best_of(args.repeat, full_scan)
    year, month = queries.resolve_period("year"), queries.resolve_period("month")
    page, stream = queries.Page(100), queries.STREAM  # stream: the lists as the API's file downloads read them
    reports = {
        "sales report, year, full (every product row)": lambda: queries.sales_report(year),
        "sales report, year, JSON/page (100 product rows)": lambda: queries.sales_report(year, products=page),
        "sales report, today (by hour)": lambda: queries.sales_report(queries.resolve_period("today")),
        "profit and loss, year, full (every product row)": lambda: queries.profit_report(year),
        "profit and loss, year, JSON/page (100 product rows)": lambda: queries.profit_report(year, products=page),
        "inventory report, full (100k products, month of movements)": lambda: queries.inventory_report(month),
        "inventory report, JSON/page (100 rows per list)": lambda: queries.inventory_report(month, products=page),
        "dashboard": lambda: queries.dashboard(),
    }
    downloads = {
        "sales report, year, xlsx download": (lambda: queries.sales_report(year, products=stream),
                                              exports.sales_sheets),
        "profit and loss, year, xlsx download": (lambda: queries.profit_report(year, products=stream),
                                                 exports.profit_sheets),
        "inventory report, xlsx download": (lambda: queries.inventory_report(month, products=stream),
                                            exports.inventory_sheets),
    }
    rows = [{"report": "full scan of sale lines (baseline)", "ms": baseline, "ratio_vs_scan": 1.0}]
    for name, fn in reports.items():
        ms = best_of(args.repeat, fn)
        rows.append({"report": name, "ms": ms, "ratio_vs_scan": round(ms / baseline, 2)})
    for name, (report, sheets) in downloads.items():
        first_ms, ms = timed_download(args.repeat, report, sheets)
        rows.append({"report": name, "ms": ms, "ratio_vs_scan": round(ms / baseline, 2), "first_byte_ms": first_ms,
                     "download": True})
    table(f"Reports over {lines:,} sale lines (best of {args.repeat}; load {os.getloadavg()[0]:.1f})", rows,
          ["report", "ms", "ratio_vs_scan", "first_byte_ms"])

    *_, idle_rss = measure_child("idle", args.lines)
    first_byte, first_rows, seconds, exported, export_rss = measure_child("export", args.lines)
    export = [{"what": "process without export (baseline)", "peak_rss_mb": round(idle_rss, 1)},
              {"what": f"xlsx export of {exported:,} sale lines", "rows": exported, "first_byte_s": first_byte,
               "first_rows_s": first_rows, "seconds": round(seconds, 2), "rows_per_s": round(exported / seconds),
               "peak_rss_mb": round(export_rss, 1), "rss_over_baseline_mb": round(export_rss - idle_rss, 1)}]
    table("Sales-lines xlsx export (streamed zip, chunked query)", export,
          ["what", "first_byte_s", "first_rows_s", "seconds", "rows_per_s", "peak_rss_mb", "rss_over_baseline_mb"])
    save("reports", {"sale_lines": lines, "load": os.getloadavg(), "reports": rows, "export": export})


if __name__ == "__main__":
    main()
