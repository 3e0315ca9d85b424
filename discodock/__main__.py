import sys

from discodock.cli import main

sys.exit(main())
