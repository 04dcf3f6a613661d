"""The S3 server of the test suite: moto's S3 on 127.0.0.1, one request at a time.

Started by scripts/s3-test-server (with the project venv's python). moto checks a PUT's
If-Match / If-None-Match and then stores the object in two separate steps, without a lock,
while its server answers requests on many threads: two simultaneous conditional PUTs can then
both pass the check, which real S3 never allows (it evaluates the condition atomically). This
launcher serialises requests through one lock so the server behaves like S3 in that respect;
everything else is moto unchanged.

Usage: python s3_test_server.py PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    run_simple(
        "127.0.0.1",
        port,
        serialised,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
