"""``python -m llm_mars.cli ARGS`` = ``llm-mars ARGS``."""
import sys

from llm_mars.cli import main

sys.exit(main())
