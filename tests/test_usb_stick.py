"""Listing the catalog files on a USB stick: which files are offered and how problems read;
and checking one of them again just before it is imported (`catalog_file`).

A test cannot mount a file system, so most tests list a plain folder in tmp_path with
``require_mount=False``; the mount check itself is tested on the folder (not a mount point)
and on ``/proc`` (a real mount point on every Linux system).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.devices.usb_stick import (
    MAX_CATALOG_BYTES,
    UsbStickProblem,
    catalog_file,
    catalog_files,
)


@pytest.fixture
def stick(tmp_path: Path) -> Path:
    folder = tmp_path / "kiosk-usb"
    folder.mkdir()
    return folder


def names(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


def test_the_csv_files_at_the_top_of_the_stick_are_offered_sorted_by_name(stick: Path) -> None:
    for name in ("prices-b.csv", "Catalog.CSV", "prices-a.csv", "notes.txt", "photo.jpg"):
        (stick / name).write_text("code,name\n", encoding="utf-8")

    found = catalog_files(stick, require_mount=False)

    assert names(found) == ["Catalog.CSV", "prices-a.csv", "prices-b.csv"]
    assert all(path.parent == stick for path in found)


def test_hidden_files_folders_and_files_in_subfolders_are_not_offered(stick: Path) -> None:
    (stick / "catalog.csv").write_text("code,name\n", encoding="utf-8")
    (stick / "._catalog.csv").write_bytes(b"\x00\x05\x16\x07")
    (stick / ".hidden.csv").write_text("code,name\n", encoding="utf-8")
    (stick / "folder.csv").mkdir()
    (stick / "old").mkdir()
    (stick / "old" / "catalog-2024.csv").write_text("code,name\n", encoding="utf-8")

    assert names(catalog_files(stick, require_mount=False)) == ["catalog.csv"]


def test_a_symbolic_link_is_not_offered_even_when_it_ends_in_csv(
    stick: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "kiosk.db.csv"
    outside.write_text("secret", encoding="utf-8")
    (stick / "catalog.csv").write_text("code,name\n", encoding="utf-8")
    os.symlink(outside, stick / "shortcut.csv")
    os.symlink(stick / "catalog.csv", stick / "inside-link.csv")

    assert names(catalog_files(stick, require_mount=False)) == ["catalog.csv"]


def test_at_most_max_files_are_offered_the_first_by_name(stick: Path) -> None:
    for number in range(30):
        (stick / f"catalog-{number:02d}.csv").write_text("code,name\n", encoding="utf-8")

    assert names(catalog_files(stick, require_mount=False)) == [
        f"catalog-{number:02d}.csv" for number in range(20)]
    assert names(catalog_files(stick, max_files=3, require_mount=False)) == [
        "catalog-00.csv", "catalog-01.csv", "catalog-02.csv"]


def test_a_stick_without_a_csv_file_says_so_and_names_the_path(stick: Path) -> None:
    (stick / "readme.txt").write_text("hello", encoding="utf-8")

    with pytest.raises(UsbStickProblem) as problem:
        catalog_files(stick, require_mount=False)

    assert problem.value.reason == "no_catalog"
    assert problem.value.path == stick
    assert str(problem.value) == f"the USB stick at {stick} has no .csv file at its top level"


def test_a_folder_that_is_not_a_mount_point_means_no_stick_is_in(stick: Path) -> None:
    (stick / "catalog.csv").write_text("code,name\n", encoding="utf-8")

    with pytest.raises(UsbStickProblem) as problem:
        catalog_files(stick)

    assert problem.value.reason == "not_mounted"
    assert str(problem.value) == f"no USB stick is mounted at {stick}"


def test_a_missing_mount_folder_means_no_stick_is_in(tmp_path: Path) -> None:
    with pytest.raises(UsbStickProblem) as problem:
        catalog_files(tmp_path / "not-there", require_mount=False)

    assert problem.value.reason == "not_mounted"


def test_a_real_mount_point_passes_the_mount_check_and_is_listed() -> None:
    with pytest.raises(UsbStickProblem) as problem:
        catalog_files(Path("/proc"))

    assert problem.value.reason == "no_catalog"


def test_a_mount_path_that_cannot_be_listed_is_unreadable(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "kiosk-usb"
    not_a_folder.write_text("a file where the stick should be", encoding="utf-8")

    with pytest.raises(UsbStickProblem) as problem:
        catalog_files(not_a_folder, require_mount=False)

    assert problem.value.reason == "unreadable"
    assert str(problem.value) == f"the USB stick at {not_a_folder} cannot be read: Not a directory"


def test_a_max_files_below_one_is_a_programming_error(stick: Path) -> None:
    with pytest.raises(ValueError, match="max_files must be at least 1"):
        catalog_files(stick, max_files=0, require_mount=False)


# ------------------------------------------------------------ one file, before it is read


def test_a_listed_catalog_file_is_given_back_as_its_path_on_the_stick(stick: Path) -> None:
    (stick / "Catalog.CSV").write_text("code,name\n", encoding="utf-8")

    assert catalog_file(stick, "Catalog.CSV", require_mount=False) == stick / "Catalog.CSV"


@pytest.mark.parametrize("name", [
    "../catalog.csv", "sub/catalog.csv", "/etc/catalog.csv", ".hidden.csv", ".csv",
    "notes.txt", "", "..",
])
def test_a_name_that_is_not_a_catalog_at_the_top_of_the_stick_is_refused(
    stick: Path, name: str
) -> None:
    (stick / "sub").mkdir()
    (stick / "sub" / "catalog.csv").write_text("code,name\n", encoding="utf-8")
    (stick.parent / "catalog.csv").write_text("code,name\n", encoding="utf-8")

    with pytest.raises(UsbStickProblem) as refused:
        catalog_file(stick, name, require_mount=False)

    assert refused.value.reason == "no_catalog"


def test_a_file_swapped_for_a_symbolic_link_after_the_listing_is_refused(
    stick: Path, tmp_path: Path
) -> None:
    (stick / "catalog.csv").write_text("code,name\n", encoding="utf-8")
    assert names(catalog_files(stick, require_mount=False)) == ["catalog.csv"]
    secret = tmp_path / "kiosk.toml"
    secret.write_text("token = 'not for a stick'\n", encoding="utf-8")
    (stick / "catalog.csv").unlink()
    (stick / "catalog.csv").symlink_to(secret)

    with pytest.raises(UsbStickProblem) as refused:
        catalog_file(stick, "catalog.csv", require_mount=False)

    assert refused.value.reason == "no_catalog"
    assert "not a plain file" in str(refused.value)


def test_a_folder_named_like_a_catalog_is_refused(stick: Path) -> None:
    (stick / "catalog.csv").mkdir()

    with pytest.raises(UsbStickProblem) as refused:
        catalog_file(stick, "catalog.csv", require_mount=False)

    assert refused.value.reason == "no_catalog"


def test_a_file_gone_since_the_listing_is_refused(stick: Path) -> None:
    with pytest.raises(UsbStickProblem) as refused:
        catalog_file(stick, "catalog.csv", require_mount=False)

    assert refused.value.reason == "no_catalog" and "no longer" in str(refused.value)


def test_a_file_larger_than_a_catalog_may_be_is_refused_with_its_size(stick: Path) -> None:
    with (stick / "huge.csv").open("wb") as huge:  # sparse: no disk space is used
        huge.truncate(MAX_CATALOG_BYTES + 1)
    (stick / "small.csv").write_bytes(b"x" * 10)

    with pytest.raises(UsbStickProblem) as refused:
        catalog_file(stick, "huge.csv", require_mount=False)

    assert refused.value.reason == "too_large"
    assert str(MAX_CATALOG_BYTES + 1) in str(refused.value)
    assert catalog_file(stick, "small.csv", max_bytes=10, require_mount=False).name == (
        "small.csv")


def test_a_stick_pulled_out_before_the_import_is_not_mounted(stick: Path) -> None:
    with pytest.raises(UsbStickProblem) as refused:
        catalog_file(stick, "catalog.csv")  # the folder is no mount point: no stick in

    assert refused.value.reason == "not_mounted"
