#!/usr/bin/env python3
"""One measured benchmark run (bench/bench.sh calls it): starts the client, takes the server's CPU
before and after, and waits until every message is stored (or the queue is empty).

  measure.py run --csv FILE --section S --target T --config C --run R --messages N
                 --done maildir:DIR | queue-empty:SPOOL | sink:SMTP-SINK-OUTPUT | accepted
                 (--cpu-pid PID | --cpu-pgrp PGID) [--timeout SECONDS] [--metrics URL] -- CLIENT ARGS...

CPU of the server = utime+stime+cutime+cstime from /proc (clock ticks): of one process (SecureMx,
smtp-sink; cutime/cstime cover children it reaped), or summed over every live process of a process
group (a Postfix instance: master's cutime/cstime hold the reaped children, the live ones count
themselves), read before the client starts and again when the last message is stored.
Client CPU comes from the client's rusage (wait4). Appends one CSV row; prints a short line.
"""
import argparse, csv, os, subprocess, sys, time, urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def _fields(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        s = f.read().decode("ascii", "replace")
    return s[s.rindex(")") + 2:].split()  # [0] = state (field 3), so field n is [n - 3]


def ticks_pid(pid):
    f = _fields(pid)
    return sum(int(x) for x in f[11:15])


def ticks_pgrp(pgrp):
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            f = _fields(name)
        except (OSError, ValueError):
            continue
        if int(f[2]) == pgrp:
            total += sum(int(x) for x in f[11:15])
    return total


def commit_counters(url):
    """The queue's group-commit counters from SecureMx's /metrics: (fsync'd commits, other commits, operations)."""
    want = {'securemx_queue_commits_total{synced="true"}': 0, 'securemx_queue_commits_total{synced="false"}': 1,
            "securemx_queue_committed_operations_total": 2}
    got = [0.0, 0.0, 0.0]
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode("utf-8", "replace")
    except OSError as e:
        print(f"  no group-commit figures: {url}: {e}", file=sys.stderr)
        return None
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        name = name.removesuffix("{}")  # the exporter writes an empty label set on a series without labels
        if name in want:
            got[want[name]] = float(rest.split()[0])
    return got


def count_files(d):
    try:
        return sum(1 for _ in os.scandir(d))
    except FileNotFoundError:
        return 0


def queue_empty(spool):
    for sub in ("incoming", "active", "deferred", "hold"):
        for _root, _dirs, files in os.walk(os.path.join(spool, sub)):
            if files:
                return False
    return True


def sink_counts(path):
    """The last "sess=N quit=N mesg=N" of smtp-sink -c (updated in place with \\r)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 256))  # the file grows by a line per message
            text = f.read().decode("ascii", "replace")
    except FileNotFoundError:
        return 0, 0
    last = text.replace("\r", "\n").strip().split("\n")[-1]
    kv = dict(p.split("=", 1) for p in last.split() if "=" in p)
    try:
        return int(kv.get("sess", 0)), int(kv.get("mesg", 0))
    except ValueError:
        return 0, 0


def open_sessions(addr):
    """Established TCP connections whose local end is ADDR:PORT (IPv4), from /proc/net/tcp."""
    if not addr:
        return 0
    ip, port = addr.rsplit(":", 1)
    want = "%08X:%04X" % (int.from_bytes(bytes(int(x) for x in ip.split(".")), "little"), int(port))
    with open("/proc/net/tcp") as f:
        return sum(1 for line in f.readlines()[1:] if line.split()[1] == want and line.split()[3] == "01")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["run"])
    for a in ("--csv", "--section", "--target", "--config", "--run", "--done"):
        ap.add_argument(a, required=True)
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--cpu-pid", type=int)
    ap.add_argument("--cpu-pgrp", type=int)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--sink-addr", help="sink: its ADDR:PORT, to count the sessions still open at the end")
    ap.add_argument("--metrics", help="SecureMx: its /metrics URL, for the group-commit batch sizes of the run")
    argv = sys.argv[1:]
    if "--" not in argv:
        ap.error("the client command follows --")
    cut = argv.index("--")
    a = ap.parse_args(argv[:cut])
    client = argv[cut + 1:]
    cpu = (lambda: ticks_pid(a.cpu_pid)) if a.cpu_pid else (lambda: ticks_pgrp(a.cpu_pgrp))
    kind, _, where = a.done.partition(":")
    if kind == "maildir":
        done = lambda: count_files(where) >= a.messages
    elif kind == "queue-empty":
        done = lambda: queue_empty(where)
    elif kind == "sink":
        done = lambda: sink_counts(where)[1] >= a.messages
    else:
        done = lambda: True

    status = "ok"
    commits0 = commit_counters(a.metrics) if a.metrics else None
    first = (lambda: sink_counts(where)[1] >= 1) if kind == "sink" else (lambda: True)
    c0 = cpu()
    t0 = time.monotonic()
    t1 = t_first = None
    client_cpu = 0.0
    with open(os.path.join(os.environ.get("BENCH_WORK", "/tmp"), "client.out"), "wb") as out:
        p = subprocess.Popen(client, stdout=out, stderr=subprocess.STDOUT)
    try:
        # until the client has ended and every message is stored (polled every 10 ms or more)
        while True:
            if t1 is None:
                pid, rc, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    t1 = time.monotonic()
                    client_cpu = ru.ru_utime + ru.ru_stime
                    code = os.waitstatus_to_exitcode(rc)
                    if code != 0:
                        status = f"client-exit-{code}"
                    deadline = t1 + a.timeout
            if t_first is None and first():
                t_first = time.monotonic()
            scan = time.monotonic()
            if t1 is not None and (done() or status != "ok"):
                break
            scan = time.monotonic() - scan
            if t1 is not None and time.monotonic() > deadline:
                status = "TIMEOUT"
                break
            # at most ~5 % of a CPU for the polling (a Maildir of 10 000 files takes a few ms to list)
            time.sleep(max(0.01, 20 * scan))
    except KeyboardInterrupt:
        p.kill()
        raise
    t2 = time.monotonic()
    c1 = cpu()
    commits1 = commit_counters(a.metrics) if commits0 else None
    commits = [y - x for x, y in zip(commits0, commits1)] if commits0 and commits1 else None
    if status != "ok" and kind == "maildir":
        # a failed run: let what it did get accepted settle (2 s without a new file, at most the timeout),
        # so that none of it lands in the next run's count
        last, still = -1, time.monotonic()
        while time.monotonic() - still < 2 and time.monotonic() - t2 < a.timeout:
            n_now = count_files(where)
            if n_now != last:
                last, still = n_now, time.monotonic()
            time.sleep(0.2)
    if kind == "sink":
        time.sleep(3)  # cached connections close (untimed); those still open are counted apart
    n = a.messages
    row = {
        "section": a.section, "target": a.target, "config": a.config, "run": a.run, "messages": n,
        # sink (outbound drain): accept = from the release command, e2e = from the first message at the sink
        "accept_per_s": f"{n / ((t2 if kind == 'sink' else t1) - t0):.1f}",
        "e2e_per_s": f"{n / (t2 - (t_first if kind == 'sink' and t_first else t0)):.1f}",
        "server_cpu_ms_per_msg": f"{(c1 - c0) * 1000 / TICK / n:.3f}",
        "client_cpu_ms_per_msg": f"{client_cpu * 1000 / n:.3f}",
        # sessions smtp-sink saw end, plus those still open (a client keeps idle connections a while)
        "connections": sink_counts(where)[0] + open_sessions(a.sink_addr) if kind == "sink" else "",
        # group commit: messages per WAL fsync (a commit with a message in it), operations (messages, delivery
        # outcomes, removals) per commit; outcomes of the last deliveries may still be on their way
        "msgs_per_fsync": f"{n / commits[0]:.2f}" if commits and commits[0] else "",
        "ops_per_commit": f"{commits[2] / (commits[0] + commits[1]):.2f}" if commits and commits[0] + commits[1] else "",
        "status": status,
    }
    new = not os.path.exists(a.csv) or os.path.getsize(a.csv) == 0
    with open(a.csv, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)
    print(f"{row['accept_per_s']:>8} acc {row['e2e_per_s']:>8} e2e {row['server_cpu_ms_per_msg']:>6} ms"
          + (f" {row['connections']} conn" if kind == "sink" else "")
          + (f" {row['msgs_per_fsync']} msg/fsync" if row["msgs_per_fsync"] else "")
          + ("" if status == "ok" else f" {status}"))
    if status != "ok":
        with open(os.path.join(os.environ.get("BENCH_WORK", "/tmp"), "client.out"), "rb") as f:
            tail = f.read()[-600:].decode("utf-8", "replace")
        print(f"  {a.target} {a.config} run {a.run}: {status}; client said: {tail.strip()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
