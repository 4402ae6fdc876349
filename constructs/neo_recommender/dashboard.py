"""The pipeline's CloudWatch dashboard: runs, the queue, IR jobs, Neo's savings, errors, dead letters, alarms.

Every graphed metric is one the pipeline emits (``neo_runtime.metrics``, namespace ``NeoRecommender``)
or an AWS metric of a resource in the pipeline (its functions, its dead-letter queue); a test checks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from constructs import Construct
from neo_runtime.run_status import FINAL_STATUSES

if TYPE_CHECKING:
    from neo_recommender.pipeline import InferenceRecommenderPipeline

PERIOD = Duration.minutes(5)
_WIDTH, _HEIGHT = 8, 6


def create_dashboard(scope: Construct, pipeline: InferenceRecommenderPipeline) -> cloudwatch.Dashboard:
    """A dashboard of ``pipeline`` (its name is generated: two pipelines in an account do not collide)."""
    dashboard = cloudwatch.Dashboard(scope, "Dashboard", default_interval=Duration.days(1))
    runs = cloudwatch.GraphWidget(
        title="Runs by status", width=_WIDTH, height=_HEIGHT, stacked=False,
        left=[pipeline.metric_runs(status, period=PERIOD) for status in ("STARTED", "QUEUED", *FINAL_STATUSES)])
    queue = cloudwatch.GraphWidget(
        title="Queue: runs waiting for a job slot, runs queued, and how long they waited", width=_WIDTH,
        height=_HEIGHT,
        left=[pipeline.metric_runs_waiting(period=PERIOD, label="Waiting for a job slot"),
              pipeline.metric_runs("QUEUED", period=PERIOD, label="Queued (slot or IR quota)")],
        right=[pipeline.metric_queue_wait(period=PERIOD),
               pipeline.metric_queue_wait(period=PERIOD, statistic="Maximum", label="Longest wait (s)")])
    jobs = cloudwatch.GraphWidget(
        title="Inference Recommender jobs", width=_WIDTH, height=_HEIGHT,
        left=[pipeline.metric_running_jobs(period=PERIOD)],
        right=[pipeline.metric_job_duration(period=PERIOD)])
    neo = cloudwatch.GraphWidget(
        title="Neo: saving in cost per inference on the recommended pair, and compiled rows", width=_WIDTH,
        height=_HEIGHT, left=[pipeline.metric_neo_saving(period=PERIOD)],
        right=[pipeline.metric_compiled_recommendations(period=PERIOD)])
    steps = [(function, pipeline.step_of(function)) for function in pipeline.all_functions]
    errors = cloudwatch.GraphWidget(
        title="Function errors and throttles", width=_WIDTH, height=_HEIGHT,
        left=[function.metric_errors(period=PERIOD, statistic="Sum", label=step) for function, step in steps],
        right=[function.metric_throttles(period=PERIOD, statistic="Sum", label=f"{step} throttles")
               for function, step in steps])
    dead_letters = cloudwatch.GraphWidget(
        title="Dead letters (read and redrive them)", width=_WIDTH, height=_HEIGHT,
        left=[pipeline.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum", label="Messages")],
        right=[pipeline.dead_letter_queue.metric_approximate_age_of_oldest_message(
            period=PERIOD, statistic="Maximum", label="Age of the oldest (s)")])
    alarms = cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(pipeline.alarms), width=24, height=3)
    dashboard.add_widgets(runs, queue, jobs)
    dashboard.add_widgets(neo, errors, dead_letters)
    dashboard.add_widgets(alarms)
    return dashboard

