"""A trailkeep configuration generated from a seed, across the dimensions
users vary (issue 12, "The test system"; issue 18: multi_region is one):

  mode                organization / per-account
  key_prefix          none / one level / several levels (also written with
                      the leading and trailing '/' the README says are dropped)
  home_region         not only us-east-1 (the bucket then needs a location
                      constraint)
  regions             per account: all, a subset, one; sometimes an opt-in
                      region (enabled in every account before apply)
  [account] sections  the management and log-archive accounts with or without
                      one (organization mode; README "Configuration")
  assume_role         OrganizationAccountAccessRole, or another role, with or
                      without an external id
  data_events         on / off
  access_log_bucket   on / off
  retention_days, object_lock
  multi_region        true / false (false: the home region only)
  accounts            2 to 8 in the world
  [monitoring]        absent / present (README "Monitoring"): log group name
                      and retention, alarm sets, topic name, topic key (or
                      none), a mailto subscription, the CloudWatch Logs and
                      access-log freshness limits

Mgmt is 111111111111 and the log archive 222222222222 (tests/fakeaws seed_org);
members follow.  gen(seed, mode, **force) is deterministic; force pins any
field (the fixed sample of `make test` uses it to reach every break)."""

import json
import random

MGMT = "111111111111"
ARCHIVE = "222222222222"
REGION_POOL = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
               "ap-northeast-1"]
OPT_IN = "af-south-1"           # an opt-in region (tests/fakeaws/account.py OPT_IN)
EXTRA_REGION = "ca-central-1"   # delivered by the fake, declared by no config
BREAK_GLASS = "LogArchiveAdmin"
CUSTOM_ROLE = "TrailkeepAdmin"


def member_id(i):
    """tests/fakeaws/control.py member_id."""
    if i < 7:
        return str(3 + i) * 12
    return "%012d" % (100000000000 + i)


