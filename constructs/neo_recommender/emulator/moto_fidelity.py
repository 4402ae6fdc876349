"""Where moto accepts a request DynamoDB refuses, and the emulator restores the refusal.

One gap so far: DynamoDB refuses an UpdateItem that sets a secondary index's key attribute to an
empty string ("The update expression attempted to update a secondary index key to a value that is
not supported. The AttributeValue for a key attribute cannot contain an empty string value.").
moto refuses it when the expression names the attribute directly (``SET model_name = :v``), but
not through ``ExpressionAttributeNames`` (``SET #f0 = :v0``), the form every boto3 helper and
this pipeline's run store write. A run record with an empty ``model_name`` was accepted by the
emulator and would be refused by DynamoDB, losing the failure record.
"""

from __future__ import annotations

from typing import Any

from moto.dynamodb.parsing import validators


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

    def install(self) -> None:
        """Patch moto's UpdateItem validation."""
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

    def uninstall(self) -> None:
        """Restore moto's own validation."""
        if self._original is not None:
            validators.UpdateExpressionValidator.get_ast_processors = self._original
            self._original = None
