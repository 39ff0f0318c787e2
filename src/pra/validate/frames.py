"""The analysis frames of one Monte Carlo draw, built in memory by the pipeline's own functions.

The file path is: generator → module files (``pra.embedded.synthesize.write_module``) → readers
(``pra.ingest.readers.read_module``) → ``harmonise_year`` → pooled table → geo-referencing,
distances, spatial sample → DD; programme survey → ``harmonise_programme_survey`` → matching
sample → kernel DD. Here the files are skipped: each module frame gets the writer's quirks
(:func:`pra.embedded.synthesize.apply_quirks`) and what the file format and the reader then do
to it (missing text as blank, names lower-case, the year column renamed, blanks missing, keys
normalised: :func:`as_read`), and goes to :func:`pra.ingest.harmonise.harmonise_modules`, the
second half of ``harmonise_year``. ``tests/test_validate_frames.py`` checks that the harmonised
table, the programme table, the spatial sample and the matching sample equal the file path's.

The geography (districts, centres, register, frame, conglomerates and their coordinates) is
drawn once from the config's seed, as :func:`pra.embedded.synthesize.synthesize` does, and is
fixed across draws: so are the geo-referenced register and every conglomerate's distance to it
(:class:`FixedGeography`, computed by ``pra.geo.georef`` and ``pra.geo.distance`` once).
"""
from __future__ import annotations

import copy
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pra.embedded import layout
from pra.embedded.synthesize import (_for_pyreadstat, _rngs, apply_quirks, deflator_table,
                                     value_labels_for, write_csv)
from pra.geo.distance import connect, nearest_locality
from pra.geo.georef import georeference
from pra.geo.sample import attach_distances, spatial_sample
from pra.ingest import schemas as S
from pra.ingest.centres import PreparedCentres
from pra.ingest.harmonise import EXTRA_COLUMNS, MODULES, harmonise_modules
from pra.ingest.health import merge_checks, read_csv_file
from pra.ingest.programme import SURVEY_COLUMNS, harmonise_programme_table, read_frame
from pra.ingest.readers import find_year_column, normalise_keys, read_centres, to_number
from pra.ingest.welfare import Deflators
from pra.matching.sample import matching_sample

# harmonise's module keys -> the generator's
GENERATOR_MODULE = {"01b2": "01b-2"}
CODES = {"codccpp": str, "ubigeo": str}  # the text columns the CSV readers keep (scripts/*.py)


