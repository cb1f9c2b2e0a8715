"""Command line: ``quyhoach run PLAN``, ``quyhoach check PLAN``, ``quyhoach report RUN_DIR``
and the others (``quyhoach --help``).

Bad input ends with a clear message on stderr and exit status 2, no traceback, and
nothing written.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from . import __version__

CHARTS = ("grdp_real", "population", "budget_revenue", "tourists")
# Bounds of the numeric options: Monte Carlo histograms count draws in int32 and kept
# draws number them in int32; seeds key uint64 streams; a chunk is held in memory.
MAX_DRAWS = 100_000_000
MAX_SEED = 2**64 - 1
MAX_CHUNK = 1 << 20
MAX_WORKERS = 4 * (os.cpu_count() or 1)


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None


def _bounded(low: int, high: int, why: str):
    """An argparse type: a whole number from ``low`` to ``high``, refused with ``why``."""
    def parse(text: str) -> int:
        n = _whole(text)
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"{n} is out of range: give {low:,} to "
                                             f"{high:,} ({why})")
        return n

    return parse


def _draws(text: str) -> int:
    """An argparse type for --draws: 0 (central paths only) or 2 to MAX_DRAWS."""
    n = _whole(text)
    if n != 0 and not 2 <= n <= MAX_DRAWS:
        raise argparse.ArgumentTypeError(f"{n}: give 0 (central paths only) or at least 2 "
                                         f"and at most {MAX_DRAWS:,} draws per scenario")
    return n


def _chart_names(text: str) -> tuple[str, ...]:
    """An argparse type for --charts: comma-separated variable names, checked now."""
    from .errors import did_you_mean
    from .registry import VARIABLE_INDEX

    if text.endswith(".toml") or "/" in text or os.sep in text:
        raise argparse.ArgumentTypeError(
            f"{text!r} looks like the plan file, not chart variables: put the plan before "
            "--charts (quyhoach run PLAN --charts), or name the variables "
            "(--charts grdp_real,population)")
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected variable names separated by commas, e.g. "
                                         "--charts grdp_real,population")
    for name in names:
        if name not in VARIABLE_INDEX:
            raise argparse.ArgumentTypeError(f"unknown variable {name!r}"
                                             + did_you_mean(name, VARIABLE_INDEX))
    return names


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="quyhoach",
        description="Scenario projections and target feasibility for Vietnamese "
                    "provincial plans.")
    p.add_argument("--version", action="version", version=f"quyhoach {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="project every scenario, print the feasibility "
                                     "table, write Parquet results")
    run.add_argument("plan", help="plan file, e.g. scenarios/lai_chau.toml")
    run.add_argument("--out", help="results directory (default: results/<plan name>)")
    run.add_argument("--lang", choices=("vi", "en"), default="vi",
                     help="language of the table (default: vi)")
    run.add_argument("--scenario", action="append", dest="scenarios", metavar="NAME",
                     help="run only this scenario (repeatable)")
    run.add_argument("--draws", type=_draws, default=None, metavar="N",
                     help="Monte Carlo draws per scenario (default: 10000 when the plan "
                          "has an [uncertainty] section, else 0 = central path only; at most "
                          f"{MAX_DRAWS:,})")
    run.add_argument("--seed", type=_bounded(0, MAX_SEED, "a non-negative 64-bit integer"),
                     default=20210604, metavar="S",
                     help="random seed; recorded in the manifest (default: 20210604)")
    run.add_argument("--chunk-size", type=_bounded(1, MAX_CHUNK, "draws held in memory at "
                                                                 "a time"),
                     default=32768, metavar="N",
                     help="draws held in memory at a time; never changes results")
    run.add_argument("--threads", type=_bounded(1, 4096, "threads for the Monte Carlo"),
                     default=None, metavar="N",
                     help="threads for the Monte Carlo (default: all cores)")
    run.add_argument("--keep-draws", action="store_true",
                     help="also write every draw to draws/scenario=<name>/ (float32) and "
                          "what it sampled to sampled_inputs/scenario=<name>/")
    run.add_argument("--detail", action="store_true",
                     help="print the detail table of every scenario, not only the first")
    run.add_argument("--markdown", action="store_true",
                     help="print the table as Markdown")
    run.add_argument("--excel", action="store_true",
                     help="also write feasibility.xlsx (the table, details, paths, bands)")
    run.add_argument("--charts", nargs="?", const=CHARTS, default=(), type=_chart_names,
                     metavar="VAR,VAR",
                     help="also write fan charts (PNG) of these comma-separated variables; "
                          "alone, of " + ",".join(CHARTS) + ". Put the plan before it "
                          "(quyhoach run PLAN --charts) or give the names "
                          "(--charts=grdp_real,population)")
    run.add_argument("--html", action="store_true",
                     help="also write report.html, the committee report (one self-contained "
                          "file: table, charts, effort, assumptions, the run)")
    run.add_argument("--chance", type=_percentage, default=80.0, metavar="PCT",
                     help="with --html: the chance (%%) each off-track target's lever is "
                          "searched for (default 80)")
    run.add_argument("--bands", choices=("reported", "all"), default="reported",
                     help="bands to compute: 'reported' (default: every variable at the "
                          "milestone years, the targets' and the charts' variables at every "
                          "year) or 'all' (every variable × year × region; slower)")
    run.add_argument("--force", action="store_true",
                     help="replace an existing results directory")

    report = sub.add_parser("report", help="write the committee report (one HTML file) of a "
                                           "results directory written by quyhoach run")
    report.add_argument("run_dir", metavar="RUN_DIR", help="results directory, e.g. "
                                                           "results/lai_chau")
    report.add_argument("--out", metavar="FILE",
                        help="the HTML file (default: RUN_DIR/report.html)")
    report.add_argument("--lang", choices=("vi", "en"), default="vi",
                        help="language of the report (default: vi)")
    report.add_argument("--charts", type=_chart_names, default=(), metavar="VAR,VAR",
                        help="fan charts of these comma-separated variables (default: GRDP, "
                             "population, budget revenue, tourists and every variable with "
                             "a level or share target)")
    report.add_argument("--force", action="store_true",
                        help="replace an existing report (never any other file)")

    check = sub.add_parser("check", help="validate a plan file and its inputs")
    check.add_argument("plan")
    sub.add_parser("warmup", help="compile the Monte Carlo kernels into numba's cache "
                                  "(once after an install: no real run then pays it)")

    ini = sub.add_parser("init", help="write a province's inputs, calibrated model and "
                                      "starter plan from the all-province and GSO tables")
    ini.add_argument("province", help='a province, with or without diacritics ("Thái '
                                      'Nguyên", "thai nguyen"), "Việt Nam" (the country, '
                                      'its provinces as regions), or "all" (every '
                                      'province and the country)')
    ini.add_argument("--boundaries", choices=("2025", "pre2025"), default="2025",
                     help="the 34 provinces since 1 July 2025 (merged ones as regions of "
                          "their former provinces) or the 63 before (default 2025)")
    ini.add_argument("--out", default=".", help="folder holding inputs/, scenarios/ and "
                                                "models/ (default: here)")
    ini.add_argument("--structure", metavar="FILE",
                     help="the province's sector shares (history.csv format), which no "
                          "all-province table holds")
    ini.add_argument("--national-structure", action="store_true",
                     help="without FILE, let the national structure stand in (flagged "
                          "assumed in every output)")
    ini.add_argument("--force", action="store_true", help="replace files init wrote before")

    dif = sub.add_parser("diff", help="compare two drafts of a plan: assumptions, targets, "
                                      "and how every target moved")
    dif.add_argument("old", help="the earlier plan file")
    dif.add_argument("new", help="the later plan file")
    _analysis_options(dif, "Monte Carlo draws for both (default 2000; 0 = central paths)")

    exp = sub.add_parser("explain", help="what it would take to meet each target with a "
                                         "given chance, and what drives a miss")
    exp.add_argument("plan")
    exp.add_argument("--scenario", help="scenario (default: the first)")
    exp.add_argument("--probability", type=_bounded(1, 99, "a chance in percent, 1-99"),
                     default=80, metavar="PCT", help="the chance sought, in percent "
                                                     "(default 80)")
    _analysis_options(exp, "draws of every evaluation (the same draws each time)")

    cal = sub.add_parser("calibrate", help="estimate a province's uncertainty from history "
                                           "and write models/<province>.toml")
    cal.add_argument("province", help="province key, e.g. lai_chau (reads inputs/<province>/)")
    cal.add_argument("--inputs", help="the province's input folder (default inputs/PROVINCE)")
    cal.add_argument("--gso", default="inputs/gso", help="GSO yearbook tables")
    cal.add_argument("--all-provinces", default="inputs/all_provinces")
    cal.add_argument("--out", help="model file (default models/PROVINCE.toml)")
    cal.add_argument("--scales", default="models/band_scales.toml",
                     help="band factors from quyhoach backtest")
    cal.add_argument("--force", action="store_true", help="replace an existing model file")

    bt = sub.add_parser("backtest", help="run the engine as a planner would have at each "
                                         "cut-off year, with the data to it; score its bands "
                                         "1-6 years on (63 provinces)")
    bt.add_argument("--gso", default="inputs/gso")
    bt.add_argument("--all-provinces", default="inputs/all_provinces")
    bt.add_argument("--provinces", help="comma-separated province keys (default: all)")
    bt.add_argument("--out", default="results/backtest", help="Parquet output directory")
    bt.add_argument("--scales", default="models/band_scales.toml",
                    help="where the band factors are written (read by quyhoach calibrate)")
    bt.add_argument("--force", action="store_true", help="replace existing outputs")
    bt.add_argument("--draws", type=int, default=1000, help="Monte Carlo draws per plan")
    bt.add_argument("--seed", type=int, default=20261130)
    bt.add_argument("--families", help="comma-separated families (default: all): "
                                       "population, urbanization_rate, poverty_rate, "
                                       "forest_cover, electricity_access")

    batch = sub.add_parser("batch", help="run many plans × scenarios into one resumable "
                                         "Parquet dataset")
    batch.add_argument("plans", nargs="+", metavar="PLAN_OR_DIR",
                       help="plan files, or directories of *.toml plan files")
    batch.add_argument("--out", required=True, help="dataset directory (resumed if present)")
    batch.add_argument("--draws", type=_draws, default=10_000, metavar="N",
                       help="Monte Carlo draws per task (default 10000; 0 = central paths)")
    batch.add_argument("--seed", type=_bounded(0, MAX_SEED, "a non-negative 64-bit integer"),
                       default=20210604, metavar="S")
    batch.add_argument("--workers", type=_bounded(1, MAX_WORKERS, "local worker processes, "
                                                                  "up to 4 per core"),
                       default=None, metavar="N",
                       help="local worker processes (default: one per core)")
    batch.add_argument("--keep-draws", action="store_true",
                       help="also write every draw and what it sampled")
    batch.add_argument("--bands", choices=("reported", "all"), default="reported",
                       help="bands each task computes: 'reported' (default: milestone years, "
                            "targets' and charts' variables at every year) or 'all'")
    batch.add_argument("--force", action="store_true",
                       help="replace an existing dataset made with another configuration")
    batch.add_argument("--engine", choices=("local", "dask"), default="local")
    batch.add_argument("--scheduler", metavar="ADDRESS",
                       help="dask.distributed scheduler, e.g. tcp://10.0.0.5:8786")
    return p


def _analysis_options(parser, draws_help: str) -> None:
    """--draws, --seed and --lang of the commands that compare or explain runs."""
    parser.add_argument("--draws", type=_draws, default=2000, metavar="N", help=draws_help)
    parser.add_argument("--seed", type=_bounded(0, MAX_SEED, "a non-negative 64-bit integer"),
                        default=20210604, metavar="S")
    parser.add_argument("--lang", choices=("vi", "en"), default="vi")


def main(argv=None) -> int:
    """Entry point of the ``quyhoach`` command; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed usage and the error (or --help)
        return exc.code if isinstance(exc.code, int) else 2
    from .errors import QuyhoachError

    try:
        command = {"check": _check, "warmup": _warmup, "batch": _batch, "calibrate": _calibrate,
                   "backtest": _backtest, "report": _report, "diff": _diff,
                   "explain": _explain, "init": _init}.get(args.command, _run)
        return command(args)
    except QuyhoachError as exc:
        print(f"quyhoach: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("quyhoach: interrupted; nothing was written", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a read-only folder, a vanished file
        print(f"quyhoach: error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("quyhoach: error: out of memory; nothing was written. Lower --chunk-size "
              "(draws held in memory at a time) or --draws, and run again", file=sys.stderr)
        return 2


def _os_error(exc: OSError) -> str:
    """What the system refused, in one line, and what to do (no traceback)."""
    what = exc.strerror or str(exc) or type(exc).__name__
    if not exc.filename:
        return what
    return (f"cannot read or write {exc.filename}: {what}; free disk space, fix "
            "permissions or choose another --out, then run again (an unfinished output is "
            "not kept)")


def _init(args) -> int:
    from .errors import OptionError
    from .init import init_all, init_province

    if args.province.strip().lower() != "all":
        result = init_province(args.province, args.boundaries, Path(args.out), args.force,
                               national_structure=args.national_structure,
                               structure=args.structure)
        print(result.summary())
        return 0
    if args.structure:
        raise OptionError("--structure FILE is one province's: init them one by one, or "
                          "use --national-structure with all")
    written, failed = init_all(args.boundaries, Path(args.out), args.force,
                               national_structure=args.national_structure, progress=True)
    print(f"{len(written)} plans written under {args.out}/scenarios "
          f"({args.boundaries} boundaries, and viet_nam: the country, its provinces as "
          f"regions); {len(failed)} could not start")
    for key, why in failed.items():
        print(f"  {key}: {why}")
    return 1 if failed else 0


def _diff(args) -> int:
    from .diff import diff, format_diff

    print(format_diff(diff(args.old, args.new, draws=args.draws, seed=args.seed), args.lang))
    return 0


def _explain(args) -> int:
    from .errors import OptionError
    from .explain import format_explain
    from .simulate import simulate

    if args.draws < 2:
        raise OptionError("explain needs a Monte Carlo: --draws 2 or more")
    res = simulate(args.plan, [args.scenario] if args.scenario else None, draws=args.draws,
                   seed=args.seed)
    print(format_explain(res, args.scenario, probability=args.probability / 100,
                         draws=args.draws, seed=args.seed, lang=args.lang))
    return 0


def _check(args) -> int:
    from .simulate import check_plan

    res = check_plan(args.plan)
    print(f"{args.plan}: OK — {len(res.scenarios)} scenarios "
          f"({', '.join(res.scenarios)}), {len(res.plan.targets)} targets, "
          f"{res.plan.base_year}-{res.plan.horizon}")
    return 0


def _warmup(args) -> int:
    from .warmup import warmup

    print(f"Monte Carlo kernels compiled into numba's cache in {warmup():.1f} s")
    return 0


def _calibrate(args) -> int:
    import time

    from .calibrate import calibrate, write_model

    out = Path(args.out or Path("models") / f"{args.province}.toml")
    if out.exists() and not args.force:
        from .errors import ResultsError

        raise ResultsError(f"{out} already exists; pass --force to replace it (then review "
                           "the diff like code)")
    start = time.perf_counter()
    doc = calibrate(args.province, inputs_dir=args.inputs, gso_dir=args.gso,
                    all_dir=args.all_provinces, band_scales=args.scales)
    write_model(doc, out, overwrite=args.force)
    print(f"{out}: {len(doc['estimates'])} estimates in {time.perf_counter() - start:.1f} s")
    for name, e in doc["estimates"].items():
        flags = f"  [{'; '.join(e['flags'])}]" if e["flags"] else ""
        print(f"  {name}: {e['value']:.4g} ± {e['se']:.2g} ({e['unit']}; n = {e['n']}, "
              f"{e['window']}){flags}")
    for name, why in doc["model"].get("not_estimated", {}).items():
        print(f"  {name}: not estimated ({why}): a plan projecting it states its own spread")
    return 0


def _backtest(args) -> int:
    from .backtest import (
        NOT_SCORED,
        format_summary,
        quantile_check,
        run_backtest,
        skill,
        write_backtest,
    )
    from .errors import ResultsError

    for path in (Path(args.out), Path(args.scales)):
        if path.exists() and not args.force:
            raise ResultsError(f"{path} already exists; pass --force to replace it")
    provinces = None if args.provinces is None else _province_keys(args.provinces)
    families = None if args.families is None else _families(args.families)
    if args.draws < 100:
        raise ResultsError(f"--draws {args.draws}: bands need at least 100 draws per plan")
    forecasts, scores, scales, seconds = run_backtest(
        args.gso, args.all_provinces, provinces, families, draws=args.draws, seed=args.seed,
        progress=True)
    print(format_summary(scores, forecasts))
    details = {"draws": args.draws, "seed": args.seed, "provinces": provinces,
               "families": families, "quantiles": quantile_check(forecasts),
               "skill": skill(forecasts).reset_index().to_dict("records"),
               "not_scored": NOT_SCORED}
    write_backtest(forecasts, scores, scales, seconds, args.out, args.scales,
                   overwrite=args.force, details=details)
    print(f"\n{len(forecasts):,} forecasts in {seconds:.1f} s; written to {args.out}/ and "
          f"{args.scales} (band factors: "
          + ", ".join(f"{k} {v:.2f}" for k, v in sorted(scales.items())) + ")")
    return 0


def _families(text: str) -> list[str]:
    """Back-test families of a comma-separated list; unknown names refused."""
    from .backtest import BY_NAME
    from .errors import ResultsError, did_you_mean

    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if n not in BY_NAME:
            raise ResultsError(f"--families: unknown family '{n}'" + did_you_mean(n, BY_NAME)
                               + f"; the families are {', '.join(BY_NAME)}")
    return names


def _province_keys(text: str) -> list[str]:
    """Canonical keys of a comma-separated --provinces list; unknown names refused."""
    from .errors import ResultsError, did_you_mean
    from .gso import PROVINCES, normalise_province

    keys = [normalise_province(n) for n in text.split(",") if n.strip()]
    if not keys:
        raise ResultsError("--provinces: expected province keys separated by commas, e.g. "
                           "--provinces lai_chau,lang_son (or leave it out for all)")
    for key in keys:
        if key not in PROVINCES:
            raise ResultsError(f"--provinces: unknown province '{key}'"
                               + did_you_mean(key, PROVINCES))
    return keys


def _report(args) -> int:
    from .html import report_directory

    written = report_directory(args.run_dir, out=args.out, lang=args.lang,
                               charts=args.charts or None, overwrite=args.force)
    print(f"{'Báo cáo đã ghi vào' if args.lang == 'vi' else 'Report written to'} {written}")
    return 0


def _batch(args) -> int:
    from .batch import run_batch

    summary = run_batch(args.plans, args.out, draws=args.draws, seed=args.seed,
                        workers=args.workers, keep_draws=args.keep_draws, bands=args.bands,
                        force=args.force,
                        engine=args.engine, scheduler=args.scheduler, progress=True)
    print(summary.describe())
    return 0 if summary.ok else 1


def _run(args) -> int:
    from . import outdir
    from .errors import ResultsError
    from .plan import load_plan
    from .report import format_feasibility, format_reconciliation
    from .simulate import simulate

    out = Path(args.out) if args.out else Path("results") / Path(args.plan).stem
    outdir.check_writable(out, overwrite=args.force)  # refuse before any work is done
    plan = load_plan(args.plan)
    draws = args.draws
    if draws is None:
        draws = 10_000 if any(not s.uncertainty.is_empty for s in plan.scenarios) else 0
    if args.threads is not None:
        import numba

        if not 1 <= args.threads <= numba.config.NUMBA_NUM_THREADS:
            raise ResultsError(f"--threads {args.threads}: this machine allows 1 to "
                               f"{numba.config.NUMBA_NUM_THREADS}")
        numba.set_num_threads(args.threads)
    # One writer per folder from the first draw to the last file; kept draws are spooled
    # beside the output, so a killed run leaves nothing in the system's temp folder.
    with outdir.OutputLock(out):
        # the charts asked for are drawn from bands at every year
        bands = args.bands if args.bands == "all" or not args.charts else list(args.charts)
        res = simulate(plan, args.scenarios, draws=draws, seed=args.seed,
                       chunk_size=args.chunk_size, keep_draws=args.keep_draws,
                       spool_dir=outdir.output_path(out).parent, progress=True, bands=bands)
        style = "markdown" if args.markdown else "text"
        print(format_feasibility(res, args.lang, style,
                                 detail=res.scenarios if args.detail else None))
        if res.plan.regions.members:
            print("\n" + format_reconciliation(res, args.lang, style))
        page = _html_page(res, args)  # drawn before anything is written
        written = res.to_parquet(out, overwrite=args.force, excel=args.excel, lang=args.lang,
                                 charts=args.charts)
        if page is not None:
            from .html import REPORT_NAME, write_page

            write_page(page, written / REPORT_NAME)
    print(f"\n{'Kết quả đã ghi vào' if args.lang == 'vi' else 'Results written to'} "
          f"{written}/ (paths, bands, feasibility .parquet; manifest.json"
          f"{'; draws/' if args.keep_draws and draws else ''}"
          f"{'; report.html' if page is not None else ''})")
    return 0


def _percentage(text: str) -> float:
    """A percentage strictly between 0 and 100 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"{text!r}: give a percentage strictly between 0 "
                                         "and 100, e.g. 80")
    return value


def _html_page(res, args) -> str | None:
    """The committee report of ``run --html`` (None without it)."""
    if not args.html:
        return None
    from .html import render

    return render(res, lang=args.lang, charts=args.charts or None, chance=args.chance / 100)

if __name__ == "__main__":
    sys.exit(main())
