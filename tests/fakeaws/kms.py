"""KMS (JSON 1.1, TrentService).

Ciphertext blobs are the fake's own format: b"fakekms1" + key id (36 bytes) +
12-byte nonce + AES-256-GCM(key material, plaintext, AAD = canonical JSON of
the encryption context).  Only this fake can decrypt them.
"""

import base64
import json
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import policy
from .errors import AwsError
from .world import PARTITION, Key, default_key_policy

MAX_POLICY = 32768
ALIAS_RE = re.compile(r"^alias/[a-zA-Z0-9:/_-]+$")
MAGIC = b"fakekms1"


def _not_found(ref):
    if ref.startswith("alias/") or ":alias/" in ref:
        return AwsError("NotFoundException", "Alias %s is not found." % ref, 400)
    return AwsError("NotFoundException", "Key '%s' does not exist" % ref, 400)


def _denied(ctx, action, arn):
    return AwsError("AccessDeniedException", "User: %s is not authorized to perform: %s on "
                    "resource: %s because no resource-based policy allows the %s action"
                    % (ctx.identity.get("arn"), action, arn, action), 400)


def _invalid_state(k):
    return AwsError("KMSInvalidStateException", "%s is pending deletion." % k.arn, 400)


def _key(world, ctx, body, action, field="KeyId", allow_pending=False, same_account=False):
    ref = body.get(field)
    if not ref:
        raise AwsError("ValidationException", "1 validation error detected: Value null at '%s' "
                       "failed to satisfy constraint: Member must not be null" % field[0].lower() + field[1:], 400)
    if (same_account or action == "kms:GetKeyRotationStatus") and \
            (ref.startswith("alias/") or ":alias/" in ref):
        # key management operations take a key id or key ARN only (as AWS)
        raise AwsError("NotFoundException", "Invalid keyId %s" % ref, 400)
    k = world.resolve_key(ctx.account, ctx.region, ref)
    if k is None:
        if ref.startswith("arn:") and ":kms:" not in ref:
            raise AwsError("InvalidArnException", "Invalid arn %s" % ref, 400)
        raise _not_found(ref)
    if same_account and k.account != ctx.account:
        raise _denied(ctx, action, k.arn)
    ok, _ = world.key_policy_allows(k.id, ctx.principal, action, _ctx(ctx))
    if not ok:
        raise _denied(ctx, action, k.arn)
    if not allow_pending and k.state == "PendingDeletion":
        raise _invalid_state(k)
    return k


def _ctx(ctx, enc=None):
    c = {"kms:CallerAccount": ctx.account or "", "aws:SourceIp": ctx.source_ip}
    if ctx.access_key is not None:
        c["aws:PrincipalArn"] = ctx.access_key.role_arn or ctx.access_key.arn
        c["aws:PrincipalAccount"] = ctx.account
    if enc:
        for k, v in enc.items():
            c["kms:EncryptionContext:" + k] = v
        c["kms:EncryptionContextKeys"] = sorted(enc)
    return c


