# Lets the boot tests `import bootlib` whatever pytest's import mode and working directory, and
# keeps bytecode out of the source tree (ctest also sets PYTHONDONTWRITEBYTECODE=1).
import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
