"""switchboard-notifier: settings -> logging -> bootstrap -> run."""
import asyncio
import sys

from switchboard.common.logging import configure_logging
from switchboard.notifier.bootstrap import bootstrap
from switchboard.notifier.settings import NotifierSettings


def main() -> int:
    settings = NotifierSettings()
    configure_logging("notifier", settings.log_level)
    return asyncio.run(bootstrap(settings).service.run())


if __name__ == "__main__":
    sys.exit(main())
