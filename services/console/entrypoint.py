"""switchboard-console: settings -> logging -> bootstrap -> run."""
import asyncio
import sys

from switchboard.common.config import ConfigError
from switchboard.common.logging import configure_logging, get_logger
from switchboard.console.bootstrap import bootstrap
from switchboard.console.settings import ConsoleSettings


def main() -> int:
    settings = ConsoleSettings()
    configure_logging("console", settings.log_level)
    try:
        app = bootstrap(settings)
    except ConfigError as exc:
        get_logger(__name__).error("console_config_invalid", error=str(exc))
        return 2
    return asyncio.run(app.service.run())


if __name__ == "__main__":
    sys.exit(main())
