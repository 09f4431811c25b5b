"""Makes `import_helpers` importable for the importer tests (`run_cli` is in tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
