import sys

from tokensync.cli import main

sys.exit(main())
