"""The S3 server of the test suite: moto's S3 on 127.0.0.1, one request at a time.

Started by scripts/s3-test-server (with the project venv's python). moto (5.2.5) checks a
PUT's If-Match / If-None-Match and then stores the object in two separate steps without a lock
(moto/s3/responses.py, put_object), while its server answers requests on many threads. Real
S3 evaluates the condition atomically. In a trial of 100 rounds of 8 simultaneous If-Match
PUTs against unmodified moto, exactly one won every round (the GIL keeps the window small),
but nothing guarantees it, and the tests depend on it; so this launcher serialises requests
through one lock. Everything else is moto unchanged.

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
