"""INEI's per-module zip archives: found and read like unpacked files; unsafe or damaged
archives refused with the archive named; the generator's zips deterministic; the workflow runs
on zipped years (files mode)."""
from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

import fixtures_ingest as F
from workflow import TEST_CONFIG, snakemake

from pra.embedded import layout
from pra.embedded.archives import FIXED_TIME, pack_year, write_archive
from pra.ingest.harmonise import harmonise_year
from pra.ingest.readers import (
    ArchiveMember,
    IngestError,
    archive_members,
    find_module,
    read_meta,
    read_module,
)

# fixture module key -> INEI's module (zip) number; year codes from the layout
MODULE_NUMBER = {"sumaria": 34, "100": 1, "200": 2, "300": 3, "500": 5, "2000": 22, "2000a": 22,
                 "2100": 22, "01b2": 85}


def zip_year(year_dir: Path, year: int, *, folder: str = "", upper: bool = False,
             keep: bool = False) -> list[Path]:
    """Pack a fixture year's files as INEI does (``<code>-Modulo<NN>.zip``, files inside a
    ``<code>-Modulo<NN>/`` folder); ``folder``: where the zips go (a sub-folder of the year);
    ``upper``: upper-case archive and member names; ``keep``: leave the unpacked files."""
    files = {p.name.lower(): p for p in year_dir.iterdir() if p.is_file()}
    archives: dict[Path, dict[str, Path]] = {}  # several files share a module's zip (e.g. 22)
    for module, number in MODULE_NUMBER.items():
        stem = F.STEMS[module].format(y=year).lower()
        src = next(p for name, p in files.items() if name.startswith(stem + "."))
        name = f"{layout.YEAR_CODES[year]}-Modulo{number:02d}"
        member = f"{name}/{src.name}"
        if upper:
            name, member = name.upper(), member.upper()
        dest = year_dir / folder / (f"{name}.ZIP" if upper else f"{name}.zip")
        archives.setdefault(dest, {})[member] = src
    out = []
    for dest, members in archives.items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_archive(dest, members)
        out.append(dest)
        if not keep:
            for src in members.values():
                src.unlink()
    return out


def _zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _copy_year(year_dir: Path, root: Path) -> Path:
    """A copy of a written year's folder under ``root`` (the same files, not written twice)."""
    return Path(shutil.copytree(year_dir, root / year_dir.name))


# --------------------------------------------------------------------------------- readers
@pytest.mark.parametrize("year", [2007, 2008, 2010, 2012])  # Stata 7, CSV, SPSS, Stata 118
def test_member_reads_as_the_unpacked_file(tmp_path, year):
    plain = F.write_year(tmp_path / "plain", year)
    zipped = _copy_year(plain, tmp_path / "zipped")
    zip_year(zipped, year)
    assert not [p for p in zipped.iterdir() if p.suffix.lower() != ".zip"]
    for module in MODULE_NUMBER:
        stem = F.STEMS[module].format(y=year)
        a, b = find_module(plain, stem), find_module(zipped, stem)
        assert isinstance(a, Path) and isinstance(b, ArchiveMember)
        assert b.name == a.name
        pd.testing.assert_frame_equal(read_module(b), read_module(a))
        ma, mb = read_meta(a), read_meta(b)
        assert (mb.columns, mb.value_labels) == (ma.columns, ma.value_labels)


def test_harmonised_year_same_from_zips(tmp_path):
    defl = F.write_deflators(tmp_path / "defl")
    plain = F.write_year(tmp_path / "plain", 2011)
    zip_year(_copy_year(plain, tmp_path / "zipped"), 2011, folder="STATA", upper=True)
    a, la, ra = harmonise_year(tmp_path / "plain", defl, 2011, F.centres())
    b, lb, rb = harmonise_year(tmp_path / "zipped", defl, 2011, F.centres())
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(la, lb)
    assert rb["files"]["100"] == "291-MODULO01.ZIP:291-MODULO01/ENAHO01-2011-100.DTA"
    assert {k: v for k, v in ra.items() if k not in ("files", "health")} == \
        {k: v for k, v in rb.items() if k not in ("files", "health")}
    # the data-health entries name the files as the reports do: the same but for the names
    def unnamed(r):
        return [{k: v for k, v in e.items() if k != "file"} for e in r["health"]]
    assert unnamed(ra) == unnamed(rb) and len(ra["health"]) > 0


