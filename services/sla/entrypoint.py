"""switchboard-sla: settings -> logging -> bootstrap -> run."""
import asyncio
import sys

from switchboard.common.config import ConfigError
from switchboard.common.logging import configure_logging, get_logger
from switchboard.sla.bootstrap import bootstrap
from switchboard.sla.settings import SlaSettings


def main() -> int:
    settings = SlaSettings()
    configure_logging("sla", settings.log_level)
    try:
        app = bootstrap(settings)
    except ConfigError as exc:
        get_logger(__name__).error("sla_config_invalid", error=str(exc))
        return 2
    return asyncio.run(app.service.run())


if __name__ == "__main__":
    sys.exit(main())
