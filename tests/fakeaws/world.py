"""The state model of the fake AWS.

One World per server process.  Every handler holds world.lock while it reads
or changes state.  Nothing here talks HTTP; server.py and the service modules
(s3.py, kms.py, sts.py, orgs.py, cloudtrail.py, delivery.py) use it.

Imports inside the package are relative (from .world import World) so the
classes pickle under one module name: tests.fakeaws.world.
"""

import base64
import calendar
import datetime
import hashlib
import json
import os
import pickle
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

# 2026-01-01T00:00:00Z
DEFAULT_START = 1767225600.0
PARTITION = "aws"


def iso8601(ts, millis=False):
    """Epoch seconds -> 2026-01-01T00:00:00Z (UTC)."""
    d = datetime.datetime.fromtimestamp(float(ts), tz=datetime.timezone.utc)
    if millis:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(ts):
    """Epoch seconds -> RFC 7231 date (Last-Modified, Date)."""
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(float(ts)))


def parse_iso8601(s):
    """2026-01-01T00:00:00Z / with millis / with +00:00 -> epoch seconds (float)."""
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    d = datetime.datetime.fromisoformat(s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()


# --- identities --------------------------------------------------------------

@dataclass
class Role:
    name: str
    account: str
    trust_policy: str                      # JSON text
    max_session_duration: int = 3600
    path: str = "/"
    role_id: str = ""                      # AROA...
    admin: bool = True                     # identity policy: may do everything in its account

    @property
    def arn(self):
        return "arn:%s:iam::%s:role%s%s" % (PARTITION, self.account, self.path, self.name)


@dataclass
class Account:
    id: str
    name: str
    email: str
    roles: dict = field(default_factory=dict)     # name -> Role
    status: str = "ACTIVE"
    joined: float = DEFAULT_START
    joined_method: str = "CREATED"

    @property
    def root_arn(self):
        return "arn:%s:iam::%s:root" % (PARTITION, self.id)


@dataclass
class Org:
    id: str
    management_account: str
    feature_set: str = "ALL"
    trusted_services: set = field(default_factory=set)
    delegated_admins: dict = field(default_factory=dict)   # service principal -> set(account ids)
    root_id: str = ""
    members: list = field(default_factory=list)            # account ids, join order (incl. management)

    @property
    def arn(self):
        return "arn:%s:organizations::%s:organization/%s" % (
            PARTITION, self.management_account, self.id)


@dataclass
class AccessKey:
    access_key_id: str
    secret: str
    account: str
    arn: str                               # principal ARN (user, root or assumed-role session)
    session_token: Optional[str] = None
    expiration: Optional[float] = None     # epoch seconds (real/auth clock)
    principal_id: str = ""                 # AIDA... / AROA...:session
    kind: str = "user"                     # "user" | "root" | "assumed-role" | "web-identity"
    role_arn: Optional[str] = None         # for assumed-role sessions: the IAM role ARN
    admin: bool = True                     # identity policies: admin of its own account

    def identity(self):
        """The userIdentity-ish dict handlers see as ctx.identity."""
        t = {"user": "IAMUser", "root": "Root", "assumed-role": "AssumedRole",
             "web-identity": "WebIdentityUser"}.get(self.kind, "IAMUser")
        d = {"type": t, "arn": self.arn, "accountId": self.account,
             "principalId": self.principal_id or self.access_key_id,
             "accessKeyId": self.access_key_id}
        if self.role_arn:
            d["roleArn"] = self.role_arn
        return d

    def principal(self):
        """The principal as policy.py wants it."""
        p = {"AWS": self.arn, "Account": self.account, "Admin": self.admin}
        if self.role_arn:
            p["RoleArn"] = self.role_arn
        return p


# --- S3 ----------------------------------------------------------------------

@dataclass
class ObjectVersion:
    key: str
    body: bytes
    etag: str                              # with quotes, as on the wire
    last_modified: float
    metadata: dict = field(default_factory=dict)   # x-amz-meta-<name> -> value (names lower case)
    version_id: str = "null"
    delete_marker: bool = False
    sse: dict = field(default_factory=dict)        # {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": arn, ...}
    content_type: str = "binary/octet-stream"
    content_encoding: Optional[str] = None
    acl: Optional[str] = None
    owner: str = ""                        # account id of the writer

    @property
    def size(self):
        return len(self.body)


@dataclass
class Bucket:
    name: str
    owner: str
    region: str
    created: float
    policy: Optional[str] = None
    versioning: Optional[str] = None       # None | "Enabled" | "Suspended"
    mfa_delete: Optional[str] = None
    encryption: Optional[dict] = None      # {"SSEAlgorithm": ..., "KMSMasterKeyID": ..., "BucketKeyEnabled": bool}
    public_access_block: Optional[dict] = None   # {"BlockPublicAcls": bool, ...}
    ownership: Optional[str] = "BucketOwnerEnforced"
    lifecycle: Optional[str] = None        # the XML as sent
    logging: Optional[dict] = None         # {"TargetBucket": ..., "TargetPrefix": ...} or None
    object_lock: Optional[dict] = None     # {"ObjectLockEnabled": "Enabled", "Rule": {...}} or None
    objects: dict = field(default_factory=dict)   # key -> [ObjectVersion], newest last
    tags: Optional[dict] = None

    @property
    def arn(self):
        return "arn:%s:s3:::%s" % (PARTITION, self.name)


# --- KMS ---------------------------------------------------------------------

@dataclass
class Key:
    id: str
    arn: str
    account: str
    region: str
    state: str = "Enabled"                 # Enabled | Disabled | PendingDeletion
    policy: str = ""
    rotation: bool = False
    description: str = ""
    created: float = DEFAULT_START
    deletion_date: Optional[float] = None
    key_usage: str = "ENCRYPT_DECRYPT"
    key_spec: str = "SYMMETRIC_DEFAULT"
    rotation_period_days: int = 365
    material: bytes = b""                  # 32 random bytes (seeded): "encrypts" data keys
    multi_region: bool = False
    tags: list = field(default_factory=list)

    @property
    def enabled(self):
        return self.state == "Enabled"


def default_key_policy(account):
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:%s:iam::%s:root" % (PARTITION, account)},
            "Action": "kms:*",
            "Resource": "*",
        }],
    }, indent=2)


