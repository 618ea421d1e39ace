"""The one edit blurkit makes to an ONNX detector graph, done on the protobuf wire format.

The detector files ship with fixed input and output sizes. `make_dynamic` turns the image
input into N x 3 x H x W with symbolic dimensions, sets the outputs' dimensions as given, and
drops the weights (initializers) that the file also lists as graph inputs (they block constant
folding). That is all `onnx.tools.update_model_dims` did for us, but the `onnx` package (20 MB,
~0.5 s to import) is not needed for it: an ONNX file is a protobuf message, and the fields
touched here are a handful of stable field numbers from onnx.proto (listed below). Every
byte that is not edited is copied as it is, the weights included.

tests/test_onnxgraph.py checks the result against the `onnx` package's own edit.
"""

from __future__ import annotations

from collections.abc import Iterator

# Field numbers from onnx/onnx.proto (stable since IR version 3).
MODEL_GRAPH = 7             # ModelProto.graph
GRAPH_INITIALIZER = 5       # GraphProto.initializer (TensorProto)
GRAPH_INPUT = 11            # GraphProto.input (ValueInfoProto)
GRAPH_OUTPUT = 12           # GraphProto.output (ValueInfoProto)
TENSOR_NAME = 8             # TensorProto.name
VALUE_INFO_NAME = 1         # ValueInfoProto.name
VALUE_INFO_TYPE = 2         # ValueInfoProto.type (TypeProto)
TYPE_TENSOR = 1             # TypeProto.tensor_type (TypeProto.Tensor)
TENSOR_TYPE_SHAPE = 2       # TypeProto.Tensor.shape (TensorShapeProto)
SHAPE_DIM = 1               # TensorShapeProto.dim (Dimension)
DIM_VALUE = 1               # Dimension.dim_value (int64)   } a oneof
DIM_PARAM = 2               # Dimension.dim_param (string)  }

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


class GraphError(ValueError):
    """The file is not an ONNX model this edit understands."""


def _read_varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise GraphError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise GraphError("varint longer than 10 bytes")


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1          # negative int64: two's complement, as protobuf writes it
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _fields(buf: memoryview) -> Iterator[tuple[int, int, object, memoryview]]:
    """(field number, wire type, value, the field's raw bytes) for each field of a message:
    value is an int for varints, else the payload bytes."""
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos)
        elif wire == _LEN:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == _I64:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == _I32:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise GraphError(f"unsupported wire type {wire}")
        if pos > len(buf) or number == 0:
            raise GraphError("truncated or malformed message")
        yield number, wire, value, buf[start:pos]


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LEN) + _varint(len(payload)) + payload


def _string(buf: memoryview, number: int) -> str | None:
    for field, wire, value, _ in _fields(buf):
        if field == number and wire == _LEN:
            return bytes(value).decode("utf-8")
    return None


def _edit(buf: memoryview, number: int, change) -> bytes:
    """The message with each length-delimited field `number` replaced by change(payload)
    (bytes, or None to drop the field); every other field copied unchanged."""
    out = bytearray()
    for field, wire, value, raw in _fields(buf):
        if field == number and wire == _LEN:
            new = change(value)
            if new is not None:
                out += _len_field(number, new)
        else:
            out += raw
    return bytes(out)


def _set_dims(value_info: memoryview, dims: list) -> bytes:
    name = _string(value_info, VALUE_INFO_NAME)
    seen = []

    def dim(payload: memoryview) -> bytes:
        j = len(seen)
        if j >= len(dims):
            raise GraphError(f"{name}: has more than the {len(dims)} dimensions given")
        want = dims[j]
        seen.append(want)
        current = None
        out = bytearray()
        for field, wire, value, raw in _fields(payload):
            if field == DIM_VALUE and wire == _VARINT:
                current = value
            elif field != DIM_PARAM:
                out += raw                          # denotation and anything newer stays
        if isinstance(want, bool) or not isinstance(want, (int, str)):
            raise GraphError(f"{name}: dimension {j} must be an int or a str, not {want!r}")
        if isinstance(want, int):
            if want < 0:
                raise GraphError(f"{name}: dimension {j} is negative; name it instead")
            if current is not None and current != want:
                raise GraphError(f"{name}: dimension {j} is {current}, not {want}")
            return _varint(DIM_VALUE << 3 | _VARINT) + _varint(want) + bytes(out)
        return _len_field(DIM_PARAM, want.encode("utf-8")) + bytes(out)

    def shape(payload: memoryview) -> bytes:
        return _edit(payload, SHAPE_DIM, dim)

    def tensor_type(payload: memoryview) -> bytes:
        if not any(f == TENSOR_TYPE_SHAPE for f, *_ in _fields(payload)):
            raise GraphError(f"{name}: no shape to edit")
        return _edit(payload, TENSOR_TYPE_SHAPE, shape)

    def type_(payload: memoryview) -> bytes:
        if not any(f == TYPE_TENSOR for f, *_ in _fields(payload)):
            raise GraphError(f"{name}: not a tensor")
        return _edit(payload, TYPE_TENSOR, tensor_type)

    edited = _edit(value_info, VALUE_INFO_TYPE, type_)
    if len(seen) != len(dims):
        raise GraphError(f"{name}: has {len(seen)} dimensions, {len(dims)} given")
    return edited


def make_dynamic(model: bytes, output_dims: dict[str, list], input_dims: list | None = None,
                 *, label: str = "model") -> bytes:
    """`model` (ONNX bytes) with its single image input's dims set to `input_dims` (default
    N x 3 x H x W, symbolic), each output's dims set from `output_dims` (every output must
    be named), and the initializers that were also listed as inputs removed from the inputs."""
    input_dims = input_dims or ["N", 3, "H", "W"]
    buf = memoryview(model)
    graphs = 0

    def graph(payload: memoryview) -> bytes:
        nonlocal graphs
        graphs += 1
        weights = {_string(v, TENSOR_NAME) for f, w, v, _ in _fields(payload)
                   if f == GRAPH_INITIALIZER and w == _LEN}
        real = [v for f, w, v, _ in _fields(payload)
                if f == GRAPH_INPUT and w == _LEN and _string(v, VALUE_INFO_NAME) not in weights]
        if len(real) != 1:
            raise GraphError(f"{label}: expected one image input, found {len(real)}")

        def input_(v: memoryview) -> bytes | None:
            if _string(v, VALUE_INFO_NAME) in weights:
                return None
            return _set_dims(v, input_dims)

        def output(v: memoryview) -> bytes:
            name = _string(v, VALUE_INFO_NAME)
            if name not in output_dims:
                raise GraphError(f"{label}: no dimensions given for output {name!r}")
            return _set_dims(v, output_dims[name])

        return _edit(memoryview(_edit(payload, GRAPH_INPUT, input_)), GRAPH_OUTPUT, output)

    edited = _edit(buf, MODEL_GRAPH, graph)
    if graphs != 1:
        raise GraphError(f"{label}: expected one graph, found {graphs}")
    return edited
