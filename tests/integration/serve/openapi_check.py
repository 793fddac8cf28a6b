#!/usr/bin/env python3
"""Checks recorded API exchanges against docs/openapi.yaml.

    openapi_check.py OPENAPI.yaml EXCHANGES.jsonl

Each line of EXCHANGES is {"method", "path", "status", "body", "headers"} as
the tests recorded it from curl.  For each: the path and method must be an
operation of the document, the status one of its responses, the body what
that response declares (empty when it declares no content, else JSON valid
against its schema), and the response's required headers present.

The schema checks are the subset of OpenAPI 3.0 the document uses: $ref,
type, nullable, enum, pattern, format date-time, minimum/maximum, properties,
required, additionalProperties (false or a schema), items.  A keyword the
checker does not know is an error, so the document cannot drift past it.
"""
import json
import re
import sys

import yaml

KNOWN = {"$ref", "type", "nullable", "enum", "pattern", "format", "minimum", "maximum",
         "properties", "required", "additionalProperties", "items", "description",
         "example", "default"}
DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.ops = []
        for template, item in doc["paths"].items():
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            for method, op in item.items():
                if method != "parameters":
                    self.ops.append((re.compile(regex), method.upper(), template, op))

    def resolve(self, node):
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("unsupported $ref " + ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
        return node

    def validate(self, schema, value, where, errors):
        schema = self.resolve(schema)
        unknown = set(schema) - KNOWN
        if unknown:
            errors.append(f"{where}: schema keywords the checker does not know: {sorted(unknown)}")
            return
        if value is None:
            if not schema.get("nullable") and "type" in schema:
                errors.append(f"{where}: null, but not nullable")
            return
        kind = schema.get("type")
        if kind and not TYPES[kind](value):
            errors.append(f"{where}: {json.dumps(value)[:80]} is not {kind}")
            return
        if "enum" in schema and value not in schema["enum"]:
            errors.append(f"{where}: {value!r} not in {schema['enum']}")
        if isinstance(value, str):
            if "pattern" in schema and not re.search(schema["pattern"], value):
                errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
            if schema.get("format") == "date-time" and not DATE_TIME.match(value):
                errors.append(f"{where}: {value!r} is not an ISO 8601 UTC time")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                errors.append(f"{where}: {value} < {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                errors.append(f"{where}: {value} > {schema['maximum']}")
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self.validate(schema["items"], item, f"{where}[{i}]", errors)
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    errors.append(f"{where}: missing required field {name!r}")
            extra = schema.get("additionalProperties", True)
            for name, item in value.items():
                if name in props:
                    self.validate(props[name], item, f"{where}.{name}", errors)
                elif extra is False:
                    errors.append(f"{where}: undeclared field {name!r}")
                elif isinstance(extra, dict):
                    self.validate(extra, item, f"{where}.{name}", errors)

    def check(self, ex):
        method, path, status = ex["method"], ex["path"].split("?")[0], str(ex["status"])
        where = f"{method} {path} -> {status}"
        matches = [op for op in self.ops if op[0].match(path)]
        if not matches:
            # A path outside the API (404 before any route) has no operation.
            return [] if status in ("400", "404") else [f"{where}: no such path in the document"]
        ops = [op for op in matches if op[1] == method]
        if not ops:
            return [] if status == "405" else [f"{where}: method not in the document"]
        op = ops[0][3]
        responses = op.get("responses", {})
        if status not in responses:
            return [f"{where}: status not documented for {ops[0][2]}"]
        response = self.resolve(responses[status])
        errors = []
        headers = {k.lower(): v for k, v in ex.get("headers", {}).items()}
        for name in response.get("headers", {}):
            if name.lower() not in headers:
                errors.append(f"{where}: header {name} missing")
        content = response.get("content")
        body = ex.get("body", "")
        if not content:
            if body.strip():
                errors.append(f"{where}: a body where none is documented: {body[:120]}")
            return errors
        try:
            value = json.loads(body)
        except ValueError as e:
            return [f"{where}: body is not JSON ({e}): {body[:120]}"]
        schema = content["application/json"]["schema"]
        self.validate(schema, value, where, errors)
        return errors


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: openapi_check.py OPENAPI.yaml EXCHANGES.jsonl")
    with open(sys.argv[1]) as f:
        checker = Checker(yaml.safe_load(f))
    errors, count = [], 0
    with open(sys.argv[2]) as f:
        for line in f:
            if line.strip():
                count += 1
                errors += checker.check(json.loads(line))
    for e in errors:
        print("openapi:", e, file=sys.stderr)
    if count == 0:
        sys.exit("openapi: no exchange recorded")
    print(f"openapi: {count} responses checked, {len(errors)} problems")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
