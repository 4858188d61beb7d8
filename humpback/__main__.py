import sys

from humpback.run.cli import main

sys.exit(main())
