import sys
from pathlib import Path

# Lets the test modules import the shared record builders as `results_records`.
sys.path.insert(0, str(Path(__file__).parent))
