"""Fixtures the end-to-end proofs share: the stack's outbound receivers and a store of a proof's own."""
from __future__ import annotations

import harness
import pytest
from switchboard.common import processes


@pytest.fixture
def receivers():
    """HTTP and SMTP receivers for everything the stack sends out (Slack, CRM, inbox, email)."""
    box = harness.Receivers().start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def private_mongo_uri(request, tmp_path_factory):
    """A store of the module's own: nx-27017 serves one request at a time, and a proof's thousands of
    conversations would make every test running beside it in CI wait in that one line. A module opts in
    by defining `mongo_uri` as this fixture."""
    folder = tmp_path_factory.mktemp(f"{request.module.__name__.rsplit('.', 1)[-1]}-store")
    server = processes.mongo(processes.free_port(), "memory", folder).start()
    yield processes.mongo_uri(server.port)
    server.stop()
