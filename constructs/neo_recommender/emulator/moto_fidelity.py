r"""Where moto accepts a request AWS refuses, or does what AWS does not, and the emulator restores AWS's way.

DynamoDB refuses an UpdateItem that sets a secondary index's key attribute to an
empty string ("The update expression attempted to update a secondary index key to a value that is
not supported. The AttributeValue for a key attribute cannot contain an empty string value.").
moto refuses it when the expression names the attribute directly (``SET model_name = :v``), but
not through ``ExpressionAttributeNames`` (``SET #f0 = :v0``), the form every boto3 helper and
this pipeline's run store write. A run record with an empty ``model_name`` was accepted by the
emulator and would be refused by DynamoDB, losing the failure record.

SageMaker's ``UpdateModelPackage`` changes only what a request gives
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelPackage.html): metadata
properties are added or replaced key by key (removing them is a field of its own,
``CustomerMetadataPropertiesToRemove``), and an omitted ``ModelApprovalStatus`` stays as it was.
moto replaced the whole map and set the status to None. SageMaker also refuses keys and values
outside the ``CustomerMetadataMap`` pattern ``([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)``, which botocore
does not check on the client; moto accepted them.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from moto.dynamodb.parsing import validators
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend

#: Unicode categories of ``\p{L}``, ``\p{Z}`` and ``\p{N}``, and the other characters of SageMaker's metadata
#: pattern.
_METADATA_CATEGORIES = ("L", "Z", "N")
_METADATA_PUNCTUATION = frozenset("_.:/=+-@")


def metadata_text_allowed(text: str) -> bool:
    """Whether a ``CustomerMetadataProperties`` key or value matches SageMaker's pattern."""
    return all(unicodedata.category(ch)[0] in _METADATA_CATEGORIES or ch in _METADATA_PUNCTUATION for ch in text)


def _update_model_package(original: Any) -> Any:
    def update_model_package(backend: Any, model_package_arn: str, model_approval_status: str | None,
                             approval_description: str | None, customer_metadata_properties: dict[str, str] | None,
                             customer_metadata_properties_to_remove: list[str],
                             additional_inference_specifications_to_add: list[Any] | None) -> str:
        for text in (customer_metadata_properties or {}).items():
            for part in text:
                if not metadata_text_allowed(part):
                    raise ValidationError(f"1 validation error detected: Value '{part}' at "
                                          "'customerMetadataProperties' failed to satisfy constraint: Member "
                                          "must satisfy regular expression pattern: "
                                          "([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,256}")
        package = backend.model_packages.get(backend.model_package_name_mapping.get(model_package_arn,
                                                                                    model_package_arn))
        status = model_approval_status
        merged = customer_metadata_properties
        if package is not None:
            status = status or package.model_approval_status
            merged = {**(package.customer_metadata_properties or {}), **(customer_metadata_properties or {})}
        return original(backend, model_package_arn, status, approval_description, merged,
                        customer_metadata_properties_to_remove, additional_inference_specifications_to_add)

    return update_model_package


class _EmptyIndexKeyThroughNames(validators.EmptyStringKeyValueValidator):  # type: ignore[misc]
    """moto's empty-key check, with ``#name`` placeholders resolved before the key comparison."""

    def __init__(self, key_attributes: list[str], names: dict[str, str]) -> None:
        super().__init__(key_attributes)
        self.names = names

    def check_for_empty_string_key_value(self, node: Any) -> Any:  # noqa: ANN401 - moto's AST node
        key = node.children[0].children[0].children[0]
        value = node.children[1].children[0]
        if isinstance(key, str) and self.names.get(key) in self.key_attributes and not value.value \
                and value.type in ("S", "B"):
            raise validators.EmptyKeyAttributeException(key_in_index=True)
        return super().check_for_empty_string_key_value(node)


class MotoFidelity:
    """Install (and remove) the corrections above; idempotent."""

    def __init__(self) -> None:
        self._original: Any = None
        self._original_update_model_package: Any = None

    def install(self) -> None:
        """Patch moto's UpdateItem validation and UpdateModelPackage."""
        if self._original is not None:
            return
        original = self._original = validators.UpdateExpressionValidator.get_ast_processors

        def get_ast_processors(validator: Any) -> list[Any]:
            processors = original(validator)
            names = validator.expression_attribute_names or {}
            return [_EmptyIndexKeyThroughNames(validator.table.attribute_keys, names)
                    if type(processor) is validators.EmptyStringKeyValueValidator else processor
                    for processor in processors]

        validators.UpdateExpressionValidator.get_ast_processors = get_ast_processors
        self._original_update_model_package = SageMakerModelBackend.update_model_package
        SageMakerModelBackend.update_model_package = _update_model_package(self._original_update_model_package)

    def uninstall(self) -> None:
        """Restore moto's own behaviour."""
        if self._original is not None:
            validators.UpdateExpressionValidator.get_ast_processors = self._original
            SageMakerModelBackend.update_model_package = self._original_update_model_package
            self._original = None
