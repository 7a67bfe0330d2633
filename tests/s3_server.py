# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A moto S3 server on 127.0.0.1 for the test suite; prints its port, then serves until killed.

Run as ``python tests/s3_server.py``. The port is chosen by the operating system (bind to 0), so
parallel test runs never collide.

Requests are handled one at a time. Real S3 is linearizable per key, so a conditional PUT
(``If-None-Match: *``) has exactly one winner however many race; moto checks and stores in two
steps, so concurrent requests could both pass the check. Serialising requests gives the
emulator the semantics of the real service; connections still stay open (HTTP/1.1).
"""

from __future__ import annotations

import faulthandler
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


def main() -> None:
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    server = make_server(
        "127.0.0.1", 0, serialised, threaded=True, request_handler=MotoRequestHandler
    )
    sys.stdout.write(f"{server.server_port}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
