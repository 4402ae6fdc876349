"""Safety net: a run whose execution ended FAILED, TIMED_OUT or ABORTED without recording why is recorded now.

EventBridge delivers Step Functions' "Execution Status Change" events of the pipeline's state machine
here. A run its own failure path already recorded is left alone; any other (an execution stopped by
hand, one that outlived the state machine's timeout, one whose failure path itself failed) is recorded
and announced like any failed run: its job is stopped and its job slot given back.
"""

from __future__ import annotations

import json
from typing import Any

from neo_runtime import run_store
from neo_runtime.aws import retried_when_transient
from neo_runtime.handlers.record_failure import record_failed_run
from neo_runtime.log import RunLogger
from neo_runtime.run_status import FINAL_STATUSES
from neo_runtime.s3_event import SubmittedObject

#: The error each execution status is recorded with.
ERROR_OF_STATUS = {"ABORTED": "ExecutionAborted", "TIMED_OUT": "ExecutionTimedOut", "FAILED": "ExecutionFailed"}


@retried_when_transient
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: an EventBridge "Step Functions Execution Status Change" event. Returns what was done."""
    detail = event.get("detail") or {}
    status, execution_arn = detail.get("status"), detail.get("executionArn", "")
    if status not in ERROR_OF_STATUS:
        return {"recorded": False, "reason": f"execution status {status}"}
    try:
        execution_input = json.loads(detail.get("input") or "null")
        source = SubmittedObject.from_event(execution_input)
    except ValueError:
        RunLogger("RecordEndedRun").warning("execution input is not a submission", execution_arn=execution_arn)
        return {"recorded": False, "reason": "the execution's input is not an S3 submission event"}
    record = run_store.get_run(source.run_id) or {}
    if record.get("execution_arn") not in (None, execution_arn):
        return {"recorded": False, "reason": "another execution owns the run"}
    if record.get("status") in FINAL_STATUSES:
        return {"recorded": False, "reason": f"already recorded {record['status']}"}
    last_error = " ".join(str(part) for part in (detail.get("error"), detail.get("cause")) if part)
    cause = f"The execution ended {status}" + (f" after {last_error}"[:3000] if last_error else ".")
    state = {**execution_input,
             "error": {"Error": ERROR_OF_STATUS[status], "Cause": cause},
             "failed_step": {"step": f"execution ({record.get('status') or 'before validation'})"},
             "submission": {"model_name": record.get("model_name"), "job_name": record.get("job_name")}}
    summary = record_failed_run(state, execution_arn, "RecordEndedRun")
    return {"recorded": True, "status": summary["status"], "error": summary["error"]["type"]}
