# SPDX-License-Identifier: Apache-2.0
"""A local stand-in for the CRMs' APIs that refd calls (HubSpot's CRM v3 objects API, Pipedrive's API v2,
Salesforce's OAuth token endpoint and REST API), for the integration
tests: it answers with the documented responses of tests/fixtures/<system>/ (records made get new ids; records read
come from what the test put in), records every request it gets (method, path, query, headers, body) so a test can
check its shape, and answers what a test scripts next instead (a 401, a 409, a 503 ...), once each."""
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def fixture(system, name):
    with open(os.path.join(FIXTURES, system, name), "rb") as f:
        return json.loads(f.read())


class Fake:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.scripted = []  # [method, path regex, status, body]: answered once each, in order
        self.records = {"contacts": {}, "deals": {}, "persons": {}, "pd_deals": {}, "sf_leads": {}}
        self.sf_leads = 1
        self.next_id = {"contacts": 118011112300, "deals": 39571234600, "persons": 1201, "pd_deals": 8101}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                parts = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                req = {"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                       "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                status, out = fake.respond(req)
                self._answer(status, out)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def script(self, method, path_re, status, body):
        with self.lock:
            self.scripted.append([method, re.compile(path_re), status, body])

    def seen(self, method=None, path_re=None):
        with self.lock:
            return [r for r in self.requests if (method is None or r["method"] == method)
                    and (path_re is None or re.search(path_re, r["path"]))]

    def put(self, kind, record):
        with self.lock:
            self.records[kind][str(record["id"])] = record

    def respond(self, req):
        with self.lock:
            self.requests.append(req)
            for i, (method, path_re, status, body) in enumerate(self.scripted):
                if method == req["method"] and path_re.search(req["path"]):
                    del self.scripted[i]
                    return status, body
            if req["path"].startswith("/api/v2/"):
                return self.pipedrive(req)
            if req["path"].startswith("/services/"):
                return self.salesforce(req)
            return self.hubspot(req)

    # HubSpot CRM v3 objects API: create returns 201 with the record; get by id returns it, or 404.
    def hubspot(self, req):
        m = re.fullmatch(r"/crm/v3/objects/(contacts|deals)(?:/(\w+))?", req["path"])
        if not m:
            return 404, {"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}
        kind, rid = m.group(1), m.group(2)
        if req["method"] == "POST" and rid is None:
            self.next_id[kind] += 1
            new_id = str(self.next_id[kind])
            shape = fixture("hubspot", "13_crm_create_contact_response_201.json")
            props = dict((req["body"] or {}).get("properties") or {})
            props["hs_object_id"] = new_id
            props["createdate"] = props["lastmodifieddate"] = shape["createdAt"]
            rec = {"id": new_id, "properties": props, "createdAt": shape["createdAt"],
                   "updatedAt": shape["updatedAt"], "archived": False}
            self.records[kind][new_id] = rec
            return 201, rec
        if req["method"] == "GET" and rid is not None:
            rec = self.records[kind].get(rid)
            if rec is None:
                return 404, {"status": "error", "message": "Object not found. objectId are usually numeric.",
                             "category": "OBJECT_NOT_FOUND"}
            return 200, rec
        return 405, {"status": "error", "message": "method not allowed"}

    # Pipedrive API v2: create answers {"success": true, "data": record} with a new id, as files 11 and 13 show.
    def pipedrive(self, req):
        m = re.fullmatch(r"/api/v2/(persons|deals)", req["path"])
        if not m or req["method"] != "POST":
            return 404, {"success": False, "error": "Unknown method ."}
        kind = "persons" if m.group(1) == "persons" else "pd_deals"
        shape = fixture("pipedrive", "11_api_v2_create_person_response.json" if kind == "persons"
                        else "13_api_v2_create_deal_response.json")["data"]
        self.next_id[kind] += 1
        rec = dict(shape)
        rec.update(req["body"] or {})
        rec["id"] = self.next_id[kind]
        self.records[kind][str(rec["id"])] = rec
        return 200, {"success": True, "data": rec}

    # Salesforce: the token endpoint answers files 20 (client credentials) or 21 (refresh token); creating a Lead
    # takes the token it gave (else file 13, 401) and answers 201 with a new id (file 11's shape).
    def salesforce(self, req):
        if req["path"] == "/services/oauth2/token" and req["method"] == "POST":
            form = parse_qs(req["body"] if isinstance(req["body"], str) else "")
            grant = (form.get("grant_type") or [""])[0]
            if grant == "refresh_token":
                return 200, fixture("salesforce", "21_oauth_token_response_refresh_token_grant.json")
            if grant == "client_credentials":
                return 200, fixture("salesforce", "20_oauth_token_response_client_credentials.json")
            return 400, fixture("salesforce", "22_oauth_token_error_400.json")
        if re.fullmatch(r"/services/data/v\d+\.\d/sobjects/Lead/?", req["path"]) and req["method"] == "POST":
            tokens = [fixture("salesforce", f)["access_token"] for f in (
                "20_oauth_token_response_client_credentials.json", "21_oauth_token_response_refresh_token_grant.json")]
            if req["headers"].get("authorization") not in ["Bearer " + t for t in tokens]:
                return 401, fixture("salesforce", "13_rest_error_401_invalid_session.json")
            self.sf_leads += 1
            new_id = "00Q5g00000Rf%03dEAF" % self.sf_leads
            self.records["sf_leads"][new_id] = req["body"]
            return 201, {"id": new_id, "errors": [], "success": True}
        return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
