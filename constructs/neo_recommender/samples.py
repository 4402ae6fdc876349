"""A sample submission: the XGBoost churn model of the AWS IR notebook, in miniature.

50 features, ``text/csv``, a model archive holding one ``xgboost.model`` booster file and a
payload archive holding one ``sample.csv`` of 100 rows, as the AWS example does.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import tarfile
from functools import cache
from typing import Any

FEATURES = 50
SAMPLE_ROWS = 100
#: The SageMaker XGBoost 1.2-1 container in us-east-1 (account 683313688378 serves that region).
XGBOOST_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.2-1"


def xgboost_manifest(model_name: str = "xgb-churn", region: str = "us-east-1", **overrides: Any) -> dict[str, Any]:
    """The manifest of the documentation's example (docs/manifest.md), with ``overrides`` applied."""
    manifest: dict[str, Any] = {
        "ModelName": model_name,
        "Framework": "XGBOOST",
        "FrameworkVersion": "1.2.0",
        "Image": XGBOOST_IMAGE.format(region=region),
        "NearestModelName": "xgboost",
        "Domain": "MACHINE_LEARNING",
        "Task": "CLASSIFICATION",
        "DataInputConfig": {"data": [1, FEATURES]},
        "SupportedContentTypes": ["text/csv"],
        "SupportedRealtimeInferenceInstanceTypes": ["ml.m4.2xlarge", "ml.c5.xlarge", "ml.c5.2xlarge",
                                                    "ml.c5.9xlarge"],
        "ModelArchive": "model.tar.gz",
        "PayloadArchive": "payload.tar.gz",
    }
    manifest.update(overrides)
    return manifest


@cache  # the same bytes for the same seed: built once per process (a burst uploads hundreds)
def xgboost_model_archive(seed: int = 7) -> bytes:
    """model.tar.gz with one small XGBoost booster (JSON model format, a single depth-1 tree)."""
    rng = random.Random(seed)
    feature = rng.randrange(FEATURES)
    booster = {
        "learner": {
            "attributes": {},
            "feature_names": [],
            "feature_types": [],
            "gradient_booster": {
                "model": {
                    "gbtree_model_param": {"num_trees": "1", "size_leaf_vector": "0"},
                    "tree_info": [0],
                    "trees": [{
                        "id": 0,
                        "left_children": [1, -1, -1], "right_children": [2, -1, -1],
                        "parents": [2147483647, 0, 0], "split_indices": [feature, 0, 0],
                        "split_conditions": [round(rng.random(), 6), -0.4, 0.4],
                        "default_left": [1, 0, 0], "split_type": [0, 0, 0],
                        "base_weights": [0.0, -0.4, 0.4], "loss_changes": [1.0, 0.0, 0.0],
                        "sum_hessian": [100.0, 50.0, 50.0], "categories": [], "categories_nodes": [],
                        "categories_segments": [], "categories_sizes": [],
                        "tree_param": {"num_deleted": "0", "num_feature": str(FEATURES), "num_nodes": "3",
                                       "size_leaf_vector": "0"},
                    }],
                },
                "name": "gbtree",
            },
            "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": str(FEATURES)},
            "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}},
        },
        "version": [1, 2, 0],
    }
    return tar_gz({"xgboost.model": json.dumps(booster).encode("utf-8")})


@cache
def csv_payload_archive(rows: int = SAMPLE_ROWS, seed: int = 11) -> bytes:
    """payload.tar.gz with one sample.csv of ``rows`` rows of 50 features."""
    rng = random.Random(seed)
    lines = [",".join(f"{rng.uniform(-3, 3):.4f}" for _ in range(FEATURES)) for _ in range(rows)]
    return tar_gz({"sample.csv": ("\n".join(lines) + "\n").encode("utf-8")})


def tar_gz(files: dict[str, bytes]) -> bytes:
    """A gzip-compressed tar of the given files (name to content), with fixed metadata."""
    buffer = io.BytesIO()
    # mtime=0 in the gzip header too, so the same files always give the same bytes.
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed, \
            tarfile.open(fileobj=compressed, mode="w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
