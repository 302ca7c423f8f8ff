"""Stripe's request parameters: bracket-notation form bodies and typed access to them.

Stripe clients send `application/x-www-form-urlencoded` bodies (and query strings for GET) in which
nesting is spelled with brackets: `metadata[booking]=b1`, `expand[]=latest_charge`, and, from
serde_qs-based clients such as async-stripe, indexed arrays `payment_method_types[0]=card`.
`parse` turns that into nested dicts and lists; `Params` reads typed values from it and raises the
same errors Stripe answers for a missing, malformed or unknown parameter. Stripe checks these before
the endpoint runs, so none of them is stored under an idempotency key.
"""

import re
from urllib.parse import parse_qsl

from .errors import parameter_missing, parameter_unknown, validation_error

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_APPEND = object()  # stands for the empty segment of `name[]`


def parse(text):
    """Nested dicts and lists from a bracket-notation form body or query string."""
    root = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        match = _KEY.match(key)
        if not match:
            raise validation_error(f"Invalid parameter name: {key}")
        segments = [match.group(1)] + [
            s[1:-1] or _APPEND for s in re.findall(r"\[[^\[\]]*\]", match.group(2))]
        _insert(root, segments, value)
    return _finish(root, None)


def _insert(node, segments, value):
    head, rest = segments[0], segments[1:]
    if head is _APPEND:
        # `name[]` values accumulate under consecutive numeric keys, so `_finish` lists them.
        head = str(len(node))
    if not rest:
        node[head] = value
        return
    child = node.get(head)
    if not isinstance(child, dict):
        child = node[head] = {}
    _insert(child, rest, value)


def _finish(node, name):
    """Turn dicts keyed 0, 1, 2… into lists; metadata keeps its keys, even numeric ones."""
    if not isinstance(node, dict):
        return node
    node = {k: _finish(v, k) for k, v in node.items()}
    if name != "metadata" and node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


class Params:
    """Typed, validated reads of one request's parameters, with Stripe's error for each misuse."""

    def __init__(self, data):
        self.data = data

    def allow(self, *names):
        """Reject parameters this endpoint does not take, as Stripe does (`expand` is universal)."""
        for name in self.data:
            if name not in names and name != "expand":
                raise parameter_unknown(name)

    def has(self, name):
        return name in self.data

    def string(self, name, required=False, choices=None, default=None):
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise parameter_missing(name)
            return default
        if not isinstance(value, str):
            raise validation_error(f"Invalid string: {value!r}", param=name)
        if choices and value not in choices:
            raise validation_error(
                f"Invalid {name}: must be one of {', '.join(choices)}", param=name)
        return value

    def integer(self, name, required=False, minimum=None, default=None):
        value = self.string(name, required=required)
        if value is None:
            return default
        if not re.fullmatch(r"-?\d+", value):
            raise validation_error(f"Invalid integer: {value}", param=name,
                                   code="parameter_invalid_integer")
        number = int(value)
        if minimum is not None and number < minimum:
            raise validation_error(
                f"This value must be greater than or equal to {minimum}.", param=name,
                code="parameter_invalid_integer")
        return number

    def boolean(self, name, default=False):
        value = self.string(name)
        if value is None:
            return default
        if value not in ("true", "false"):
            raise validation_error(f"Invalid boolean: {value}", param=name)
        return value == "true"

    def currency(self, name="currency", required=True):
        value = self.string(name, required=required)
        if value is None:
            return None
        value = value.lower()
        if not re.fullmatch(r"[a-z]{3}", value):
            raise validation_error(f"Invalid currency: {value}.", param=name,
                                   code="invalid_currency")
        return value

    def string_list(self, name):
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise validation_error(f"Invalid array: {name}", param=name)
        return value

    def hash(self, name):
        """A nested parameter (`name[key]=…`) as a Params, or None when not sent."""
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, dict):
            raise validation_error(f"Invalid object: {name}", param=name)
        return Params(value)

    def metadata(self, current=None):
        """The metadata after this request: keys sent empty are removed, `metadata=` clears all."""
        if "metadata" not in self.data:
            return dict(current or {})
        value = self.data["metadata"]
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise validation_error("Invalid object", param="metadata")
        merged = dict(current or {})
        for key, item in value.items():
            if not isinstance(item, str):
                raise validation_error("Metadata values must be strings.", param=f"metadata[{key}]")
            if item == "":
                merged.pop(key, None)
            else:
                merged[key] = item
        return merged

    def expand(self):
        return self.string_list("expand") or []
