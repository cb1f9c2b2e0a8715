"""Re-bless the golden Lai Châu results after an intended change of the model or plan.

    python tests/golden/bless.py

Review the diff of the CSV before committing it: every changed number is a changed
answer to the steering committee.
"""

from pathlib import Path

import quyhoach

HERE = Path(__file__).resolve().parent
COLUMNS = ["scenario", "target_id", "projected", "met", "gap", "required", "projected_rate"]


def golden_frame():
    res = quyhoach.simulate(HERE.parents[1] / "scenarios" / "lai_chau.toml")
    return res.feasibility()[COLUMNS]


if __name__ == "__main__":
    golden_frame().to_csv(HERE / "lai_chau_feasibility.csv", index=False, float_format="%.10g")
    print(f"wrote {HERE / 'lai_chau_feasibility.csv'}")
