#!/usr/bin/env bash
# Re-create dashboard/static/vendor/ from the npm registry (no CDN needed).
#
# folium loads Leaflet and its plugins from public CDNs, which police networks
# often block. geo/maps.py points folium at these local copies instead, and
# Streamlit serves them at /app/static/vendor/ (server.enableStaticServing).
#
# Usage: scripts/vendor_assets.sh   (from the repo root; needs npm and the venv)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/dashboard/static/vendor"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Versions are pinned; update LICENSES.md when changing them.
PKGS=(
  leaflet@1.9.4
  jquery@3.7.1
  bootstrap@5.3.3
  @fortawesome/fontawesome-free@6.7.2
  leaflet.awesome-markers@2.0.5
  leaflet.markercluster@1.5.3
  leaflet-draw@1.0.4
)

cd "$WORK"
for p in "${PKGS[@]}"; do
  tgz="$(npm pack --silent "$p" | tail -n1)"
  name="${p%@*}"; name="${name#@fortawesome/}"
  mkdir -p "x/$name" && tar xzf "$tgz" -C "x/$name"
done

mkdir -p "$DEST"
find "$DEST" -mindepth 1 ! -name LICENSES.md -delete   # LICENSES.md is hand-written
mkdir -p "$DEST"/{leaflet,jquery,bootstrap,fontawesome/css,fontawesome/webfonts,awesome-markers,markercluster,leaflet-draw,folium}

cp -r x/leaflet/package/dist/{leaflet.js,leaflet.css,images} "$DEST/leaflet/"
cp x/jquery/package/dist/jquery.min.js "$DEST/jquery/"
cp x/bootstrap/package/dist/js/bootstrap.bundle.min.js \
   x/bootstrap/package/dist/css/bootstrap.min.css "$DEST/bootstrap/"
cp x/fontawesome-free/package/css/all.min.css "$DEST/fontawesome/css/"
cp x/fontawesome-free/package/webfonts/*.woff2 "$DEST/fontawesome/webfonts/"   # browsers pick woff2 first
cp -r x/leaflet.awesome-markers/package/dist/{leaflet.awesome-markers.min.js,leaflet.awesome-markers.css,images} \
   "$DEST/awesome-markers/"
cp x/leaflet.markercluster/package/dist/{leaflet.markercluster.js,MarkerCluster.css,MarkerCluster.Default.css} \
   "$DEST/markercluster/"
cp -r x/leaflet-draw/package/dist/{leaflet.draw.js,leaflet.draw.css,images} "$DEST/leaflet-draw/"

# Licence texts that ship inside the packages.
for d in leaflet jquery bootstrap leaflet.markercluster leaflet-draw fontawesome-free leaflet.awesome-markers; do
  f="$(ls x/$d/package/ | grep -i -m1 'licen[cs]e' || true)"
  [ -n "$f" ] && cp "x/$d/package/$f" "$DEST/LICENSE.$d.txt"
done

# folium's own assets: the heat-map plugin ships inside the folium wheel.
"$PY" - "$DEST/folium" <<'PYEOF'
import pathlib, shutil, sys
import folium
dest = pathlib.Path(sys.argv[1])
shutil.copy(pathlib.Path(folium.__file__).parent / "templates" / "leaflet_heat.min.js", dest)
# The folium 0.20 wheel does not ship leaflet.awesome.rotate.min.css (folium loads it
# from GitHub via jsDelivr). It only holds one rotation class per whole degree, used
# by folium.Icon(angle=...), so it is regenerated here.
rules = "".join(f".fa-rotate-{a}{{transform:rotate({a}deg)}}" for a in range(360))
(dest / "leaflet.awesome.rotate.min.css").write_text(rules + "\n")
PYEOF

du -sh "$DEST"
