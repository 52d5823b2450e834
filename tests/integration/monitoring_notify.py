#!/usr/bin/python3
"""Can the alarms reach somebody? (issue 15; README "Monitoring", verify's
finding table, doctor's cause table.)  Against the fake AWS, both trail modes;
the setup by `trailkeep apply --yes`, each break made by a person (the
account's admin user, botocore), the clock pinned:
  - the topic has no confirmed subscription: notify_unconfirmed (warning,
    exit 0); once secops confirms, no notify_* finding;
  - the topic policy without CloudWatch's statement: notify_denied (error,
    exit 1) on the trail owner's cells, naming the topic and an alarm; an
    alarm that fires then does NOT reach the subscriber (the fake refuses the
    publish); doctor: topic_policy_denies, culprit SetTopicAttributes, fix
    apply; after apply the alarm's message reaches secops again;
  - organization mode also: the topic encrypted with alias/aws/sns, the topic
    key's policy without CloudWatch, the topic key disabled -> notify_denied;
    doctor topic_key_denies (culprits SetTopicAttributes, PutKeyPolicy,
    DisableKey; fixes apply / aws kms enable-key); every subscription
    removed -> notify_unconfirmed; doctor subscription_unconfirmed, culprit
    Unsubscribe, fix apply;
  - a failing ListSubscriptionsByTopic or GetKeyPolicy: cell_unchecked,
    exit 3, no notify_* verdict (fail closed).
Prints PASS:/FAIL: lines."""

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)


from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks, boto_client, run_at_sim_clock, trailkeep_path  # noqa: E402

check = Checks(limit=2500)
TK = trailkeep_path(TOP)
START = "2026-01-01T00:00:00Z"
REGIONS = ["us-east-1", "eu-west-1"]
HOME = "us-east-1"
MGMT, LOGA, M1, M2 = "111111111111", "222222222222", "333333333333", "444444444444"
IDS = [MGMT, LOGA, M1, M2]
BUCKET = "acme-nfy-cloudtrail"
TOPIC_KEY = "alias/acme-nfy-topic"
SECOPS = "secops@example.com"
NOTIFY = ("notify_denied", "notify_unconfirmed")


def ini(mode, org_id):
    s = "[organization]\n"
    if mode == "org":
        s += "id = %s\n" % org_id
    s += """management_account = %s
log_archive_account = %s
home_region = %s
regions = %s

[central]
bucket = %s
kms_alias = alias/acme-nfy-logs

[trail]
name = nfy-trail
mode = %s

[monitoring]
alarms = tampering
topic_kms_alias = %s
subscribe = mailto:%s
""" % (MGMT, LOGA, HOME, ", ".join(REGIONS), BUCKET, "organization" if mode == "org" else "per-account",
       TOPIC_KEY, SECOPS)
    for i, a in enumerate(IDS):
        s += "\n[account a%d]\nid = %s\n" % (i, a)
    return s


def client(fa, svc, acct):
    return boto_client(fa, svc, acct, HOME)


def now_of(fa):
    return fa.post("advance", seconds=0)["now"]


def tk(fa, acct, args):
    return run_at_sim_clock(TK, fa, acct, args, TOP)


def as_json(p):
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


