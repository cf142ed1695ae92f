#!/usr/bin/env python3
"""Create the lab's fixed DNSSEC keys.

Reads ../lab.toml and ../scenarios/*.toml and, for every zone that has a `signing`
table, creates keys/<zone>.ksk.pem and keys/<zone>.zsk.pem (PKCS#8 PEM, unencrypted)
with `openssl genpkey` unless the file already exists. <zone> is the zone name without
its trailing dot, "root" for the root zone. Existing keys are never overwritten, so
rerunning the script after adding a scenario only creates the new zone's keys.

Usage: python3 testzones/keys/make-keys.py   (from anywhere; needs python3.11+ and openssl)
"""
import glob
import os
import subprocess
import sys
import tempfile
import tomllib

KEYS = os.path.dirname(os.path.abspath(__file__))
TESTZONES = os.path.dirname(KEYS)

# signing.algorithm -> openssl genpkey arguments (DSA is handled separately).
GENPKEY = {
    "RSAMD5": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "RSASHA1": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "RSASHA1-NSEC3-SHA1": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "RSASHA256": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "RSASHA512": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "ECDSAP256SHA256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-pkeyopt", "ec_param_enc:named_curve"],
    "ECDSAP384SHA384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384",
                        "-pkeyopt", "ec_param_enc:named_curve"],
    "ED25519": ["-algorithm", "ED25519"],
    "ED448": ["-algorithm", "ED448"],
}


def signed_zones():
    """(zone name, algorithm, declaring file) for every zone with a signing table."""
    files = [os.path.join(TESTZONES, "lab.toml")]
    files += sorted(glob.glob(os.path.join(TESTZONES, "scenarios", "*.toml")))
    out = []
    for path in files:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        for zone in doc.get("zone", []):
            signing = zone.get("signing")
            if signing:
                out.append((zone["name"], signing["algorithm"].upper(), path))
    return out


def key_stem(zone):
    name = zone.rstrip(".").lower()
    return name if name else "root"


def openssl(args):
    # openssl prints key generation progress on stderr; show it only when it fails.
    r = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"openssl {' '.join(args)} failed:\n{r.stderr}")


def genkey(algorithm, out):
    tmp = out + ".tmp"
    if algorithm in ("DSA", "DSA-NSEC3-SHA1"):
        with tempfile.TemporaryDirectory() as d:
            params = os.path.join(d, "params.pem")
            openssl(["genpkey", "-genparam", "-algorithm", "DSA",
                     "-pkeyopt", "dsa_paramgen_bits:1024", "-pkeyopt", "dsa_paramgen_q_bits:160",
                     "-out", params])
            openssl(["genpkey", "-paramfile", params, "-out", tmp])
    elif algorithm in GENPKEY:
        openssl(["genpkey", *GENPKEY[algorithm], "-out", tmp])
    else:
        raise SystemExit(f"unknown signing algorithm {algorithm!r}")
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)


def main():
    created = 0
    seen = {}
    for zone, algorithm, path in signed_zones():
        stem = key_stem(zone)
        if stem in seen and seen[stem] != algorithm:
            sys.exit(f"{path}: zone {zone} declared twice with different algorithms")
        seen[stem] = algorithm
        for role in ("ksk", "zsk"):
            out = os.path.join(KEYS, f"{stem}.{role}.pem")
            if os.path.exists(out):
                continue
            genkey(algorithm, out)
            created += 1
            print(f"created keys/{stem}.{role}.pem ({algorithm})")
    print(f"{created} key(s) created, {2 * len(seen) - created} already present")


if __name__ == "__main__":
    main()
