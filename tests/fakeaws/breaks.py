"""Control operations that build breaks people cannot build through the API
in a short simulated time (used by tests/matrix, the generated scenario
matrix).

| Op | Body | Does |
| --- | --- | --- |
| `load_world` | `{"dir"}` | replaces the whole world with the one `save` wrote to `dir` (the process, port and auth clock stay): many scenarios start from one saved world without a restart |
| `age_events` | `{"account", "event_name", "days": 100}` | moves the recorded management events of that name in that account `days` back in time (their `eventTime`), as if they had happened that long ago: LookupEvents keeps 90 days, so an aged event is no longer found (e.g. a trail deleted long ago: doctor's `trail_missing`, not `trail_deleted`) |
"""

from . import control
from .world import World, iso8601


def c_load_world(world, body):
    fresh = World.load(body["dir"])
    if fresh is None:
        raise ValueError("no saved world in '%s'" % body["dir"])
    lock, state_dir, auth = world.lock, getattr(world, "state_dir", None), world.auth_clock
    world.__dict__.clear()
    world.__dict__.update(fresh.__dict__)
    world.lock, world.state_dir, world.auth_clock = lock, state_dir, auth
    return {"ok": True}


def c_age_events(world, body):
    acct = body["account"]
    name = body["event_name"]
    days = float(body.get("days", 100))
    n = 0
    for ev in world.events:
        if ev.get("recipientAccountId") == acct and ev.get("eventName") == name:
            t = float(ev.get("_time", world.now)) - days * 86400
            ev["_time"] = t
            ev["eventTime"] = iso8601(t)
            n += 1
    return {"aged": n}


control.register("age_events", c_age_events)
control.register("load_world", c_load_world)
