"""Posts CloudEvents with the CloudEvents Python SDK (cloudevents.core), a second sender independent
of the receiver, in the content mode each case asks for.

    python3 sender.py <receiver URL> <cases.json>

cases.json: a JSON array of {name, mode, attributes, extensions, data | dataText | dataBase64}; time
is an RFC 3339 string, turned into a datetime for the SDK. Prints a JSON array with, per case, the
HTTP status and the event as the SDK writes it in the JSON format (the oracle for the receiver).
"""

import base64
import json
import sys
import urllib.error
import urllib.request
from datetime import datetime

from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent


def build(case):
    attributes = dict(case["attributes"])
    if "time" in attributes:
        attributes["time"] = datetime.fromisoformat(attributes["time"])
    attributes.update(case.get("extensions", {}))
    if "dataBase64" in case:
        data = base64.b64decode(case["dataBase64"])
    elif "dataText" in case:
        data = case["dataText"]
    else:
        data = case.get("data")
    return CloudEvent(attributes=attributes, data=data)


def post(url, message):
    request = urllib.request.Request(url, data=message.body, method="POST")
    for name, value in message.headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def main():
    url, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)
    results = []
    for case in cases:
        event = build(case)
        write = to_binary if case["mode"] == "binary" else to_structured
        status = post(url, write(event, JSONFormat()))
        sent = json.loads(JSONFormat().write(event))
        results.append({"name": case["name"], "status": status, "sent": sent})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
