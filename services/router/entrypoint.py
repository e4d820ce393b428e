"""switchboard-router: settings -> logging -> bootstrap -> run."""

from __future__ import annotations

import asyncio
import sys

from switchboard.common.logging import configure_logging
from switchboard.router.bootstrap import bootstrap
from switchboard.router.settings import RouterSettings


def main() -> int:
    settings = RouterSettings()
    configure_logging("router", settings.log_level)
    return asyncio.run(bootstrap(settings).service.run())


if __name__ == "__main__":
    sys.exit(main())
