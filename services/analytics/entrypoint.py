"""switchboard-analytics: settings -> logging -> bootstrap -> run."""

import asyncio
import sys

from switchboard.analytics.bootstrap import bootstrap
from switchboard.analytics.settings import AnalyticsSettings
from switchboard.common.logging import configure_logging


def main() -> int:
    settings = AnalyticsSettings()
    configure_logging("analytics", settings.log_level)
    return asyncio.run(bootstrap(settings).service.run())


if __name__ == "__main__":
    sys.exit(main())
