"""Typed defaults for the analysis core.

Every default lives here so that pages, the command line and tests agree. ``None`` in
a function signature means "derive from the data and log the value chosen".
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    #: Analysis CRS for a new workspace: British National Grid, metres.
    analysis_crs: str = "EPSG:27700"
    #: Significance level for tests.
    alpha: float = 0.05
    #: Buffer rings drawn around sensitive sites, metres.
    site_buffers_m: tuple[int, ...] = (200, 400)
    #: Two sites with the same name closer than this (metres) are one site listed twice
    #: (e.g. a school under its old and its academy URN at the same postcode).
    site_duplicate_m: float = 150.0
    #: Basemap tile URL template; ``None`` means no basemap (the boundaries are the
    #: basemap offline). Set e.g. to an internal tile server.
    tile_url: str | None = None
    tile_attribution: str = ""
    #: Above this many points a map layer is aggregated rather than drawn as points.
    max_points_on_map: int = 5000
    #: Partners see counts below this as "<5".
    suppression_threshold: int = 5
    #: A partner's drawn area is snapped to whole base units (LSOAs); it must cover at least this many.
    partner_min_units: int = 3
    #: Hotspot grid: automatic cell size aims at this many cells on the short side.
    cells_on_short_side: int = 50
    round_cell_to_m: int = 50
    #: Automatic cell sizes never go below this many metres (a few clustered points
    #: would otherwise give a grid of metre-sized cells over the whole force).
    min_auto_cell_m: float = 50.0
    #: Grids (hot-spot, KDE, emerging cube: cells x periods) larger than this many cells are
    #: refused before anything is allocated, with a cell size that fits.
    max_grid_cells: int = 4_000_000
    #: Uploads larger than this (megabytes) are refused. Keep equal to Streamlit's
    #: ``server.maxUploadSize`` in ``.streamlit/config.toml``.
    max_upload_mb: int = 200
    #: Zip archives: refused above this total uncompressed size (bytes), this
    #: uncompressed/compressed ratio, or this many members, before anything is extracted.
    max_unzipped_bytes: int = 2 * 1024**3
    max_zip_ratio: float = 100.0
    max_zip_members: int = 10_000
    #: Imported points and boundaries must lie in or within this many metres of the
    #: workspace area (when it has one); further away, the file is refused as a likely
    #: CRS or column mistake.
    area_margin_m: float = 20_000.0
    #: Gi* default distance band, in cell sizes (1.5: the 8 neighbours on a square grid).
    gistar_distance_cells: float = 1.5
    #: Convex hulls of tiny point clusters are padded by this many metres.
    cluster_hull_pad_m: float = 10.0
    #: Point clusters (DBSCAN): the automatic radius never goes below this many metres.
    #: police.uk moves every crime to one of a fixed set of anonymised map points (a street
    #: segment's or a landmark's, typically tens of metres apart), so a smaller radius finds
    #: single map points, not clusters of places.
    dbscan_min_eps_m: float = 100.0
    #: Point clusters: a cluster whose summed harm (CCHI days) is below this is not a hot
    #: cluster (the automatic value also keeps it at or above the median single incident's harm x min_samples).
    cluster_min_harm: float = 0.0
    #: Point-distance work (DBSCAN neighbourhoods, point Gi*) estimated above this many
    #: megabytes is refused before it starts, with how to make it fit.
    max_pair_memory_mb: float = 1_500.0
    #: HDBSCAN runs on every incident up to this many; above, on the distinct police.uk map
    #: points (not the same clustering, said with the result), refused if those exceed it too.
    hdbscan_max_points: int = 25_000
    #: Site kinds drawn on the Map page at first (inside the user's area); every other kind
    #: is a layer the user switches on.
    map_site_kinds: tuple[str, ...] = ("school", "treatment")
    #: Significance level for Emerging Hot Spot Analysis bins (esri's default 90%).
    ehsa_alpha: float = 0.10
    #: Crime types (police.uk categories) and call categories in the drug-market harm basket.
    drug_market_basket: tuple[str, ...] = (
        "Violence and sexual offences",
        "Robbery",
        "Possession of weapons",
        "Public order",
        "Criminal damage and arson",
        "Anti-social behaviour",
    )
    #: The police.uk category whose count measures enforcement activity, not harm.
    enforcement_category: str = "Drugs"
    #: Words that mark a call-for-service category as drug-related.
    drug_call_keywords: tuple[str, ...] = ("DRUG", "VICE", "NARCOTIC", "SUBSTANCE")
    #: Sign-in and sessions (local accounts; see :mod:`geo.auth`).
    #: A dashboard session with no interaction for this many minutes is signed out.
    session_idle_minutes: float = 30.0
    #: Passwords shorter than this are refused.
    min_password_length: int = 10
    #: Failed sign-ins (per account, and per client) before a growing delay applies ...
    sign_in_free_failures: int = 2
    #: ... of this many seconds, doubling with each further failure, up to the maximum.
    sign_in_delay_s: float = 2.0
    sign_in_max_delay_s: float = 60.0
    #: After this many failures for one account the account is locked for a while ...
    sign_in_lock_after: int = 5
    #: One client (an office may share one address) gets more failures before its delay
    #: and its lock, across all the names it tries.
    sign_in_client_free_failures: int = 10
    sign_in_client_lock_after: int = 20
    sign_in_lock_minutes: float = 15.0


#: The sensitive-site taxonomy, the one list: kind (as stored, lower case) -> display name.
#: Every kind but "other" is a sensitive site, shown and ranked by default; "other"
#: (ordinary pharmacies, clinics, hospitals, shops) is off by default and never in an
#: exposure ranking unless the user chooses it. Colours and markers: geo.render.palette.
SITE_KINDS: dict[str, str] = {
    "school": "School",
    "treatment": "Drug and alcohol treatment service",
    "needle exchange": "Needle exchange or supervised-consumption pharmacy",
    "hostel": "Hostel",
    "approved premises": "Approved premises (bail hostel)",
    "youth": "Youth facility",
    "other": "Other (ordinary pharmacy, clinic, ...)",
}
#: Kinds ranked and drawn by default (all but "other").
SENSITIVE_SITE_KINDS: tuple[str, ...] = tuple(k for k in SITE_KINDS if k != "other")
#: Other spellings accepted in a sites file's ``kind`` column, and kinds of earlier versions.
SITE_KIND_ALIASES: dict[str, str] = {
    "bail hostel": "approved premises", "approved premise": "approved premises", "pharmacy": "other",
    "needle syringe exchange": "needle exchange", "supervised consumption": "needle exchange",
    "drug treatment": "treatment", "youth facility": "youth", "youth club": "youth", "clinic": "other",
}
#: School phases as shown ("School (primary)"); DfE ``PHASE`` values map onto these.
SCHOOL_PHASES: tuple[str, ...] = ("primary", "secondary", "post-16", "all-through", "special")

settings = Settings()
