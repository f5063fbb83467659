"""Names for the shapes our code passes around, declared once.

protobuf's descriptors come from the C (upb) implementation at run time, and its type stubs name
both classes; these aliases accept either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from google.protobuf import descriptor as _descriptor

if TYPE_CHECKING:
    from google._upb import _message as _upb

    MessageDescriptor: TypeAlias = _descriptor.Descriptor | _upb.Descriptor
    FieldDescriptor: TypeAlias = _descriptor.FieldDescriptor | _upb.FieldDescriptor
    EnumDescriptor: TypeAlias = _descriptor.EnumDescriptor | _upb.EnumDescriptor
else:
    MessageDescriptor = _descriptor.Descriptor
    FieldDescriptor = _descriptor.FieldDescriptor
    EnumDescriptor = _descriptor.EnumDescriptor
