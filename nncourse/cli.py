"""`nncourse`: the course's command line (students and instructors).

    nncourse lab                   open the course in JupyterLab (student view;
                                   --instructor adds nbgrader's instructor side)
    nncourse check NOTEBOOK        run a notebook's visible tests (students)
    nncourse release [ASSIGNMENT]  regenerate exercises/ from solutions/, checking for leaks
    nncourse collect SOURCE        import submissions (per-student folders or zips, a class zip)
    nncourse grade [ASSIGNMENT]    autograde every submission, isolated and in parallel
                                   (on a Dask cluster with --scheduler tcp://HOST:PORT)
    nncourse feedback              write per-student HTML feedback
    nncourse report                grades as CSV and a PNG summary
    nncourse publish DIR --url URL write the student-only course as a git repository in DIR

The instructor commands work on the course folder found here or above (the one holding
nbgrader_config.py), or on ``--course FOLDER``. Exit status 2: the command was called wrongly
(not in a course folder, an unknown assignment, a SOURCE that is missing), in a line or two.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path


def course_root() -> Path:
    """The folder holding lessons/ and exercises/: the current one, else the checkout of nnlib."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (candidate / "lessons").is_dir():
            return candidate
    raise SystemExit(
        "nncourse: cannot find the course folder (one with lessons/ inside); "
        "run nncourse from the course's checkout"
    )


#: What an instructor command says when it is run outside a course.
NOT_A_COURSE = "not a course folder (no nbgrader_config.py here or above)"


class UsageError(Exception):
    """A mistake in how a command was called; `main` prints it (a line or two), exits 2."""


def find_course(start: Path) -> Path | None:
    """The nearest folder holding nbgrader_config.py: ``start`` or one above it."""
    from nncourse.nbgrader_api import CONFIG_FILE

    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def instructor_root(args: argparse.Namespace) -> Path:
    """The course folder of instructor commands: --course, else the one here or above.

    Never the checkout nncourse was installed from: run elsewhere, the command stops.
    """
    from nncourse.nbgrader_api import CONFIG_FILE

    if args.course:
        root = Path(args.course).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise UsageError(f"--course {args.course}: not a course folder (no {CONFIG_FILE} "
                             "in it)")
        return root
    root = find_course(Path.cwd())
    if root is None:
        raise UsageError(f"{NOT_A_COURSE}\nrun it in the course folder, or pass --course "
                         "FOLDER")
    return root


def _course(args: argparse.Namespace):  # noqa: ANN202 - a Course, imported lazily
    from nncourse.nbgrader_api import Course

    root = instructor_root(args)
    warnings.filterwarnings("ignore", module="sqlalchemy")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    return Course(root, db_url=args.db_url)


def _known_assignments(course, names: list[str]) -> None:  # noqa: ANN001 - a Course
    """Stop with the list of the course's assignments when one of ``names`` is not one."""
    known = course.source_assignments()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"no such assignment: {', '.join(unknown)}\nthe assignments of "
                         f"{course.root} are: {', '.join(known) or '(none)'}")


def lab_command(root: Path, jupyter_args: list[str], *, no_browser: bool = False,
                as_root: bool = False, instructor: bool = False) -> list[str]:
    """The JupyterLab command line: the whole course folder as the server's root (lessons and
    exercises both reachable), opened on lesson 1; ``jupyter_args`` pass through.

    nbgrader's server extensions are switched on the command line: the student side (Validate,
    the assignment list) on, the instructor side (formgrader, the course list) on only for
    ``instructor``; the lab plugins follow with `lab_config_dir`. Options in
    ``jupyter_args`` come last, so they win.
    """
    from nncourse.nbgrader_views import server_extensions

    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}",
               "--LabApp.default_url=/lab/tree/lessons/01_neuron.ipynb"]
    command += [f"--ServerApp.jpserver_extensions={module}={enabled}"
                for module, enabled in server_extensions(instructor).items()]
    if no_browser:
        command.append("--no-browser")
    if as_root and "--allow-root" not in jupyter_args:
        command.append("--allow-root")
    return command + [a for a in jupyter_args if a != "--"]


