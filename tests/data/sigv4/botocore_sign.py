#!/usr/bin/python3
"""Prints the SigV4 Authorization header botocore computes for one request at a fixed time.

Used by tests/unit/test_sigv4.c to check src/answer/sigv4.c against an independent signer.
Arguments: METHOD URL REGION SERVICE ACCESS_KEY SECRET_KEY TOKEN AMZ_DATE BODY [HEADER...]
TOKEN "-" means none; each HEADER is "Name: value". URL is the wire URL (path percent-encoded
once, as botocore's serializer sends it). Exit 77 when botocore is not installed.
This replays SigV4Auth.add_auth without its clock: the timestamp comes from AMZ_DATE.
"""
import sys

try:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    sys.exit(77)

method, url, region, service, ak, sk, token, amz_date, body = sys.argv[1:10]
headers = {}
for h in sys.argv[10:]:
    name, _, value = h.partition(":")
    headers[name.strip()] = value.strip()
creds = Credentials(ak, sk, None if token == "-" else token)
req = AWSRequest(method=method, url=url, data=body.encode(), headers=headers)
auth = SigV4Auth(creds, service, region)
req.context["timestamp"] = amz_date
auth._modify_request_before_signing(req)
canonical = auth.canonical_request(req)
string_to_sign = auth.string_to_sign(req, canonical)
auth._inject_signature_to_request(req, auth.signature(string_to_sign, req))
print(req.headers["Authorization"])
