"""What checking an API key adds to a request, next to the JWT path, in the same run.

Starts an embedded PostgreSQL in a temporary directory and migrates it; seeds one org (admin,
rep, one store) through the services. The real app runs under uvicorn (1 worker). The same
request, ``GET /api/v1/stores/{id}``, is sent with a rep's access token (the JWT path: decode
and verify the token, one indexed read of the user's access) and with an API key of scope
``stores:read`` (parse, one read of the key's row by primary key, HMAC-SHA256 compared in
constant time, the in-process rate limit, the scope table). Both answers are the same store
without its door code, so the route's own work is the same. The key is made with the largest
limits (60,000 a minute, bursts of 10,000) so that no request is refused; the limiter still runs
on every one. ``last_used_at`` is written at most once a minute, so about once per run.

Rounds alternate the two, so drift on a shared machine (another process waking up) falls on
both alike. Figures per path: req/s, p50/p95/p99 latency, the server process's CPU per request;
then the key's added cost: the difference of medians and of CPU per request.

Usage: python bench/bench_api_key.py [--requests N] [--rounds N] [--concurrency N]
"""

import argparse
import os
import sys
from dataclasses import dataclass, field

import _harness
import httpx

WARMUP = 200
LIMITS = {"rate_per_minute": 60_000, "burst": 10_000}


@dataclass
class Totals:
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    non_2xx: int = 0
    server_cpu_s: float | None = 0.0

    def add(self, result: _harness.LoadResult, server_cpu_s: float | None) -> None:
        self.seconds += result.seconds
        self.latencies_ms += result.latencies_ms
        self.non_2xx += result.not_ok
        if self.server_cpu_s is not None and server_cpu_s is not None:
            self.server_cpu_s += server_cpu_s
        else:
            self.server_cpu_s = None

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def median_ms(self) -> float:
        return _harness.percentile(self.latencies_ms, 50)

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_s is None:
            return None
        return self.server_cpu_s / len(self.latencies_ms) * 1000


def _credentials(port: int) -> tuple[str, str, str]:
    """(a rep's access token, an API key with ``stores:read``, the store's id), over the API."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        tokens = {}
        for username in ("bench-admin", "bench-rep"):
            response = client.post(
                "/api/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": username,
                    "password": _harness.PASSWORD,
                },
            )
            response.raise_for_status()
            tokens[username] = response.json()["access_token"]
        admin = {"Authorization": f"Bearer {tokens['bench-admin']}"}
        made = client.post(
            "/api/v1/api-keys",
            json={"name": "bench", "scopes": ["stores:read"], **LIMITS},
            headers=admin,
        )
        made.raise_for_status()
        stores = client.get("/api/v1/stores", headers=admin)
        stores.raise_for_status()
        return tokens["bench-rep"], made.json()["key"], stores.json()["items"][0]["id"]


def _load(
    server: _harness.Server, request: bytes, count: int, concurrency: int
) -> tuple[_harness.LoadResult, float | None]:
    before = server.cpu_seconds()
    result = _harness.run_async(_harness.http_load(server.port, [request] * count, concurrency))
    after = server.cpu_seconds()
    return result, None if before is None or after is None else after - before


def _report_failures(name: str, result: _harness.LoadResult) -> None:
    if result.not_ok:
        print(f"  {name}: {result.not_ok} non-2xx answers, statuses {dict(result.statuses)}")
        for failure in result.failures:
            print(f"    {failure}")


def _describe(name: str, totals: Totals) -> None:
    latencies = totals.latencies_ms
    p50, p95, p99 = (_harness.percentile(latencies, q) for q in (50, 95, 99))
    cpu = totals.cpu_ms_per_request
    cpu_text = f"   server CPU {cpu:.3f} ms/request" if cpu is not None else ""
    print(
        f"  {name:<22} {totals.rps:6.0f} req/s   p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   "
        f"p99 {p99:6.2f} ms{cpu_text}   ({len(latencies)} requests, {totals.non_2xx} non-2xx)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=6000, help="timed requests per path")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    per_round = max(1, args.requests // args.rounds)
    warmup = min(WARMUP, args.requests)

    with _harness.migrated_postgres("doorstep-bench-apikey-") as (url, tmp):
        settings = _harness.bench_settings(url, tmp / "data")
        _harness.run_async(_harness.seed_org(settings))
        env = _harness.app_env(url, tmp / "data")
        with _harness.uvicorn_server("backend.main:create_app", env, tmp / "app.log") as server:
            jwt, key, store_id = _credentials(server.port)
            path = f"/api/v1/stores/{store_id}"
            requests = {
                "JWT (rep token)": _harness.http_request(
                    "GET", path, headers={"Authorization": f"Bearer {jwt}"}
                ),
                "API key (stores:read)": _harness.http_request(
                    "GET", path, headers={"Authorization": f"Bearer {key}"}
                ),
            }
            totals = {name: Totals() for name in requests}
            for name, request in requests.items():
                warm, _ = _load(server, request, warmup, args.concurrency)
                _report_failures(f"warm-up {name}", warm)
            for r in range(args.rounds):
                # Alternate which goes first, so neither always follows the other.
                order = list(requests.items()) if r % 2 == 0 else list(requests.items())[::-1]
                this_round = {}
                for name, request in order:
                    result, cpu = _load(server, request, per_round, args.concurrency)
                    _report_failures(f"round {r + 1} {name}", result)
                    totals[name].add(result, cpu)
                    this_round[name] = result.rps
                print(
                    f"round {r + 1}: "
                    + ", ".join(f"{n} {rps:.0f} req/s" for n, rps in this_round.items()),
                    flush=True,
                )

    print(
        f"\nGET /api/v1/stores/{{id}}, {args.concurrency} keep-alive connections, uvicorn "
        f"1 worker, {args.rounds} rounds x {per_round} requests per path after {warmup} "
        f"warm-up; client, server and PostgreSQL share {os.cpu_count()} CPU(s)"
    )
    for name, total in totals.items():
        _describe(name, total)
    jwt_totals, key_totals = totals.values()
    added_median = key_totals.median_ms - jwt_totals.median_ms
    line = f"  API key added cost: median {added_median:+.3f} ms"
    jwt_cpu, key_cpu = jwt_totals.cpu_ms_per_request, key_totals.cpu_ms_per_request
    if jwt_cpu is not None and key_cpu is not None:
        line += f", server CPU {key_cpu - jwt_cpu:+.3f} ms per request"
    print(line)
    if jwt_totals.non_2xx or key_totals.non_2xx:
        print(f"FAILED: {jwt_totals.non_2xx + key_totals.non_2xx} non-2xx answers")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