def lab_config_dir(folder: Path, instructor: bool = False) -> Path:
    """Write into ``folder`` a Jupyter config folder enabling nbgrader's student lab plugins
    and (unless ``instructor``) disabling its instructor ones; return ``folder``.

    JupyterLab reads it when it is listed first in JUPYTER_CONFIG_PATH (`lab_environment`), on
    top of the user's own configuration, which is left as it is.
    """
    import json

    from nncourse.nbgrader_views import lab_page_config

    labconfig = folder / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps(lab_page_config(instructor), indent=2) + "\n", encoding="utf-8")
    return folder


def lab_environment(config_dir: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) with ``config_dir`` first in JUPYTER_CONFIG_PATH."""
    env = dict(os.environ if environ is None else environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in (str(config_dir), env.get("JUPYTER_CONFIG_PATH", "")) if p)
    return env


def cmd_lab(args: argparse.Namespace) -> int:
    """Start JupyterLab on the course folder, opened on the first lesson: nbgrader's student
    side only, or its instructor side too with --instructor."""
    import tempfile

    root = course_root()
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    command = lab_command(root, args.jupyter_args, no_browser=args.no_browser, as_root=as_root,
                          instructor=args.instructor)
    view = "instructor" if args.instructor else "student"
    print(f"nncourse: starting JupyterLab in {root} (nbgrader's {view} view)", flush=True)
    if as_root:
        print("nncourse: running as root (a container?), so JupyterLab gets --allow-root",
              flush=True)
    with tempfile.TemporaryDirectory(prefix="nncourse-lab-") as tmp:
        env = lab_environment(lab_config_dir(Path(tmp), instructor=args.instructor))
        return _serve(command, cwd=root, env=env)


def _serve(command: list[str], *, cwd: Path, env: dict[str, str]) -> int:
    """Run JupyterLab's ``command`` until it exits; return its exit status.

    A SIGTERM of this process (``kill``) is passed on, so JupyterLab stops too instead of
    running on as an orphan. Ctrl-C reaches JupyterLab directly (same terminal), which asks
    whether to shut down; this process waits for its answer.
    """
    server = subprocess.Popen(command, cwd=cwd, env=env)
    previous = signal.signal(signal.SIGTERM, lambda signum, _: server.send_signal(signum))
    try:
        while True:
            try:
                return server.wait()
            except KeyboardInterrupt:
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_check(args: argparse.Namespace) -> int:
    """Run a notebook's visible tests; exit 1 when one fails, 2 when it cannot run."""
    from nncourse.checker import check_notebook, summary

    path = Path(args.notebook)
    try:
        results, notes = check_notebook(path, timeout=args.timeout)
    except Exception as exc:  # noqa: BLE001 - unreadable notebook, kernel failure, ...
        print(f"nncourse check: cannot run {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"warning: {note}")
    print(f"{path.name}:")
    print(summary(results))
    return 1 if any(not r.passed for r in results) else 0


def cmd_release(args: argparse.Namespace) -> int:
    """Regenerate the release; exit 1 when it leaks solutions or hidden tests."""
    from nncourse.release import release

    course = _course(args)
    _known_assignments(course, args.assignments)
    leaks = release(course, args.assignments or None)
    for notebook, problems in leaks.items():
        for problem in problems:
            print(f"LEAK {notebook}: {problem}")
    if leaks:
        print("nncourse release: the release is NOT safe to publish", file=sys.stderr)
        return 1
    print(f"nncourse release: {course.release_dir} regenerated; no solution or hidden test in it")
    return 0


#: Ignored files (not notebooks) `nncourse collect` lists one by one.
_SHOWN_IGNORED = 20


def cmd_collect(args: argparse.Namespace) -> int:
    """Import submissions; exit 1 when a submission was not placed or nothing was."""
    from nncourse.collect import CollectError, collect

    course = _course(args)
    try:
        report = collect(course, Path(args.source))
    except CollectError as exc:
        raise UsageError(str(exc)) from None
    for line in report.placed:
        print(f"placed      {line}")
    for line in report.chosen:
        print(f"chose       {line}")
    for line in report.ignored[:_SHOWN_IGNORED]:
        print(f"ignored     {line}")
    if len(report.ignored) > _SHOWN_IGNORED:
        print(f"ignored     ... and {len(report.ignored) - _SHOWN_IGNORED} more files")
    for line in report.problems:
        print(f"NOT PLACED  {line}")
    print(f"nncourse collect: {len(report.placed)} notebooks placed, "
          f"{len(report.problems)} problems, {len(report.ignored)} files ignored")
    return 0 if report.placed and not report.problems else 1


def _table(run) -> str:  # noqa: ANN001 - a grader.GradeRun
    assignments = sorted({r.assignment for r in run.results})
    students = sorted({r.student for r in run.results})
    cells = {(r.student, r.assignment): r for r in run.results}
    width = max([len("student"), *map(len, students)])
    head = "student".ljust(width) + "".join(f"  {a:>14}" for a in assignments)
    lines = [head, "-" * len(head)]
    for student in students:
        row = student.ljust(width)
        for a in assignments:
            r = cells.get((student, a))
            text = "-" if r is None else ("ERROR" if r.error else f"{r.score:g}/{r.max_score:g}")
            row += f"  {text:>14}"
        lines.append(row)
    return "\n".join(lines)


def cmd_grade(args: argparse.Namespace) -> int:
    """Autograde every submission; exit 1 only when the tool itself failed."""
    from nncourse import grader

    course = _course(args)
    _known_assignments(course, args.assignments)
    limits = grader.Limits(
        cell_timeout=args.cell_timeout or float(course.config.Execute.timeout or 60),
        notebook_timeout=args.notebook_timeout,
    )
    client = None
    if args.scheduler:
        from nncourse import cluster

        try:
            client = cluster.connect(args.scheduler, timeout=args.scheduler_timeout)
        except cluster.ClusterError as exc:
            raise UsageError(str(exc)) from None
    try:
        if client is not None:
            run = cluster.grade(course, args.assignments or None, client=client, limits=limits,
                                progress=not args.no_progress,
                                students=args.student or None)
        else:
            run = grader.grade(course, args.assignments or None, jobs=args.jobs, limits=limits,
                               progress=not args.no_progress,
                               students=args.student or None)
    except Exception as exc:  # noqa: BLE001 - report the tool's own failure and exit 1
        print(f"nncourse grade: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()
    if not run.isolated:
        print("nncourse grade: WARNING: grading kernels were NOT isolated (no root and no user "
              "namespaces): student code could read and change the course's files",
              file=sys.stderr)
    if not run.results:
        print("nncourse grade: no submissions found under "
              f"{course.submitted_dir}")
        return 0
    print(_table(run))
    attention = [(r, note) for r in run.results for note in r.notes]
    if attention:
        print("\nSubmissions needing attention:")
        for r, note in attention:
            print(f"  {r.student}/{r.assignment}: {note}")
    print(f"\nnncourse grade: {len(run.results)} submissions in {run.seconds:.1f} s")
    return 1 if run.tool_failed else 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """Write feedback/<student>/index.html for every graded student."""
    from nncourse.feedback import write_feedback

    written = write_feedback(_course(args), args.student or None)
    for path in written:
        print(path)
    print(f"nncourse feedback: {len(written)} feedback pages written")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the grades CSV and the summary PNG."""
    from nncourse.report import write_csv, write_png

    course = _course(args)
    out = Path(args.output) if args.output else course.root / "reports"
    print(write_csv(course, out / "grades.csv"))
    print(write_png(course, out / "grades.png"))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Publish the student course into DIR (one new commit there); exit 2 when refused."""
    from nncourse.publish import PublishError, publish

    try:
        done = publish(instructor_root(args), Path(args.dir), url=args.url, ref=args.ref)
    except PublishError as exc:
        raise UsageError(str(exc)) from None
    print(f"nncourse publish: {len(done.files)} files committed in {done.target} "
          f"({done.commit[:10]}); Binder and links point at {done.url}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task."""
    from nncourse import rules

    parser = argparse.ArgumentParser(prog="nncourse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lab = sub.add_parser("lab", help="open the course in JupyterLab")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    lab.add_argument("--instructor", action="store_true",
                     help="also show nbgrader's instructor side (formgrader, course list, "
                          "create assignment); by default only the student side")
    lab.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="passed on to jupyter lab")
    lab.set_defaults(func=cmd_lab)

    check = sub.add_parser("check", help="run a notebook's visible tests")
    check.add_argument("notebook")
    check.add_argument("--timeout", type=float, default=60.0, help="seconds per cell")
    check.set_defaults(func=cmd_check)

    def instructor(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--course", help="the course folder (default: the one found here)")
        p.add_argument("--db-url", help="gradebook URL (default: nbgrader_config.py, "
                                        "NNCOURSE_DB_URL)")
        return p

    rel = instructor("release", "regenerate exercises/ and check it for leaks")
    rel.add_argument("assignments", nargs="*")
    rel.set_defaults(func=cmd_release)
    col = instructor("collect", "import submissions: a folder of student folders or zips, "
                                "or one zip of the whole class")
    col.add_argument("source")
    col.set_defaults(func=cmd_collect)
    grade = instructor("grade", "autograde every submission")
    grade.add_argument("assignments", nargs="*")
    grade.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    grade.add_argument("--cell-timeout", type=float, default=None,
                       help="seconds per cell (default: Execute.timeout of the config); "
                            "a cell is stopped once it has had them of wall clock and of CPU "
                            "time, so a loaded machine does not fail correct work, and at "
                            f"{rules.WALL_CLOCK_FACTOR:g}x them of wall clock in any case")
    grade.add_argument("--notebook-timeout", type=float, default=300.0,
                       help="seconds per notebook")
    grade.add_argument("--student", action="append", help="grade only this student")
    grade.add_argument("--no-progress", action="store_true")
    grade.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="grade on this Dask cluster instead of --jobs local jobs "
                            "(README.md)")
    grade.add_argument("--scheduler-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="how long to try reaching the scheduler (default: 10)")
    grade.set_defaults(func=cmd_grade)
    fb = instructor("feedback", "write per-student HTML feedback")
    fb.add_argument("--student", action="append")
    fb.set_defaults(func=cmd_feedback)
    rep = instructor("report", "grades as CSV plus a PNG summary")
    rep.add_argument("--output", help="folder (default: <course>/reports)")
    rep.set_defaults(func=cmd_report)
    pub = instructor("publish", "write the student-only course as a git repository in DIR")
    pub.add_argument("dir")
    pub.add_argument("--url", help="the student repository, https://github.com/ORG/REPO "
                                   "(default: the one of the previous publish)")
    pub.add_argument("--ref", help="the branch, tag or commit Binder opens (default: HEAD)")
    pub.set_defaults(func=cmd_publish)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the nncourse command."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "lab":  # JupyterLab's own options (--allow-root, --port=...) pass through
        args.jupyter_args = [*unknown, *args.jupyter_args]
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"nncourse {args.command}: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # the student repository (nncourse publish) has no instructor
        # modules: "No module named 'nncourse.grader'", or "cannot import name 'grader' from
        # 'nncourse'" for `from nncourse import grader` (then exc.name is the package).
        if not (exc.name or "").startswith("nncourse"):
            raise
        print(f"nncourse {args.command}: for instructors; this copy of the course has "
              "`nncourse lab` and `nncourse check` only", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
