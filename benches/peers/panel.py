#!/usr/bin/env python3
"""Peer panel: our solver beside PyVRP and HGS-CVRP (through ../shared/tools/peer-bench) on the same
instances, limits and machine, in one run.

Jobs run in parallel, each pinned with `taskset` to its own cores (a PyVRP or 1-thread job gets
one core, an N-thread job N cores), so that a machine with many cores measures many 1- and
2-core runs at once without them sharing a core. Every solution is then scored the same way, with
PyVRP's own evaluator in each family's rounding convention (see ../shared/datasets/README.md), so
both solvers are measured on one scale; ours are also checked by `luckygas check`.

    python3 benches/peers/panel.py --luckygas target/release/luckygas --out out/panel \
        --job "cvrp|pyvrp|1|10|../shared/datasets/pyvrp-instances/CVRP/X-n1*.vrp" \
        --job "cvrp|ours|2|10|../shared/datasets/pyvrp-instances/CVRP/X-n1*.vrp"

A job is "PANEL|SOLVER|THREADS|SECONDS|GLOB[|MAX_CLIENTS or MIN-MAX[|SEEDS]]" (SEEDS: "1,2,3" runs each
instance once per seed; default --seed) with SOLVER `ours`, `pyvrp`, `hgs`
(HGS-CVRP, CVRP only) or `pyvrp-ils` (PyVRP without 0.14.1's exhaustive search of its random start,
see pyvrp_ils.py: on SDVRPTW the only way it keeps its limit); Solomon `.txt` files
are converted to VRPLIB for PyVRP (same data, DIMACS rounding). Writes OUT/results.jsonl and prints
a summary per panel and solver: instances, feasible, mean gap to the best known (where a `.sol`
lies beside the instance) and mean cost.
"""
import argparse, glob, itertools, json, os, pathlib, subprocess, sys, time

CONV = {"CVRP": ("round", 1), "XXL": ("round", 1), "VRPTW": ("dimacs", 10), "MTVRPTWR": ("dimacs", 1),
        "HFVRP": ("exact", 100000), "VRPB": ("round", 1), "PCVRPTW": ("dimacs", 1), "MDVRPTW": ("exact", 1),
        "SDVRPTW": ("exact", 1), "GVRP": ("round", 1), "TSP": ("round", 1), "solomon": ("dimacs", 10)}


# Peers, one core each: PyVRP (every family) and HGS-CVRP (`hgs`, CVRP only) through peer_solve.py;
# `pyvrp-ils`, PyVRP started as its upstream fix of issue #1193 starts it (no exhaustive search of the
# random start, which on SDVRPTW does not end in 0.14.1), through pyvrp_ils.py beside this file.
PEERS = ("pyvrp", "hgs", "pyvrp-ils")


def solomon_to_vrplib(src: pathlib.Path, dst: pathlib.Path):
    lines = [l.split() for l in src.read_text().splitlines()]
    vehicles = capacity = None
    rows = []
    for i, l in enumerate(lines):
        if l[:2] == ["NUMBER", "CAPACITY"]:
            vehicles, capacity = int(lines[i + 1][0]), int(lines[i + 1][1])
        if len(l) == 7 and all(x.replace(".", "").isdigit() for x in l):
            rows.append(l)
    out = [f"NAME : {src.stem}", "TYPE : VRPTW", f"DIMENSION : {len(rows)}", f"VEHICLES : {vehicles}",
           f"CAPACITY : {capacity}", "EDGE_WEIGHT_TYPE : EUC_2D", "NODE_COORD_SECTION"]
    out += [f"{k + 1} {r[1]} {r[2]}" for k, r in enumerate(rows)]
    out += ["DEMAND_SECTION"] + [f"{k + 1} {r[3]}" for k, r in enumerate(rows)]
    out += ["DEPOT_SECTION", "1", "-1", "SERVICE_TIME_SECTION"] + [f"{k + 1} {r[6]}" for k, r in enumerate(rows)]
    out += ["TIME_WINDOW_SECTION"] + [f"{k + 1} {r[4]} {r[5]}" for k, r in enumerate(rows)] + ["EOF"]
    dst.write_text("\n".join(out) + "\n")


