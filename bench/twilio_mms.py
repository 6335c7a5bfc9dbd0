"""MMS webhooks answer as fast as plain texts: the media are fetched afterwards by a worker.

In one process, signed /twilio/sms webhooks through Flask's test client on SQLite: plain texts
(the baseline) and MMS with two media on a local server that takes --media-delay seconds per
file, alternating so both see the same load. Prints the median and p95 response time of each
and the ratio MMS / text (about 1 when nothing is fetched inside the request; fetching inside
would add 2 x the delay). Then the media worker's time to fetch and store the files.

    python bench/twilio_mms.py [--requests 200] [--media-delay 0.2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path and bench/twilio.py would shadow the
# twilio library: drop it, and put the project root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from twilio.request_validator import RequestValidator  # noqa: E402

import app as app_module  # noqa: E402
from caseboard.services import build_services, prepare_database  # noqa: E402
from channels.phone.media import MediaFetcher  # noqa: E402
from settings import load_config  # noqa: E402

TOKEN = "bench-auth-token"
PUBLIC = "https://contact.city.example"


def media_server(delay: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            time.sleep(delay)
            data = b"\xff\xd8\xff\xe0" + self.path.encode() * 50
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def body(index: int, media_url: str | None) -> dict[str, str]:
    params = {"MessageSid": f"SM{index:032d}", "AccountSid": "AC" + "e" * 32,
              "From": f"+1415555{index % 10000:04d}", "To": "+14155550199",
              "Body": f"Pothole number {index} on Elm Road", "NumMedia": "0"}
    if media_url:
        params.update(NumMedia="2", MediaUrl0=f"{media_url}/Media/A{index}",
                      MediaContentType0="image/jpeg", MediaUrl1=f"{media_url}/Media/B{index}",
                      MediaContentType1="image/jpeg")
    return params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--media-delay", type=float, default=0.2)
    args = parser.parse_args()
    server = media_server(args.media_delay)
    media_url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(env={
            "CC_DATA_DIR": folder, "CC_DATABASE_URL": f"sqlite:///{folder}/cc.db",
            "CC_DEMO": "0", "CC_TWILIO_AUTH_TOKEN": TOKEN, "CC_TWILIO_PUBLIC_URL": PUBLIC,
            "CC_TWILIO_ACCOUNT_SID": "AC" + "e" * 32})
        services = build_services(config)
        prepare_database(services)
        app_module.CHANNEL_MODULES = ("channels.phone",)
        client = app_module.create_app(config, services).test_client()
        validator = RequestValidator(TOKEN)
        timings: dict[str, list[float]] = {"text": [], "mms": []}
        for index in range(2 * args.requests):
            kind = "mms" if index % 2 else "text"
            params = body(index, media_url if kind == "mms" else None)
            headers = {"X-Twilio-Signature": validator.compute_signature(
                PUBLIC + "/twilio/sms", params)}
            start = time.perf_counter()
            answer = client.post("/twilio/sms", data=params, headers=headers)
            timings[kind].append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.get_data(as_text=True)
        fetcher, fetched, start = MediaFetcher(services), 0, time.perf_counter()
        while fetcher.step():
            fetched += 1
        worker_seconds = time.perf_counter() - start
        services.database.dispose()
    server.shutdown()
    for kind, values in timings.items():
        ordered = sorted(values)
        print(f"{kind:5} webhook: median {statistics.median(values) * 1000:7.2f} ms, "
              f"p95 {ordered[int(len(ordered) * 0.95) - 1] * 1000:7.2f} ms "
              f"({len(values)} requests)")
    ratio = statistics.median(timings["mms"]) / statistics.median(timings["text"])
    print(f"ratio MMS / text (medians): {ratio:.2f} "
          f"(fetching in the request would add {2 * args.media_delay * 1000:.0f} ms each)")
    print(f"media worker: {fetched} files fetched and stored in {worker_seconds:.1f} s "
          f"({args.media_delay * 1000:.0f} ms server delay each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
