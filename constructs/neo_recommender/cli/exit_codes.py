"""The command line's exit codes, one meaning each (documented in docs/results-and-cli.md).

* 0 ``OK``: done; ``validate``: valid (warnings allowed); ``submit --wait``: the run COMPLETED.
* 1 ``NOT_OK``: the answer is no: ``validate`` or ``submit`` found errors; ``results``/``status``
  found no run; ``rank``/``chart`` were given a job that did not complete (or nothing to plot);
  ``submit --wait`` followed a run that ended FAILED or TIMED_OUT.
* 2 ``USAGE``: bad arguments or unreadable local files.
* 3 ``AWS``: AWS refused or could not be reached: credentials, profile, region, access denied,
  a missing stack, bucket or table.
* 130 ``INTERRUPTED``: Ctrl-C. While ``submit --wait`` follows a run, it stops following, not the run; while
  ``submit`` uploads, the message says whether a run can have started.
"""

OK = 0
NOT_OK = 1
USAGE = 2
AWS = 3
INTERRUPTED = 130
