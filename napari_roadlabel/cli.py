"""The `roadlabel` command: a thin shell over the package.

Errors exit non-zero with one clear line; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections import Counter
from functools import partial
from pathlib import Path

from tqdm import tqdm

from . import __version__
from .assist.registry import assistant_class, assistant_names
from .assist.run import compute_suggestions
from .core import Project, RoadlabelError, Source, Taxonomy, default_taxonomy, load_taxonomy
from .core.errors import RoadlabelWarning
from .core.suggestions import accept_all, pending_suggestions, reject_all
from .core.wording import counted
from .io.formats.registry import IMPORTERS, export_any, export_formats
from .io.formats.report import report_path
from .io.frames import open_frames
from .io.ingest import INGEST_FORMATS, ingest_sequence, read_dataset
from .io.projects import create_project, open_project_frames
from .io.splits import SPLITS, parse_ratios, split_dataset
from .qa.agreement import compare_projects, compare_suggestions
from .qa.browser import render_png
from .qa.check_config import config_for, load_check_config
from .qa.checks import run_checks
from .qa.outcome import QAOutcome, record_outcome
from .qa.report import report_with_frames, write_report
from .qa.review import default_reviewer, now, review_progress
from .temporal.propagation import (
    FLAG_BELOW,
    METHODS,
    STOP_BELOW,
    compute_propagation,
    plan_propagation,
    write_propagation,
)

EXIT_ERROR = 1
EXIT_BLOCKED = 2  # `roadlabel qa`: blocking findings remain (or, with --require-sign-off, not signed off)
EXIT_CLOSED_PIPE = 128 + 13  # stdout's reader went away: the status of a command stopped by SIGPIPE
SHOWN_FINDINGS = 20  # listed on the terminal; the report has them all


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "split":  # OUT comes after the options: PROJECTS... --ratios R --format F OUT
        args.paths += [Path(item) for item in extra if not item.startswith("-")]
        extra = [item for item in extra if item.startswith("-")]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        with warnings.catch_warnings():
            warnings.showwarning = partial(_show_warning, warnings.showwarning)
            code = args.run(args) or 0
        sys.stdout.flush()  # so that a reader gone away is found here, not at exit
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except (RoadlabelError, OSError) as error:
        if args.debug:
            raise
        print(f"roadlabel: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        if args.debug:
            raise
        print(f"roadlabel: error: {args.command}: out of memory; nothing half-written was kept (a smaller --frames "
              "range, or a machine with more memory, may do)", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("roadlabel: interrupted", file=sys.stderr)
        return 130


def _one_line(error: Exception) -> str:
    """A RoadlabelError as it reads; an OSError no command turned into one as ``<file>: <reason>``."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    return str(error)


