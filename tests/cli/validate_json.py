#!/usr/bin/env python3
"""validate_json.py SCHEMA DOCUMENT: validate a JSON document against a JSON Schema (2020-12)
with python3-jsonschema; print every violation and exit 1 if there is one."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator.check_schema(schema)
errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
for e in errors:
    print("invalid:", "/".join(str(p) for p in e.absolute_path) or "(root)", "-", e.message)
sys.exit(1 if errors else 0)
