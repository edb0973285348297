"""A writer killed with SIGKILL mid-stream loses at most the edit in flight."""

import os
import signal
import subprocess
import sys
import textwrap

from napari_roadlabel.core import Project, SequenceInfo

WRITER = textwrap.dedent("""
    import sys
    from napari_roadlabel.core import Project, make_geometry
    project = Project.open(sys.argv[1])
    lane = project.add_track("lane-line")
    print(lane.id, flush=True)
    for frame in range(100000):
        x = float(frame % 600)
        project.set_state(lane.id, frame, make_geometry("polyline", [[x, 10], [x + 5, 300]]))
        print(frame, flush=True)  # printed only after the edit committed
""")


def test_sigkill_loses_at_most_the_edit_in_flight(tmp_path):
    folder = tmp_path / "p"
    Project.create(folder, SequenceInfo("clip.mp4", 100000, 640, 360)).close()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, text=True)
    track_id = int(writer.stdout.readline())
    committed = -1
    while committed < 150:
        committed = int(writer.stdout.readline())
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    for line in writer.stdout:  # edits confirmed between our last read and the kill
        committed = int(line)
    with Project.open(folder) as project:
        frames = [state.frame for state in project.states_of(track_id)]
        assert frames[: committed + 1] == list(range(committed + 1))  # every confirmed edit is there
        assert len(frames) <= committed + 2  # at most the one in flight besides
        last = project.state(track_id, committed)
        assert last.geometry.points[0, 0] == float(committed % 600)
        more = project.add_track("vehicle")  # the reopened store takes new edits
        assert more.id > track_id
