"""Product search (GET /api/products/?search=) on bench/data.py's 100k-product catalogue, over HTTP through
gunicorn (2 workers) and wrk, against the barcode lookup (the scanner's hot path) in the same run:
requests/s, p50, p99 and the ratio of each search mix to the barcode lookup.

    python bench/data.py --products 100000 --lines 5000     # once (DATABASE_URL picks the database)
    python bench/bench_search.py [--seconds 10] [--connections 8]   # BENCH_DATABASE_URL, BENCH_PORT as bench/common.py

Mixes (the catalogue's names are "Bench product 012345", SKUs "B-012345", EAN-13 barcodes):
  typical   part of a word or a code: "12345", "product 04567", "b-031337", the last 6 digits of a barcode
  typo      a word spelt wrong plus a number: "prodcut 04567" (pg_trgm word similarity)
  common    a word every product has ("product"): 100k matches, one page shown
  short     one or two characters ("a", "pr", "be", "12", "b-", "du", "07"): the texts that match everything
"""

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_barcode import LUA as BARCODE_LUA  # noqa: E402
from bench.bench_barcode import bench_token  # noqa: E402
from bench.common import gunicorn, save, setup_django, table, wrk  # noqa: E402

SEARCH_LUA = """
local texts = {}
for line in io.lines(os.getenv("TEXTS_FILE")) do texts[#texts + 1] = line end
local token = os.getenv("API_TOKEN")
request = function()
  local text = texts[math.random(#texts)]
  return wrk.format("GET", "/api/products/?page_size=20&is_active=true&search=" .. text,
                    {["Authorization"] = "Token " .. token})
end
"""


def mixes(rng, ids, barcodes):
    typical, typo = [], []
    for _ in range(2000):
        pid = rng.choice(ids)
        kind = rng.randrange(4)
        if kind == 0:
            typical.append(f"{pid:06d}"[1:])
        elif kind == 1:
            typical.append(f"product+{pid:06d}"[:13])
        elif kind == 2:
            typical.append(f"b-{pid:06d}")
        else:
            typical.append(rng.choice(barcodes)[-6:])
        typo.append(f"prodcut+{pid:06d}")
    return {"typical": typical, "typo": typo, "common": ["product"],
            "short": ["a", "pr", "be", "12", "b-", "du", "07"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--port", type=int, default=None, help="gunicorn port (default BENCH_PORT)")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from pos.catalog.models import Product

    count = Product.objects.count()
    if count < 100_000:
        print(f"only {count} products: run `python bench/data.py` first")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product")
    rng = random.Random(7)
    ids = list(Product.objects.filter(is_active=True).values_list("id", flat=True)[:100_000])
    barcodes = [b for b in Product.objects.filter(is_active=True).values_list("barcode", flat=True)[:50_000] if b]
    workdir = Path(tempfile.mkdtemp())
    # the barcode baseline as bench_barcode.py measures it: a day's working set of codes, warmed up first
    (workdir / "codes.txt").write_text("\n".join(rng.sample(barcodes, min(2_000, len(barcodes)))))
    (workdir / "lookup.lua").write_text(BARCODE_LUA)
    (workdir / "search.lua").write_text(SEARCH_LUA)
    token = bench_token()
    rows = []
    with gunicorn(port=args.port, workers=2) as base:
        wrk(f"{base}/bench/bare/", seconds=2, connections=4)  # warm up both workers
        codes_env = {"CODES_FILE": str(workdir / "codes.txt"), "API_TOKEN": token}
        wrk(base, seconds=6, connections=args.connections, script=workdir / "lookup.lua", env=codes_env)
        barcode = {"endpoint": "GET /api/products/barcode/{code}/ (baseline)",
                   **wrk(base, seconds=args.seconds, connections=args.connections,
                         script=workdir / "lookup.lua", env={"CODES_FILE": str(workdir / "codes.txt"),
                                                              "API_TOKEN": token})}
        rows.append(barcode)
        for name, texts in mixes(rng, ids, barcodes).items():
            path = workdir / f"{name}.txt"
            path.write_text("\n".join(texts))
            row = {"endpoint": f"GET /api/products/?search= ({name})",
                   **wrk(base, seconds=args.seconds, connections=args.connections, script=workdir / "search.lua",
                         env={"TEXTS_FILE": str(path), "API_TOKEN": token})}
            row["p50_vs_barcode"] = round(row["p50_ms"] / barcode["p50_ms"], 2)
            row["p99_vs_barcode"] = round(row["p99_ms"] / barcode["p99_ms"], 2)
            row["rps_vs_barcode"] = round(row["requests_per_s"] / barcode["requests_per_s"], 3)
            rows.append(row)
    table(f"Product search, {count} products, gunicorn 2 workers, wrk {args.connections} connections",
          rows, ["endpoint", "requests_per_s", "p50_ms", "p99_ms", "non_2xx", "errors", "p50_vs_barcode",
                 "p99_vs_barcode", "rps_vs_barcode"])
    save("search", {"products": count, "connections": args.connections, "seconds": args.seconds, "rows": rows})


if __name__ == "__main__":
    main()
