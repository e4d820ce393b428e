import sys

from switchboard.console.entrypoint import main

sys.exit(main())