def household_rng(seed: int, draw: int) -> np.random.Generator:
    """The households' stream of draw ``draw``: independent of every other draw, of the
    geography's stream and of the number of draws, chunks or cores."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(draw)])))


def draw_seed(seed: int, draw: int, purpose: int) -> int:
    """An integer seed for a random step of a draw (``purpose``: 1 = matching bootstrap)."""
    return int(np.random.SeedSequence([int(seed), int(draw), int(purpose)]).generate_state(1)[0])


# --------------------------------------------------------------------------------------------
# what the writer and the reader do to a frame

def as_read(quirked: pd.DataFrame, fmt: str, columns: list[str] | None = None) -> pd.DataFrame:
    """A frame with the writer's quirks as :func:`pra.ingest.readers.read_module` returns the
    file: the format's storage (CSV: ids as text, '' missing; Stata/SPSS: missing text blank),
    lower-case names, year column → ``year``, blank text → missing, keys normalised."""
    ycol = find_year_column(quirked.columns)
    names = {c: ("year" if c == ycol else str(c).lower()) for c in quirked.columns}
    if len(set(names.values())) != len(names):  # the generator never writes such names
        raise ValueError(f"as_read: column names equal but for case: {list(quirked.columns)}")
    if fmt != "csv":
        return normalise_keys(_stored_and_read(quirked, names, columns))
    from pra.ingest.readers import TEXT_COLUMNS

    if columns is not None and len(columns) > 1:
        # only the columns read: each is written and read on its own (two or more, so no CSV
        # line is blank)
        wanted = set(columns)
        quirked = quirked[[c for c in quirked.columns if names[c] in wanted]]
        ycol = find_year_column(quirked.columns)
        names = {c: ("year" if c == ycol else str(c).lower()) for c in quirked.columns}
    buf = io.StringIO()
    write_csv(quirked, buf)
    buf.seek(0)
    dtype = {c: "string" for c, canon in names.items() if canon in TEXT_COLUMNS}
    df = pd.read_csv(buf, dtype=dtype, keep_default_na=False, na_values=[""])
    df = df.rename(columns=names)
    if columns is not None:
        df = df[[c for c in columns]]
    for c in df.columns:
        if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype):
            df[c] = df[c].astype("string").str.strip().replace("", pd.NA)
    return normalise_keys(df)


def _stored_and_read(quirked: pd.DataFrame, names: dict, columns: list[str] | None) -> pd.DataFrame:
    """:func:`as_read`'s Stata/SPSS path up to the keys, one pass over the columns read only:
    text goes straight to the reader's strip and blank -> missing (the
    writer's missing -> '' ends missing there too, so that step is skipped); nullable numbers
    as ``_for_pyreadstat`` stores them; other columns as they are (it leaves them)."""
    canon = {n: c for c, n in names.items()}
    out = {}
    for name in (columns if columns is not None else list(canon)):
        s = quirked[canon[name]]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            s = s.astype("string").str.strip().replace("", pd.NA)
        elif pd.api.types.is_extension_array_dtype(s.dtype) and pd.api.types.is_numeric_dtype(s.dtype):
            s = _for_pyreadstat(s.to_frame())[s.name]  # the only other columns it changes
        out[name] = s.array  # no index alignment: the rows are quirked's, in order
    df = pd.DataFrame(out, index=quirked.index, copy=False)
    df.attrs = copy.deepcopy(quirked.attrs)
    return df


def _module_columns(module: str, year: int, available) -> tuple[list[str], dict[str, str]]:
    """The columns ``harmonise_year`` reads from a module (required, with a documented alias
    where the file uses one, then year and extras present) and the renames back."""
    cols, renamed = [], {}
    for c in S.required_columns(module, year):
        alt = next((a for a in S.COLUMN_ALIASES.get(module, {}).get(c, ())
                    if c not in available and a in available), None)
        cols.append(alt or c)
        if alt:
            renamed[alt] = c
    cols += [c for c in ("year",) + tuple(EXTRA_COLUMNS.get(module, ())) if c in available and c not in cols]
    return list(dict.fromkeys(cols)), renamed


def enaho_modules(hh, year: int, conglomerates=None) -> dict[str, pd.DataFrame]:
    """One year's modules of the generator's households as ``read_year_modules`` returns them;
    only the rows of ``conglomerates`` (generator ids) when given."""
    fmt = layout.FORMAT[year]
    out = {}
    for module in MODULES:
        gen = GENERATOR_MODULE.get(module, module)
        canon = hh.modules[(year, gen)]
        if conglomerates is not None:
            canon = canon[canon["conglome"].isin(conglomerates)]
        quirked = apply_quirks(canon, year, gen)
        ycol = find_year_column(quirked.columns)
        available = {("year" if c == ycol else str(c).lower()) for c in quirked.columns}
        cols, renamed = _module_columns(module, year, available)
        df = as_read(quirked, fmt, cols).rename(columns=renamed)
        labels = {} if fmt == "csv" else value_labels_for(year, gen, quirked.columns)
        df.attrs["value_labels"] = {k: v for k, v in labels.items() if k in df.columns}
        df.attrs["source"] = layout.module_file(year, gen).rsplit("/", 1)[1] + " (in memory)"
        out[module] = df
    return out


def deflators_as_read(hh) -> Deflators:
    """The two deflator tables as :func:`pra.ingest.welfare.read_deflators` returns them."""
    t = as_read(deflator_table(hh.deflators), "dta")
    s = as_read(hh.spatial_deflator.rename(columns={"dominioa": "dominioA"}), "dta")
    return Deflators(
        pd.DataFrame({"defl_year": to_number(t["aniorec"]), "dpto_defl": to_number(t["dpto"]),
                      "i00": to_number(t["i00"])}),
        pd.DataFrame({"dominioa": to_number(s["dominioa"]), "ld": to_number(s["ld"])}),
        {"time": layout.DEFLATOR_FILES[0], "space": layout.DEFLATOR_FILES[1]})


# --------------------------------------------------------------------------------------------
# the fixed geography

@dataclass
class FixedGeography:
    """What every draw shares: the generator's geography, its files as the pipeline reads them
    (centres, register, sample frame), the geo-referenced register, and the distance of every
    coordinate seen so far to the nearest geo-referenced locality (filled as draws need it)."""

    geo: object                       # pra.embedded.geography.Geography
    scale: float
    centres: pd.DataFrame             # centros_poblados.csv as read_centres reads it
    register: pd.DataFrame            # pra2_localidades.csv as scripts/georeference.py reads it
    frame: pd.DataFrame               # marco_muestral_2012.csv as read_frame reads it
    localities: pd.DataFrame          # pra.geo.georef.georeference output
    _prepared: dict = field(default_factory=dict)  # prepared_centres(): once per data.checks
    _points: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["latitude", "longitude", "dist_km", "nearest_id", "beyond", "reason"]))

    def needed(self, sample_space_km: float, baseline_year: int, years=layout.YEARS,
               margin_km: float = 1.0) -> dict[int, np.ndarray]:
        """Per year, the conglomerates whose households can enter an estimator: within the
        sample space (+ ``margin_km``: module 100 rounds 2011's coordinates) by the pipeline's
        distance to the geo-referenced register, and, in the matching baseline year, in a
        district of the sample frame. Harmonising only them gives the same rows of those
        households (each household's row depends on its own modules only)."""
        c = self.geo.conglomerates
        d = self.distances(pd.DataFrame({"hh_id": np.arange(len(c)), "latitude": c["latitud"],
                                         "longitude": c["longitud"]}))
        near = c["conglome"].to_numpy()[(d["dist_km"] <= sample_space_km + margin_km).to_numpy()]
        in_frame = c["conglome"].to_numpy()[
            c["ubigeo"].astype(str).str.zfill(6).isin(self.frame["ubigeo"].astype(str)).to_numpy()]
        return {int(y): np.union1d(near, in_frame) if int(y) == int(baseline_year) else near
                for y in years}

    def prepared_centres(self, checks: dict | None = None) -> PreparedCentres:
        """The centre map prepared as ``harmonise_modules`` prepares it (once: it is fixed)."""
        key = repr(sorted(merge_checks(checks).items()))
        if key not in self._prepared:
            self._prepared[key] = PreparedCentres.of(self.centres, checks)
        return self._prepared[key]

    def distances(self, households: pd.DataFrame) -> pd.DataFrame:
        """:func:`pra.geo.distance.nearest_locality` for ``households`` (hh_id, latitude,
        longitude): computed once per distinct point (the conglomerates' coordinates are part
        of the geography), then looked up."""
        pts = households[["latitude", "longitude"]].astype("float64")
        key = pts.drop_duplicates()
        new = key.merge(self._points[["latitude", "longitude"]], how="left", indicator=True)
        new = new.loc[new["_merge"] == "left_only", ["latitude", "longitude"]]
        if len(new):
            con = connect(threads=1)
            try:
                d = nearest_locality(new.assign(hh_id=np.arange(len(new))), self.localities, con=con)
            finally:
                con.close()
            add = new.reset_index(drop=True).assign(
                dist_km=d["dist_km"].to_numpy(), nearest_id=d["nearest_id"].to_numpy(),
                beyond=d["beyond"].to_numpy(), reason=d["reason"].to_numpy())
            self._points = pd.concat([self._points.astype(add.dtypes.to_dict()), add],
                                     ignore_index=True) if len(self._points) else add
        got = pts.merge(self._points, on=["latitude", "longitude"], how="left", validate="many_to_one")
        return pd.DataFrame({"hh_id": households["hh_id"].to_numpy(),
                             "dist_km": got["dist_km"].to_numpy(float),
                             "nearest_id": pd.array(got["nearest_id"], dtype="Int64"),
                             "beyond": got["beyond"].to_numpy(bool),
                             "reason": got["reason"].to_numpy(object)})


def fixed_geography(scale: float, seed: int, geo=None) -> FixedGeography:
    """The geography of ``seed`` (the generator's own stream, as ``synthesize`` draws it), its
    three CSV files as the pipeline's readers read them (written once to a temporary folder:
    the readers detect encoding and delimiter from the bytes), and the geo-referenced register.
    ``geo``: that geography if the caller already drew it (the tests share one draw)."""
    from pra.embedded.geography import build_geography

    if geo is None:
        geo = build_geography(scale, _rngs(seed)[0])
    elif geo.scale != float(scale):
        raise ValueError(f"fixed_geography: the geography given is at scale {geo.scale}, not {scale}")
    with tempfile.TemporaryDirectory(prefix="pra-validate-") as tmp:
        paths = {}
        for name, frame in (("centros_poblados.csv", geo.centres), ("pra2_localidades.csv", geo.register),
                            ("marco_muestral_2012.csv", geo.frame)):
            paths[name] = Path(tmp) / name
            write_csv(frame, paths[name])
        centres = read_centres(paths["centros_poblados.csv"])
        # as scripts/georeference.py reads them
        register = read_csv_file(paths["pra2_localidades.csv"], "register", dtype=CODES)
        centres_geo = read_csv_file(paths["centros_poblados.csv"], "populated-centre map", dtype=CODES)
        frame = read_frame(paths["marco_muestral_2012.csv"])
    localities, _ = georeference(register, centres_geo)
    return FixedGeography(geo=geo, scale=float(scale), centres=centres, register=register,
                          frame=frame, localities=localities)


# --------------------------------------------------------------------------------------------
# the frames of one draw

def harmonised_enaho(hh, fixed: FixedGeography, years=layout.YEARS, needed=None) -> pd.DataFrame:
    """The pooled harmonised ENAHO table (``results/harmonised/enaho.parquet``); with
    ``needed`` ({year: conglomerates}, :meth:`FixedGeography.needed`) only their rows."""
    defl = deflators_as_read(hh)
    frames = [harmonise_modules(enaho_modules(hh, y, None if needed is None else needed[int(y)]),
                                defl, y, fixed.prepared_centres())[0] for y in years]
    return (pd.concat(frames, ignore_index=True).sort_values("hh_id", kind="stable")
            .reset_index(drop=True))


def programme_table(hh, fixed: FixedGeography) -> pd.DataFrame:
    """The harmonised programme survey (``results/matching/programme.parquet``)."""
    raw = as_read(hh.programme_survey, "dta", SURVEY_COLUMNS)
    table, _, _ = harmonise_programme_table(raw, {}, fixed.frame, deflators=deflators_as_read(hh),
                                            centres=fixed.centres, name="encuesta_pra2_2012.dta")
    return table


def sample_space(harmonised: pd.DataFrame, distances: pd.DataFrame, sample_space_km: float) -> pd.DataFrame:
    """Every household-year within the sample space (``results/geo/sample_space.parquet``),
    as ``scripts/spatial_sample.py`` builds it: the DD batches' input."""
    with_dist = attach_distances(harmonised, distances)
    return with_dist[with_dist["dist_km"] <= sample_space_km].reset_index(drop=True)


def dd_sample(harmonised: pd.DataFrame, distances: pd.DataFrame, spatial: dict, post_start: int) -> pd.DataFrame:
    """The configured spatial sample (``results/geo/sample.parquet``)."""
    sample, _ = spatial_sample(
        harmonised, distances, sample_space_km=spatial["sample_space_km"],
        treatment_radius_km=spatial["treatment_radius_km"], ring_km=spatial.get("ring_km"),
        bands_km=spatial["bands_km"], post_start=post_start, sample=spatial.get("sample", "producers"))
    return sample


def matching_frame(harmonised: pd.DataFrame, programme: pd.DataFrame, fixed: FixedGeography,
                   matching: dict) -> pd.DataFrame:
    """The matching sample (``results/matching/sample.parquet``)."""
    sample, _ = matching_sample(harmonised, programme, fixed.frame,
                                baseline_year=int(matching["baseline_year"]),
                                months=tuple(matching["baseline_months"]),
                                followup_year=int(matching["followup_year"]))
    return sample


__all__ = ["FixedGeography", "as_read", "dd_sample", "deflators_as_read", "draw_seed",
           "enaho_modules", "fixed_geography", "harmonised_enaho", "household_rng",
           "matching_frame", "programme_table", "sample_space"]
