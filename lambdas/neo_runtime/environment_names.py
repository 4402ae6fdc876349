"""Names of the environment variables the construct sets for the handlers: the contract between them.

Plain constants, so the construct can import them at synth time without loading boto3.
"""

#: The deployment's job settings as a partial manifest (JSON), read by the validation step.
JOB_DEFAULTS = "JOB_DEFAULTS"
#: KMS key ARN for IR's benchmark volumes and Neo's output (unset: AWS-managed encryption).
VOLUME_KMS_KEY_ID = "VOLUME_KMS_KEY_ID"
#: ``{"SecurityGroupIds": [...], "Subnets": [...]}`` (JSON) for IR's endpoints (unset: no VPC).
VPC_CONFIG = "VPC_CONFIG"
#: At most this many IR jobs at once (unset or 0: no limit).
MAX_CONCURRENT_JOBS = "MAX_CONCURRENT_JOBS"
#: A job slot held longer than this (seconds) was left by a run that ended without giving it back.
JOB_SLOT_HOLDER_EXPIRY_SECONDS = "JOB_SLOT_HOLDER_EXPIRY_SECONDS"
#: A queued run not woken by a released slot asks again after this long (seconds) per wave of runs ahead of it.
JOB_SLOT_RECHECK_SECONDS = "JOB_SLOT_RECHECK_SECONDS"
#: A queued run not heard from for this long (seconds) after it promised to ask again has gone away.
JOB_SLOT_WAITER_GRACE_SECONDS = "JOB_SLOT_WAITER_GRACE_SECONDS"
#: A run still waiting for a slot or for IR's quota after this long (seconds) ends with JobQueueTimedOut.
MAX_QUEUE_WAIT_SECONDS = "MAX_QUEUE_WAIT_SECONDS"
#: The pipeline's dead-letter queue: where a notification SNS would not take is kept (unset: none).
DEAD_LETTER_QUEUE_URL = "DEAD_LETTER_QUEUE_URL"
#: A run whose IR job is still running this long (seconds) after it started stops the job and times out.
JOB_DEADLINE_SECONDS = "JOB_DEADLINE_SECONDS"
#: Name of the shared poller's schedule rule (set only when runs wait on the shared poller).
WATCH_SCHEDULE_RULE = "WATCH_SCHEDULE_RULE"
#: A run waiting on the shared poller checks its job itself after this long (seconds), then twice as long.
WATCH_RECHECK_SECONDS = "WATCH_RECHECK_SECONDS"
#: "true": after a run, write the recommendation into the model package version's CustomerMetadataProperties.
RECORD_IN_MODEL_REGISTRY = "RECORD_IN_MODEL_REGISTRY"