class Config:
    """Every generated choice, and what follows from it."""

    def __init__(self, seed, mode, **force):
        self.seed = seed
        self.mode = mode
        r = random.Random("%d/%s" % (seed, mode))
        f = dict(force)
        self.forced = dict(force)

        def pick(name, fn):
            v = f.pop(name) if name in f else fn()
            if isinstance(v, list) and name in ("retention", "role", "max_age"):
                v = tuple(v)        # forced from JSON
            if isinstance(v, dict):
                v = {k: tuple(x) if isinstance(x, list) else x for k, x in v.items()}
            setattr(self, name, v)
            return v

        n = pick("n_accounts", lambda: r.randint(2, 8))
        pick("archive_is_mgmt", lambda: n == 2 and r.random() < 0.5)
        self.central = MGMT if self.archive_is_mgmt else ARCHIVE
        n_members = n - (1 if self.archive_is_mgmt else 2)
        self.members = [member_id(i) for i in range(n_members)]
        home = pick("home", lambda: r.choice(REGION_POOL + ["eu-west-1", "eu-central-1"]))
        multi = pick("multi_region", lambda: r.random() < 0.8)
        others = [x for x in REGION_POOL if x != home]
        if multi:
            k = r.randint(0, 3)
            regions = [home] + sorted(r.sample(others, k))
            if pick("opt_in", lambda: r.random() < 0.3):
                regions.append(OPT_IN)
        else:
            self.opt_in = f.pop("opt_in", False)
            regions = [home]
        self.regions = pick("regions", lambda: regions)
        pick("extra_region", lambda: r.random() < 0.5)
        pick("mgmt_section", lambda: r.random() < 0.5)
        pick("archive_section", lambda: r.random() < 0.5)
        pick("key_prefix_raw", lambda: r.choice([None, None, "cloudtrail", "/org/logs/ct/", "a/b"]))
        self.key_prefix = self.key_prefix_raw.strip("/") if self.key_prefix_raw else None
        pick("role", lambda: r.choice([("OrganizationAccountAccessRole", None),
                                       (CUSTOM_ROLE, "ext-%d" % seed), (CUSTOM_ROLE, None)]))
        self.assume_role, self.external_id = self.role
        pick("data_events", lambda: r.random() < 0.4)
        pick("access_log", lambda: r.random() < 0.4)
        pick("retention", lambda: r.choice([(0, "none"), (30, "none"), (400, "governance:30"),
                                            (2555, "compliance:365")]))
        self.retention_days, self.object_lock = self.retention
        pick("trail_name", lambda: r.choice([None, "org-trail", "mx.trail_1"]))
        self.trail = self.trail_name or "trailkeep"
        pick("kms_alias_raw", lambda: r.choice([None, "alias/mx-%d" % seed]))
        self.kms_alias = self.kms_alias_raw or "alias/trailkeep-cloudtrail"
        pick("max_age", lambda: r.choice([("1h", 3600), ("90m", 5400)]))
        # its own stream, so adding the dimension left every earlier config as it was
        rm = random.Random("%d/%s/monitoring" % (seed, mode))
        pick("monitoring", lambda: self._monitoring(rm, seed) if rm.random() < 0.35 else None)
        # per-account region lists: None = all of [organization] regions
        acct_regions = {}
        for a in self.all_accounts():
            kind = r.choice(["all", "all", "subset", "one"])
            if kind == "all" or len(self.regions) == 1:
                acct_regions[a] = None
                continue
            if kind == "one":
                sub = [r.choice(self.regions)]
            else:
                sub = sorted(r.sample(self.regions, r.randint(1, len(self.regions))))
            if a == MGMT and self.mode == "organization" and home not in sub:
                # trail-level findings land on the management account's home cell
                sub = sorted(set(sub) | {home})
            acct_regions[a] = sub
        pick("acct_regions", lambda: acct_regions)
        if f:
            raise ValueError("unknown config fields forced: %s" % sorted(f))
        self.bucket = "mx-%d-%s-logs" % (seed, "org" if mode == "organization" else "pa")
        self.data_bucket = "mx-%d-data" % seed if self.data_events else None
        self.access_bucket = "mx-%d-access" % seed if self.access_log else None
        self.org_id = None          # known once the fake has seeded the organization

    @staticmethod
    def _monitoring(r, seed):
        """A [monitoring] section's choices (None = the README default)."""
        return {
            "log_group": r.choice([None, "/mx/%d/cloudtrail" % seed]),
            "retention": r.choice([None, 30, 400]),
            "alarms": r.choice(["tampering", "tampering", "tampering, unauthorized, root",
                                "unauthorized, tampering"]),
            "notify": r.choice([None, "mx-alerts-%d" % seed]),
            "topic_key": r.choice([None, "none", "alias/mx-topic-%d" % seed]),
            "subscribe": r.choice([None, "mailto:secops-%d@example.com" % seed]),
            "cw_max_age": r.choice([None, ("2h", 7200)]),
            "access_max_age": r.choice([None, ("3h", 10800)]),
        }

    # --- facts -------------------------------------------------------------
    def mon(self, key, default=None):
        """A [monitoring] choice, or the README default."""
        m = self.monitoring or {}
        v = m.get(key)
        return default if v is None else v

    def cw_max_age(self):
        """max_cloudwatch_delivery_age in seconds (README default 1h)."""
        return self.mon("cw_max_age", ("1h", 3600))[1]

    def access_max_age(self):
        """access_log_max_age in seconds (README default 6h)."""
        return self.mon("access_max_age", ("6h", 21600))[1]

    def alarm_sets(self):
        return [x.strip() for x in self.mon("alarms", "tampering").split(",")]

    def topic_name(self):
        return self.mon("notify", "trailkeep-alarms")

    def topic_arn(self, owner=MGMT):
        return "arn:aws:sns:%s:%s:%s" % (self.home, owner, self.topic_name())

    def log_group(self):
        return self.mon("log_group", "/trailkeep/cloudtrail")

    def all_accounts(self):
        out = [MGMT]
        if not self.archive_is_mgmt:
            out.append(ARCHIVE)
        return out + self.members

    def sections(self):
        """Account ids with an [account] section, in file order."""
        out = []
        if self.mgmt_section:
            out.append(MGMT)
        if self.archive_section and not self.archive_is_mgmt:
            out.append(ARCHIVE)
        return out + self.members

    def expected_accounts(self):
        """README "Configuration" + issue 12 defect 1: in organization mode the
        management and log-archive accounts are always expected accounts
        (in [organization] regions unless an [account] section narrows
        them); in per-account mode the [account] sections only."""
        accts = list(self.sections())
        if self.mode == "organization":
            for a in (MGMT, self.central):
                if a not in accts:
                    accts.append(a)
        return accts

    def account_regions(self, a):
        if a in self.sections() and self.acct_regions.get(a):
            return list(self.acct_regions[a])
        return list(self.regions)

    def cells(self):
        return sorted((a, rg) for a in self.expected_accounts() for rg in self.account_regions(a))

    def trail_owners(self):
        """Accounts that own a trail: the management account (organization) or
        every [account] (per-account)."""
        return [MGMT] if self.mode == "organization" else list(self.sections())

    def trail_cells(self, owner):
        """Where verify puts a trail-level finding of owner's trail (README
        "verify", per-account mode paragraph): organization mode the management
        account's home-region cell; per-account mode every cell of that account."""
        if self.mode == "organization":
            return [(MGMT, self.home)]
        return [c for c in self.cells() if c[0] == owner]

    def covered_cells(self, owner):
        """Cells whose logs owner's trail writes."""
        if self.mode == "organization":
            return self.cells()
        return [c for c in self.cells() if c[0] == owner]

    def fake_regions(self):
        rs = set(self.regions)
        for v in self.acct_regions.values():
            rs |= set(v or [])
        if self.extra_region:
            rs.add(EXTRA_REGION)
        return sorted(rs)

    def trail_arn(self, owner=MGMT):
        return "arn:aws:cloudtrail:%s:%s:trail/%s" % (self.home, owner, self.trail)

    def log_prefix(self, acct):
        """Where owner's trail writes acct's logs (README "plan")."""
        p = (self.key_prefix + "/") if self.key_prefix else ""
        if self.mode == "organization":
            return "%sAWSLogs/%s/%s/" % (p, self.org_id, acct)
        return "%sAWSLogs/%s/" % (p, acct)

    def name_of(self, a):
        if a == MGMT:
            return "management"
        if a == ARCHIVE:
            return "log-archive"
        return "member%d" % (self.members.index(a) + 1)

    def summary(self):
        return ("seed=%d mode=%s accounts=%d home=%s regions=%s multi_region=%s prefix=%r role=%s/%s "
                "data=%s access_log=%s retention=%s lock=%s mgmt_section=%s archive_section=%s "
                "archive_is_mgmt=%s" % (
                    self.seed, self.mode, self.n_accounts, self.home, ",".join(self.regions),
                    self.multi_region, self.key_prefix_raw, self.assume_role, self.external_id,
                    self.data_events, self.access_log, self.retention_days, self.object_lock,
                    self.mgmt_section, self.archive_section, self.archive_is_mgmt)) + \
            (" monitoring=%s" % json.dumps(self.monitoring, sort_keys=True) if self.monitoring else "")

    # --- the INI file ------------------------------------------------------------
    def ini(self, extra_regions=None):
        """The config file.  extra_regions {account: [region]} adds regions to
        an account's list (a break that declares a region)."""
        L = ["; generated by tests/matrix/gen.py: %s" % self.summary(), "[organization]"]
        if self.mode == "organization":
            L.append("id = %s" % self.org_id)
        if self.mode == "organization" or self.mgmt_section:
            L.append("management_account = %s" % MGMT)
        if not self.archive_is_mgmt:
            L.append("log_archive_account = %s" % ARCHIVE)
        elif self.mode == "per-account" and not self.mgmt_section:
            L.append("log_archive_account = %s" % MGMT)
        L.append("home_region = %s" % self.home)
        L.append("regions = %s" % ", ".join(self.regions))
        if self.assume_role != "OrganizationAccountAccessRole" or self.seed % 2:
            L.append("assume_role = %s" % self.assume_role)
        if self.external_id:
            L.append("external_id = %s" % self.external_id)
        L += ["", "[central]", "bucket = %s" % self.bucket]
        if self.key_prefix_raw:
            L.append("key_prefix = %s" % self.key_prefix_raw)
        if self.kms_alias_raw:
            L.append("kms_alias = %s" % self.kms_alias_raw)
        L.append("break_glass_principals = arn:aws:iam::%s:role/%s" % (self.central, BREAK_GLASS))
        if self.central == MGMT:
            # apply runs as the management account's admin user, in the central
            # account itself: README "apply", Not locking yourself out
            L.append("apply_principals = arn:aws:iam::%s:user/admin" % MGMT)
        if self.retention_days:
            L.append("retention_days = %d" % self.retention_days)
        if self.object_lock != "none":
            L.append("object_lock = %s" % self.object_lock)
        if self.access_bucket:
            L.append("access_log_bucket = %s" % self.access_bucket)
        L.append("max_delivery_age = %s" % self.max_age[0])
        L += ["", "[trail]"]
        if self.trail_name:
            L.append("name = %s" % self.trail_name)
        L.append("mode = %s" % self.mode)
        if not self.multi_region:
            L.append("multi_region = false")
        if self.data_bucket:
            L.append("data_events = s3:%s" % self.data_bucket)
        if self.monitoring:
            m = self.monitoring
            L += ["", "[monitoring]"]
            for key, field in (("cloudwatch_log_group", "log_group"),
                               ("cloudwatch_retention_days", "retention"), ("notify", "notify"),
                               ("topic_kms_alias", "topic_key"), ("subscribe", "subscribe")):
                if m.get(field) is not None:
                    L.append("%s = %s" % (key, m[field]))
            if m.get("alarms"):
                L.append("alarms = %s" % m["alarms"])
            if m.get("cw_max_age"):
                L.append("max_cloudwatch_delivery_age = %s" % m["cw_max_age"][0])
            if m.get("access_max_age") and self.access_bucket:
                L.append("access_log_max_age = %s" % m["access_max_age"][0])
        for a in self.sections():
            L += ["", "[account %s]" % self.name_of(a), "id = %s" % a]
            rs = list(self.acct_regions.get(a) or [])
            add = (extra_regions or {}).get(a)
            if add:
                rs = sorted(set(rs or self.regions) | set(add))
            if rs:
                L.append("regions = %s" % ", ".join(rs))
        return "\n".join(L) + "\n"


def gen(seed, mode, **force):
    return Config(seed, mode, **force)