def clients(inst: pathlib.Path) -> int:
    """Number of clients: DIMENSION minus the depots of a VRPLIB file, 100 for Solomon."""
    if inst.suffix == ".txt":
        return 100
    dim, depots = None, 1
    for line in inst.open():
        k, _, v = line.partition(":")
        if k.strip() == "DIMENSION":
            dim = int(v)
        elif k.strip() == "DEPOTS":
            depots = int(v)
        elif line.strip().endswith("SECTION"):
            break
    return dim - depots


def family(inst: pathlib.Path) -> str:
    return "solomon" if inst.suffix == ".txt" else inst.parent.name


def read(inst: pathlib.Path, vrplib_path: pathlib.Path):
    """PyVRP's data of an instance in its family's rounding, and the divisor to the .sol's units."""
    import pyvrp
    rounding, scale = CONV.get(family(inst), ("round", 1))
    return pyvrp.read(str(vrplib_path), round_func=rounding), scale


def total(s, scale):
    return (s.distance_cost() + s.duration_cost() + s.fixed_vehicle_cost() + s.uncollected_prizes()) / scale


def best_known(inst: pathlib.Path, data, scale):
    """The cost of the .sol beside the instance, evaluated like every solution; None without one."""
    import pyvrp
    bf = inst.with_suffix(".sol")
    return total(pyvrp.read_solution(str(bf), data), scale) if bf.exists() else None


def evaluate(inst: pathlib.Path, vrplib_path: pathlib.Path, sol: pathlib.Path):
    """Cost in the family's .sol units, feasibility and completeness by PyVRP's evaluator."""
    import pyvrp
    data, scale = read(inst, vrplib_path)
    try:
        s = pyvrp.read_solution(str(sol), data)
    except Exception as e:  # noqa: BLE001 - a broken solution file is a result, not a crash
        return dict(feasible=False, error=f"{type(e).__name__}: {e}")
    bks = best_known(inst, data, scale)
    cost = total(s, scale)
    return dict(feasible=bool(s.is_feasible() and s.is_complete()), cost=cost, bks=bks,
                gap=None if not bks else 100 * (cost - bks) / bks, routes=s.num_routes())


