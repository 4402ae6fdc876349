"""The embedded AWS emulator: runs the synthesized stack in-process, without an AWS account.

Requires the ``moto`` package (installed by ``make install``).
"""

from neo_recommender.emulator.embedded import ACCOUNT_ID, REGION, EmbeddedAws

__all__ = ["ACCOUNT_ID", "REGION", "EmbeddedAws"]
