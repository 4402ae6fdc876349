"""Lambda entry points, one module per workflow step (``neo_runtime.handlers.<step>.handler``)."""