def score(j, luckygas):
    """Scores one finished job: cost, feasibility and gap by PyVRP's evaluator (ours also by our
    checker); PyVRP from its own JSON line."""
    if j.get("killed_after_s") is not None:
        j.update(feasible=False, error=f"killed after {j['killed_after_s']} s")
    elif j["solver"] in PEERS:
        # peer_solve.py prints the cost but not the routes: re-running the solve for routes would
        # not be the same run, so a peer is scored from its own JSON line (PyVRP's evaluator for
        # PyVRP; for HGS-CVRP peer_solve.py checks that every client is served once and sums
        # PyVRP's rounded distance matrix over its routes).
        try:
            line = json.loads(j["stdout"].strip().splitlines()[-1])
            cost = line.get("cost")
            j.update(feasible=bool(line.get("feasible")) and cost is not None, cost=cost)
        except Exception as e:  # noqa: BLE001
            j.update(feasible=False, error=f"peer_solve: {e}")
    else:
        if j["exit"] != 0 or not pathlib.Path(j["sol"]).exists():
            j.update(feasible=False, error=f"exit {j['exit']}")
        else:
            j.update(evaluate(pathlib.Path(j["instance"]), pathlib.Path(j["vrplib"]), pathlib.Path(j["sol"])))
            chk = subprocess.run([luckygas, "check", j["instance"], j["sol"]], capture_output=True, text=True)
            j["checker_ok"] = chk.returncode == 0
    if j.get("cost") is not None and j.get("bks") is None:
        inst = pathlib.Path(j["instance"])
        j["bks"] = best_known(inst, *read(inst, pathlib.Path(j["vrplib"])))
    if j.get("cost") is not None and j.get("bks"):
        j["gap"] = 100 * (j["cost"] - j["bks"]) / j["bks"]
    j.pop("stdout", None)
    return j


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", action="append")
    ap.add_argument("--summarize", nargs="+", metavar="JSONL",
                    help="print the summary of rows written by earlier runs (results.jsonl) and solve nothing")
    ap.add_argument("--luckygas", default="target/release/luckygas")
    ap.add_argument("--peer-bench", default="../shared/tools/peer-bench")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out/panel")
    ap.add_argument("--kill-after", type=float, default=3.0,
                    help="a run still going after this many times its limit (plus 10 s) is killed and"
                         " scored as no solution (PyVRP 0.14.1 overruns its limit by minutes on SDVRPTW)")
    a = ap.parse_args()
    if a.summarize:
        summarize([json.loads(line) for f in a.summarize for line in open(f) if line.strip()])
        return
    if not a.job:
        ap.error("--job is required unless --summarize is given")
    out = pathlib.Path(a.out); (out / "sol").mkdir(parents=True, exist_ok=True); (out / "vrplib").mkdir(exist_ok=True)

    jobs = []
    for spec in a.job:
        panel, solver, threads, seconds, pattern, *rest = spec.split("|")
        seeds = [int(x) for x in rest[1].split(",")] if len(rest) > 1 and rest[1] else [a.seed]
        files = sorted(glob.glob(pattern))
        if rest and rest[0]:
            # Clients: "400" (at most 400) or "401-1000" (from 401 to 1000).
            lo, _, hi = rest[0].rpartition("-")
            files = [f for f in files if int(lo or 0) <= clients(pathlib.Path(f)) <= int(hi)]
        if not files:
            sys.exit(f"no instance matches {pattern}")
        for f, seed in itertools.product(files, seeds):
            inst = pathlib.Path(f)
            vp = inst
            if inst.suffix == ".txt":
                vp = out / "vrplib" / "solomon" / (inst.stem + ".vrp")
                vp.parent.mkdir(exist_ok=True)
                if not vp.exists():
                    solomon_to_vrplib(inst, vp)
            tag = f"{panel}-{solver}-t{threads}-s{seconds}-{inst.stem}" + (f"-seed{seed}" if seed != a.seed else "")
            jobs.append(dict(panel=panel, solver=solver, threads=int(threads), seconds=float(seconds), seed=seed,
                             instance=str(inst), vrplib=str(vp), tag=tag, sol=str(out / "sol" / (tag + ".sol"))))
    cores_of = lambda j: 1 if j["solver"] in PEERS else j["threads"]
    pending = sorted(jobs, key=lambda j: -j["seconds"] * cores_of(j))
    free = list(range(a.cores))
    running = []
    t0 = time.time()
    print(f"{len(jobs)} jobs on {a.cores} cores", flush=True)
    while pending or running:
        for j in list(pending):
            need = cores_of(j)
            if need > len(free):
                continue
            mine, free = free[:need], free[need:]
            cpu = ",".join(map(str, mine))
            if j["solver"] == "ours":
                cmd = [a.luckygas, "solve", j["instance"], "--time-limit", str(j["seconds"]), "--threads",
                       str(j["threads"]), "--seed", str(j["seed"]), "--solution-out", j["sol"], "--json"]
            elif j["solver"] == "pyvrp-ils":
                cmd = [a.python, str(pathlib.Path(__file__).with_name("pyvrp_ils.py")), j["vrplib"], str(j["seconds"]),
                       "--seed", str(j["seed"])]
            else:
                cmd = [a.python, f"{a.peer_bench}/peer_solve.py", j["solver"], j["vrplib"], str(j["seconds"]),
                       "--seed", str(j["seed"])]
            log = open(out / "sol" / (j["tag"] + ".log"), "w")
            p = subprocess.Popen(["taskset", "-c", cpu] + cmd, stdout=subprocess.PIPE, stderr=log, text=True)
            running.append((p, j, mine, time.time()))
            pending.remove(j)
        time.sleep(0.05)
        for r in list(running):
            p, j, mine, started = r
            if p.poll() is None:
                if time.time() - started > a.kill_after * j["seconds"] + 10:
                    p.kill()
                    p.wait()
                    j["killed_after_s"] = round(time.time() - started, 1)
                else:
                    continue
            j["wall_s"] = round(time.time() - started, 2)
            j["stdout"] = p.stdout.read()
            j["exit"] = p.returncode
            running.remove(r)
            free += mine
    print(f"solved in {time.time() - t0:.0f} s", flush=True)

    # Scoring reads every instance with PyVRP (seconds for 1000 clients): one process per core.
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=a.cores) as pool:
        jobs = list(pool.map(score, jobs, [a.luckygas] * len(jobs)))
    with open(out / "results.jsonl", "w") as res:
        for j in jobs:
            res.write(json.dumps(j) + "\n")
    print(f"scored in {time.time() - t0:.0f} s", flush=True)
    summarize(jobs)