# --- the world ---------------------------------------------------------------

class World:
    def __init__(self, seed=0, start=DEFAULT_START):
        self.lock = threading.RLock()
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = float(start)            # simulated clock (events, delivery, object times)
        self.auth_clock = None             # None: check SigV4 skew/expiry against real time
        self.secure_transport = True       # value of aws:SecureTransport for every request
        self.accounts = {}
        self.org = None
        self.access_keys = {}
        self.buckets = {}
        self.keys = {}
        self.aliases = {}                  # (account, region, "alias/name") -> key id
        self.trails = {}                   # owned by cloudtrail.py
        self.events = []
        self.calls = []                    # (account, service, operation, is_write)
        self.faults = None                 # faults.Faults, set by server/faults.py
        self.extra = {}                    # free space for modules (B: delivery state etc.)
        self._req = 0

    # --- pickling (lock is not picklable) ---
    def __getstate__(self):
        d = dict(self.__dict__)
        d.pop("lock", None)
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self.lock = threading.RLock()

    # --- clocks and ids ---
    def auth_now(self):
        """The clock SigV4 skew and session expiry are checked against."""
        if self.auth_clock is None:
            return time.time()
        if self.auth_clock == "sim":
            return self.now
        return float(self.auth_clock)

    def new_request_id(self):
        with self.lock:
            self._req += 1
            n = self._req
        # uuid-shaped, deterministic per server run
        h = hashlib.sha256(b"%d:%d" % (self.seed, n)).hexdigest()
        return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])

    def rand_hex(self, n):
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def rand_chars(self, n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"):
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def uuid(self):
        h = self.rand_hex(32)
        return "%s-%s-4%s-%s-%s" % (h[:8], h[8:12], h[13:16], h[16:20], h[20:32])

    # --- identities ---
    def add_account(self, account_id, name, email=None):
        with self.lock:
            a = self.accounts.get(account_id)
            if a is None:
                a = Account(account_id, name, email or "%s@example.com" % name.lower().replace(" ", "-"),
                            joined=self.now)
                self.accounts[account_id] = a
            return a

    def add_role(self, account_id, name, trust_policy, max_session_duration=3600, admin=True):
        with self.lock:
            a = self.accounts[account_id]
            if isinstance(trust_policy, dict):
                trust_policy = json.dumps(trust_policy)
            r = Role(name, account_id, trust_policy, max_session_duration,
                     role_id="AROA" + self.rand_chars(17), admin=admin)
            a.roles[name] = r
            return r

    def find_role(self, role_arn):
        # arn:aws:iam::ACCOUNT:role/path/name
        parts = role_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
            return None
        a = self.accounts.get(parts[4])
        if a is None:
            return None
        name = parts[5].rsplit("/", 1)[-1]
        r = a.roles.get(name)
        if r is None or r.arn != role_arn:
            return None
        return r

    def create_access_key(self, account_id, arn=None, kind="user", session_token=None,
                          expiration=None, role_arn=None, principal_id=None, prefix="AKIA"):
        with self.lock:
            if arn is None:
                arn = "arn:%s:iam::%s:user/admin" % (PARTITION, account_id)
            akid = prefix + self.rand_chars(16)
            secret = base64.b64encode(self.rng.getrandbits(240).to_bytes(30, "big")).decode()
            k = AccessKey(akid, secret, account_id, arn, session_token, expiration,
                          principal_id or ("AIDA" + self.rand_chars(17)), kind, role_arn)
            self.access_keys[akid] = k
            return k

    # --- S3 objects ---
    def put_object(self, bucket, key, body, metadata=None, sse=None, content_type=None,
                   owner=None, acl=None, content_encoding=None):
        with self.lock:
            b = self.buckets[bucket]
            body = bytes(body)
            v = ObjectVersion(key=key, body=body, etag='"%s"' % hashlib.md5(body).hexdigest(),
                              last_modified=float(int(self.now)),
                              metadata=dict(metadata or {}), sse=dict(sse or {}),
                              content_type=content_type or "binary/octet-stream",
                              content_encoding=content_encoding, acl=acl,
                              owner=owner or b.owner)
            if v.sse == {} and b.encryption:
                v.sse = {"ServerSideEncryption": b.encryption.get("SSEAlgorithm", "AES256")}
                if b.encryption.get("KMSMasterKeyID"):
                    v.sse["SSEKMSKeyId"] = b.encryption["KMSMasterKeyID"]
                if b.encryption.get("BucketKeyEnabled"):
                    v.sse["BucketKeyEnabled"] = True
            versions = b.objects.setdefault(key, [])
            if b.versioning == "Enabled":
                v.version_id = self.rand_chars(32, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")
            else:
                v.version_id = "null"
                versions[:] = [x for x in versions if x.version_id != "null"]
            versions.append(v)
            return v

    def get_object(self, bucket, key, version_id=None):
        """Newest version; None if missing or if the newest is a delete marker."""
        with self.lock:
            b = self.buckets.get(bucket)
            if b is None:
                return None
            versions = b.objects.get(key)
            if not versions:
                return None
            if version_id is not None:
                for v in versions:
                    if v.version_id == version_id:
                        return v
                return None
            v = versions[-1]
            return None if v.delete_marker else v

    def delete_object(self, bucket, key, version_id=None):
        """Unversioned: removes the object.  Versioned: adds a delete marker.
        With version_id: removes that version permanently.  Returns the delete
        marker added (or None)."""
        with self.lock:
            b = self.buckets[bucket]
            versions = b.objects.get(key)
            if version_id is not None:
                if versions:
                    versions[:] = [x for x in versions if x.version_id != version_id]
                    if not versions:
                        del b.objects[key]
                return None
            if b.versioning is None:
                b.objects.pop(key, None)
                return None
            vid = "null" if b.versioning == "Suspended" else self.rand_chars(
                32, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")
            versions = b.objects.setdefault(key, [])
            if vid == "null":
                versions[:] = [x for x in versions if x.version_id != "null"]
            m = ObjectVersion(key=key, body=b"", etag="", last_modified=float(int(self.now)),
                              version_id=vid, delete_marker=True)
            versions.append(m)
            return m

    def list_current(self, bucket, prefix=""):
        """Sorted [(key, ObjectVersion)] of live objects whose key starts with prefix."""
        with self.lock:
            b = self.buckets[bucket]
            out = []
            for k, versions in b.objects.items():
                if versions and not versions[-1].delete_marker and k.startswith(prefix):
                    out.append((k, versions[-1]))
            out.sort(key=lambda kv: kv[0].encode("utf-8"))
            return out

    # --- policies ---
    def bucket_policy_allows(self, bucket, principal, action, resource, context):
        """(allowed, reason).  The bucket owner's own principals are allowed by
        their identity policy unless the bucket policy explicitly denies;
        anyone else (other accounts, services, anonymous) needs an Allow."""
        from . import policy as pol
        with self.lock:
            b = self.buckets.get(bucket)
            if b is None:
                return False, "NoSuchBucket"
            ctx = self.base_context()
            ctx.update(context or {})
            decision, sid = ("Implicit", None)
            if b.policy:
                decision, sid = pol.evaluate(b.policy, principal, action, resource, ctx)
            if decision == "Deny":
                return False, "explicit deny in bucket policy%s" % (
                    " (statement '%s')" % sid if sid else "")
            if decision == "Allow":
                return True, "allowed by bucket policy%s" % (
                    " (statement '%s')" % sid if sid else "")
            if self._is_owner_principal(principal, b.owner):
                return True, "bucket owner"
            return False, "no statement in the bucket policy allows %s" % action

    def key_policy_allows(self, key_id, principal, action, context):
        """KMS: only the key policy grants (IAM policies count only if the key
        policy delegates to the account root, which the default policy does)."""
        from . import policy as pol
        with self.lock:
            k = self.keys.get(key_id)
            if k is None:
                return False, "NotFoundException"
            ctx = self.base_context()
            ctx.update(context or {})
            decision, sid = pol.evaluate(k.policy, principal, action, k.arn, ctx)
            if decision == "Deny":
                return False, "explicit deny in key policy%s" % (
                    " (statement '%s')" % sid if sid else "")
            if decision == "Allow":
                return True, "allowed by key policy%s" % (" (statement '%s')" % sid if sid else "")
            # delegation to IAM: a statement allowing the account root lets the
            # account's (admin) identities in
            acct = self._principal_account(principal)
            if acct == k.account and self._is_owner_principal(principal, k.account):
                root = {"AWS": "arn:%s:iam::%s:root" % (PARTITION, acct), "Account": acct}
                d2, sid2 = pol.evaluate(k.policy, root, action, k.arn, ctx)
                if d2 == "Allow":
                    return True, "key policy delegates to account root%s" % (
                        " (statement '%s')" % sid2 if sid2 else "")
            return False, "no statement in the key policy allows %s" % action

    def base_context(self):
        return {"aws:SecureTransport": "true" if self.secure_transport else "false",
                "aws:CurrentTime": iso8601(self.now),
                "aws:EpochTime": str(int(self.now))}

    def _principal_account(self, principal):
        if not isinstance(principal, dict):
            return None
        if principal.get("Account"):
            return principal["Account"]
        arn = principal.get("AWS")
        if isinstance(arn, str):
            if arn.isdigit():
                return arn
            parts = arn.split(":")
            if len(parts) >= 5:
                return parts[4]
        return None

    def _is_owner_principal(self, principal, owner):
        """An admin identity (root, admin user, admin role session) of owner."""
        if not isinstance(principal, dict) or "AWS" not in principal:
            return False
        if self._principal_account(principal) != owner:
            return False
        return principal.get("Admin", True)

    def expire_keys(self):
        """Complete every key deletion whose DeletionDate has passed: the key,
        its key material and every alias that refers to it are gone, and KMS
        records a DeleteKey service event (userIdentity invokedBy "AWS
        Internal", eventType AwsServiceEvent) at the DeletionDate in the key's
        account and region.  Called on every KMS request, every key lookup and
        every delivery tick, so deletion completes lazily as well as on advance."""
        with self.lock:
            gone = [k for k in self.keys.values()
                    if k.state == "PendingDeletion" and k.deletion_date is not None
                    and k.deletion_date <= self.now]
            for k in sorted(gone, key=lambda x: (x.deletion_date, x.id)):
                del self.keys[k.id]
                for ak in [a for a, kid in self.aliases.items() if kid == k.id]:
                    del self.aliases[ak]
                    self.extra.get("kms_alias_times", {}).pop(ak, None)
                ev = self.record_event(k.account, k.region, "kms.amazonaws.com", "DeleteKey",
                                       {"type": "AWSService", "accountId": k.account}, None,
                                       {"keyId": k.arn}, "AWS Internal", user_agent="AWS Internal",
                                       resources=[{"accountId": k.account, "type": "AWS::KMS::Key",
                                                   "ARN": k.arn}],
                                       event_time=max(k.deletion_date, self._last_event_time()))
                ev["userIdentity"] = {"accountId": k.account, "invokedBy": "AWS Internal"}
                ev["eventType"] = "AwsServiceEvent"
            return len(gone)

    def _last_event_time(self):
        # events stay in time order (delivery reads them with a cursor)
        return self.events[-1].get("_time", 0.0) if self.events else 0.0

    def resolve_key(self, account, region, key_ref):
        """Key by id, key ARN, alias/name or alias ARN; None if not found."""
        with self.lock:
            self.expire_keys()
            if not key_ref:
                return None
            if key_ref.startswith("arn:"):
                parts = key_ref.split(":", 5)
                if len(parts) != 6 or parts[2] != "kms":
                    return None
                reg, acct, res = parts[3], parts[4], parts[5]
                if res.startswith("key/"):
                    k = self.keys.get(res[4:])
                    if k and k.account == acct and k.region == reg:
                        return k
                    return None
                if res.startswith("alias/"):
                    kid = self.aliases.get((acct, reg, res))
                    return self.keys.get(kid) if kid else None
                return None
            if key_ref.startswith("alias/"):
                kid = self.aliases.get((account, region, key_ref))
                return self.keys.get(kid) if kid else None
            k = self.keys.get(key_ref)
            if k and k.account == account and k.region == region:
                return k
            return None

    # --- events and calls ---
    def record_event(self, account, region, event_source, event_name, identity,
                     request_params, response, source_ip, error_code=None, read_only=False,
                     error_message=None, user_agent="aws-cli", request_id=None,
                     resources=None, event_time=None):
        """Append one CloudTrail management event record (as CloudTrail writes it)."""
        with self.lock:
            ident = dict(identity or {})
            ui = {"type": ident.get("type", "IAMUser"),
                  "principalId": ident.get("principalId", ""),
                  "arn": ident.get("arn", ""),
                  "accountId": ident.get("accountId", account),
                  "accessKeyId": ident.get("accessKeyId", "")}
            if ui["type"] == "AssumedRole" and ident.get("roleArn"):
                ui["sessionContext"] = {
                    "sessionIssuer": {"type": "Role", "principalId": ui["principalId"].split(":")[0],
                                      "arn": ident["roleArn"], "accountId": ui["accountId"],
                                      "userName": ident["roleArn"].rsplit("/", 1)[-1]},
                    "attributes": {"creationDate": iso8601(self.now), "mfaAuthenticated": "false"}}
            if ui["type"] == "IAMUser":
                ui["userName"] = ui["arn"].rsplit("/", 1)[-1]
            t = self.now if event_time is None else event_time
            ev = {
                "eventVersion": "1.08",
                "userIdentity": ui,
                "eventTime": iso8601(t),
                "eventSource": event_source,
                "eventName": event_name,
                "awsRegion": region,
                "sourceIPAddress": source_ip,
                "userAgent": user_agent,
                "requestParameters": request_params,
                "responseElements": response,
                "requestID": request_id or self.new_request_id(),
                "eventID": self.uuid(),
                "readOnly": bool(read_only),
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": account,
                "eventCategory": "Management",
                "_time": float(t),          # epoch, for the fake's own use (strip before writing)
            }
            if resources:
                ev["resources"] = resources
            if error_code:
                ev["errorCode"] = error_code
                ev["errorMessage"] = error_message or error_code
            self.events.append(ev)
            return ev

    def record_call(self, account, service, operation, is_write):
        with self.lock:
            self.calls.append((account, service, operation, bool(is_write)))

    # --- persistence ---
    def save(self, d):
        os.makedirs(d, exist_ok=True)
        with self.lock:
            data = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        tmp = os.path.join(d, "world.pickle.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(d, "world.pickle"))

    @staticmethod
    def load(d):
        """The saved World in d, or None if there is none."""
        p = os.path.join(d, "world.pickle")
        if not os.path.exists(p):
            return None
        with open(p, "rb") as f:
            return pickle.load(f)


def epoch_of_date(y, m, d):
    return float(calendar.timegm((y, m, d, 0, 0, 0)))
