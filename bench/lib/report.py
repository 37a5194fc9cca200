#!/usr/bin/env python3
"""The tables of bench/bench.sh from its runs CSV (and idle CSV): medians [min..max] of the counted
runs per section, target and configuration, then the issue's table with the figures at filing."""
import csv, os, statistics, sys

rows = [r for r in csv.DictReader(open(sys.argv[1]))] if os.path.exists(sys.argv[1]) else []
idle = list(csv.reader(open(sys.argv[2]))) if len(sys.argv) > 2 and os.path.exists(sys.argv[2]) else []
rows = [r for r in rows if r["section"] != "warmup"]


def vals(section, target, config, field):
    return [float(r[field]) for r in rows if r["section"] == section and r["target"] == target
            and r["config"] == config and r["status"] == "ok" and r.get(field)]


def med(section, target, config, field):
    v = vals(section, target, config, field)
    return statistics.median(v) if v else None


def cell(section, target, config, field, fmt="{:.0f}"):
    v = vals(section, target, config, field)
    fails = sum(1 for r in rows if r["section"] == section and r["target"] == target
                and r["config"] == config and r["status"] != "ok")
    if not v:
        return "FAIL" if fails else "-"
    s = fmt.format(statistics.median(v)) + " [" + fmt.format(min(v)) + ".." + fmt.format(max(v)) + "]"
    return s + (f" {fails}F" if fails else "")


print("Every run: median [min..max] of the counted runs (warm-up left out; nF = n failed runs)")
keys = []
for r in rows:
    k = (r["section"], r["config"], r["target"])
    if k not in keys:
        keys.append(k)
hdr = f"{'section':<10} {'config':<15} {'target':<18} {'accept msg/s':>22} {'end-to-end msg/s':>22} {'server CPU ms/msg':>24} {'client CPU ms/msg':>18} {'conns':>6}"
print(hdr)
print("-" * len(hdr))
for s, c, t in keys:
    conns = [r["connections"] for r in rows if (r["section"], r["config"], r["target"]) == (s, c, t) and r.get("connections")]
    print(f"{s:<10} {c:<15} {t:<18} {cell(s, t, c, 'accept_per_s'):>22} {cell(s, t, c, 'e2e_per_s'):>22} "
          f"{cell(s, t, c, 'server_cpu_ms_per_msg', '{:.2f}'):>24} {cell(s, t, c, 'client_cpu_ms_per_msg', '{:.2f}'):>18} "
          f"{statistics.median(int(x) for x in conns) if conns else '':>6}")
print()
batched = [k for k in keys if any(r.get("msgs_per_fsync") for r in rows if (r["section"], r["config"], r["target"]) == k)]
if batched:
    print("Group commit of the SecureMx targets (from their /metrics, median [min..max]): messages per WAL fsync,")
    print("operations per commit (messages, delivery outcomes, removals)")
    for s, c, t in batched:
        print(f"{s:<10} {c:<15} {t:<18} {cell(s, t, c, 'msgs_per_fsync', '{:.1f}'):>20} msg/fsync {cell(s, t, c, 'ops_per_commit', '{:.1f}'):>20} ops/commit")
    print()

AT_FILING = {  # issue 18, measured at 97826fb: SecureMx / Postfix (Postfix fsyncs its queue file, then discards)
    "1x4k": "0.79 (471 vs 598)",
    "20x4k": "1.04 (1194 vs 1143)",
    "100x4k": "2.04",
    "20x100k": "1.01",
    "cpu": "1.86 vs 1.68 ms",
    "tls": "1.51 (CPU 2.97 vs 4.23 ms)",
    "drain": "0.86 (~190 vs ~38 conns)",
    "drain-c20": "1.04",
    "idle": "247 MB, 16 KiB each; 268 MB after close",
    "sustained": "not measured",
}


def ratio(a, b, fmt="{:.2f}"):
    return fmt.format(a / b) if a and b else "n/a"


def f0(x, fmt="{:.0f}"):
    return fmt.format(x) if x is not None else "n/a"


smx_targets = [t for t in ("securemx", "securemx-base") if any(r["target"] == t for r in rows)] or ["securemx"]
table = []
for cfg, label in (("1x4k", "inbound, 1 session"), ("20x4k", "inbound, 20 sessions"),
                   ("100x4k", "inbound, 100 sessions"), ("20x100k", "inbound, 20 x 100 KiB")):
    g = {t: (med("inbound", t, cfg, "accept_per_s"), med("inbound", t, cfg, "e2e_per_s"))
         for t in ("smtp-sink", "postfix", "postfix-maildir", *smx_targets)}
    for t in smx_targets:
        a, e = g[t]
        table.append((label + ("" if t == "securemx" else f" ({t})"), AT_FILING[cfg] if t == "securemx" else "",
                      ratio(a, g["postfix"][0]), ratio(e, g["postfix-maildir"][1]),
                      ratio(a, g["smtp-sink"][0], "{:.0%}"),
                      f"accept {f0(a)} vs {f0(g['postfix'][0])} (postfix) / {f0(g['postfix-maildir'][0])} (maildir) / "
                      f"{f0(g['smtp-sink'][0])} (sink); end to end {f0(e)} vs {f0(g['postfix-maildir'][1])} (maildir)"))
