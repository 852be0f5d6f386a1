"""PyInstaller entry point: the frozen `llmvis-studio` runs the same main() as the pip script.

llmvis_studio/__main__.py uses relative imports, so it cannot be the script itself.
"""

import sys

from llmvis_studio.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
