"""The study's ``run_plan`` hooks (:mod:`lazy_artist.builder.run_hooks`): T4 explains its
memoised training runs for ``status`` / ``build --dry-run``. No torch until a hook is called.
"""

from __future__ import annotations

from lazy_artist.builder.run_hooks import RunPlanQuery


def t4_run_plan(query: RunPlanQuery) -> list[str]:
    """T4's runs (:mod:`lazy_artist.methods.run_plan`), on T0's stored canvas."""
    t0 = query.upstream.get("t0")
    if t0 is None:
        return ["runs: plan unknown until t0 runs"]
    from lazy_artist.methods.run_plan import explain_t4  # imports torch: only when asked

    return explain_t4(
        query.params,
        t0,
        query.memo_dir,
        query.root / str(query.params["data_root"]),
        device=query.device,
        retrain=query.retrain,
    )
