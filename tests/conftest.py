import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT / "data"
SY_CRIME = DATA / "south-yorkshire" / "crime"
collect_ignore_glob = ["browser/apps/*"]


@pytest.fixture(scope="session")
def demo_workspaces(tmp_path_factory):
    """The two bundled demo workspaces, built once per test session."""
    from geo.demo import ensure_demo_workspaces
    folder = tmp_path_factory.mktemp("workspaces")
    sy, pdx = ensure_demo_workspaces(folder, progress=lambda s: None)
    return {"south-yorkshire": sy, "portland": pdx}