def metadata(world, k):
    m = {"AWSAccountId": k.account, "KeyId": k.id, "Arn": k.arn, "CreationDate": k.created,
         "Enabled": k.state == "Enabled", "Description": k.description, "KeyUsage": k.key_usage,
         "KeyState": k.state, "Origin": "AWS_KMS", "KeyManager": "CUSTOMER",
         "CustomerMasterKeySpec": k.key_spec, "KeySpec": k.key_spec,
         "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "MultiRegion": k.multi_region}
    if k.deletion_date is not None:
        m["DeletionDate"] = k.deletion_date
        m["PendingDeletionWindowInDays"] = int(round((k.deletion_date - world.now) / 86400.0))
    return m


def check_policy(world, ctx, text, key_arn, account, bypass):
    if not isinstance(text, str) or not text:
        raise AwsError("MalformedPolicyDocumentException", "The policy is empty.", 400)
    if len(text) > MAX_POLICY:
        raise AwsError("LimitExceededException", "Policy exceeds the maximum allowed size of 32768 "
                       "characters.", 400)
    for ch in text:
        o = ord(ch)
        if o > 0xFF or (o < 0x20 and ch not in "\t\n\r"):
            raise AwsError("MalformedPolicyDocumentException", "Policy contains invalid characters.", 400)
    err = policy.validate(text, "kms")
    if err:
        raise AwsError("MalformedPolicyDocumentException", err, 400)
    doc = json.loads(text)
    for st in policy._as_list(doc.get("Statement")):
        p = st.get("Principal", st.get("NotPrincipal"))
        if isinstance(p, dict):
            for arn in policy._as_list(p.get("AWS")):
                if not isinstance(arn, str):
                    raise AwsError("MalformedPolicyDocumentException", "Policy contains a statement "
                                   "with one or more invalid principals.", 400)
                if ":role/" in arn and world.find_role(arn) is None:
                    raise AwsError("MalformedPolicyDocumentException", "Policy contains a statement "
                                   "with one or more invalid principals.", 400)
                if arn != "*" and not arn.startswith("arn:") and not re.fullmatch(r"\d{12}", arn):
                    raise AwsError("MalformedPolicyDocumentException", "Policy contains a statement "
                                   "with one or more invalid principals.", 400)
    if bypass:
        return
    # lock-out safety check: the caller must be able to PutKeyPolicy afterwards
    c = _ctx(ctx)
    c.update(world.base_context())
    d, _ = policy.evaluate(text, ctx.principal, "kms:PutKeyPolicy", key_arn, c)
    if d == "Allow":
        return
    if d != "Deny" and ctx.account == account and ctx.principal.get("Admin", True):
        root = {"AWS": "arn:%s:iam::%s:root" % (PARTITION, account), "Account": account}
        d2, _ = policy.evaluate(text, root, "kms:PutKeyPolicy", key_arn, c)
        if d2 == "Allow":
            return
    raise AwsError("MalformedPolicyDocumentException", "The new key policy will not allow you to "
                   "update the key policy in the future.", 400)


def create_key(world, ctx, body):
    spec = body.get("KeySpec") or body.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    usage = body.get("KeyUsage", "ENCRYPT_DECRYPT")
    if spec != "SYMMETRIC_DEFAULT" and not spec.startswith(("RSA_", "ECC_", "HMAC_")):
        raise AwsError("ValidationException", "invalid KeySpec %s" % spec, 400)
    if body.get("Origin", "AWS_KMS") != "AWS_KMS":
        raise AwsError("UnsupportedOperationException", "only Origin AWS_KMS is supported by the fake", 400)
    kid = world.uuid()
    arn = "arn:%s:kms:%s:%s:key/%s" % (PARTITION, ctx.region, ctx.account, kid)
    text = body.get("Policy")
    if text is None:
        text = default_key_policy(ctx.account)
    else:
        check_policy(world, ctx, text, arn, ctx.account, bool(body.get("BypassPolicyLockoutSafetyCheck")))
    desc = body.get("Description", "")
    if len(desc) > 8192:
        raise AwsError("ValidationException", "Description too long", 400)
    k = Key(id=kid, arn=arn, account=ctx.account, region=ctx.region, policy=text,
            description=desc, created=world.now, key_usage=usage, key_spec=spec,
            material=world.rng.getrandbits(256).to_bytes(32, "big"),
            multi_region=bool(body.get("MultiRegion")), tags=list(body.get("Tags") or []))
    world.keys[kid] = k
    ctx.event_response = {"keyMetadata": {"keyId": kid, "arn": arn}}
    return {"KeyMetadata": metadata(world, k)}


def describe_key(world, ctx, body):
    k = _key(world, ctx, body, "kms:DescribeKey", allow_pending=True)
    return {"KeyMetadata": metadata(world, k)}


def get_key_policy(world, ctx, body):
    k = _key(world, ctx, body, "kms:GetKeyPolicy", allow_pending=True, same_account=True)
    if body.get("PolicyName", "default") != "default":
        raise AwsError("NotFoundException", "No such policy exists", 400)
    return {"Policy": k.policy}       # (PolicyName is in newer models, not in Debian's)


def put_key_policy(world, ctx, body):
    k = _key(world, ctx, body, "kms:PutKeyPolicy", same_account=True)
    if body.get("PolicyName", "default") != "default":
        raise AwsError("NotFoundException", "No such policy exists", 400)
    check_policy(world, ctx, body.get("Policy"), k.arn, k.account,
                 bool(body.get("BypassPolicyLockoutSafetyCheck")))
    k.policy = body["Policy"]
    return {}


def enable_key(world, ctx, body):
    k = _key(world, ctx, body, "kms:EnableKey", same_account=True)
    k.state = "Enabled"
    return {}


def disable_key(world, ctx, body):
    k = _key(world, ctx, body, "kms:DisableKey", same_account=True)
    k.state = "Disabled"
    return {}


def schedule_deletion(world, ctx, body):
    k = _key(world, ctx, body, "kms:ScheduleKeyDeletion", same_account=True)
    days = body.get("PendingWindowInDays", 30)
    if not isinstance(days, int) or not 7 <= days <= 30:
        raise AwsError("ValidationException", "1 validation error detected: Value '%s' at "
                       "'pendingWindowInDays' failed to satisfy constraint: Member must have value "
                       "between 7 and 30" % days, 400)
    k.state = "PendingDeletion"
    k.deletion_date = world.now + days * 86400
    return {"KeyId": k.arn, "DeletionDate": k.deletion_date, "KeyState": k.state,
            "PendingWindowInDays": days}


def cancel_deletion(world, ctx, body):
    k = _key(world, ctx, body, "kms:CancelKeyDeletion", allow_pending=True, same_account=True)
    if k.state != "PendingDeletion":
        raise AwsError("KMSInvalidStateException", "%s is not pending deletion." % k.arn, 400)
    k.state = "Disabled"
    k.deletion_date = None
    return {"KeyId": k.arn}


def _rotation_checks(k):
    if k.state == "Disabled":
        raise AwsError("DisabledException", "%s is disabled." % k.arn, 400)
    if k.key_spec != "SYMMETRIC_DEFAULT":
        raise AwsError("UnsupportedOperationException", "%s key usage or key spec does not support "
                       "automatic rotation" % k.arn, 400)


def enable_rotation(world, ctx, body):
    k = _key(world, ctx, body, "kms:EnableKeyRotation", same_account=True)
    _rotation_checks(k)
    p = body.get("RotationPeriodInDays")
    if p is not None:
        if not isinstance(p, int) or not 90 <= p <= 2560:
            raise AwsError("ValidationException", "RotationPeriodInDays must be between 90 and 2560", 400)
        k.rotation_period_days = p
    k.rotation = True
    return {}


def disable_rotation(world, ctx, body):
    k = _key(world, ctx, body, "kms:DisableKeyRotation", same_account=True)
    _rotation_checks(k)
    k.rotation = False
    return {}


def get_rotation(world, ctx, body):
    k = _key(world, ctx, body, "kms:GetKeyRotationStatus")
    # KeyId and RotationPeriodInDays are in newer models, not in Debian's (1.29.27)
    return {"KeyRotationEnabled": k.rotation}


def _alias_name(body):
    n = body.get("AliasName") or ""
    if not ALIAS_RE.match(n) or len(n) > 256:
        raise AwsError("ValidationException", "1 validation error detected: Value '%s' at 'aliasName' "
                       "failed to satisfy constraint: Member must satisfy regular expression pattern: "
                       "^[a-zA-Z0-9:/_-]+$" % n, 400)
    if n.startswith("alias/aws/"):
        raise AwsError("NotAuthorizedException" if False else "InvalidAliasNameException",
                       "Alias must not begin with 'alias/aws/'", 400)
    return n


def _alias_target(world, ctx, body, action):
    ref = body.get("TargetKeyId") or ""
    if ref.startswith("alias/") or ":alias/" in ref:
        raise AwsError("ValidationException", "Aliases must refer to keys. Not aliases", 400)
    k = world.resolve_key(ctx.account, ctx.region, ref)
    if k is None or k.account != ctx.account:
        raise _not_found(ref)
    if k.state == "PendingDeletion":
        raise _invalid_state(k)
    ok, _ = world.key_policy_allows(k.id, ctx.principal, action, _ctx(ctx))
    if not ok:
        raise _denied(ctx, action, k.arn)
    return k


def _alias_arn(ctx, name):
    return "arn:%s:kms:%s:%s:%s" % (PARTITION, ctx.region, ctx.account, name)


def create_alias(world, ctx, body):
    n = _alias_name(body)
    k = _alias_target(world, ctx, body, "kms:CreateAlias")
    ak = (ctx.account, ctx.region, n)
    if ak in world.aliases:
        raise AwsError("AlreadyExistsException", "An alias with the name %s already exists"
                       % _alias_arn(ctx, n), 400)
    world.aliases[ak] = k.id
    _alias_times(world)[ak] = (world.now, world.now)
    return {}


def _alias_times(world):
    return world.extra.setdefault("kms_alias_times", {})


def update_alias(world, ctx, body):
    n = _alias_name(body)
    ak = (ctx.account, ctx.region, n)
    if ak not in world.aliases:
        raise _not_found(_alias_arn(ctx, n))
    k = _alias_target(world, ctx, body, "kms:UpdateAlias")
    world.aliases[ak] = k.id
    c = _alias_times(world).get(ak, (world.now, world.now))[0]
    _alias_times(world)[ak] = (c, world.now)
    return {}


def delete_alias(world, ctx, body):
    n = _alias_name(body)
    ak = (ctx.account, ctx.region, n)
    if ak not in world.aliases:
        raise _not_found(_alias_arn(ctx, n))
    del world.aliases[ak]
    return {}


def _paged(body, items, out_name):
    limit = body.get("Limit", 50)
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise AwsError("ValidationException", "Limit must be between 1 and 1000", 400)
    start = 0
    m = body.get("Marker")
    if m is not None:
        try:
            start = int(base64.b64decode(m).decode().split(":")[1])
        except (ValueError, IndexError):
            raise AwsError("InvalidMarkerException", "Invalid marker", 400)
    page = items[start:start + limit]
    out = {out_name: page, "Truncated": start + limit < len(items)}
    if out["Truncated"]:
        out["NextMarker"] = base64.b64encode(b"fakekms:%d" % (start + limit)).decode()
    return out


def list_aliases(world, ctx, body):
    kid = None
    if body.get("KeyId"):
        k = world.resolve_key(ctx.account, ctx.region, body["KeyId"])
        if k is None:
            raise _not_found(body["KeyId"])
        kid = k.id
    items = []
    times = _alias_times(world)
    for (acct, reg, name), target in sorted(world.aliases.items()):
        if acct != ctx.account or reg != ctx.region or (kid and target != kid):
            continue
        c, u = times.get((acct, reg, name), (world.now, world.now))
        items.append({"AliasName": name, "AliasArn": _alias_arn(ctx, name), "TargetKeyId": target,
                      "CreationDate": c, "LastUpdatedDate": u})
    return _paged(body, items, "Aliases")


def list_keys(world, ctx, body):
    items = [{"KeyId": k.id, "KeyArn": k.arn} for k in world.keys.values()
             if k.account == ctx.account and k.region == ctx.region]
    return _paged(body, items, "Keys")


def list_resource_tags(world, ctx, body):
    k = _key(world, ctx, body, "kms:ListResourceTags", allow_pending=True, same_account=True)
    items = [{"TagKey": t.get("TagKey", ""), "TagValue": t.get("TagValue", "")}
             for t in (k.tags or []) if isinstance(t, dict)]
    return _paged(body, items, "Tags")


def tag_resource(world, ctx, body):
    k = _key(world, ctx, body, "kms:TagResource", allow_pending=True, same_account=True)
    tags = body.get("Tags") or []
    for t in tags:
        if not isinstance(t, dict) or not t.get("TagKey"):
            raise AwsError("TagException", "Tag keys must not be empty.", 400)
        k.tags = [x for x in (k.tags or []) if x.get("TagKey") != t["TagKey"]] + [
            {"TagKey": t["TagKey"], "TagValue": t.get("TagValue", "")}]
    return {}


def _usable(k):
    if k.state == "Disabled":
        raise AwsError("DisabledException", "%s is disabled." % k.arn, 400)
    if k.state == "PendingDeletion":
        raise _invalid_state(k)


def _aad(enc):
    return json.dumps(enc or {}, sort_keys=True, separators=(",", ":")).encode()


def encrypt_blob(world, k, plaintext, enc):
    nonce = world.rng.getrandbits(96).to_bytes(12, "big")
    return MAGIC + k.id.encode() + nonce + AESGCM(k.material).encrypt(nonce, plaintext, _aad(enc))


def _enc_ctx(body):
    enc = body.get("EncryptionContext") or {}
    if not isinstance(enc, dict) or not all(isinstance(v, str) for v in enc.values()):
        raise AwsError("ValidationException", "EncryptionContext must be a map of strings", 400)
    return enc


def generate_data_key(world, ctx, body, with_plaintext=True):
    enc = _enc_ctx(body)
    ref = body.get("KeyId") or ""
    k = world.resolve_key(ctx.account, ctx.region, ref)
    if k is None:
        raise _not_found(ref)
    action = "kms:GenerateDataKey" if with_plaintext else "kms:GenerateDataKeyWithoutPlaintext"
    ok, _ = world.key_policy_allows(k.id, ctx.principal, action, _ctx(ctx, enc))
    if not ok:
        raise _denied(ctx, action, k.arn)
    _usable(k)
    n = body.get("NumberOfBytes")
    spec = body.get("KeySpec")
    if n is None:
        n = {"AES_256": 32, "AES_128": 16, None: None}.get(spec)
        if n is None:
            raise AwsError("ValidationException", "Please specify either number of bytes or key spec.", 400)
    if not isinstance(n, int) or not 1 <= n <= 1024:
        raise AwsError("ValidationException", "NumberOfBytes must be between 1 and 1024", 400)
    pt = world.rng.getrandbits(8 * n).to_bytes(n, "big")
    out = {"KeyId": k.arn, "CiphertextBlob": base64.b64encode(encrypt_blob(world, k, pt, enc)).decode()}
    if with_plaintext:
        out["Plaintext"] = base64.b64encode(pt).decode()
    return out


def encrypt(world, ctx, body):
    enc = _enc_ctx(body)
    k = _key(world, ctx, body, "kms:Encrypt")
    _usable(k)
    try:
        pt = base64.b64decode(body.get("Plaintext", ""))
    except ValueError:
        raise AwsError("ValidationException", "Plaintext is not base64", 400)
    return {"KeyId": k.arn, "CiphertextBlob": base64.b64encode(encrypt_blob(world, k, pt, enc)).decode(),
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}


def decrypt(world, ctx, body):
    enc = _enc_ctx(body)
    try:
        blob = base64.b64decode(body.get("CiphertextBlob", ""))
    except ValueError:
        blob = b""
    bad = AwsError("InvalidCiphertextException", "", 400)
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 36 + 12 + 16:
        raise bad
    kid = blob[len(MAGIC):len(MAGIC) + 36].decode(errors="replace")
    k = world.keys.get(kid)
    if k is None:
        raise bad
    if body.get("KeyId"):
        k2 = world.resolve_key(ctx.account, ctx.region, body["KeyId"])
        if k2 is None or k2.id != k.id:
            raise AwsError("IncorrectKeyException", "The key ID in the request does not identify a "
                           "CMK that can perform this operation.", 400)
    ok, _ = world.key_policy_allows(k.id, ctx.principal, "kms:Decrypt", _ctx(ctx, enc))
    if not ok:
        raise _denied(ctx, "kms:Decrypt", k.arn)
    _usable(k)
    nonce = blob[len(MAGIC) + 36:len(MAGIC) + 48]
    try:
        pt = AESGCM(k.material).decrypt(nonce, blob[len(MAGIC) + 48:], _aad(enc))
    except Exception:
        raise bad
    return {"KeyId": k.arn, "Plaintext": base64.b64encode(pt).decode(),
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}


OPS = {
    "CreateKey": create_key, "DescribeKey": describe_key, "GetKeyPolicy": get_key_policy,
    "PutKeyPolicy": put_key_policy, "EnableKey": enable_key, "DisableKey": disable_key,
    "ScheduleKeyDeletion": schedule_deletion, "CancelKeyDeletion": cancel_deletion,
    "EnableKeyRotation": enable_rotation, "DisableKeyRotation": disable_rotation,
    "GetKeyRotationStatus": get_rotation, "CreateAlias": create_alias, "UpdateAlias": update_alias,
    "DeleteAlias": delete_alias, "ListAliases": list_aliases, "ListKeys": list_keys,
    "GenerateDataKey": generate_data_key,
    "GenerateDataKeyWithoutPlaintext": lambda w, c, b: generate_data_key(w, c, b, False),
    "Encrypt": encrypt, "Decrypt": decrypt,
    "ListResourceTags": list_resource_tags, "TagResource": tag_resource,
}


def handle(world, ctx, op, body):
    fn = OPS.get(op)
    if fn is None:
        raise AwsError("UnknownOperationException", "", 400)
    if ctx.account is None:
        raise AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 400)
    world.expire_keys()             # deletions whose waiting period ended are complete
    if op in ("GenerateDataKey", "Decrypt", "Encrypt", "GenerateDataKeyWithoutPlaintext"):
        ctx.record = False          # data-plane: no management event with key material
    return 200, fn(world, ctx, body)
