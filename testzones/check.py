#!/usr/bin/env python3
"""Consistency check of the lab data (no network, python3.11+).

Usage: python3 testzones/check.py      exits 1 and lists the problems if any.

Checks: every TOML parses; scenario id = file stem; the category is known; expect.never,
expect.max_ttl and every [[then]] follow-up are well formed; every zone fault is known and
has its parameters (the loader lets parameters of a parameterless fault pass); zone and server names are unique;
server addresses are unique, inside 127.53.0.0/16 and outside the unrouted 127.53.255.0/24;
each scenario keeps to its own /24; every zone a server lists (or a stale-zone fault names)
is declared; every server fault is known and has its parameters; a forge-resign signer is
a signed zone; every zone file exists and its $ORIGIN is the zone; every signed zone has
both key files; every zone except the root is delegated (NS) in its parent's file; every
query name (follow-ups included) lies under a delegation below a TLD.
"""
import glob
import ipaddress
import os
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
LAB_NET = ipaddress.ip_network("127.53.0.0/16")
UNROUTED = ipaddress.ip_network("127.53.255.0/24")
problems = []
CATEGORIES = {"control", "dnssec", "delegation", "transport", "hostile"}
RCODES = {"NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"}
# server fault -> (required parameters, optional parameters)
SERVER_FAULTS = {
    "refuse": (set(), set()),
    "drop": (set(), set()),
    "servfail": (set(), set()),
    "formerr-on-edns": (set(), set()),
    "truncate-always": (set(), set()),
    "no-tcp": (set(), set()),
    "delay": ({"ms"}, set()),
    "not-auth": ({"answer"}, set()),
    "recursion-available": (set(), set()),
    "no-aa": (set(), set()),
    "down": (set(), set()),
    "stale-zone": ({"zone", "file"}, set()),
    "forge-resign": ({"types", "data", "signer"}, {"names"}),
    "forge-relabel": ({"types", "data", "signer"}, {"names"}),
    "relabel-signer": ({"types", "signer"}, {"names"}),
    "forge-dname-cname": ({"target"}, set()),
}
# zone fault -> (required parameters, optional parameters)
ZONE_FAULTS = {
    "rrsig-window": ({"inception", "expiration"}, {"types"}),
    "rrsig-strip": (set(), {"types"}),
    "rrsig-corrupt": (set(), {"types"}),
    "dnskey-drop": ({"role"}, set()),
    "dnskey-corrupt": ({"role"}, set()),
    "dnskey-flags": ({"role", "flags"}, set()),
    "dnskey-algorithm": ({"role", "value"}, set()),
    "ds-absent": (set(), set()),
    "ds-key-tag": (set(), {"value"}),
    "ds-algorithm": ({"value"}, set()),
    "ds-digest-type": ({"value"}, set()),
    "ds-digest-corrupt": (set(), set()),
    "ds-add-sha1": (set(), set()),
    "denial-strip": (set(), set()),
    "nsec3-owner-corrupt": (set(), set()),
    "nsec3-next-corrupt": (set(), set()),
    "keytrap": ({"keys", "signatures"}, set()),
}


def bad(msg):
    problems.append(msg)


