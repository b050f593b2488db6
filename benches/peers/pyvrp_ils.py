#!/usr/bin/env python3
"""PyVRP 0.14.1's iterated local search started the way PyVRP's own `solve()` starts it since
upstream PR #1194 (PyVRP issue #1193): from a random solution, without the exhaustive local
search that 0.14.1's `solve()` runs on that solution before its stopping criterion's clock starts.

On SDVRPTW that exhaustive search does not end: on PR03 (144 clients) gdb shows 0.14.1 still in
`LocalSearch::search` -> `applyBinaryOps` after 1,000 s with a 10 s limit, so `peer_solve.py
pyvrp` returns nothing. Run this way PyVRP keeps its limit and returns a solution, which is
the fairest comparison we can make with it there. Everything else is PyVRP's default
(`SolveParams()`: operators, neighbourhoods, penalties, perturbation, ILS parameters).

Usage: pyvrp_ils.py INSTANCE.vrp SECONDS [--seed S]
Prints one JSON line like peer_solve.py (cost in the units of the best-known `.sol`, gap % to it,
feasibility by PyVRP's evaluator), with solver "pyvrp-ils".
"""
import argparse, json, pathlib, sys, time

# Each family's PyVRP rounding and scale, and the total cost, as the panel scores them.
from panel import CONV, total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance")
    ap.add_argument("seconds", type=float)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    inst = pathlib.Path(a.instance)
    rounding, scale = CONV.get(inst.parent.name, ("dimacs", 10))

    import pyvrp
    from pyvrp import RandomNumberGenerator, Solution
    from pyvrp.IteratedLocalSearch import IteratedLocalSearch
    from pyvrp.PenaltyManager import PenaltyManager
    from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours
    from pyvrp.solve import SolveParams
    from pyvrp.stop import MaxRuntime

    t0 = time.perf_counter()
    data = pyvrp.read(str(inst), round_func=rounding)

    sol = inst.with_suffix(".sol")
    bks = total(pyvrp.read_solution(str(sol), data), scale) if sol.exists() else None

    # PyVRP's solve(), less the exhaustive search of the random start (see the module's doc).
    params = SolveParams()
    rng = RandomNumberGenerator(seed=a.seed)
    ls = LocalSearch(data, rng, compute_neighbours(data, params.neighbourhood), PerturbationManager(params.perturbation))
    for op in params.operators:
        if op.supports(data):
            ls.add_operator(op(data))
    pm = PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)
    init = Solution.make_random(data, rng)
    res = IteratedLocalSearch(data, pm, ls, init, params.ils).run(MaxRuntime(a.seconds), False, False)

    best = res.best
    feasible = bool(best.is_feasible() and best.is_complete())
    cost = total(best, scale) if feasible else None
    gap = 100.0 * (cost - bks) / bks if (cost is not None and bks) else None
    print(json.dumps(dict(solver="pyvrp-ils", instance=inst.stem, family=inst.parent.name,
                          seconds=round(time.perf_counter() - t0, 3), cost=cost, feasible=feasible, bks=bks,
                          gap=None if gap is None else round(gap, 3), routes=best.num_routes())))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
