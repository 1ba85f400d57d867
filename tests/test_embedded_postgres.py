import json
import tempfile
from pathlib import Path

from backend.kit.embedded_postgres import EmbeddedPostgres


def test_a_killed_user_does_not_keep_the_cluster_running_for_ever() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="doorstep-embedded-"))
    first = EmbeddedPostgres(data_dir)
    first.start()
    first.stop()
    handles = data_dir / "postgres" / ".handle_pids.json"
    # A process that died by SIGKILL leaves its pid behind (pid 2**22 + 1 is never a live one).
    handles.write_text(json.dumps([2**22 + 1]))

    second = EmbeddedPostgres(data_dir)
    url = second.start()
    assert "doorstep" in url
    assert (data_dir / "postgres" / "postmaster.pid").exists()
    second.stop()
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    assert json.loads(handles.read_text()) == []