def load(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def read_records(path):
    """Very small master-file reader: yields (owner, type, rdata) with absolute owners."""
    origin, last = None, None
    out = []
    with open(path) as f:
        for raw in f:
            line = raw.split(";", 1)[0] if '"' not in raw else raw
            if not line.strip():
                continue
            if line.startswith("$ORIGIN"):
                origin = line.split()[1].lower()
                continue
            if line.startswith("$"):
                continue
            fields = line.split()
            if line[0].isspace():
                owner = last
            else:
                owner = fields.pop(0).lower()
                if owner == "@":
                    owner = origin
                elif not owner.endswith("."):
                    owner = f"{owner}.{origin}" if origin != "." else f"{owner}."
                last = owner
            while fields and (fields[0].isdigit() or fields[0].upper() == "IN"):
                fields.pop(0)
            rtype, rdata = fields[0].upper(), fields[1:]
            out.append((owner, rtype, rdata))
    return origin, out


def check_expect(rel, where, expect):
    if not isinstance(expect, dict):
        bad(f"{rel}: {where}expect is not a table")
        return
    if expect.get("rcode") not in RCODES:
        bad(f"{rel}: {where}expect.rcode {expect.get('rcode')!r} is not one of {sorted(RCODES)}")
    if not isinstance(expect.get("ad"), bool):
        bad(f"{rel}: {where}expect.ad is missing or not a boolean")
    never = expect.get("never", [])
    if not isinstance(never, list) or not all(isinstance(t, str) and t.strip() for t in never):
        bad(f"{rel}: {where}expect.never must be a list of non-empty strings")
    max_ttl = expect.get("max_ttl")
    if max_ttl is not None and (isinstance(max_ttl, bool) or not isinstance(max_ttl, int)
                                or not 0 <= max_ttl < 2**32):
        bad(f"{rel}: {where}expect.max_ttl must be a number of seconds (0 to 2^32-1)")
    trace = expect.get("trace", [])
    if not isinstance(trace, list) or not all(
            isinstance(t, dict) and isinstance(t.get("event"), str) and t["event"] for t in trace):
        bad(f"{rel}: {where}expect.trace must be a list of tables, each with event = \"<tag>\"")


def check_questions(rel, doc):
    if doc.get("category") not in CATEGORIES:
        bad(f"{rel}: category {doc.get('category')!r} is not one of {sorted(CATEGORIES)}")
    check_expect(rel, "", doc.get("expect", {}))
    for i, follow_up in enumerate(doc.get("then", []), 1):
        where = f"then[{i}]."
        if set(follow_up) != {"query", "expect"}:
            bad(f"{rel}: {where} needs exactly query and expect, has {sorted(follow_up)}")
            continue
        q = follow_up["query"]
        if not isinstance(q, dict) or set(q) != {"name", "type"}:
            bad(f"{rel}: {where}query needs exactly name and type")
        check_expect(rel, where, follow_up["expect"])


def check_zone_faults(rel, zone):
    for fault in zone.get("faults", []):
        kind = fault.get("fault")
        if kind not in ZONE_FAULTS:
            bad(f"{rel}: zone {zone['name']}: unknown fault {kind!r}")
            continue
        required, optional = ZONE_FAULTS[kind]
        params = set(fault) - {"fault"}
        if required - params or params - required - optional:
            bad(f"{rel}: zone {zone['name']}: {kind} takes "
                + (f"{sorted(required)}" if required else "no parameters")
                + (f" and optionally {sorted(optional)}" if optional else "")
                + f", has {sorted(params)}")
        if fault.get("types") == []:
            bad(f"{rel}: zone {zone['name']}: {kind} lists no types")
    if zone.get("faults") and not zone.get("signing"):
        bad(f"{rel}: zone {zone['name']} has DNSSEC faults but is not signed")


def check_server_faults(rel, name, server, zones):
    for fault in server.get("faults", []):
        kind = fault.get("fault")
        if kind not in SERVER_FAULTS:
            bad(f"{rel}: server {name}: unknown fault {kind!r}")
            continue
        required, optional = SERVER_FAULTS[kind]
        params = set(fault) - {"fault"}
        if required - params or params - required - optional:
            bad(f"{rel}: server {name}: {kind} takes {sorted(required)}"
                + (f" and optionally {sorted(optional)}" if optional else "")
                + f", has {sorted(params)}")
            continue
        for key in ("signer", "target"):
            if key in fault and not fault[key].endswith("."):
                bad(f"{rel}: server {name}: {kind} {key} {fault[key]!r} is not absolute")
        for n in fault.get("names", []):
            if not n.endswith("."):
                bad(f"{rel}: server {name}: {kind} name {n!r} is not absolute")
        if "types" in fault and not fault["types"]:
            bad(f"{rel}: server {name}: {kind} lists no types")
        if kind == "forge-resign":
            signer = zones.get(fault["signer"].lower())
            if not signer or not signer[1].get("signing"):
                bad(f"{rel}: server {name}: forge-resign signer {fault['signer']} is not a signed zone")


def main():
    files = [os.path.join(HERE, "lab.toml")] + sorted(glob.glob(os.path.join(HERE, "scenarios", "*.toml")))
    zones, servers, scenarios = {}, {}, []
    addresses = {}
    for path in files:
        rel = os.path.relpath(path, HERE)
        try:
            doc = load(path)
        except Exception as e:  # noqa: BLE001
            bad(f"{rel}: {e}")
            continue
        if rel.startswith("scenarios"):
            stem = os.path.splitext(os.path.basename(path))[0]
            if doc.get("id") != stem:
                bad(f"{rel}: id {doc.get('id')!r} differs from the file stem")
            scenarios.append((rel, doc))
            check_questions(rel, doc)
        nets = set()
        for z in doc.get("zone", []):
            name = z["name"].lower()
            if name in zones:
                bad(f"{rel}: zone {name} already declared in {zones[name][0]}")
            zones[name] = (rel, z)
            check_zone_faults(rel, z)
        for s in doc.get("server", []):
            name = s["name"].lower()
            if name in servers:
                bad(f"{rel}: server {name} already declared in {servers[name][0]}")
            servers[name] = (rel, s)
            addr = ipaddress.ip_address(s["address"])
            if addr not in LAB_NET:
                bad(f"{rel}: {name} address {addr} outside {LAB_NET}")
            if addr in UNROUTED:
                bad(f"{rel}: {name} address {addr} inside the unrouted block {UNROUTED}")
            if addr in addresses:
                bad(f"{rel}: {name} address {addr} already used by {addresses[addr]}")
            addresses[addr] = f"{name} ({rel})"
            nets.add(ipaddress.ip_network(f"{addr}/24", strict=False))
        if rel.startswith("scenarios") and len(nets) > 1:
            bad(f"{rel}: servers spread over several /24s: {sorted(map(str, nets))}")
    # each scenario /24 belongs to one file
    owner_of_net = {}
    for addr, who in addresses.items():
        net = ipaddress.ip_network(f"{addr}/24", strict=False)
        f = who.split("(")[-1]
        if owner_of_net.setdefault(net, f) != f:
            bad(f"{net} used by both {owner_of_net[net]} and {f}")

    records = {}
    for name, (rel, z) in zones.items():
        zfile = os.path.join(HERE, z["file"])
        if not os.path.exists(zfile):
            bad(f"{rel}: zone file {z['file']} of {name} is missing")
            continue
        origin, recs = read_records(zfile)
        if origin != name:
            bad(f"{z['file']}: $ORIGIN {origin} differs from zone name {name}")
        records[name] = recs
        if z.get("signing"):
            stem = name.rstrip(".") or "root"
            for role in ("ksk", "zsk"):
                if not os.path.exists(os.path.join(HERE, "keys", f"{stem}.{role}.pem")):
                    bad(f"{rel}: signed zone {name} has no keys/{stem}.{role}.pem")
    for name, (rel, s) in servers.items():
        check_server_faults(rel, name, s, zones)
        for zn in s.get("zones", []):
            if zn.lower() not in zones:
                bad(f"{rel}: server {name} serves undeclared zone {zn}")
        for fault in s.get("faults", []):
            if fault.get("fault") == "stale-zone":
                if fault["zone"].lower() not in zones:
                    bad(f"{rel}: stale-zone fault names undeclared zone {fault['zone']}")
                if not os.path.exists(os.path.join(HERE, fault["file"])):
                    bad(f"{rel}: stale-zone file {fault['file']} is missing")
    # delegations
    for name in zones:
        if name == ".":
            continue
        parent = next(p for p in (name.split(".", i)[-1] or "." for i in range(1, name.count(".") + 1))
                      if p in zones)
        if not any(o == name and t == "NS" for o, t, _ in records.get(parent, [])):
            bad(f"zone {name} is not delegated in {zones[parent][1]['file']}")
    # queries
    delegated = {o for z, recs in records.items() for o, t, _ in recs if t == "NS" and o != z}
    for rel, doc in scenarios:
        queries = [doc["query"]] + [t["query"] for t in doc.get("then", []) if "query" in t]
        for query in queries:
            q = query.get("name", "").lower()
            if not q.endswith("."):
                bad(f"{rel}: query name {q} is not absolute")
            if not any(q == d or q.endswith("." + d) for d in delegated - {"lab.", "test."}):
                bad(f"{rel}: query name {q} lies under no delegation below lab. or test.")

    print(f"{len(scenarios)} scenarios, {len(zones)} zones, {len(servers)} servers")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
