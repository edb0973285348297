"""The conflict report of a jobs merge: JSON and one self-contained HTML page, in the style of the QA report (its
environment and style sheet, ``qa.report.page_environment``).

The JSON is ``MergePlan.to_dict()`` with the time it was made and whether it was a dry run: every border
(the two jobs, the cut, the frames compared, the tracks joined, its conflicts), the conflicts of whole jobs,
and what the merge writes.  Both files appear together or not at all (``io.atomic``) and replace the last
report.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..io.atomic import AtomicOutputs, open_staged
from ..qa.report import page_environment
from .jobs import now
from .merge import MergePlan

TEMPLATE = "merge_report.html"


def report_data(plan: MergePlan, *, dry_run: bool) -> dict:
    return {**plan.to_dict(), "generated": now(), "dry_run": dry_run}


def write_merge_report(data: dict, html: Path, json_path: Path) -> None:
    """Write the report's HTML and JSON, replacing the last ones."""
    with AtomicOutputs(overwrite=True) as outputs:
        staged = [(outputs.file(html), _html(data)), (outputs.file(json_path), json.dumps(data, indent=1) + "\n")]
        for staging, text in staged:
            with open_staged(staging) as handle:
                handle.write(text)


def _html(data: dict) -> str:
    return page_environment(Path(__file__).parent).get_template(TEMPLATE).render(data=data)