cpu = {t: med("inbound", t, "20x4k", "server_cpu_ms_per_msg") for t in ("postfix", "postfix-maildir", *smx_targets)}
for t in smx_targets:
    table.append(("CPU/msg, 20 x 4 KiB, until stored" + ("" if t == "securemx" else f" ({t})"),
                  AT_FILING["cpu"] if t == "securemx" else "",
                  ratio(cpu[t], cpu["postfix"]), ratio(cpu[t], cpu["postfix-maildir"]), "",
                  f"{f0(cpu[t], '{:.2f}')} ms vs {f0(cpu['postfix'], '{:.2f}')} (postfix, discards) / "
                  f"{f0(cpu['postfix-maildir'], '{:.2f}')} (maildir)"))
tls = {t: (med("tls", t, "tls13-20", "accept_per_s"), med("tls", t, "tls13-20", "e2e_per_s"),
           med("tls", t, "tls13-20", "server_cpu_ms_per_msg")) for t in ("postfix", "postfix-maildir", *smx_targets)}
gen = med("tls", "smtp-sink", "smtpload-plain", "accept_per_s")
for t in smx_targets:
    table.append(("STARTTLS, TLS 1.3, 20 sessions" + ("" if t == "securemx" else f" ({t})"),
                  AT_FILING["tls"] if t == "securemx" else "",
                  ratio(tls[t][0], tls["postfix"][0]), ratio(tls[t][1], tls["postfix-maildir"][1]), "",
                  f"accept {f0(tls[t][0])} vs {f0(tls['postfix'][0])} / {f0(tls['postfix-maildir'][0])}; CPU "
                  f"{f0(tls[t][2], '{:.2f}')} vs {f0(tls['postfix'][2], '{:.2f}')} / {f0(tls['postfix-maildir'][2], '{:.2f}')} ms; "
                  f"generator plain ceiling {f0(gen)}"))
drain = {}
for t in ("out-postfix", "out-securemx", "out-securemx-c20", "out-securemx-base"):
    conns = [int(r["connections"]) for r in rows if r["section"] == "outbound" and r["target"] == t and r["status"] == "ok" and r["connections"]]
    cfgs = {r["config"] for r in rows if r["section"] == "outbound" and r["target"] == t}
    c = next(iter(cfgs), "")
    drain[t] = (med("outbound", t, c, "e2e_per_s"), statistics.median(conns) if conns else None,
                med("outbound", t, c, "server_cpu_ms_per_msg"))
for t, label, key in (("out-securemx", "outbound drain, default concurrency", "drain"),
                      ("out-securemx-c20", "outbound drain, destinationConcurrency 20", "drain-c20"),
                      ("out-securemx-base", "outbound drain, default (securemx-base)", "")):
    if drain[t][0] is None and t != "out-securemx":
        continue
    p = drain["out-postfix"]
    table.append((label, AT_FILING.get(key, ""), ratio(drain[t][0], p[0]), "", "",
                  f"{f0(drain[t][0])} vs {f0(p[0])} msg/s; connections {f0(drain[t][1])} vs {f0(p[1])}; "
                  f"CPU {f0(drain[t][2], '{:.2f}')} vs {f0(p[2], '{:.2f}')} ms"))
for r in idle:
    t, n, before, with_, after, opened = r
    per = (int(with_) - int(before)) / int(n)
    table.append((f"{n} idle sessions after EHLO" + ("" if t == "securemx" else f" ({t})"),
                  AT_FILING["idle"] if t == "securemx" and n == "10000" else "", "", "", "",
                  # VmRSS is in KiB: MiB here, and the open figure also in SI megabytes (the "150 MB" is either).
                  f"VmRSS {int(before) // 1024} MiB idle, {int(with_) // 1024} MiB open ({int(with_) * 1024 / 1e6:.0f} MB; {per:.0f} KiB/session, "
                  f"{opened.replace('_', ' ')}), {int(after) // 1024} MiB 10 s after close; Postfix ~1.7 MB/session (not measured)"))
for t in ("postfix-maildir", *smx_targets):
    a, e = med("sustained", t, "20x4k-long", "accept_per_s"), med("sustained", t, "20x4k-long", "e2e_per_s")
    if a is None:
        continue
    table.append((f"sustained 20 sessions, end to end / accept ({t})", AT_FILING["sustained"] if t == "securemx" else "",
                  "", "", "", f"{ratio(e, a, '{:.0%}')} ({f0(e)} of {f0(a)} msg/s)"))

print("The issue's table (ratios of medians; at filing = issue 18, measured at 97826fb against the Postfix that discards)")
w = [max(len(str(x[i])) for x in table + [("work", "at filing", "SecureMx/Postfix", "SecureMx/Postfix-Maildir (end to end)", "SecureMx % of smtp-sink", "figures")]) for i in range(6)]
head = ("work", "at filing", "SecureMx/Postfix", "SecureMx/Postfix-Maildir (end to end)", "SecureMx % of smtp-sink", "figures")
print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |")
print("|" + "|".join("-" * (w[i] + 2) for i in range(6)) + "|")
for x in table:
    print("| " + " | ".join(str(v).ljust(w[i]) for i, v in enumerate(x)) + " |")