def _stdout_closed() -> int:
    """The reader of our output has gone (``roadlabel info P | head -4``): stop quietly, as other commands do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit would fail again
    return EXIT_CLOSED_PIPE


def _show_warning(show_others, message, category, *details) -> None:
    """Our warnings are one line, like our errors; other libraries' keep their usual form."""
    if issubclass(category, RoadlabelWarning):
        print(f"roadlabel: warning: {message}", file=sys.stderr)
    else:
        show_others(message, category, *details)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but a usage error exits 1 like any other error: 2 means "blocked" to our pipelines."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="roadlabel", description="Label road scenes for autonomous driving.")
    parser.add_argument("--version", action="version", version=f"napari-roadlabel {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    new = commands.add_parser("new", help="create a project for a video or image folder")
    new.add_argument("project", type=Path, help="the new project folder (must not exist or be empty)")
    new.add_argument("--source", type=Path, required=True, help="video file, image folder or image")
    new.add_argument("--taxonomy", type=Path, help="taxonomy YAML/JSON file (default: the road taxonomy)")
    new.add_argument("--annotator", default=os.environ.get("USER", ""), help="who labels this project")
    new.set_defaults(run=_new)

    info = commands.add_parser("info", help="frames, size, fps, tracks and keyframes by class")
    info.add_argument("project", type=Path)
    info.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    info.set_defaults(run=_info)

    taxonomy = commands.add_parser("taxonomy", help="list the classes of a project, a taxonomy file or the default")
    taxonomy.add_argument("project", type=Path, nargs="?", help="a project folder or a taxonomy YAML/JSON file")
    taxonomy.set_defaults(run=_taxonomy)

    importer = commands.add_parser("import", help="add annotations from a file to a project")
    importer.add_argument("project", type=Path)
    importer.add_argument("file", type=Path)
    importer.add_argument("--format", choices=sorted(IMPORTERS), required=True)
    importer.add_argument("--as", dest="source", choices=[s.value for s in Source],
                          help="mark every imported state with this source (e.g. suggested for predictions)")
    importer.add_argument("--images-json", type=Path,
                          help="coco-results: the COCO file whose image and category ids the results use (default: "
                               "the ids of this project's own coco export)")
    importer.add_argument("--strict", action="store_true",
                          help="refuse what the import would clip at the image border or skip, entries for frames "
                               "the project lacks, and a file with nothing to import")
    importer.set_defaults(run=_import)

    ingest = commands.add_parser("ingest", help="make one project per sequence of a dataset, its labels imported")
    ingest.add_argument("labels", type=Path, metavar="LABELS", help="the dataset's label file or folder")
    ingest.add_argument("out", type=Path, metavar="OUT", help="where the projects go (one folder per sequence)")
    ingest.add_argument("--format", choices=sorted(INGEST_FORMATS), required=True)
    ingest.add_argument("--images", type=Path, required=True, metavar="ROOT",
                        help="where the label file's image paths resolve")
    ingest.add_argument("--taxonomy", type=Path, help="taxonomy YAML/JSON file (default: the road taxonomy)")
    ingest.add_argument("--annotator", default=os.environ.get("USER", ""), help="who labels these projects")
    ingest.add_argument("--strict", action="store_true", help="as for import: refuse instead of clipping or skipping")
    ingest.set_defaults(run=_ingest)

    exporter = commands.add_parser("export", help="write a project's annotations to a file")
    exporter.add_argument("project", type=Path)
    exporter.add_argument("out", type=Path)
    exporter.add_argument("--format", choices=export_formats(), required=True)
    exporter.add_argument("--frames", type=_frame_range, help="only frames A:B (B excluded)")
    exporter.add_argument("--every", type=int, default=1, metavar="N",
                          help="every N-th frame (lane formats; default 1)")
    exporter.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    exporter.add_argument("--strict", action="store_true",
                          help="refuse to export while the checks find blocking errors (default: warn)")
    exporter.set_defaults(run=_export)

    propagate = commands.add_parser("propagate", help="carry objects from their keyframes through the other frames")
    propagate.add_argument("project", type=Path)
    propagate.add_argument("--method", choices=METHODS, default="flow",
                           help="flow: optical flow, blended between keyframes (default); linear or smooth: "
                                "interpolation between keyframes only")
    propagate.add_argument("--from", dest="start", type=int, default=0, metavar="F", help="first frame (default 0)")
    propagate.add_argument("--to", dest="end", type=int, metavar="G", help="last frame, included (default: the last)")
    propagate.add_argument("--track", dest="tracks", type=int, action="append", metavar="ID",
                           help="only this track (repeat for more; default: every track)")
    propagate.add_argument("--to-next-keyframe", action="store_true",
                           help="stop each track at its first keyframe after F")
    propagate.add_argument("--extend-tags", action="store_true", help="frame tags covering F last until G")
    propagate.add_argument("--flag-below", type=float, default=FLAG_BELOW,
                           help=f"flag propagated states below this confidence for review (default {FLAG_BELOW})")
    propagate.add_argument("--stop-below", type=float, default=STOP_BELOW,
                           help=f"stop an object when a step's quality falls below this (default {STOP_BELOW})")
    propagate.set_defaults(run=_propagate)

    assistants = commands.add_parser("assistants", help="list the assistants that propose labels")
    assistants.set_defaults(run=_assistants)

    suggest = commands.add_parser("suggest", help="train an assistant on the project's labels and write its "
                                                  "suggestions for a person to accept")
    suggest.add_argument("project", type=Path)
    suggest.add_argument("--assistant", required=True, metavar="NAME", help="see `roadlabel assistants`")
    suggest.add_argument("--model", type=Path, metavar="FILE", help="the model file of an assistant that runs one")
    suggest.add_argument("--frames", type=_frame_range, metavar="A:B", help="only frames A..B-1 (default: all)")
    suggest.add_argument("--min-confidence", type=float, default=0.0, metavar="X",
                         help="leave out suggestions less sure than X (0..1, default 0)")
    suggest.add_argument("--option", dest="options", action="append", default=[], metavar="KEY=VALUE",
                         help="a setting of the assistant (repeat for more; VALUE read as JSON when it is)")
    suggest.set_defaults(run=_suggest)

    accept = _pending_command(commands, "accept", "accept pending suggestions as labels (one undo step)")
    accept.add_argument("--min-confidence", type=float, default=0.0, metavar="X",
                        help="only those at least X sure (0..1, default 0)")
    accept.set_defaults(run=_accept)

    reject = _pending_command(commands, "reject", "reject pending suggestions (one undo step); their assistants do "
                                                  "not propose them again")
    reject.add_argument("--below", type=float, metavar="X", help="only those less sure than X (0..1; default: all)")
    reject.set_defaults(run=_reject)

    split = commands.add_parser("split", help="split projects by sequence into train/val/test and export each")
    split.add_argument("paths", type=Path, nargs="+", metavar="PATH",
                       help="the projects (one sequence each), then the output folder OUT")
    split.add_argument("--ratios", type=_ratios, default=(0.8, 0.1, 0.1), help="train,val,test (default 0.8,0.1,0.1)")
    split.add_argument("--seed", type=int, default=0, help="shuffling seed (default 0): the same seed, the same split")
    split.add_argument("--format", choices=export_formats(), required=True)
    split.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    split.set_defaults(run=_split)

    qa = commands.add_parser("qa", help="run the checks, measure agreement and write the QA report; exits 2 while "
                                        "blocking findings remain")
    qa.add_argument("project", type=Path)
    qa.add_argument("--report", type=Path, metavar="OUT.html", help="write the HTML report (and OUT.json beside it)")
    qa.add_argument("--json", type=Path, metavar="OUT.json", help="write the JSON report here instead")
    qa.add_argument("--png", type=Path, metavar="OUT.png", help="also a picture of the report (needs chromium)")
    qa.add_argument("--against", type=Path, metavar="OTHER_PROJECT",
                    help="agreement with another annotator's project of the same sequence")
    qa.add_argument("--suggestions", action="store_true",
                    help="agreement of the model's suggestions in PROJECT with its other labels")
    qa.add_argument("--config", type=Path, help="check thresholds (default: PROJECT/qa.yaml, else the defaults)")
    qa.add_argument("--require-sign-off", action="store_true", help="also exit 2 while the sequence is not signed off")
    qa.add_argument("--overwrite", action="store_true", help="replace report files that exist")
    qa.set_defaults(run=_qa)

    demo = commands.add_parser("demo", help="open napari on the bundled sample clip with the plugin docked")
    demo.add_argument("--out", type=Path, default=Path("demo_output"), help="where the demo project and files go")
    demo.add_argument("--headless", action="store_true",
                      help="no window: save a screenshot and the exported annotations, print where they are")
    demo.set_defaults(run=_demo)

    from . import cli_jobs
    cli_jobs.add_commands(commands)
    from . import cli_batch
    cli_batch.add_commands(commands)
    from . import cli_status
    cli_status.add_commands(commands)
    return parser


def _pending_command(commands, name: str, help_text: str) -> argparse.ArgumentParser:
    """`accept` and `reject`: a project, and which pending suggestions."""
    command = commands.add_parser(name, help=help_text)
    command.add_argument("project", type=Path)
    command.add_argument("--assistant", metavar="NAME", help="only this assistant's (default: every one's)")
    command.add_argument("--frames", type=_frame_range, metavar="A:B", help="only frames A..B-1 (default: all)")
    return command


def _frame_range(text: str) -> range:
    try:
        start, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not A:B (two frame numbers)") from None
    if not 0 <= start < stop:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 <= A < B")
    return range(start, stop)


def _new(args) -> None:
    taxonomy: Taxonomy = load_taxonomy(args.taxonomy) if args.taxonomy else default_taxonomy()
    project = create_project(args.project, args.source, taxonomy=taxonomy, annotator=args.annotator)
    sequence = project.sequence
    print(f"created {args.project}: {sequence.frame_count} frames of {sequence.width}x{sequence.height} "
          f"from {project.source_path()}")
    project.close()


def _info(args) -> None:
    with Project.open(args.project) as project:
        sequence = project.sequence
        summary = project.summary()
        if args.json:
            print(json.dumps({"frames": sequence.frame_count, "width": sequence.width, "height": sequence.height,
                              "fps": sequence.fps, "source": str(project.source_path()), **summary}))
            return
        print(f"project    {project.folder}")
        print(f"source     {project.source_path()}")
        print(f"frames     {sequence.frame_count}  ({sequence.width}x{sequence.height}"
              f"{f', {sequence.fps:g} fps' if sequence.fps else ''})")
        print(f"annotator  {project.metadata.get('annotator') or '-'}")
        print(f"tags       {summary['tags']}")
        relations = summary["relations"]
        by_type = ", ".join(f"{count} {name}" for name, count in sorted(relations.items()))
        print(f"relations  {sum(relations.values())}{f'  ({by_type})' if relations else ''}")
        print(f"\n{'class':<20} {'tracks':>7} {'keyframes':>10} {'other states':>13}")
        for class_name in sorted(set(summary["tracks"]) | set(summary["states"])):
            states = summary["states"].get(class_name, {})
            keyframes = states.get(Source.MANUAL.value, 0)
            print(f"{class_name:<20} {summary['tracks'].get(class_name, 0):>7} {keyframes:>10} "
                  f"{sum(states.values()) - keyframes:>13}")


def _taxonomy(args) -> None:
    if args.project is None:
        taxonomy = default_taxonomy()
    elif args.project.is_file():
        taxonomy = load_taxonomy(args.project)
    else:
        with Project.open(args.project) as project:
            taxonomy = project.taxonomy
    print("\n".join(taxonomy.describe()))


def _import(args) -> None:
    with Project.open(args.project, writing=True) as project:  # locked before reading: ids are chosen on reading
        options = {"source": Source(args.source)} if args.source else {}
        if args.images_json is not None:
            if args.format != "coco-results":
                raise RoadlabelError("--images-json", "is for --format coco-results")
            options["images_json"] = args.images_json
        report = IMPORTERS[args.format](project, args.file, strict=args.strict, **options)
    _refuse_or_warn_if_empty(report, args.file, strict=args.strict)
    print(f"{report.summary()}; from {args.file} into {args.project} (report in {args.project / 'imports'})")


def _refuse_or_warn_if_empty(report, file: Path, *, strict: bool) -> None:
    if report.total:
        return
    message = f"nothing was imported from {file}: it has no entries with geometry for this project"
    if strict:
        raise RoadlabelError(None, f"{message} (refused with --strict)")
    print(f"roadlabel: warning: {message}", file=sys.stderr)


def _ingest(args) -> int:
    taxonomy = load_taxonomy(args.taxonomy) if args.taxonomy else default_taxonomy()
    sequences = read_dataset(args.format, args.labels, args.images)
    if not sequences:
        raise RoadlabelError(args.labels, "has no entries: nothing to ingest")
    failed = []
    with tqdm(total=len(sequences), unit="sequence", desc="ingest", disable=None) as bar:
        for sequence, entries in sequences.items():
            result = ingest_sequence(args.format, sequence, entries, args.images, args.out, taxonomy=taxonomy,
                                     annotator=args.annotator, strict=args.strict)
            if result.error is not None:
                failed.append(result)
                tqdm.write(f"roadlabel: error: {sequence}: {result.error}", file=sys.stderr)
            else:
                tqdm.write(f"{result.project}: {result.report.summary()}")
            bar.update()
    made = len(sequences) - len(failed)
    print(f"ingested {counted(made, 'sequence')} of {len(sequences)} into {args.out}"
          + (f"; {len(failed)} failed (listed above)" if failed else ""))
    return EXIT_ERROR if failed else 0


def _export(args) -> None:
    with Project.open(args.project) as project:
        _check_before_export(project, strict=args.strict)
        result = export_any(args.format, project, args.out, frames=args.frames, every=args.every,
                            overwrite=args.overwrite)
    if isinstance(result, int):
        print(f"exported {result} features to {args.out}")
    else:
        print(f"{result.summary()}\nexported to {args.out}; mapping report {report_path(args.out)}")


def _check_before_export(project: Project, *, strict: bool) -> None:
    blocking = [finding for finding in run_checks(project, config_for(project)) if finding.blocking]
    if not blocking:
        return
    message = f"{counted(len(blocking), 'blocking finding')}, e.g. {_finding_line(blocking[0])} (see `roadlabel qa`)"
    if strict:
        raise RoadlabelError(project.folder, f"not exported: {message}")
    print(f"roadlabel: warning: {message}", file=sys.stderr)


def _qa(args) -> int:
    with Project.open(args.project) as project:
        config = load_check_config(args.config) if args.config else config_for(project)
        with tqdm(total=project.sequence.frame_count, unit="frame", desc="checks", disable=None) as bar:
            findings = run_checks(project, config, progress=bar.update)
        agreement = _agreement(project, args)
        progress = review_progress(project)
        _print_qa(findings, progress, agreement)
        if args.report or args.json:
            _write_qa_report(project, findings, agreement, args)
    blocked = any(finding.blocking for finding in findings) or (args.require_sign_off and not progress.signed_off)
    _record_qa_outcome(args.project, findings, progress, blocked)
    return EXIT_BLOCKED if blocked else 0


def _record_qa_outcome(folder: Path, findings: list, progress, blocked: bool) -> None:
    """For the dataset status; a folder that cannot take the file costs a warning, not the QA run."""
    counts = Counter(finding.severity.value for finding in findings)
    outcome = QAOutcome(time=now(), by=default_reviewer(), errors=counts["error"], warnings=counts["warning"],
                        notes=counts["info"], blocked=blocked, signed_off=progress.signed_off)
    try:
        record_outcome(folder, outcome)
    except RoadlabelError as error:
        print(f"roadlabel: warning: the QA outcome was not recorded: {error}", file=sys.stderr)


def _agreement(project: Project, args) -> dict | None:
    if args.against and args.suggestions:
        raise RoadlabelError(None, "give --against or --suggestions, not both")
    if args.against:
        with Project.open(args.against) as other:
            return compare_projects(project, other).to_dict()
    return compare_suggestions(project).to_dict() if args.suggestions else None


def _write_qa_report(project: Project, findings: list, agreement: dict | None, args) -> None:
    html = args.report
    json_path = args.json or (html.with_suffix(".json") if html else None)
    report = report_with_frames(project, findings, agreement=agreement)
    if "no_pictures" in report.data["sequence"]:
        print(f"roadlabel: warning: the report has no pictures: {report.data['sequence']['no_pictures']}",
              file=sys.stderr)
    write_report(report, html, json_path, overwrite=args.overwrite)
    if args.png:
        if html is None:
            raise RoadlabelError(None, "--png pictures the HTML report: give --report too")
        render_png(html, args.png)
    print("report: " + ", ".join(str(path) for path in (html, json_path, args.png) if path))


def _print_qa(findings: list, progress, agreement: dict | None) -> None:
    counts = Counter(finding.severity.value for finding in findings)
    print(f"findings: {counted(counts['error'], 'blocking error')}, {counted(counts['warning'], 'warning')}, "
          f"{counted(counts['info'], 'note')}")
    for finding in sorted(findings, key=lambda finding: finding.sort_key())[:SHOWN_FINDINGS]:
        print(f"  {finding.severity.value:<7} {_finding_line(finding)}")
    if len(findings) > SHOWN_FINDINGS:
        print(f"  ... and {len(findings) - SHOWN_FINDINGS} more (see the report)")
    signed = f"signed off by {progress.sign_off.reviewer}" if progress.signed_off else "not signed off"
    print(f"review: {progress.frames_accepted}/{progress.frames} frames accepted, {progress.frames_rejected} rejected, "
          f"{counted(progress.open_comments, 'open comment')}; {signed}")
    if agreement is not None:
        overall = agreement["overall"]
        print(f"agreement: lanes CULane F1 {_rate(overall['lanes']['culane']['f1'])}, TuSimple accuracy "
              f"{_rate(overall['lanes']['tusimple']['accuracy'])}; boxes F1 {_rate(overall['boxes']['f1'])}; "
              f"polygons F1 {_rate(overall['polygons']['f1'])}; attributes {_rate(overall['attributes']['rate'])}; "
              f"light states {_rate(overall['light_states']['rate'])}")


def _finding_line(finding) -> str:
    where = f"frame {finding.frame}" if finding.frame is not None else "sequence"
    return f"{where}: {finding.check}: {finding.message}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ratios(text: str) -> tuple[float, float, float]:
    try:
        return parse_ratios(text)
    except RoadlabelError as error:
        raise argparse.ArgumentTypeError(error.reason) from error


def _split(args) -> None:
    if len(args.paths) < 2:
        raise RoadlabelError(None, "give at least one project and the output folder")
    *projects, out = args.paths
    result = split_dataset(projects, out, ratios=args.ratios, seed=args.seed, fmt=args.format,
                           export=partial(export_any, args.format), overwrite=args.overwrite)
    for name in SPLITS:
        stats = result["statistics"][name]
        print(f"{name}: {stats['sequences']} sequences, {stats['frames']} frames, "
              f"{sum(stats['objects'].values())} objects")
    print(f"written to {out} (splits.json, statistics.json)")


def _propagate(args) -> None:
    # Writing from the start: what it computes from the project must not change before it is written.
    with Project.open(args.project, writing=True) as project:
        plan = plan_propagation(project, method=args.method, tracks=args.tracks, start=args.start, end=args.end,
                                to_next_keyframe=args.to_next_keyframe, extend_tags=args.extend_tags,
                                flag_below=args.flag_below, stop_below=args.stop_below)
        frames = open_frames(project.source_path()) if plan.method == "flow" else None
        try:
            # The bar shows on a terminal only (tqdm turns itself off when stderr is not one).
            with tqdm(total=plan.work, unit="object-frame", desc=f"propagate ({plan.method})", disable=None) as bar:
                result = compute_propagation(plan, frames, progress=bar.update)
        finally:
            if frames is not None:
                frames.close()
        write_propagation(project, result)
    print(result.summary())


def _assistants(args) -> None:
    for name in assistant_names():
        try:
            cls = assistant_class(name)
        except RoadlabelError as error:  # a broken plug-in is listed with its error, the others still are
            print(f"{name:<14} cannot be loaded: {error.reason}")
            continue
        learns = "learns from the project's labels" if cls.learns else "no training"
        model = "; runs a model file (--model)" if cls.needs_model_file else ""
        print(f"{name:<14} {cls.description} [proposes {cls.produces}; {learns}{model}]")


def _suggest(args) -> None:
    options = dict(_option(text) for text in args.options)
    with Project.open(args.project, writing=True) as project:
        frames_range = _checked_frames(project, args.frames)
        frames = open_project_frames(project)
        try:
            with tqdm(total=len(frames_range), unit="frame", desc=f"suggest ({args.assistant})",
                      disable=None) as bar:
                run = compute_suggestions(project, args.assistant, frames, frame_range=frames_range,
                                          model_file=args.model, min_confidence=args.min_confidence,
                                          progress=bar.update, **options)
        finally:
            frames.close()
        written = run.write(project)
    print(f"{run.model}: {run.validation.describe()}")
    print(written.describe())


def _accept(args) -> None:
    _check_confidence("--min-confidence", args.min_confidence)
    with Project.open(args.project, writing=True) as project:
        items = pending_suggestions(project, frames=_checked_frames(project, args.frames),
                                    assistant=args.assistant, min_confidence=args.min_confidence)
        accept_all(project, items, "accept suggestions")
    print(f"accepted {_suggestions_by_kind(items)}")


def _reject(args) -> None:
    below = 1.0 if args.below is None else args.below
    _check_confidence("--below", below)
    with Project.open(args.project, writing=True) as project:
        items = [item for item in pending_suggestions(project, frames=_checked_frames(project, args.frames),
                                                      assistant=args.assistant)
                 if args.below is None or item.confidence < below]
        reject_all(project, items, "reject suggestions")
    print(f"rejected {_suggestions_by_kind(items)}")


def _check_confidence(option: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise RoadlabelError(option, f"must be between 0 and 1, got {value}")


def _suggestions_by_kind(items) -> str:
    """'12 suggestions (10 attributes, 2 geometry)'."""
    kinds = Counter(item.kind for item in items)
    detail = ", ".join(f"{count:,} {kind}" for kind, count in sorted(kinds.items()))
    return counted(len(items), "suggestion") + (f" ({detail})" if detail else "")


def _checked_frames(project: Project, frames: range | None) -> range:
    count = project.sequence.frame_count
    if frames is None:
        return range(count)
    if frames.stop > count:
        raise RoadlabelError("--frames", f"{frames.start}:{frames.stop} runs past the last frame ({count - 1})")
    return frames


def _option(text: str) -> tuple[str, object]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise RoadlabelError("--option", f"{text!r} is not KEY=VALUE")
    try:
        return key.replace("-", "_"), json.loads(value)
    except json.JSONDecodeError:
        return key.replace("-", "_"), value


def _demo(args) -> int:
    from ._napari.demo import run_demo  # napari only loads for the command that needs it

    return run_demo(args.out, headless=args.headless)


if __name__ == "__main__":
    sys.exit(main())
