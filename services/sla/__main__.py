import sys

from switchboard.sla.entrypoint import main

sys.exit(main())
