"""SigV4 verification with botocore's own signer.

verify(world, req, proto) -> AccessKey | None (anonymous S3 request)

req: an object with .method, .raw_path (path as sent, no query), .query_pairs
     (decoded [(name, value)] in order), .headers (name(lower) -> [values]),
     .body (bytes), .host.
proto: "s3" | "json" | "query": chooses the error codes AWS uses.

The request is rebuilt as a botocore AWSRequest holding exactly the signed
headers, and botocore's SigV4Auth (S3SigV4Auth for s3, S3SigV4QueryAuth for
presigned S3 URLs) computes the canonical request and the signature with the
stored secret and the request's own X-Amz-Date.  Signing keys are cached per
(secret, date, region, service).
"""

import calendar
import datetime
import hashlib
import hmac
import threading
from hashlib import sha256

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from .errors import AwsError

MAX_SKEW = 15 * 60
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

_key_cache = {}
_key_lock = threading.Lock()


def _signing_key(secret, date, region, service):
    ck = (secret, date, region, service)
    k = _key_cache.get(ck)
    if k is None:
        def h(key, msg):
            return hmac.new(key, msg.encode("utf-8"), sha256).digest()
        k = h(h(h(h(("AWS4" + secret).encode(), date), region), service), "aws4_request")
        with _key_lock:
            if len(_key_cache) > 10000:
                _key_cache.clear()
            _key_cache[ck] = k
    return k


class _ExactHeaders:
    """Mixin: sign exactly the headers the client listed (botocore would drop
    blacklisted ones such as user-agent and add host)."""

    def headers_to_sign(self, request):
        hm = HTTPHeaders()
        for name, value in request.headers.items():
            hm[name.lower()] = value
        return hm

    def signature(self, string_to_sign, request):
        k = _signing_key(self.credentials.secret_key, request.context["timestamp"][0:8],
                         self._region_name, self._service_name)
        return hmac.new(k, string_to_sign.encode("utf-8"), sha256).hexdigest()


class _V4(_ExactHeaders, SigV4Auth):
    pass


class _S3V4(_ExactHeaders, S3SigV4Auth):
    pass


class _V4Query(_ExactHeaders, SigV4QueryAuth):
    def payload(self, request):
        return sha256(request.body or b"").hexdigest()


class _S3V4Query(_ExactHeaders, S3SigV4QueryAuth):
    pass


# --- protocol-specific errors --------------------------------------------------

def _err_incomplete(proto, msg):
    if proto == "s3":
        return AwsError("AuthorizationHeaderMalformed", msg, 400)
    if proto == "query":
        return AwsError("IncompleteSignature", msg, 400)
    return AwsError("IncompleteSignatureException", msg, 400)


def _err_missing(proto):
    if proto == "s3":
        return AwsError("AccessDenied", "Access Denied", 403)
    if proto == "query":
        return AwsError("MissingAuthenticationToken",
                        "Request is missing Authentication Token", 403)
    return AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 400)


def _err_invalid_token(proto):
    """STS/query and JSON protocols answer an unknown key and a bad token alike."""
    if proto == "query":
        return AwsError("InvalidClientTokenId",
                        "The security token included in the request is invalid.", 403)
    return AwsError("UnrecognizedClientException",
                    "The security token included in the request is invalid.", 400)


def _err_unknown_key(proto, akid):
    if proto == "s3":
        return AwsError("InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.",
                        403, extra={"AWSAccessKeyId": akid})
    return _err_invalid_token(proto)


def _err_bad_token(proto):
    if proto == "s3":
        return AwsError("InvalidToken", "The provided token is malformed or otherwise invalid.", 400)
    return _err_invalid_token(proto)


def _err_expired(proto):
    if proto == "s3":
        return AwsError("ExpiredToken", "The provided token has expired.", 400)
    if proto == "query":
        return AwsError("ExpiredToken", "The security token included in the request is expired", 400)
    return AwsError("ExpiredTokenException",
                    "The security token included in the request is expired", 400)


def _err_signature(proto, extra):
    if proto == "s3":
        return AwsError("SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you "
                        "provided. Check your key and signing method.", 403, extra=extra)
    msg = ("The request signature we calculated does not match the signature you provided. "
           "Check your AWS Secret Access Key and signing method. Consult the service "
           "documentation for details.")
    if proto == "query":
        return AwsError("SignatureDoesNotMatch", msg, 403)
    return AwsError("InvalidSignatureException", msg, 400)


