"""switchboard-ingest: settings -> logging -> bootstrap -> run."""
from __future__ import annotations

import asyncio
import sys

from switchboard.common.logging import configure_logging
from switchboard.ingest.bootstrap import bootstrap
from switchboard.ingest.settings import IngestSettings


def main() -> int:
    settings = IngestSettings()
    configure_logging("ingest", settings.log_level)
    return asyncio.run(bootstrap(settings).service.run())


if __name__ == "__main__":
    sys.exit(main())
