import sys

from churnkb.cli import main

sys.exit(main())
