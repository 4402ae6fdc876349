"""Runtime of the neo-recommender workflow: the code shipped in the Lambda asset.

Plain modules over plain data with no dependencies beyond boto3 (which the Lambda
Python runtime provides). Domain modules (``manifest``, ``ranking``, ``naming``,
``sagemaker_requests``, ``records``, ``notification``) never touch AWS; ``handlers`` are the thin
Lambda entry points that parse an event, call them and return JSON.
"""