def test_nested_folders_and_upper_case_found(tmp_path):
    year_dir = tmp_path / "2011"
    (year_dir / "descargas" / "STATA").mkdir(parents=True)
    data = F.write_frame(F.tables(2011)["100"], tmp_path / "x.csv", "csv").read_bytes()
    _zip_with(year_dir / "descargas" / "STATA" / "291-MODULO01.ZIP",
              {"291-Modulo01/": b"", "291-Modulo01/Bases/ENAHO01-2011-100.CSV": data,
               "__MACOSX/291-Modulo01/._enaho01-2011-100.csv": b"\x00junk"})
    found = find_module(year_dir, "enaho01-2011-100")
    assert found == ArchiveMember(year_dir / "descargas/STATA/291-MODULO01.ZIP",
                                  "291-Modulo01/Bases/ENAHO01-2011-100.CSV")
    assert len(read_module(found, ["conglome", "result"])) == 5
    # an unpacked file in a sub-folder is found too
    (year_dir / "291-Modulo02").mkdir()
    (year_dir / "291-Modulo02" / "Enaho01-2011-200.csv").write_bytes(data)
    assert find_module(year_dir, "enaho01-2011-200") == year_dir / "291-Modulo02/Enaho01-2011-200.csv"


@pytest.mark.parametrize("member", ["../enaho01-2011-100.csv", "291-Modulo01/../../enaho01-2011-100.csv",
                                    "/tmp/enaho01-2011-100.csv", "C:/datos/enaho01-2011-100.csv",
                                    "..\\enaho01-2011-100.csv", "\\enaho01-2011-100.csv"])
def test_unsafe_member_refused(tmp_path, member):
    year_dir = tmp_path / "2011"
    year_dir.mkdir()
    bad = _zip_with(year_dir / "291-Modulo01.zip", {member: b"conglome\n1\n"})
    with pytest.raises(IngestError, match=r"archive .*291-Modulo01\.zip: member .* refused") as err:
        find_module(year_dir, "enaho01-2011-100")
    assert repr(member) in str(err.value)
    with pytest.raises(IngestError, match="refused"):
        archive_members(bad)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["2011", "291-Modulo01.zip"]  # nothing extracted


def test_truncated_archive_named(tmp_path):
    year_dir = F.write_year(tmp_path, 2011)
    zips = zip_year(year_dir, 2011)
    target = next(z for z in zips if z.name == "291-Modulo34.zip")
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    with pytest.raises(IngestError, match=r"archive .*291-Modulo34\.zip: cannot read it as a zip"):
        find_module(year_dir, "sumaria-2011")
    with pytest.raises(IngestError, match=r"291-Modulo34\.zip"):
        harmonise_year(tmp_path, F.write_deflators(tmp_path / "defl"), 2011, F.centres())


def test_corrupt_member_named(tmp_path):
    year_dir = F.write_year(tmp_path, 2011)
    z = next(p for p in zip_year(year_dir, 2011) if p.name == "291-Modulo01.zip")
    raw = bytearray(z.read_bytes())
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo("291-Modulo01/enaho01-2011-100.dta")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)  # compressed data
    for i in range(start + 10, start + 60):
        raw[i] ^= 0xFF
    z.write_bytes(bytes(raw))
    member = find_module(year_dir, "enaho01-2011-100")  # the central directory is intact
    with pytest.raises(IngestError, match=r"archive .*291-Modulo01\.zip: cannot read member "
                                          r"'291-Modulo01/enaho01-2011-100\.dta'"):
        read_module(member)


def test_not_a_zip_named(tmp_path):
    (tmp_path / "291-Modulo01.zip").write_text("<html>INEI error page</html>")
    with pytest.raises(IngestError, match=r"291-Modulo01\.zip: cannot read it as a zip archive"):
        find_module(tmp_path, "enaho01-2011-100")


def test_unpacked_beside_its_zip(tmp_path):
    year_dir = F.write_year(tmp_path, 2011)
    zip_year(year_dir, 2011, keep=True)
    plain = find_module(year_dir, "enaho01-2011-100")
    assert plain == year_dir / "enaho01-2011-100.dta"  # same bytes: the unpacked file is read
    plain.write_bytes(plain.read_bytes() + b"\x00")
    with pytest.raises(IngestError, match=r"enaho01-2011-100\.dta differs from "
                                          r"\['291-Modulo01\.zip:291-Modulo01/enaho01-2011-100\.dta'\]"):
        find_module(year_dir, "enaho01-2011-100")