def _fmt_amz(ts):
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _err_skew(proto, amzdate, now):
    if proto == "s3":
        return AwsError("RequestTimeTooSkewed",
                        "The difference between the request time and the current time is too large.",
                        403, extra={"RequestTime": amzdate, "ServerTime": _fmt_amz(now),
                                    "MaxAllowedSkewMilliseconds": "900000"})
    msg = "Signature expired: %s is now earlier than %s (%s - 15 min.)" % (
        amzdate, _fmt_amz(now - MAX_SKEW), _fmt_amz(now))
    try:
        t = _parse_amz(amzdate)
        if t > now:
            msg = "Signature not yet current: %s is still later than %s (%s + 15 min.)" % (
                amzdate, _fmt_amz(now + MAX_SKEW), _fmt_amz(now))
    except ValueError:
        pass
    if proto == "query":
        return AwsError("SignatureDoesNotMatch", msg, 403)
    return AwsError("InvalidSignatureException", msg, 400)


def _parse_amz(s):
    """YYYYMMDDTHHMMSSZ -> epoch seconds; ValueError if malformed."""
    if len(s) != 16 or s[8] != "T" or s[15] != "Z" or not (s[:8] + s[9:15]).isdigit():
        raise ValueError(s)
    y, mo, d, h, mi, se = int(s[0:4]), int(s[4:6]), int(s[6:8]), int(s[9:11]), int(s[11:13]), int(s[13:15])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and se < 61):
        raise ValueError(s)
    return float(calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0)))


# --- parsing -------------------------------------------------------------------

def parse_authorization(value):
    """'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...' ->
    dict or None if it is not SigV4."""
    if not value.startswith("AWS4-HMAC-SHA256"):
        return None
    rest = value[len("AWS4-HMAC-SHA256"):].strip()
    out = {}
    for part in rest.split(","):
        k, _, v = part.strip().partition("=")
        if k:
            out[k] = v.strip()
    return out


def scope_of(req):
    """(access key id, date, region, service) from the Authorization header or
    presigned query, or None."""
    a = req.headers.get("authorization")
    cred = None
    if a:
        p = parse_authorization(a[0])
        if p:
            cred = p.get("Credential")
    else:
        for k, v in req.query_pairs:
            if k == "X-Amz-Credential":
                cred = v
                break
    if not cred:
        return None
    parts = cred.split("/")
    if len(parts) != 5:
        return None
    return parts[0], parts[1], parts[2], parts[3]


