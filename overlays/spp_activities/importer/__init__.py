"""The bulk importer: one activity per row of a CSV or JSONL file, exactly once.

- :mod:`.runner`: the run (feeder, workers, settling) and :func:`run_import`;
- :mod:`.journal`: the SQLite journal of every row's outcome;
- :mod:`.rows`: reading and validating rows;
- :mod:`.pacing`: keeping under the API's rate limit;
- :mod:`.output`: progress and the summary;
- :mod:`.worksheet`: the report as a worksheet, and applying its decisions;
- :mod:`.earlier`: refusing a renamed or copied file that was imported before.

It sits above the client core (``spp_activities.client`` and below) and below
the command line, which maps an :class:`ImportOutcome` to an exit code.
"""

from spp_activities.importer.runner import ImportOutcome, run_import

__all__ = ["ImportOutcome", "run_import"]