def summarize(jobs):
    groups = {}
    for j in jobs:
        groups.setdefault((j["panel"], j["solver"], j["threads"], j["seconds"]), []).append(j)
    print("| panel | solver | threads | s | instances | feasible | checker ok | mean gap % | mean cost | mean wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (panel, solver, threads, secs), js in sorted(groups.items()):
        feas = [j for j in js if j.get("feasible")]
        gaps = [j["gap"] for j in feas if j.get("gap") is not None]
        costs = [j["cost"] for j in feas]
        chk = sum(1 for j in js if j.get("checker_ok")) if solver == "ours" else "-"
        mg = f"{sum(gaps) / len(gaps):.3f}" if gaps and len(gaps) == len(js) else (f"{sum(gaps) / len(gaps):.3f}*" if gaps else "-")
        mc = f"{sum(costs) / len(costs):.2f}" if costs and len(costs) == len(js) else "-"
        wall = sum(j["wall_s"] for j in js) / len(js)
        print(f"| {panel} | {solver} | {threads} | {secs:g} | {len(js)} | {len(feas)} | {chk} | {mg} | {mc} | {wall:.1f} |")

    # Paired: per panel, ours against each other solver of the panel on the instances (and seeds)
    # both solved feasibly, and each one's mean gap over exactly those (a run killed or infeasible
    # leaves its instance out of that pair only).
    print("\n| panel | pair | solves both feasible (instance, seed) | first: mean gap % | second: mean gap % | first better / second better / tied |")
    print("| --- | --- | --- | --- | --- | --- |")
    name = lambda k: f"{k[0]} t{k[1]} {k[2]:g}s"
    for panel in sorted({j["panel"] for j in jobs}):
        by = {}
        for j in jobs:
            if j["panel"] == panel:
                by.setdefault((j["solver"], j["threads"], j["seconds"]), {})[(j["instance"], j.get("seed"))] = j
        keys = sorted(by)
        pairs = [(a, b) for a in keys for b in keys if a[0] == "ours" and b[0] != "ours"]
        if not pairs:
            pairs = [(a, b) for n, a in enumerate(keys) for b in keys[n + 1:]]
        for a, b in pairs:
            ra, rb = by[a], by[b]
            common = [i for i in ra if i in rb and all(r[i].get("feasible") and r[i].get("gap") is not None for r in (ra, rb))]
            if not common:
                continue
            ga = sum(ra[i]["gap"] for i in common) / len(common)
            gb = sum(rb[i]["gap"] for i in common) / len(common)
            better = sum(1 for i in common if ra[i]["cost"] < rb[i]["cost"] - 1e-9)
            worse = sum(1 for i in common if rb[i]["cost"] < ra[i]["cost"] - 1e-9)
            print(f"| {panel} | {name(a)} / {name(b)} | {len(common)} of {len(set(ra) | set(rb))} | "
                  f"{ga:.3f} | {gb:.3f} | {better} / {worse} / {len(common) - better - worse} |")

if __name__ == "__main__":
    main()