def verify(world, req, proto):
    """The AccessKey that signed req; None for an anonymous S3 request.
    Raises AwsError as AWS does."""
    auth = req.headers.get("authorization")
    presigned = any(k == "X-Amz-Signature" for k, _ in req.query_pairs)
    if not auth and not presigned:
        if proto == "s3":
            return None
        raise _err_missing(proto)
    if auth:
        p = parse_authorization(auth[0])
        if p is None:
            raise _err_incomplete(proto, "Unsupported authorization type")
        missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not p.get(k)]
        if missing:
            raise _err_incomplete(proto, "Authorization header requires '%s' parameter. "
                                  "Authorization=%s" % (missing[0], auth[0][:32]))
        cred, signed, provided = p["Credential"], p["SignedHeaders"], p["Signature"]
        amzdate = (req.headers.get("x-amz-date") or [None])[0]
        if amzdate is None:
            raise _err_incomplete(proto, "Authorization header requires existence of either a "
                                  "'X-Amz-Date' or a 'Date' header.")
        token = (req.headers.get("x-amz-security-token") or [None])[0]
        expires = None
    else:
        q = dict(req.query_pairs)
        cred = q.get("X-Amz-Credential", "")
        signed = q.get("X-Amz-SignedHeaders", "")
        provided = q.get("X-Amz-Signature", "")
        amzdate = q.get("X-Amz-Date")
        token = q.get("X-Amz-Security-Token")
        if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or not cred or not amzdate:
            raise _err_incomplete(proto, "Query-string authentication version 4 requires the "
                                  "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
                                  "X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        try:
            expires = int(q.get("X-Amz-Expires", "0"))
        except ValueError:
            expires = -1
        if not 1 <= expires <= 604800:
            raise AwsError("AuthorizationQueryParametersError",
                           "X-Amz-Expires must be between 1 and 604800 seconds", 400)

    parts = cred.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise _err_incomplete(proto, "Credential should be scoped to a valid region.")
    akid, date, region, service = parts[:4]

    key = world.access_keys.get(akid)
    if key is None:
        raise _err_unknown_key(proto, akid)
    now = world.auth_now()
    if key.session_token is not None:
        if token is None:
            raise _err_unknown_key(proto, akid)
        if not hmac.compare_digest(token, key.session_token):
            raise _err_bad_token(proto)
        if key.expiration is not None and now >= key.expiration:
            raise _err_expired(proto)
    elif token is not None:
        raise _err_bad_token(proto)

    try:
        t = _parse_amz(amzdate)
    except ValueError:
        raise _err_incomplete(proto, "X-Amz-Date must be in the ISO8601 Long Format "
                              "\"yyyyMMdd'T'HHmmss'Z'\"")
    if expires is None:
        if abs(t - now) > MAX_SKEW:
            raise _err_skew(proto, amzdate, now)
    else:
        if now > t + expires:
            raise AwsError("AccessDenied", "Request has expired", 403,
                           extra={"X-Amz-Expires": str(expires), "Expires": _fmt_amz(t + expires),
                                  "ServerTime": _fmt_amz(now)})
        if t - now > MAX_SKEW:
            raise AwsError("AccessDenied", "Request is not yet valid", 403)
    if date != amzdate[:8]:
        raise _err_signature(proto, {"AWSAccessKeyId": akid})

    signed_names = [h for h in signed.split(";") if h]
    if "host" not in signed_names:
        raise _err_signature(proto, {"AWSAccessKeyId": akid})

    headers = HTTPHeaders()
    for name in signed_names:
        vals = req.headers.get(name)
        if vals is None:
            raise _err_signature(proto, {"AWSAccessKeyId": akid})
        for v in vals:
            headers[name] = v

    creds = Credentials(akid, key.secret, key.session_token)
    if proto == "s3" and auth:
        sha = (req.headers.get("x-amz-content-sha256") or [None])[0]
        if sha is None:
            raise AwsError("InvalidRequest",
                           "Missing required header for this request: x-amz-content-sha256", 400)
        if sha not in ("UNSIGNED-PAYLOAD",) and not sha.startswith("STREAMING-"):
            if sha != hashlib.sha256(req.body).hexdigest():
                raise AwsError("XAmzContentSHA256Mismatch",
                               "The provided 'x-amz-content-sha256' header does not match what "
                               "was computed.", 400,
                               extra={"ClientComputedContentSHA256": sha,
                                      "S3ComputedContentSHA256": hashlib.sha256(req.body).hexdigest()})
        signer = _S3V4(creds, service, region)
    elif proto == "s3":
        signer = _S3V4Query(creds, service, region)
    elif auth:
        signer = _V4(creds, service, region)
    else:
        signer = _V4Query(creds, service, region)

    params = [(k, v) for k, v in req.query_pairs if not (presigned and not auth and k == "X-Amz-Signature")]
    areq = AWSRequest(method=req.method, url="http://%s%s" % (req.host or "localhost", req.raw_path),
                      headers=headers, data=req.body)
    areq.params = params
    areq.context["timestamp"] = amzdate
    if not params:
        areq.params = {}
    if proto != "s3" and "x-amz-content-sha256" not in headers:
        # botocore would use this header as the payload hash; only S3 does that
        pass
    cr = signer.canonical_request(areq)
    sts = signer.string_to_sign(areq, cr)
    expect = signer.signature(sts, areq)
    if not hmac.compare_digest(expect, provided):
        # AWS echoes the canonical request; the fake blanks the session token in it
        # so that no error body or log ever carries a credential
        if key.session_token:
            cr = cr.replace(key.session_token, "<session-token>")
        extra = {"AWSAccessKeyId": akid, "StringToSign": sts, "SignatureProvided": provided,
                 "CanonicalRequest": cr}
        raise _err_signature(proto, extra)
    return key