def scenario(mode):
    tag = "%s: " % mode
    tmp = tempfile.mkdtemp(prefix="tk-nfy-")
    with FakeAWS(seed=47, start=START, stderr=open(os.path.join(tmp, "fake.err"), "w")) as fa:
        seed = fa.post("seed_org", members=2)
        accts = {a["id"]: a for a in seed["accounts"]}
        fa.post("set_regions", regions=REGIONS)
        cfg = os.path.join(tmp, "nfy.ini")
        with open(cfg, "w") as f:
            f.write(ini(mode, seed["org_id"]))
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        if not check(p.returncode == 0, tag + "apply --yes", p.stdout[-1500:] + p.stderr[-1500:]):
            return
        plan = os.path.join(tmp, "plan")
        tk(fa, accts[MGMT], ["plan", cfg, "-o", plan])
        # the broken account: the organization trail's owner, or (per-account)
        # the log archive account, whose own trail and alarms see its calls
        owner = MGMT if mode == "org" else LOGA
        with open(os.path.join(plan, "monitoring", owner, "monitoring.json")) as f:
            mon = json.load(f)
        topic = mon["Topic"]["TopicArn"]
        alarms = [a["Name"] for a in mon["Alarms"]]
        cells = [(owner, HOME)] if mode == "org" else [(owner, r) for r in REGIONS]
        sns = client(fa, "sns", accts[owner])

        def verify():
            p = tk(fa, accts[MGMT], ["verify", cfg, "--json", "--no-integrity", "--since", "2h"])
            doc = as_json(p)
            got = sorted((f["code"], f["account"], f.get("region") or "", f.get("severity"), f["message"])
                         for f in (doc or {}).get("findings", []) if f["code"] in NOTIFY + ("cell_unchecked",))
            return p.returncode, doc, got, p.stderr

        def only(got, code, want=None):
            """the findings of code on exactly the trail owner's cells"""
            return sorted((g[1], g[2]) for g in got if g[0] == code) == sorted(want or cells)

        def doctor():
            p = tk(fa, accts[MGMT], ["doctor", cfg, "--json", "--account", owner])
            doc = as_json(p)
            cs = [c for c in (doc or {}).get("cells", []) if c["account"] == owner and c["status"] == "cause"]
            return (cs[0] if cs else None), p.stdout[-2000:] + p.stderr[-800:]

        def fire():
            """someone disables a KMS key in the log archive account: the
            key-changes alarm fires (the fake delivers the event to CloudWatch
            Logs, the metric filter counts it); returns the alarm messages
            published since"""
            before = len(fa.post("sns_messages", topic=topic)["messages"])
            kl = client(fa, "kms", accts[LOGA])
            kl.disable_key(KeyId=kl.create_key(Description="scratch")["KeyMetadata"]["KeyId"])
            fa.post("advance", seconds=2 * 3600)
            return fa.post("sns_messages", topic=topic)["messages"][before:]

        def alarm_to_secops(msgs):
            return [m for m in msgs if json.loads(m["message"]).get("AlarmName") == "trailkeep-log-key-changes"
                    and json.loads(m["message"]).get("NewStateValue") == "ALARM" and SECOPS in m["endpoints"]]

        # 1. nobody has confirmed the e-mail subscription yet
        fa.post("advance", seconds=3 * 3600)
        rc, doc, got, err = verify()
        # per-account mode: every trail owner has its own topic, none confirmed
        every = cells if mode == "org" else [(a, r) for a in IDS for r in REGIONS]
        check(rc == 0 and only(got, "notify_unconfirmed", every)
              and not [g for g in got if g[0] != "notify_unconfirmed"]
              and all(g[3] == "warning" and topic.replace(owner, g[1]) in g[4] and SECOPS in g[4] for g in got),
              tag + "subscription pending: notify_unconfirmed (warning) on every trail owner's cells, exit 0",
              (rc, got, err[-500:]))
        c, out = doctor()
        check(c is not None and c["cause"] == "subscription_unconfirmed" and "confirm" in (c.get("fix") or "")
              and any(SECOPS in e for e in c.get("evidence", [])),
              tag + "doctor: subscription_unconfirmed, the pending endpoint as evidence, the subscriber confirms",
              (c, out if c is None else ""))
        # 2. secops confirms (every owner's topic, per-account mode: four)
        for o in ([MGMT] if mode == "org" else IDS):
            fa.post("confirm_subscription", topic=topic.replace(owner, o), endpoint=SECOPS)
        rc, doc, got, err = verify()
        check(rc == 0 and got == [], tag + "subscription confirmed: no notify_* finding, exit 0", (rc, got, err[-500:]))
        check(alarm_to_secops(fire()), tag + "healthy: the key-changes alarm reaches secops")

        # 3. the topic policy without CloudWatch
        good = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Sid": "OwnerOnly", "Effect": "Allow",
                                                    "Principal": {"AWS": "arn:aws:iam::%s:root" % owner},
                                                    "Action": "SNS:Publish", "Resource": topic}]}))
        rc, doc, got, err = verify()
        msgs = [g[4] for g in got if g[0] == "notify_denied"]
        check(rc == 1 and only(got, "notify_denied") and all(g[3] == "error" for g in got if g[0] == "notify_denied")
              and all(topic in m and "cloudwatch.amazonaws.com" in m and alarms[0] in m for m in msgs)
              and "%d more" % (len(alarms) - 1) in msgs[0],
              tag + "topic policy without CloudWatch: notify_denied (error) naming the topic and the alarms, exit 1",
              (rc, got, err[-500:]))
        fails_before = len(fa.post("sns_failures")["failures"])
        sent = fire()
        fails = [x for x in fa.post("sns_failures")["failures"][fails_before:] if x["topic"] == topic]
        check(not alarm_to_secops(sent) and fails and "AuthorizationError" in fails[0]["error"],
              tag + "the alarm fires but its message does not reach secops (the fake refuses the publish)",
              (sent, fails))
        c, out = doctor()
        who = (c or {}).get("culprit") or {}
        check(c is not None and c["cause"] == "topic_policy_denies" and who.get("event") == "SetTopicAttributes"
              and who.get("who", "").startswith("arn:aws:iam::%s:user/admin" % owner)
              and "trailkeep apply" in (c.get("fix") or ""),
              tag + "doctor: topic_policy_denies, the admin's SetTopicAttributes, fix apply", (c, out))
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        rc, doc, got, err = verify()
        check(p.returncode == 0 and rc == 0 and got == [], tag + "apply restores the policy: no notify_* finding",
              (p.returncode, rc, got))
        check(alarm_to_secops(fire()), tag + "policy restored: the alarm reaches secops again")
        check(json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]) == json.loads(good),
              tag + "the policy is the planned one again")

        if mode == "org":
            kms = client(fa, "kms", accts[owner])

            def key_break(name, make, reason, event, fix):
                make()
                rc, doc, got, err = verify()
                msgs = [g[4] for g in got if g[0] == "notify_denied"]
                check(rc == 1 and only(got, "notify_denied") and msgs and all(reason in m for m in msgs),
                      tag + "%s: notify_denied ('%s'), exit 1" % (name, reason), (rc, got, err[-500:]))
                c, out = doctor()
                who = (c or {}).get("culprit") or {}
                check(c is not None and c["cause"] == "topic_key_denies" and who.get("event") == event
                      and fix in (c.get("fix") or ""),
                      tag + "%s: doctor topic_key_denies, culprit %s, fix '%s'" % (name, event, fix), (c, out))

            key_break("topic encrypted with alias/aws/sns",
                      lambda: sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId",
                                                       AttributeValue="alias/aws/sns"),
                      "AWS managed key 'alias/aws/sns'", "SetTopicAttributes", "trailkeep apply")
            check(not alarm_to_secops(fire()), tag + "alias/aws/sns: the alarm does not reach secops")
            p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
            rc, doc, got, err = verify()
            check(p.returncode == 0 and got == [], tag + "apply restores the topic's key", (p.returncode, got))

            key_id = kms.describe_key(KeyId=TOPIC_KEY)["KeyMetadata"]["KeyId"]
            kp = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
            kp_bad = dict(kp, Statement=[s for s in kp["Statement"]
                                         if "cloudwatch.amazonaws.com" not in json.dumps(s.get("Principal"))])
            key_break("topic key policy without CloudWatch",
                      lambda: kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(kp_bad)),
                      "does not allow cloudwatch.amazonaws.com kms:GenerateDataKey", "PutKeyPolicy", "trailkeep apply")
            check(not alarm_to_secops(fire()), tag + "key policy without CloudWatch: the alarm does not reach secops")
            p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
            rc, doc, got, err = verify()
            check(p.returncode == 0 and got == [], tag + "apply restores the key policy", (p.returncode, got))

            key_break("topic key disabled", lambda: kms.disable_key(KeyId=key_id), "is Disabled, not Enabled",
                      "DisableKey", "aws kms enable-key --key-id arn:aws:kms:")
            kms.enable_key(KeyId=key_id)
            rc, doc, got, err = verify()
            check(got == [], tag + "key enabled again: no notify_* finding", got)

            # every subscription removed
            for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
                sns.unsubscribe(SubscriptionArn=s["SubscriptionArn"])
            rc, doc, got, err = verify()
            check(rc == 0 and only(got, "notify_unconfirmed") and all("no subscription" in g[4] for g in got),
                  tag + "every subscription removed: notify_unconfirmed 'no subscription', exit 0", (rc, got))
            c, out = doctor()
            who = (c or {}).get("culprit") or {}
            check(c is not None and c["cause"] == "subscription_unconfirmed" and who.get("event") == "Unsubscribe"
                  and "trailkeep apply" in (c.get("fix") or ""),
                  tag + "doctor: subscription_unconfirmed, culprit Unsubscribe, fix apply", (c, out))
            p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
            rc, doc, got, err = verify()
            check(p.returncode == 0 and only(got, "notify_unconfirmed") and all("pending" in g[4] for g in got),
                  tag + "apply subscribes secops again: pending until confirmed", (p.returncode, got))
            fa.post("confirm_subscription", topic=topic, endpoint=SECOPS)

        # fail closed: the reads the checks need fail
        for svc, op, what in (("sns", "ListSubscriptionsByTopic", "subscriptions"),
                              ("kms", "GetKeyPolicy", "key")):
            fa.post("set_faults", forced=[{"account": owner, "service": svc, "operation": op,
                                           "code": "AccessDenied" if svc == "kms" else "AuthorizationError",
                                           "status": 403}])
            rc, doc, got, err = verify()
            fa.post("set_faults")
            un = [g for g in got if g[0] == "cell_unchecked" and what in g[4]]
            check(rc == 3 and un and not [g for g in got if g[0] in NOTIFY],
                  tag + "%s %s refused: cell_unchecked, exit 3, no notify_* verdict" % (svc, op), (rc, got, err[-300:]))
    subprocess.run(["rm", "-rf", tmp])


for m in ("org", "per-account"):
    scenario(m)
sys.exit(1 if check.failures else 0)
