"""Per-person figures from activity logs written at known times and job histories with known moves."""

import datetime
from pathlib import Path

import pytest

from napari_roadlabel.core import Project, SequenceInfo, make_geometry
from napari_roadlabel.io.formats.geojson import export_geojson, import_geojson
from napari_roadlabel.teams.figures import active_seconds, people_figures
from napari_roadlabel.teams.jobs import Base, Job, Move, Stage, State

LANE = make_geometry("polyline", [[100, 350], [200, 250], [300, 180]])
START = datetime.datetime(2024, 5, 1, 9, 0, tzinfo=datetime.timezone.utc)


def at(seconds: float) -> str:
    return (START + datetime.timedelta(seconds=seconds)).isoformat()


def test_active_time_sums_the_short_gaps_and_adds_a_minute_per_session():
    times = [START + datetime.timedelta(seconds=s) for s in (0, 120, 240, 3600, 3780)]
    assert active_seconds(times) == (120 + 120 + 180 + 2 * 60, 2)
    assert active_seconds([]) == (0.0, 0)


def test_objects_and_keyframes_per_active_hour_from_the_stores_own_log(tmp_path):
    with Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 50, 640, 360)) as project:
        project.store.author = "ana"
        times = iter([at(-7200), at(0), at(60), at(120), at(180), at(240), at(3840)])
        project.store.clock = lambda: next(times)
        with project.group("split"):  # a copy from the sequence: made elsewhere, counts for nobody
            project.set_state(project.add_track("lane-line").id, 0, LANE)
        first = project.add_track("lane-line")  # 0 s
        project.set_state(first.id, 1, LANE)  # 60 s
        project.set_state(first.id, 9, LANE)  # 120 s
        second = project.add_track("lane-line")  # 180 s
        project.set_state(second.id, 4, LANE)  # 240 s
        project.undo()  # an hour later: the keyframe of 240 s taken back
        (ana,) = people_figures(project.store.activity(), [])
    # 240 s of short gaps and two sessions of 60 s: 360 s = 0.1 h for 2 tracks and 2 keyframes.
    assert (ana.name, ana.steps, ana.sessions, ana.active_hours) == ("ana", 6, 2, 0.1)
    assert (ana.objects_made, ana.keyframes_made) == (2, 2)
    assert (ana.objects_per_hour, ana.keyframes_per_hour) == (20.0, 20.0)
    assert ana.jobs_reviewed == 0 and ana.first_pass_rate is None and ana.turnaround_hours is None


def test_labels_imported_from_a_file_count_for_nobody_even_as_keyframes(tmp_path):
    info = SequenceInfo("clip.mp4", 50, 640, 360)
    with Project.create(tmp_path / "elsewhere", info) as elsewhere:
        elsewhere.set_state(elsewhere.add_track("lane-line").id, 3, LANE)  # a keyframe (manual) in the file
        export_geojson(elsewhere, tmp_path / "labels.geojson")
    with Project.create(tmp_path / "here", info) as project:
        project.store.author = "ana"
        import_geojson(project, tmp_path / "labels.geojson")
        project.set_state(project.add_track("lane-line").id, 5, LANE)
        assert [state.source.value for state in project.states_of(1)] == ["manual"]  # kept as the file says
        (ana,) = people_figures(project.store.activity(), [])
    assert (ana.objects_made, ana.keyframes_made) == (1, 1)


def job(name: str, assignee: str, *moves: tuple[str, str, float]) -> Job:
    history = tuple(Move(action, by, at(seconds), "", Stage.REVIEW, State.IN_PROGRESS) for action, by, seconds in moves)
    return Job(name=name, folder=Path(name), frames=(0, 9), own=(0, 9), parent=Path("."), base=Base("x", 0),
               assignee=assignee, reviewer="rita", history=history)


HOUR = 3600


def test_first_pass_rejections_and_review_turnaround_from_the_job_histories():
    jobs = [job("job-01", "ana", ("split", "lead", 0), ("start", "ana", 10), ("submit", "ana", 0),
                ("reject", "rita", 2 * HOUR), ("submit", "ana", 3 * HOUR), ("approve", "rita", 4 * HOUR),
                ("accept", "lead", 5 * HOUR)),
            job("job-02", "ben", ("submit", "ben", 0), ("approve", "rita", HOUR)),
            job("job-03", "ben", ("submit", "ben", 0), ("reject", "rita", HOUR / 2)),
            job("job-04", "ben", ("start", "ben", 0))]  # never reviewed: not in the first-pass figures
    people = {person.name: person for person in people_figures([], jobs)}
    assert sorted(people) == ["ana", "ben", "lead", "rita"]
    ana, ben, rita, lead = people["ana"], people["ben"], people["rita"], people["lead"]
    assert (ana.jobs_reviewed, ana.first_pass, ana.first_pass_rate, ana.rejections) == (1, 0, 0.0, 1)
    assert (ben.jobs_reviewed, ben.first_pass, ben.first_pass_rate, ben.rejections) == (2, 1, 0.5, 1)
    assert rita.verdicts == 4 and rita.turnaround_hours == pytest.approx(1.0)  # median of 2, 1, 1 and 0.5 h
    assert lead.verdicts == 1 and lead.turnaround_hours is None  # the accept answered no submit
    assert ana.active_hours == 0 and ana.objects_per_hour is None
