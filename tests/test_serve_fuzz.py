"""Property-based fuzzing of the whole HTTP API from its OpenAPI schema (schemathesis).

Bounded and derandomised (a fixed number of examples per operation, the same ones every run):
no 5xx, every status code, content type and body as the schema declares them.
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
pytest.importorskip("multipart", reason="the serve extra (python-multipart) is not installed")
schemathesis = pytest.importorskip("schemathesis", reason="the serve extra (schemathesis) "
                                   "is not installed")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (content_type_conformance,  # noqa: E402
                                               response_schema_conformance,
                                               status_code_conformance)

from seamline.serve import ServeConfig, create_app  # noqa: E402


#: The operations the app declares (labels, e.g. ``POST /v1/remove-text``), read once from
#: its OpenAPI document (no lifespan: collecting this module starts no worker).
def _labels() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        paths = create_app(ServeConfig(runs_dir=d)).openapi()["paths"]
    return [f"{method.upper()} {path}" for path, ops in paths.items() for method in ops]


LABELS = _labels()


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    """The app under uvicorn on 127.0.0.1 in a thread (one lifespan for the whole module;
    schemathesis' ASGI transport would start and stop the workers for every request)."""
    import socket
    import threading
    import time

    import uvicorn

    runs = tmp_path_factory.mktemp("fuzz-runs")
    app = create_app(ServeConfig(runs_dir=runs, workers=1, queue_size=4, max_bytes=200_000,
                                 max_pixels=1_000_000))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield schemathesis.openapi.from_url(f"http://127.0.0.1:{port}/openapi.json")
    finally:
        server.should_exit = True
        thread.join(30)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "still listening after the test"


# schemathesis' own pytest plugin does not run under pytest 9: one hypothesis test per
# operation, drawing cases from the operation's strategy
@pytest.mark.parametrize("label", LABELS)
def test_api_fuzz(api_schema, label):
    op = api_schema.find_operation_by_label(label)

    @given(case=op.as_strategy())
    @settings(max_examples=10, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(checks=[not_a_server_error, status_code_conformance,
                                       content_type_conformance, response_schema_conformance])

    check()
