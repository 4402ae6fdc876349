"""Every status a run's record can hold, in the order a run goes through them.

A run is VALIDATING, then REGISTERING, then QUEUED while it waits for a job slot (or for
account quota), RUNNING while its Inference Recommender job runs, and ends COMPLETED, FAILED or
TIMED_OUT. The command line's ``results --status`` offers exactly these; a test checks that the
handlers write no other.
"""

RUN_STATUSES = ("VALIDATING", "REGISTERING", "QUEUED", "RUNNING", "COMPLETED", "FAILED", "TIMED_OUT")
#: The statuses a run ends in.
FINAL_STATUSES = ("COMPLETED", "FAILED", "TIMED_OUT")
