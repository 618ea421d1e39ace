"""How long the diarium page takes with a long audit log (blurkit/web/diarium.py).

Builds audit logs of N entries (real hash chain, written in one transaction through the same
canonical JSON and chain hash as AuditLog.append), then times the page over HTTP
(Starlette's TestClient, in-process) against a baseline in the same script: the same page
work with a full AuditLog.verify() on every load (what the page did before the verified-state
cache). Prints medians of REPEAT loads and the ratio page / baseline, and the machine.

    PYTHONPATH=. BLURKIT_MODELS_DIR=... .venv/bin/python benchmarks/diarium_page.py [N ...]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from blurkit.audit import AuditLog, canonical, chain_hash, transaction, utc_now  # noqa: E402
from blurkit.config import load_settings  # noqa: E402
from blurkit.watch import make_config  # noqa: E402
from blurkit.web.app import WebApp, create_app  # noqa: E402

REPEAT = 5


def build(data: Path, n: int) -> None:
    with AuditLog.open(load_settings(data)) as log:
        conn = log._db()
        with transaction(conn):
            prev = conn.execute("SELECT last_hash FROM head").fetchone()[0]
            for i in range(1, n + 1):
                body = {"kind": "photo", "status": "ok", "reason": None, "purpose": "public",
                        "input_path": f"/in/{i}.jpg", "input_sha256": None,
                        "output_path": f"/ready/{i}.jpg", "output_sha256": None, "faces": 2,
                        "shown": [{"person_id": i % 50, "consent_id": i % 50}]
                        if i % 7 == 0 else [], "models": {}, "person_id": None, "details": {},
                        "operator": "watch", "seq": i, "time": utc_now()}
                text = canonical(body)
                digest = chain_hash(prev, text)
                conn.execute("INSERT INTO entry VALUES (?, ?, ?, ?)", (i, text, prev, digest))
                prev = digest
            conn.execute("UPDATE head SET count = ?, last_hash = ?", (n, prev))
        assert log.verify().ok


def median_ms(fn) -> float:
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main(sizes: list[int]) -> None:
    print(f"machine: {machine()}")
    print(f"{'entries':>8}  {'url':<24} {'page ms':>9} {'baseline ms':>12} {'ratio':>6}")
    for n in sizes:
        data = Path(tempfile.mkdtemp(prefix="blurkit-diarium-bench-")) / "data"
        data.mkdir()
        build(data, n)
        settings = load_settings(data)
        client = TestClient(create_app(WebApp(settings=settings, watch=make_config(settings))),
                            base_url="http://127.0.0.1")    # loopback, the local user
        client.get("/diarium")           # the first load verifies the whole chain once
        for url in ("/diarium", "/diarium?person=7"):
            def page():
                assert client.get(url).status_code == 200

            def baseline():
                assert client.get(url).status_code == 200
                with AuditLog.open(settings) as log:
                    assert log.verify().ok

            p, b = median_ms(page), median_ms(baseline)
            print(f"{n:>8}  {url:<24} {p:>9.0f} {b:>12.0f} {p / b:>6.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
