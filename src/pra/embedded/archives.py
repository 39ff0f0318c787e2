"""Pack a written ENAHO year into INEI's per-module zip archives, as a user downloads them.

INEI ships each (year code, module) as ``<code>-Modulo<NN>.zip`` with the files inside a
``<code>-Modulo<NN>/`` folder, e.g. ``291-Modulo01.zip`` → ``291-Modulo01/enaho01-2011-100.dta``
(``docs/contract.md`` §1, names from :mod:`pra.embedded.layout`). The archives are
deterministic: members sorted, fixed timestamps and permissions, fixed compression level, so
the same files give the same bytes.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from pra.embedded import layout

# The earliest date a zip can store: no clock in the bytes.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 6


def _info(name: str, *, folder: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.create_system = 3  # Unix, whichever system packs it
    info.external_attr = ((0o40755 if folder else 0o100644) << 16) | (0x10 if folder else 0)
    info.compress_type = zipfile.ZIP_STORED if folder else zipfile.ZIP_DEFLATED
    return info


def write_archive(path: Path, members: dict[str, Path]) -> None:
    """Write ``path`` holding ``members`` ({name inside the archive: file}) and the folders of
    those names, in sorted order."""
    folders = sorted({n.rsplit("/", 1)[0] + "/" for n in members if "/" in n})
    with zipfile.ZipFile(path, "w") as zf:
        for folder in folders:
            zf.writestr(_info(folder, folder=True), b"")
        for name in sorted(members):
            zf.writestr(_info(name), members[name].read_bytes(), compresslevel=COMPRESS_LEVEL)


def pack_year(root: str | Path, year: int, rows: dict[str, int]) -> dict[str, int]:
    """Replace the year's module files under ``root`` by INEI's zips; return ``rows`` (rows per
    written file) with each zip in place of its members (rows summed over them)."""
    root = Path(root)
    archives: dict[str, dict[str, Path]] = {}
    for module, _ in layout.MODULES:
        zip_rel, member = layout.archive_member(year, module)
        archives.setdefault(zip_rel, {})[member] = root / layout.module_file(year, module)
    out = dict(rows)
    for zip_rel in sorted(archives):
        members = archives[zip_rel]
        write_archive(root / zip_rel, members)
        out[zip_rel] = 0
        for src in members.values():
            out[zip_rel] += out.pop(str(src.relative_to(root)))
            src.unlink()
    return out


__all__ = ["FIXED_TIME", "pack_year", "write_archive"]
