#!/usr/bin/python3
# dkimpy-verify.py — an independent DKIM verifier (Debian's python3-dkim, dkimpy) for the tests.
#
# Usage: /usr/bin/python3 dkimpy-verify.py RESOLVER_IP [PORT] < message
#   Checks every DKIM-Signature of the message on stdin, looking the keys up as TXT records through the
#   given resolver (the DNS test bed's validating unbound), never the system's. Prints one line per
#   signature, top to bottom: "pass d=DOMAIN s=SELECTOR a=ALGORITHM" or "fail d=... s=... a=... (WHY)";
#   exit 0 when there is at least one signature and all pass, 1 otherwise.
#   Run it with /usr/bin/python3: a python3 earlier on the PATH may not see Debian's modules.
import re
import sys

import dkim
import dns.resolver

resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = [sys.argv[1]]
resolver.port = int(sys.argv[2]) if len(sys.argv) > 2 else 53


def txt(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    answer = resolver.resolve(name, "TXT", lifetime=timeout)
    return b"".join(answer[0].strings)


message = sys.stdin.buffer.read()
checker = dkim.DKIM(message)
signatures = [value for name, value in checker.headers if name.lower() == b"dkim-signature"]
ok = len(signatures) > 0
for idx, value in enumerate(signatures):
    tags = dict((m.group(1), m.group(2)) for m in re.finditer(rb"\b([a-z])=([^;]*)", re.sub(rb"\s+", b"", value)))
    what = "d=%s s=%s a=%s" % tuple(tags.get(t, b"?").decode() for t in (b"d", b"s", b"a"))
    try:
        passed = checker.verify(idx=idx, dnsfunc=txt)
        why = ""
    except Exception as e:  # a lookup or parse failure is a failed check, with its reason
        passed, why = False, " (%s)" % e
    print(("pass " if passed else "fail ") + what + why)
    ok = ok and passed
if not signatures:
    print("no DKIM-Signature")
sys.exit(0 if ok else 1)
