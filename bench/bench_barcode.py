"""Barcode lookup (the scanner's hot path) on a 100k-product catalogue, through gunicorn (2 workers)
and wrk, against a bare Django view on the same server: requests/s, p50, p99 and the ratio.

The scanner's lookups come from a working set of barcodes (--codes, default 500: a busy hour of a
shop's scans), each scanned a few times by a warm-up before the measured run; so the figure is the steady state of the
catalogue cache (pos/catalog/lookup.py), as at a till after its first scans. Product search
(`?search=`, the till's search box) is measured the same way, for information. Then the CPU time
per request of the bare view and of the lookup through Django's WSGI handler in this process: on a
shared machine the load changes req/s and p99 from run to run, not the CPU a request costs.

    python bench/bench_barcode.py [--seconds 10] [--connections 16] [--codes 2000]
"""

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import gunicorn, save, setup_django, table, wrk  # noqa: E402

SEARCH_LUA = """
local words = {}
for line in io.lines(os.getenv("WORDS_FILE")) do words[#words + 1] = line end
local token = os.getenv("API_TOKEN")
request = function()
  local word = words[math.random(#words)]
  return wrk.format("GET", "/api/products/?search=" .. word .. "&page_size=20", {["Authorization"] = "Token " .. token})
end
"""
LUA = """
local codes = {}
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
local token = os.getenv("API_TOKEN")
request = function()
  local code = codes[math.random(#codes)]
  return wrk.format("GET", "/api/products/barcode/" .. code .. "/", {["Authorization"] = "Token " .. token})
end
"""


def bench_token():
    from rest_framework.authtoken.models import Token

    from pos.accounts.models import User
    from pos.accounts.services import create_user

    user = User.objects.filter(username="bench-cashier").first() or create_user(
        username="bench-cashier", password="bench-pass-2026!", role="cashier")
    return Token.objects.get_or_create(user=user)[0].key


def warm_up(base, codes, token, passes=4, threads=8):
    """Scan every code of the working set `passes` times (so each gunicorn worker has read it)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    def scan(chunk):
        with requests.Session() as session:
            session.headers["Authorization"] = f"Token {token}"
            for code in chunk:
                session.get(f"{base}/api/products/barcode/{code}/", timeout=30)

    work = codes * passes
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(scan, [work[n::threads] for n in range(threads)]))


def cpu_per_request(codes, token, n=1000, rounds=5):
    """CPU time (process_time, so the machine's load does not count) per request of the bare view and of
    the lookup through Django's WSGI handler, what a gunicorn worker runs: [(name, microseconds)]."""
    import io
    import statistics
    import time

    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()

    def call(path):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
                   "HTTP_AUTHORIZATION": f"Token {token}", "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http"}
        response = app(environ, lambda status, headers, exc_info=None: None)
        b"".join(response)
        response.close()

    paths = {"bare Django view": lambda i: "/bench/bare/",
             "barcode lookup": lambda i: f"/api/products/barcode/{codes[i % len(codes)]}/"}
    for i in range(len(codes)):  # every code read once: the steady state, as after the warm-up
        call(paths["barcode lookup"](i))
    spent = {name: [] for name in paths}
    for _ in range(rounds):
        for name, path_of in paths.items():
            started = time.process_time()
            for i in range(n):
                call(path_of(i))
            spent[name].append((time.process_time() - started) / n * 1e6)
    return {name: round(statistics.median(times)) for name, times in spent.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--codes", type=int, default=500)
    args = parser.parse_args()
    setup_django()
    from pos.catalog.models import Product

    count = Product.objects.count()
    if count < 100_000:
        print(f"only {count} products: run `python bench/data.py` first")
    codes = list(Product.objects.filter(is_active=True).values_list("barcode", flat=True)[:50_000])
    random.Random(1).shuffle(codes)
    workdir = Path(tempfile.mkdtemp())
    (workdir / "codes.txt").write_text("\n".join(codes[:args.codes]))
    (workdir / "lookup.lua").write_text(LUA)
    (workdir / "words.txt").write_text("\n".join(f"{n:06d}" for n in random.Random(2).sample(range(1, 100_000), 500)))
    (workdir / "search.lua").write_text(SEARCH_LUA)
    env = {"CODES_FILE": str(workdir / "codes.txt"), "WORDS_FILE": str(workdir / "words.txt"),
           "API_TOKEN": bench_token()}
    rows = []
    with gunicorn(workers=2) as base:
        wrk(f"{base}/bench/bare/", seconds=2, connections=4)  # warm up both workers
        warm_up(base, codes[:args.codes], env["API_TOKEN"])  # the tills' first scans fill each worker's memory
        rows.append({"endpoint": "bare Django view (baseline)",
                     **wrk(f"{base}/bench/bare/", seconds=args.seconds, connections=args.connections)})
        rows.append({"endpoint": "GET /api/products/barcode/{code}/",
                     **wrk(base, seconds=args.seconds, connections=args.connections,
                           script=workdir / "lookup.lua", env=env)})
        rows.append({"endpoint": "GET /api/products/?search= (20 per page)",
                     **wrk(base, seconds=args.seconds, connections=args.connections, script=workdir / "search.lua",
                           env=env)})
    for row in rows[1:]:
        row["ratio_vs_baseline"] = round(row["requests_per_s"] / rows[0]["requests_per_s"], 3)
    cpu = cpu_per_request(codes[:args.codes], env["API_TOKEN"])
    cpu["ratio"] = round(cpu["bare Django view"] / cpu["barcode lookup"], 3)
    table(f"Barcode lookup, {count} products ({args.codes} scanned), gunicorn 2 workers, "
          f"wrk {args.connections} connections",
          rows, ["endpoint", "requests_per_s", "p50_ms", "p99_ms", "non_2xx", "errors", "ratio_vs_baseline"])
    print(f"CPU per request in one process (the load does not count): bare view {cpu['bare Django view']} us, "
          f"barcode lookup {cpu['barcode lookup']} us: ratio {cpu['ratio']}")
    save("barcode", {"products": count, "codes": args.codes, "connections": args.connections, "seconds": args.seconds,
                     "rows": rows, "cpu_us_per_request": cpu})


if __name__ == "__main__":
    main()
