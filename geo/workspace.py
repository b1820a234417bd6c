"""A workspace: one area's data, settings and operations, behind a :class:`~geo.store.Store`.

Typical use::

    ws = Workspace.create("sy.gpkg", name="South Yorkshire", crs="EPSG:27700",
                          force="South Yorkshire")
    ws.import_boundaries("districts.geojson", level="bcu", name_field="LAD13NM",
                         code_field="LAD13CD", force_field="police_force")
    report = ws.import_crime("2024-01-south-yorkshire-street.csv")
    print(report.summary())
    crimes = ws.incidents(layer="crime")        # with harm and in_basket columns
"""
from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from . import harm as harm_mod
from . import io
from . import operations as ops
from .errors import GeoInputError
from .report import ImportReport
from .settings import settings
from .store import Store, open_store

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HARM_TABLE = ROOT / "data" / "england" / "harm-weights-cchi-police-uk-categories.csv"



def default_layer(layers) -> str | None:
    """The incident layer used unless another is asked for: ``crime`` if held, else the first held
    (e.g. ``calls``), else ``None``."""
    layers = list(layers)
    return "crime" if "crime" in layers else (layers[0] if layers else None)


class Workspace:
    """One area's data and settings. Open with :meth:`open` or :meth:`create`."""

    def __init__(self, store: Store):
        self.store = store
        self._area = None
        self._area_key = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, path, *, name: str, crs: str = settings.analysis_crs, force: str | None = None) -> "Workspace":
        """Create a new workspace (refuses to overwrite an existing one).

        ``path`` is a ``.gpkg`` file, or a ``postgresql://...?workspace=NAME`` URL for a
        shared PostGIS store (also chosen for a file path by ``GEO_STORE``; see
        :func:`geo.store.open_store`).
        """
        ws = cls(open_store(path, crs=crs, create=True))
        ws.store.set_setting("name", name)
        ws.store.set_setting("force", force)
        ws.store.set_harm_weights(harm_mod.read_harm_weights(DEFAULT_HARM_TABLE))
        return ws

    @classmethod
    def open(cls, path) -> "Workspace":
        """Open an existing workspace: a ``.gpkg`` file or a ``postgresql://`` URL."""
        return cls(open_store(path))

    def close(self) -> None:
        self.store.close()

    @property
    def name(self) -> str:
        return self.store.get_setting("name", Path(getattr(self.store, "path", "workspace")).stem)

    @property
    def crs(self) -> str:
        return self.store.crs

    @property
    def force(self) -> str | None:
        return self.store.get_setting("force")

    def setting(self, key: str, default=None):
        """A user setting (``site_buffers_m``, ``tile_url``, ...), falling back to the default."""
        return self.store.get_setting(key, getattr(settings, key, default))

    def set_setting(self, key: str, value) -> None:
        self.store.set_setting(key, value)

    # ------------------------------------------------------------------ area
    def area(self):
        """The force area as one polygon in the analysis CRS, or ``None`` without boundaries.

        The ``force`` level unit of this workspace's force if imported, else the union of
        its BCUs (``bcu`` units whose ``force`` is this workspace's force, or all BCUs when
        the workspace names no force).
        """
        b = self.store.read_boundaries()
        key = (len(b), tuple(b["code"].head(3)))
        if self._area is not None and self._area_key == key:
            return self._area
        area = None
        if not b.empty:
            force = self.force
            f = b[b["level"] == "force"]
            if force:
                f = f[f["force"].eq(force) | f["name"].eq(force)]
            if len(f):
                area = shapely.union_all(f.geometry.to_numpy())
            else:
                bcu = b[b["level"] == "bcu"]
                if force:
                    bcu = bcu[bcu["force"] == force]
                if len(bcu):
                    area = shapely.union_all(bcu.geometry.to_numpy())
        self._area, self._area_key = area, key
        return area

    def bcus(self, *, all_forces: bool = False) -> gpd.GeoDataFrame:
        """The Basic Command Units (of this force unless ``all_forces``)."""
        b = self.store.read_boundaries("bcu")
        if not all_forces and self.force:
            b = b[b["force"] == self.force]
        return b

    def boundaries(self, level: str | None = None) -> gpd.GeoDataFrame:
        return self.store.read_boundaries(level)

    # ------------------------------------------------------------------ imports
    def _area_or_warn(self, report: ImportReport):
        area = self.area()
        if area is None:
            report.warnings.append("The workspace has no force boundary yet, so no row was flagged as outside the "
                                   "area; import the BCU boundaries first")
        return area

    def import_crime(self, path, *, label: str | None = None) -> ImportReport:
        """Import police.uk street crime (file, folder or zip); returns the report.

        ``label`` names the source in the import history instead of ``path`` (an
        uploaded file's original name). Raises :class:`GeoInputError` for a malformed
        file, before anything is stored.
        """
        area = self.area()
        result = io.read_police_uk(path, crs=self.crs, area=area, points=False)
        if area is None:
            self._area_or_warn(result.report)
        if label:
            result.report.source = label
        self.store.append_incidents(result.frame, result.report, replace_months=True)
        return result.report

    def save_mapping(self, mapping: io.ColumnMapping) -> None:
        maps = self.store.get_setting("mappings", {})
        maps[mapping.name] = mapping.to_dict()
        self.store.set_setting("mappings", maps)

    def mappings(self) -> dict[str, io.ColumnMapping]:
        return {k: io.ColumnMapping.from_dict(v) for k, v in self.store.get_setting("mappings", {}).items()}

    def mapping(self, name: str) -> io.ColumnMapping:
        maps = self.mappings()
        if name not in maps:
            raise GeoInputError(f"No column mapping called '{name}' in this workspace",
                                where=str(getattr(self.store, "path", "")),
                                fix=f"use one of: {', '.join(maps) or '(none saved yet)'}; or save the mapping first")
        return maps[name]

    def import_calls(self, path, mapping: io.ColumnMapping | str, *, label: str | None = None) -> ImportReport:
        """Import incidents or calls for service through a column mapping (saved for reuse)."""
        if isinstance(mapping, str):
            mapping = self.mapping(mapping)
        self._check_id_style(mapping)
        area = self.area()
        result = io.read_incidents(path, mapping, crs=self.crs, area=area)
        if area is None:
            self._area_or_warn(result.report)
        if label:
            result.report.source = label
        self.store.append_incidents(result.frame, result.report)
        self.save_mapping(mapping)
        return result.report

    def _check_id_style(self, mapping: io.ColumnMapping) -> None:
        """Refuse a mapping that identifies rows differently from the layer's held rows:
        the same calls would get other ids and be counted twice."""
        held = getattr(self.store, "layer_id_style", lambda layer: None)(mapping.layer)
        if held is None:
            return
        if held == "id" and not mapping.id:
            raise GeoInputError(
                f"Layer '{mapping.layer}' holds rows identified by the source's own id, but mapping "
                f"'{mapping.name}' names no id column: the same calls would be counted twice",
                where=f"mapping '{mapping.name}'",
                fix="set 'id' in the mapping to the column used before (see the saved mappings), "
                    "or import into another layer")
        if held == "hash" and mapping.id:
            raise GeoInputError(
                f"Layer '{mapping.layer}' holds rows imported without an id column (identified by their "
                f"content), but mapping '{mapping.name}' names id column '{mapping.id}': the same calls "
                "would be counted twice", where=f"mapping '{mapping.name}'",
                fix="import with the mapping used before (no id), or import into another layer")

    def import_sites(self, path, *, kind: str | None = None, label: str | None = None) -> ImportReport:
        area = self.area()
        result = io.read_sites(path, kind=kind, crs=self.crs, area=area)
        if label:
            result.report.source = label
        self.store.upsert_sites(result.frame, result.report)
        return result.report

    def import_upload(self, name: str, data: bytes, *, kind: str, mapping: io.ColumnMapping | str | None = None,
                      site_kind: str | None = None, max_mb: float | None = None) -> ImportReport:
        """Import a file uploaded through the dashboard.

        The client-supplied ``name`` is never used as a path: the bytes go to a fixed
        name with a whitelisted suffix in a fresh temporary folder
        (:func:`geo.uploads.saved_upload`), and the name is kept only as the source label.

        Parameters
        ----------
        name : str
            File name as sent by the browser.
        data : bytes
            The file's contents.
        kind : {"crime", "calls", "sites"}
        mapping : ColumnMapping or str, optional
            Column mapping (or its saved name); required for ``calls``.
        site_kind : str, optional
            Kind for a sites file without a ``kind`` column.
        max_mb : float, optional
            Size limit; ``None``: ``settings.max_upload_mb``.

        Raises
        ------
        GeoInputError
            For a file of the wrong type or size, or any reader error; nothing is stored.
        """
        from .uploads import display_label, saved_upload
        label = display_label(name)
        if kind not in ("crime", "calls", "sites"):
            raise GeoInputError(f"Unknown import kind '{kind}'", fix="use crime, calls or sites")
        if kind == "calls" and not mapping:
            raise GeoInputError("No column mapping chosen", where=f"upload '{label}'",
                                fix="save a mapping first (python -m geo import --calls FILE --mapping mapping.json)")
        with saved_upload(name, data, max_mb=max_mb) as f:
            if kind == "crime":
                return self.import_crime(f, label=label)
            if kind == "sites":
                return self.import_sites(f, kind=site_kind or None, label=label)
            return self.import_calls(f, mapping, label=label)

    def import_boundaries(self, path, *, level: str, name_field: str, code_field: str,
                          parent_field: str | None = None, force_field: str | None = None,
                          force: str | None = None, layer: str | None = None, repair: bool = False) -> ImportReport:
        """Import one boundary level (see :func:`geo.io.read_boundaries`); boundaries nowhere
        near the workspace's existing area are refused."""
        result = io.read_boundaries(path, level=level, name_field=name_field, code_field=code_field,
                                    parent_field=parent_field, force_field=force_field,
                                    force=force or (None if force_field else self.force),
                                    crs=self.crs, layer=layer, area=self.area(), repair=repair)
        self.store.replace_boundaries(result.frame, result.report)
        self._area = None
        return result.report

    def derive_force_level(self) -> None:
        """Add ``force`` level units by dissolving the BCUs by their force."""
        bcu = self.store.read_boundaries("bcu")
        if bcu.empty:
            raise GeoInputError("There are no BCU boundaries to dissolve", fix="import the BCU boundaries first")
        forces = bcu.dissolve(by="force", as_index=False)
        self.import_boundaries(forces, level="force", name_field="force", code_field="force", force_field="force",
                               layer="force areas dissolved from the BCUs")

    # ------------------------------------------------------------------ reading
    def harm_table(self) -> pd.DataFrame:
        return self.store.harm_weights()

    def set_harm_table(self, table: pd.DataFrame) -> None:
        self.store.set_harm_weights(harm_mod.validate_weights(table))

    def incidents(self, *, layer: str | None = None, months: tuple[str, str] | None = None,
                  categories=None, statuses=("mapped",), bcus=None, columns=None) -> gpd.GeoDataFrame:
        """Incidents with ``harm`` and ``in_basket`` columns (mapped rows by default).

        ``bcus``: only the points in (or on the edge of) these BCUs, filtered by the store
        (``Store.read_incidents(bcus=)``), so the rest of the force is never loaded.
        ``columns``: only these stored columns (``Store.read_incidents(columns=)``), with those
        the harm columns are made from (``layer``, ``category``, ``subcategory``); all by default.
        """
        if columns is not None:
            columns = (*columns, "layer", "category", "subcategory")
        df = self.store.read_incidents(layer=layer, months=months, categories=categories,
                                       statuses=statuses, bcus=bcus, columns=columns)
        return harm_mod.add_harm(df, self.harm_table())

    def sites(self, *, inside_only: bool = True) -> gpd.GeoDataFrame:
        s = self.store.read_sites()
        return s[s["status"] == "mapped"] if inside_only else s

    # ------------------------------------------------------------------ operations
    def operations(self) -> list[ops.Operation]:
        import json
        rows = self.store.read_operations()
        return [ops.Operation.from_dict(json.loads(r)) for r in rows["record"]]

    def operation_areas(self) -> gpd.GeoDataFrame:
        rows = self.store.read_operations()
        return rows.drop(columns=["record"])

    def save_operation(self, op: ops.Operation) -> str | None:
        """Validate and save (insert or update) an operation; returns a warning or ``None``."""
        others = {o.name for o in self.operations() if o.op_id != op.op_id}
        ops.validate(op, existing_names=others)
        geom = ops.target_geometry(op, crs=self.crs, boundaries=self.store.read_boundaries()
                                   if op.target_kind == "unit" else None)
        self.store.save_operation(op.op_id, op.name.strip(), op.to_dict(), geom)
        return ops.outside_warning(geom, self.area())

    def delete_operation(self, op_id: str) -> None:
        self.store.delete_operation(op_id)