def test_same_module_in_two_archives_ambiguous(tmp_path):
    _zip_with(tmp_path / "291-Modulo01.zip", {"a/enaho01-2011-100.csv": b"x\n"})
    _zip_with(tmp_path / "copia.zip", {"b/ENAHO01-2011-100.csv": b"x\n"})
    with pytest.raises(IngestError, match="several candidate files.*291-Modulo01.zip:a/enaho01.*copia.zip"):
        find_module(tmp_path, "enaho01-2011-100")


def test_private_copies_removed(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    year_dir = F.write_year(tmp_path / "data", 2011)
    zip_year(year_dir, 2011)
    read_module(find_module(year_dir, "enaho01-2011-200"))
    with pytest.raises(IngestError):  # also on a failed read
        read_module(find_module(year_dir, "enaho01-2011-200"), ["no_such_column"])
    assert list(scratch.iterdir()) == []


# ------------------------------------------------------------------------------- generator
def test_layout_names_follow_inei():
    assert layout.archive_name(2010, "100") == "279-Modulo01"
    assert layout.archive_member(2011, "01b-2") == ("enaho/2011/291-Modulo85.zip",
                                                    "291-Modulo85/enaho01b-2011-2.dta")
    assert layout.archive_member(2012, "sumaria")[0] == "enaho/2012/324-Modulo34.zip"
    for year in layout.ARCHIVE_YEARS:
        files = layout.year_files(year)
        assert files and all(f.endswith(".zip") for f in files)
        assert not set(files) & {layout.module_file(year, m) for m, _ in layout.MODULES}


def test_pack_year_deterministic(tmp_path):
    year = layout.ARCHIVE_YEARS[0]
    digests = []
    for run in ("a", "b"):
        root = tmp_path / run
        rows = {}
        for i, (module, _) in enumerate(layout.MODULES):
            path = root / layout.module_file(year, module)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{module}\n".encode() * (i + 1))
            rows[layout.module_file(year, module)] = i + 1
        rows["other.csv"] = 9
        out = pack_year(root, year, rows)
        assert set(out) == set(layout.year_files(year)) | {"other.csv"}
        assert sum(out.values()) == sum(rows.values())
        assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == \
            sorted(layout.year_files(year))
        digests.append({f: (root / f).read_bytes() for f in layout.year_files(year)})
    assert digests[0] == digests[1]
    zip_rel, member = layout.archive_member(year, "100")
    with zipfile.ZipFile(tmp_path / "a" / zip_rel) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == [member.split("/")[0] + "/", member]
        assert {i.date_time for i in infos} == {FIXED_TIME}
        assert zf.read(member) == b"100\n" * 2


# -------------------------------------------------------------------------------- workflow
@pytest.mark.workflow
def test_workflow_on_zipped_years(tmp_path):
    """Files mode: 2008 zipped in a sub-folder with upper-case names, 2011 zipped beside its
    unpacked files, the others plain; every year's table equals the unpacked year's."""
    data, plain = tmp_path / "data", tmp_path / "plain"
    for y in range(2007, 2013):
        F.write_year(data / "enaho", y)
        F.write_year(plain, y)
    zip_year(data / "enaho" / "2008", 2008, folder="CSV", upper=True)
    zip_year(data / "enaho" / "2011", 2011, keep=True)
    defl = F.write_deflators(data / "enaho" / "2012")
    F.centres().to_csv(data / "centros_poblados.csv", index=False)
    files = {"enaho_dir": str(data / "enaho"), "deflator_dir": str(defl),
             "centres": str(data / "centros_poblados.csv")}
    for k in ("register", "programme_survey", "sample_frame"):  # not read by this target
        files[k] = str(data / f"{k}.csv")
    cfg = tmp_path / "files.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"source": "files", "files": files}}), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    snakemake(work, "--cores", "2", "results/harmonised/enaho.parquet",
              configfiles=(TEST_CONFIG, cfg), timeout=600)
    for y in range(2007, 2013):
        want = harmonise_year(plain, defl, y, F.centres())[0]
        got = pd.read_parquet(work / f"results/harmonised/enaho_{y}.parquet")
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=str(y))
    pooled = pd.read_parquet(work / "results/harmonised/enaho.parquet")
    assert sorted(pooled["year"].unique().tolist()) == list(range(2007, 2013))
